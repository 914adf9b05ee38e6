"""GET /api/v1/connector-types/{type}: one connector type, its capabilities, configuration schema and an example."""

from datasource_registry.api.catalogue import IF_NONE_MATCH, ConnectorTypeView, answer
from datasource_registry.api.http import Doc, Request, Response, endpoint


@endpoint(
    doc=Doc(summary="Get a connector type", responses={200: ConnectorTypeView, 304: None}, headers=(IF_NONE_MATCH,)),
)
def lambda_handler(request: Request) -> Response:
    return answer(request, request.path_param("type"))
