"""PUT /api/data/data_source/connection?identifier= (000): s3 | database | synthetic, secrets named by env_key."""

from datasource_registry.api.foundation import (
    ConnectionBody,
    FoundationDataSourceView,
    connection_changes,
    parse,
    require_org,
    view,
    with_connection_fields,
)
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.domain.errors import ValidationFailed
from datasource_registry.runtime import services


@endpoint(
    doc=Doc(
        summary="Configure the connection of a data source (Foundation)",
        request=ConnectionBody,
        responses={200: FoundationDataSourceView},
        query=(QueryParam("identifier", "Data source identifier.", required=True),),
    ),
    body=True,
    render=view,
)
def lambda_handler(request: Request) -> Response:
    require_org(request)
    identifier = request.query_param("identifier", required=True) or ""
    changes = connection_changes(parse(ConnectionBody, request.body).connection)
    try:
        source = services().data_sources.update(request.principal, identifier, changes)
    except ValidationFailed as error:
        raise ValidationFailed(with_connection_fields(error.errors), error.detail) from None
    return Response(200, view(source))
