"""DELETE /api/data/data_source?identifier= (000): remove the source, unlink it, schedule its secret's deletion."""

from datasource_registry.api.foundation import SOURCE_IDENTIFIER, X_ORG, Deleted, foundation_view, identifier_of
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Delete a data source (Foundation)",
        headers=(X_ORG,),
        responses={200: Deleted},
        query=(SOURCE_IDENTIFIER,),
    ),
    render=foundation_view,
)
def lambda_handler(request: Request) -> Response:
    identifier = identifier_of(request)
    source = services().data_sources.get(request.principal, identifier)
    services().data_sources.delete(request.principal, source.id, source.row_version)
    return Response(200, Deleted(identifier=source.id, deleted=True).model_dump())
