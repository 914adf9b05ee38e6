"""GET /api/data/data_system?identifier= (000 style): one data system; links.children lists its sources."""

from datasource_registry.api.foundation import SYSTEM_IDENTIFIER, X_ORG, DataSystemView, identifier_of, system_view
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Get a data system (Foundation)",
        headers=(X_ORG,),
        responses={200: DataSystemView},
        query=(SYSTEM_IDENTIFIER,),
    ),
)
def lambda_handler(request: Request) -> Response:
    identifier = identifier_of(request)
    return Response(200, system_view(services().data_systems.get(request.principal, identifier)))
