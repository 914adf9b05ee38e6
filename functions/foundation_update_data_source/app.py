"""PUT /api/data/data_source?identifier= (000): change the given entity fields; entity_info replaces."""

from datasource_registry.api.foundation import (
    FoundationDataSourceView,
    UpdateDataSourceBody,
    parse,
    require_org,
    update_changes,
    view,
)
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.runtime import services


@endpoint(
    doc=Doc(
        summary="Update a data source (Foundation)",
        request=UpdateDataSourceBody,
        responses={200: FoundationDataSourceView},
        query=(QueryParam("identifier", "Data source identifier.", required=True),),
    ),
    body=True,
    render=view,
)
def lambda_handler(request: Request) -> Response:
    require_org(request)
    identifier = request.query_param("identifier", required=True) or ""
    changes, profile = update_changes(parse(UpdateDataSourceBody, request.body))
    source = services().data_sources.update(request.principal, identifier, changes, extension_changes=profile)
    return Response(200, view(source))
