"""GET /api/data/data_source/list (000): the organisation's data sources, oldest first, a page at a time."""

from datasource_registry.api.canonical import decode_cursor, encode_cursor
from datasource_registry.api.foundation import X_ORG, FoundationDataSourceList, foundation_view, require_org
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="List data sources (Foundation)",
        headers=(X_ORG,),
        responses={200: FoundationDataSourceList},
        query=(
            QueryParam("limit", "Page size, 1-100 (default 100).", {"type": "integer", "minimum": 1, "maximum": 100}),
            QueryParam("cursor", "The x-next-cursor header of the previous page."),
        ),
    ),
)
def lambda_handler(request: Request) -> Response:
    require_org(request)
    limit = request.int_query("limit", default=100, low=1, high=100)
    page = services().data_sources.list(request.principal, limit, decode_cursor(request.query_param("cursor")))
    # 000's answer is a bare array, so the next page travels in a header.
    headers = {"x-next-cursor": encode_cursor(page.next_after)} if page.next_after else {}
    return Response(200, [foundation_view(source) for source in page.items], headers)
