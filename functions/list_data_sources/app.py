"""GET /api/v1/data-sources: the tenant's data sources, oldest first, one keyset page at a time."""

from datasource_registry.api.canonical import DataSourcePage, decode_cursor, page_view
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="List data sources, oldest first",
        responses={200: DataSourcePage},
        query=(
            QueryParam("limit", "Page size, 1-100 (default 25).", {"type": "integer", "minimum": 1, "maximum": 100}),
            QueryParam("cursor", "Opaque cursor from the previous page."),
        ),
    ),
)
def lambda_handler(request: Request) -> Response:
    limit = request.int_query("limit", default=25, low=1, high=100)
    after = decode_cursor(request.query_param("cursor"))
    page = services().data_sources.list(request.principal, limit, after)
    return Response(200, page_view(page, limit))
