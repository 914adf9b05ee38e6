"""GET /api/data/data_system?identifier= (000 style): one data system; links.children lists its sources."""

from datasource_registry.api.foundation import DataSystemView, require_org, system_view
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.runtime import services


@endpoint(
    doc=Doc(
        summary="Get a data system (Foundation)",
        responses={200: DataSystemView},
        query=(QueryParam("identifier", "Data system identifier.", required=True),),
    ),
)
def lambda_handler(request: Request) -> Response:
    require_org(request)
    identifier = request.query_param("identifier", required=True) or ""
    return Response(200, system_view(services().data_systems.get(request.principal, identifier)))
