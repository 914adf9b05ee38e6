"""POST /api/v1/data-sources/{id}/discover-schema: discover the schema and store it if it changed."""

from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.schemas import DiscoveryView, discovery_view
from datasource_registry.runtime import services


@endpoint(doc=Doc(summary="Discover and store a schema snapshot", responses={200: DiscoveryView}, problems=(422,)))
def lambda_handler(request: Request) -> Response:
    discovery = services().schemas.discover(request.principal, request.path_param("id"), request.seconds_left())
    return Response(200, discovery_view(discovery))
