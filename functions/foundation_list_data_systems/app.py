"""GET /api/data/data_system/list (000 style): the organisation's data systems with their children."""

from datasource_registry.api.foundation import X_ORG, DataSystemList, require_org, system_view
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(doc=Doc(summary="List data systems (Foundation)", headers=(X_ORG,), responses={200: DataSystemList}))
def lambda_handler(request: Request) -> Response:
    require_org(request)
    return Response(200, [system_view(system) for system in services().data_systems.list(request.principal)])
