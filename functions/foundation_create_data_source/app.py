"""POST /api/data/data_source (000): create a data source from entity + entity_info; it starts at state 001."""

from datasource_registry.api.foundation import (
    PROFILE,
    X_ORG,
    CreateDataSourceBody,
    FoundationDataSourceView,
    create_spec,
    foundation_body,
    foundation_view,
    profile_of,
    require_org,
)
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from datasource_registry.runtime import cold_start, services

cold_start("IDEMPOTENCY_TABLE_NAME")


@endpoint(
    doc=Doc(
        summary="Create a data source (Foundation)",
        request=CreateDataSourceBody,
        responses={200: FoundationDataSourceView},
        headers=(X_ORG, IDEMPOTENCY_HEADER),
    ),
    body=True,
    render=foundation_view,
)
def lambda_handler(request: Request) -> Response:
    require_org(request)
    body = foundation_body(CreateDataSourceBody, request.body)

    def create() -> Response:
        extensions = {PROFILE: profile_of(body.entity, body.entity_info)}
        source = services().data_sources.create(request.principal, create_spec(body), None, {}, extensions)
        return Response(200, foundation_view(source))

    return idempotent(request, "foundation.create_data_source", services().idempotency_store, create)
