"""POST /api/v1/data-sources/{id}/test-connection: test a saved source and record the outcome on it."""

from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.schema_views import ConnectionTestView, test_view
from datasource_registry.domain.rules import health_of
from datasource_registry.runtime import cold_start, services

cold_start("CONNECTOR_RUNNERS")


@endpoint(doc=Doc(summary="Test a saved data source's connection", responses={200: ConnectionTestView}))
def lambda_handler(request: Request) -> Response:
    result, source = services().schemas.check_saved(request.principal, request.path_param("id"), request.seconds_left())
    return Response(200, test_view(result, source.id, health_of(source)))
