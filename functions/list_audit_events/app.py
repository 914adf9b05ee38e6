"""GET /api/v1/audit-events: every configuration write in the tenant, oldest first, with actor and request id."""

from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.api.revisions import AuditPageView, audit_cursor, audit_view, since_param
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="List the tenant's audit trail of configuration writes, oldest first",
        responses={200: AuditPageView},
        query=(
            QueryParam("since", "ISO 8601 time; events at or after it (default: all retained).", {"type": "string"}),
            QueryParam("limit", "Page size, 1-100 (default 25).", {"type": "integer", "minimum": 1, "maximum": 100}),
            QueryParam("cursor", "Opaque cursor from the previous page."),
        ),
    )
)
def lambda_handler(request: Request) -> Response:
    limit = request.int_query("limit", default=25, low=1, high=100)
    since = since_param(request.query_param("since"))
    after = audit_cursor(request.query_param("cursor"))
    page = services().history.audit(request.principal, since, after, limit)
    return Response(200, audit_view(page, limit))
