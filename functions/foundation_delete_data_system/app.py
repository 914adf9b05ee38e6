"""DELETE /api/data/data_system?identifier= (000 style): unlink its data sources (kept), then remove it."""

from datasource_registry.api.foundation import SYSTEM_IDENTIFIER, X_ORG, Deleted, identifier_of
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Delete a data system (Foundation)",
        headers=(X_ORG,),
        responses={200: Deleted},
        query=(SYSTEM_IDENTIFIER,),
    ),
)
def lambda_handler(request: Request) -> Response:
    identifier = identifier_of(request)
    services().data_systems.delete(request.principal, identifier)
    return Response(200, Deleted(identifier=identifier, deleted=True).model_dump())
