"""GET /api/v1/data-sources/{id}/discoveries: the source's discovery jobs, newest first, in cursor pages."""

from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.api.jobs import DiscoveryJobPage, job_view
from datasource_registry.runtime import services


@endpoint(
    doc=Doc(
        summary="List a data source's discovery jobs",
        responses={200: DiscoveryJobPage},
        query=(
            QueryParam(
                "limit", "Jobs per page, 1-100 (default 20).", {"type": "integer", "minimum": 1, "maximum": 100}
            ),
            QueryParam("cursor", "Opaque cursor from the previous page."),
        ),
    )
)
def lambda_handler(request: Request) -> Response:
    limit = request.int_query("limit", default=20, low=1, high=100)
    page = services().discovery_jobs.list(
        request.principal, request.path_param("id"), limit, request.query_param("cursor")
    )
    return Response(200, {"items": [job_view(job) for job in page.items], "nextCursor": page.next_cursor})
