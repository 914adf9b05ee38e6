"""POST /rivergen/api/v1/data-sources/{id}/test-connection (001): test a saved source and record the outcome."""

from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.rivergen import RiverGenProblem, RiverGenResultAnswer, envelope, error_body, snake
from datasource_registry.api.schema_views import test_view
from datasource_registry.domain.rules import health_of
from datasource_registry.runtime import cold_start, services

cold_start("CONNECTOR_RUNNERS")


@endpoint(
    doc=Doc(
        summary="Test a data source's connection (RiverGen)",
        problem_model=RiverGenProblem,
        responses={200: RiverGenResultAnswer},
    ),
    error_shape=error_body,
)
def lambda_handler(request: Request) -> Response:
    result, source = services().schemas.check_saved(request.principal, request.path_param("id"), request.seconds_left())
    message = "Connection successful" if result.success else "Connection failed"
    return Response(200, envelope(snake(test_view(result, source.id, health_of(source))), message))
