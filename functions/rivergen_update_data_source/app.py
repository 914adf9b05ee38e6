"""PUT /rivergen/api/v1/data-sources/{id} (001): change the given fields (snake_case); If-Match guards it."""

from datasource_registry.api.http import IF_MATCH, Doc, Request, Response, endpoint, etag
from datasource_registry.api.rivergen import (
    RiverGenChanges,
    RiverGenDataSourceAnswer,
    RiverGenProblem,
    envelope,
    error_body,
    rivergen_view,
    update_body,
)
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Update a data source (RiverGen)",
        problem_model=RiverGenProblem,
        request=RiverGenChanges,
        responses={200: RiverGenDataSourceAnswer},
        headers=(IF_MATCH,),
    ),
    body=True,
    render=rivergen_view,
    error_shape=error_body,
)
def lambda_handler(request: Request) -> Response:
    changes, credentials, row_version = update_body(request.body)
    source = services().data_sources.update(
        request.principal, request.path_param("id"), changes, credentials, request.expected_version(row_version)
    )
    return Response(
        200, envelope(rivergen_view(source), "Data source updated successfully"), {"etag": etag(source.row_version)}
    )
