"""GET /api/v1/data-sources: the tenant's data sources, oldest first, one keyset page at a time."""

from datasource_registry.api.canonical import decode_cursor, page_view
from datasource_registry.api.http import Request, Response, endpoint
from datasource_registry.runtime import services


@endpoint()
def lambda_handler(request: Request) -> Response:
    limit = request.int_query("limit", default=25, low=1, high=100)
    after = decode_cursor(request.query_param("cursor"))
    page = services().data_sources.list(request.principal, limit, after)
    return Response(200, page_view(page, limit))
