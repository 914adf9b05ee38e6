"""DELETE /api/data/data_system?identifier= (000 style): unlink its data sources (kept), then remove it."""

from datasource_registry.api.foundation import Deleted, require_org
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.runtime import services


@endpoint(
    doc=Doc(
        summary="Delete a data system (Foundation)",
        responses={200: Deleted},
        query=(QueryParam("identifier", "Data system identifier.", required=True),),
    ),
)
def lambda_handler(request: Request) -> Response:
    require_org(request)
    identifier = request.query_param("identifier", required=True) or ""
    services().data_systems.delete(request.principal, identifier)
    return Response(200, Deleted(identifier=identifier, deleted=True).model_dump())
