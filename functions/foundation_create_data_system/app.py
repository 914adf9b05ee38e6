"""POST /api/data/data_system (000 style): create a data system that data sources can be linked to."""

from datasource_registry.api.foundation import (
    PROFILE,
    X_ORG,
    CreateDataSystemBody,
    DataSystemView,
    foundation_body,
    profile_of,
    require_org,
    system_view,
)
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from datasource_registry.runtime import cold_start, services

cold_start("IDEMPOTENCY_TABLE_NAME")


@endpoint(
    doc=Doc(
        summary="Create a data system (Foundation)",
        request=CreateDataSystemBody,
        responses={200: DataSystemView},
        headers=(X_ORG, IDEMPOTENCY_HEADER),
    ),
    body=True,
)
def lambda_handler(request: Request) -> Response:
    require_org(request)
    body = foundation_body(CreateDataSystemBody, request.body)

    def create() -> Response:
        extensions = {PROFILE: profile_of(body.entity, body.entity_info)}
        system = services().data_systems.create(
            request.principal, body.entity.name, body.entity.description, extensions
        )
        return Response(200, system_view(system))

    return idempotent(request, "foundation.create_data_system", services().idempotency_store, create)
