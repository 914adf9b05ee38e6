"""POST /api/data/link/data_system/data_source?identifier=&child_identifier= (000): link a source to a system."""

from datasource_registry.api.foundation import DataSystemView, require_org, system_view
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.runtime import services


@endpoint(
    doc=Doc(
        summary="Link a data source to a data system (Foundation)",
        responses={200: DataSystemView},
        query=(
            QueryParam("identifier", "Data system identifier.", required=True),
            QueryParam("child_identifier", "Data source identifier.", required=True),
        ),
    ),
)
def lambda_handler(request: Request) -> Response:
    require_org(request)
    system_id = request.query_param("identifier", required=True) or ""
    source_id = request.query_param("child_identifier", required=True) or ""
    return Response(200, system_view(services().data_systems.link(request.principal, system_id, source_id)))
