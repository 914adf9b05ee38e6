"""GET /api/v1/connector-types: every connector type, its capabilities, configuration schema and an example."""

from datasource_registry.api.catalogue import IF_NONE_MATCH, ConnectorTypeList, answer
from datasource_registry.api.http import Doc, Request, Response, endpoint


@endpoint(
    doc=Doc(summary="List connector types", responses={200: ConnectorTypeList, 304: None}, headers=(IF_NONE_MATCH,)),
)
def lambda_handler(request: Request) -> Response:
    return answer(request)
