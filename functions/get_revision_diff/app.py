"""GET /api/v1/data-sources/{id}/revisions/diff?from=N&to=M: the configuration fields that differ."""

from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.api.revisions import RevisionDiffView, diff_view, revision_number
from datasource_registry.runtime import cold_start, services

cold_start()

NUMBER = {"type": "integer", "minimum": 1}


@endpoint(
    doc=Doc(
        summary="Diff two configuration revisions of a data source",
        responses={200: RevisionDiffView},
        query=(
            QueryParam("from", "Older revision number.", NUMBER, required=True),
            QueryParam("to", "Newer revision number.", NUMBER, required=True),
        ),
    )
)
def lambda_handler(request: Request) -> Response:
    old = revision_number(request.query_param("from", required=True) or "", "from")
    new = revision_number(request.query_param("to", required=True) or "", "to")
    older, _, changes = services().history.diff(request.principal, request.path_param("id"), old, new)
    return Response(200, diff_view(older.data_source_id, old, new, changes))
