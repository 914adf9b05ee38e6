"""GET /rivergen/api/v1/data-sources (001): the tenant's data sources, oldest first, in 001's envelope."""

from datasource_registry.api.canonical import decode_cursor
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.api.rivergen import RiverGenPageAnswer, RiverGenProblem, error_body, page_envelope
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="List data sources (RiverGen)",
        problem_model=RiverGenProblem,
        responses={200: RiverGenPageAnswer},
        query=(
            QueryParam("limit", "Page size, 1-100 (default 25).", {"type": "integer", "minimum": 1, "maximum": 100}),
            QueryParam("cursor", "Opaque cursor from the previous page (`pagination.next_cursor`)."),
        ),
    ),
    error_shape=error_body,
)
def lambda_handler(request: Request) -> Response:
    limit = request.int_query("limit", default=25, low=1, high=100)
    page = services().data_sources.list(request.principal, limit, decode_cursor(request.query_param("cursor")))
    return Response(200, page_envelope(page, limit))
