"""PUT /api/data/data_source/connection?identifier= (000): s3 | database | synthetic, secrets named by env_key."""

from datasource_registry.api.foundation import (
    SOURCE_IDENTIFIER,
    X_ORG,
    ConnectionBody,
    FoundationDataSourceView,
    connection_changes,
    foundation_body,
    foundation_view,
    identifier_of,
    with_connection_fields,
)
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.domain.errors import ValidationFailed
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Configure the connection of a data source (Foundation)",
        headers=(X_ORG,),
        request=ConnectionBody,
        responses={200: FoundationDataSourceView},
        query=(SOURCE_IDENTIFIER,),
    ),
    body=True,
    render=foundation_view,
)
def lambda_handler(request: Request) -> Response:
    identifier = identifier_of(request)
    changes = connection_changes(foundation_body(ConnectionBody, request.body).connection)
    try:
        source = services().data_sources.update(request.principal, identifier, changes)
    except ValidationFailed as error:
        raise ValidationFailed(with_connection_fields(error.errors), error.detail) from None
    return Response(200, foundation_view(source))
