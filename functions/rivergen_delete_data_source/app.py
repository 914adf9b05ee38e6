"""DELETE /rivergen/api/v1/data-sources/{id} (001): remove a source; its secret goes with a recovery window."""

from datasource_registry.api.http import IF_MATCH, Doc, Request, Response, endpoint
from datasource_registry.api.rivergen import RiverGenDeletedAnswer, RiverGenProblem, envelope, error_body, rivergen_view
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Delete a data source (RiverGen)",
        problem_model=RiverGenProblem,
        responses={200: RiverGenDeletedAnswer},
        headers=(IF_MATCH,),
    ),
    render=rivergen_view,
    error_shape=error_body,
)
def lambda_handler(request: Request) -> Response:
    services().data_sources.delete(request.principal, request.path_param("id"), request.expected_version())
    return Response(200, envelope(None, "Data source deleted successfully"))
