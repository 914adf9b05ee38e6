"""POST /api/public/v1/data-sources/filter (002): `*` wildcards on names and types, skip/limit, no table scan."""

from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.api.public import FilterRequest, PublicDataSourcesAnswer, envelope, public_body, public_view
from datasource_registry.domain.search import wildcards
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Filter data sources (Public v1)",
        request=FilterRequest,
        responses={200: PublicDataSourcesAnswer},
        query=(
            QueryParam("skip", "Number of documents to skip (default 0).", {"type": "integer", "minimum": 0}),
            QueryParam(
                "limit",
                "Documents to return, 1-10000 (default 100).",
                {"type": "integer", "minimum": 1, "maximum": 10000},
            ),
        ),
    ),
    body=True,
    reads_only=True,
)
def lambda_handler(request: Request) -> Response:
    skip = request.int_query("skip", default=0, low=0, high=10_000_000)
    limit = request.int_query("limit", default=100, low=1, high=10_000)
    body = public_body(FilterRequest, request.body)
    names = wildcards(body.resource_names, "resourceNames")
    types = wildcards(body.database_types, "databaseTypes")
    found = services().data_sources.filter(request.principal, names, types, skip, limit)
    return Response(200, envelope([public_view(source) for source in found]))
