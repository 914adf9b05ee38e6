"""GET /api/v1/data-sources/{id}/schema/diff?from=N&to=M: what changed between two snapshots."""

from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.api.schemas import SchemaDiffView, diff_view
from datasource_registry.runtime import services

VERSION = {"type": "integer", "minimum": 1}


@endpoint(
    doc=Doc(
        summary="Diff two schema snapshots",
        responses={200: SchemaDiffView},
        query=(
            QueryParam("from", "Older snapshot version.", VERSION, required=True),
            QueryParam("to", "Newer snapshot version.", VERSION, required=True),
        ),
    )
)
def lambda_handler(request: Request) -> Response:
    request.query_param("from", required=True)
    request.query_param("to", required=True)
    old = request.int_query("from", default=1, low=1, high=999_999)
    new = request.int_query("to", default=1, low=1, high=999_999)
    source, diff = services().schemas.diff(request.principal, request.path_param("id"), old, new)
    return Response(200, diff_view(source.id, old, new, diff))
