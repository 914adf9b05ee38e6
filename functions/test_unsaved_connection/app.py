"""POST /api/v1/data-sources/test-connection: test a configuration (the create body) without storing anything."""

from datasource_registry.api.canonical_writes import CreateDataSourceRequest, create_request
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.schema_views import ConnectionTestView, test_view
from datasource_registry.runtime import cold_start, services

cold_start("CONNECTOR_RUNNERS")


@endpoint(
    doc=Doc(
        summary="Test an unsaved configuration", request=CreateDataSourceRequest, responses={200: ConnectionTestView}
    ),
    body=True,
)
def lambda_handler(request: Request) -> Response:
    payload = create_request(request.body)
    result = services().schemas.check_unsaved(
        request.principal, payload.spec(), payload.credential_values(), request.seconds_left()
    )
    return Response(200, test_view(result))
