"""POST /rivergen/api/v1/data-sources/{id}/discover-schema (001): discover the schema, stored if it changed."""

from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.rivergen import RiverGenProblem, RiverGenResultAnswer, envelope, error_body, snake
from datasource_registry.api.schema_views import discovery_view
from datasource_registry.runtime import cold_start, services

cold_start("CONNECTOR_RUNNERS")


@endpoint(
    doc=Doc(
        summary="Discover a data source's schema (RiverGen)",
        problem_model=RiverGenProblem,
        responses={200: RiverGenResultAnswer},
        problems=(422,),
    ),
    error_shape=error_body,
)
def lambda_handler(request: Request) -> Response:
    discovery = services().schemas.discover(request.principal, request.path_param("id"), request.seconds_left())
    return Response(200, envelope(snake(discovery_view(discovery)), "Schema discovered successfully"))
