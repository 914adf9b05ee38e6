"""GET /api/v1/data-sources/{id}/schema/diff?from=N&to=M[&severity=]: what changed between two snapshots."""

from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.api.schemas import SchemaDiffView, diff_view, severity_filter
from datasource_registry.domain.drift import Severity
from datasource_registry.runtime import services

VERSION = {"type": "integer", "minimum": 1}
SEVERITY = {"type": "string", "enum": [s.value for s in Severity]}


@endpoint(
    doc=Doc(
        summary="Diff two schema snapshots",
        responses={200: SchemaDiffView},
        query=(
            QueryParam("from", "Older snapshot version.", VERSION, required=True),
            QueryParam("to", "Newer snapshot version.", VERSION, required=True),
            QueryParam("severity", "Only the changes of this severity (the counts stay whole).", SEVERITY),
        ),
    )
)
def lambda_handler(request: Request) -> Response:
    request.query_param("from", required=True)
    request.query_param("to", required=True)
    old = request.int_query("from", default=1, low=1, high=999_999)
    new = request.int_query("to", default=1, low=1, high=999_999)
    severity = severity_filter(request.query_param("severity"))
    source, diff = services().schemas.diff(request.principal, request.path_param("id"), old, new)
    return Response(200, diff_view(source.id, old, new, diff, severity))
