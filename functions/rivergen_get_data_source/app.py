"""GET /rivergen/api/v1/data-sources/{id} (001): one data source in 001's envelope."""

from datasource_registry.api.http import Doc, Request, Response, endpoint, etag
from datasource_registry.api.rivergen import (
    RiverGenDataSourceAnswer,
    RiverGenProblem,
    envelope,
    error_body,
    rivergen_view,
)
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Get a data source (RiverGen)", problem_model=RiverGenProblem, responses={200: RiverGenDataSourceAnswer}
    ),
    error_shape=error_body,
)
def lambda_handler(request: Request) -> Response:
    source = services().data_sources.get(request.principal, request.path_param("id"))
    return Response(
        200, envelope(rivergen_view(source), "Data source retrieved successfully"), {"etag": etag(source.row_version)}
    )
