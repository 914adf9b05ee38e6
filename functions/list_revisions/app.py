"""GET /api/v1/data-sources/{id}/revisions: the source's configuration revisions, newest first, a page at a time."""

from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.api.revisions import RevisionPageView, page_view, revisions_cursor
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="List a data source's configuration revisions, newest first",
        responses={200: RevisionPageView},
        query=(
            QueryParam("limit", "Page size, 1-100 (default 25).", {"type": "integer", "minimum": 1, "maximum": 100}),
            QueryParam("cursor", "Opaque cursor from the previous page."),
        ),
    )
)
def lambda_handler(request: Request) -> Response:
    limit = request.int_query("limit", default=25, low=1, high=100)
    before = revisions_cursor(request.query_param("cursor"))
    source_id, page = services().history.page(request.principal, request.path_param("id"), limit, before)
    return Response(200, page_view(source_id, page, limit))
