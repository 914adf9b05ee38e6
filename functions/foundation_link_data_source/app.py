"""POST /api/data/link/data_system/data_source?identifier=&child_identifier= (000): link a source to a system."""

from datasource_registry.api.foundation import SYSTEM_IDENTIFIER, X_ORG, DataSystemView, identifier_of, system_view
from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Link a data source to a data system (Foundation)",
        headers=(X_ORG,),
        responses={200: DataSystemView},
        query=(
            SYSTEM_IDENTIFIER,
            QueryParam("child_identifier", "Data source identifier.", required=True),
        ),
    ),
)
def lambda_handler(request: Request) -> Response:
    system_id = identifier_of(request)
    source_id = request.query_param("child_identifier", required=True) or ""
    return Response(200, system_view(services().data_systems.link(request.principal, system_id, source_id)))
