"""DELETE /api/v1/data-sources?key=: remove a source, its markers and (with a recovery window) its secret."""

from datasource_registry.api.canonical import canonical_view
from datasource_registry.api.http import IF_MATCH, Doc, QueryParam, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Delete a data source by key",
        responses={204: None},
        query=(QueryParam("key", "Key of the data source.", required=True),),
        headers=(IF_MATCH,),
    ),
    render=canonical_view,
)
def lambda_handler(request: Request) -> Response:
    key = request.query_param("key", required=True) or ""
    services().data_sources.delete(request.principal, key, request.expected_version())
    return Response(204)
