"""DELETE /api/data/data_source?identifier= (000): remove the source, unlink it, schedule its secret's deletion."""

from datasource_registry.api.foundation import Deleted, require_org, view
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.runtime import services


@endpoint(
    doc=Doc(
        summary="Delete a data source (Foundation)",
        responses={200: Deleted},
        query=(QueryParam("identifier", "Data source identifier.", required=True),),
    ),
    render=view,
)
def lambda_handler(request: Request) -> Response:
    require_org(request)
    identifier = request.query_param("identifier", required=True) or ""
    source = services().data_sources.get(request.principal, identifier)
    services().data_sources.delete(request.principal, source.id, source.row_version)
    return Response(200, Deleted(identifier=source.id, deleted=True).model_dump())
