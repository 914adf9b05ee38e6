"""GET /api/data/data_source?identifier= (000): one data source with its state, links, secret names."""

from datasource_registry.api.foundation import FoundationDataSourceView, require_org, view
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.runtime import services


@endpoint(
    doc=Doc(
        summary="Get a data source (Foundation)",
        responses={200: FoundationDataSourceView},
        query=(QueryParam("identifier", "Data source identifier.", required=True),),
    ),
)
def lambda_handler(request: Request) -> Response:
    require_org(request)
    identifier = request.query_param("identifier", required=True) or ""
    return Response(200, view(services().data_sources.get(request.principal, identifier)))
