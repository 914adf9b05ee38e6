"""GET /api/v1/data-sources/{id}/schema: the latest (or ?version=N) schema snapshot, tables paginated."""

from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.api.schema_views import SchemaPage, decode_offset, schema_page_view
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Get a schema snapshot",
        responses={200: SchemaPage},
        query=(
            QueryParam("version", "Snapshot version (default: the latest).", {"type": "integer", "minimum": 1}),
            QueryParam(
                "limit", "Tables per page, 1-1000 (default 100).", {"type": "integer", "minimum": 1, "maximum": 1000}
            ),
            QueryParam("cursor", "Opaque cursor from the previous page."),
        ),
    )
)
def lambda_handler(request: Request) -> Response:
    version = request.int_query("version", default=0, low=1, high=999_999) or None
    limit = request.int_query("limit", default=100, low=1, high=1000)
    offset = decode_offset(request.query_param("cursor"))
    source, meta, tables = services().schemas.snapshot(
        request.principal, request.path_param("id"), version, offset, limit
    )
    return Response(200, schema_page_view(source.id, meta, tables, offset, limit))
