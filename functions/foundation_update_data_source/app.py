"""PUT /api/data/data_source?identifier= (000): change the given entity fields; entity_info replaces."""

from datasource_registry.api.foundation import (
    SOURCE_IDENTIFIER,
    X_ORG,
    FoundationDataSourceView,
    UpdateDataSourceBody,
    foundation_body,
    foundation_view,
    identifier_of,
    update_changes,
)
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Update a data source (Foundation)",
        headers=(X_ORG,),
        request=UpdateDataSourceBody,
        responses={200: FoundationDataSourceView},
        query=(SOURCE_IDENTIFIER,),
    ),
    body=True,
    render=foundation_view,
)
def lambda_handler(request: Request) -> Response:
    identifier = identifier_of(request)
    changes, profile = update_changes(foundation_body(UpdateDataSourceBody, request.body))
    source = services().data_sources.update(request.principal, identifier, changes, extension_changes=profile)
    return Response(200, foundation_view(source))
