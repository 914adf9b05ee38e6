"""GET /api/data/data_source?identifier= (000): one data source with its state, links, secret names."""

from datasource_registry.api.foundation import (
    SOURCE_IDENTIFIER,
    X_ORG,
    FoundationDataSourceView,
    foundation_view,
    identifier_of,
)
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Get a data source (Foundation)",
        headers=(X_ORG,),
        responses={200: FoundationDataSourceView},
        query=(SOURCE_IDENTIFIER,),
    ),
)
def lambda_handler(request: Request) -> Response:
    identifier = identifier_of(request)
    return Response(200, foundation_view(services().data_sources.get(request.principal, identifier)))
