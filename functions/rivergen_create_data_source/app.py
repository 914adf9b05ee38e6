"""POST /rivergen/api/v1/data-sources (001): create; 201 with `{"success": true, "data": {...}, "message"}`."""

from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from datasource_registry.api.rivergen import (
    RiverGenCreateRequest,
    RiverGenDataSourceAnswer,
    RiverGenProblem,
    create_body,
    envelope,
    error_body,
    rivergen_view,
)
from datasource_registry.runtime import cold_start, services

cold_start("IDEMPOTENCY_TABLE_NAME")


@endpoint(
    doc=Doc(
        summary="Create a data source (RiverGen)",
        problem_model=RiverGenProblem,
        request=RiverGenCreateRequest,
        responses={201: RiverGenDataSourceAnswer},
        headers=(IDEMPOTENCY_HEADER,),
    ),
    body=True,
    render=rivergen_view,
    error_shape=error_body,
)
def lambda_handler(request: Request) -> Response:
    payload = create_body(request.body)

    def create() -> Response:
        source = services().data_sources.create(
            request.principal, payload.spec(), payload.key, payload.credential_values()
        )
        return Response(
            201,
            envelope(rivergen_view(source), "Data source created successfully"),
            {"location": f"/rivergen/api/v1/data-sources/{source.id}"},
        )

    return idempotent(request, "rivergen.create_data_source", services().idempotency_store, create)
