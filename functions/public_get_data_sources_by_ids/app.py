"""POST /api/public/v1/data-sources/by-ids (002): the caller's sources among the ids, in the order given."""

from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.public import ByIdsRequest, PublicDataSourcesAnswer, envelope, public_body, public_view
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Get data sources by IDs (Public v1)", request=ByIdsRequest, responses={200: PublicDataSourcesAnswer}
    ),
    body=True,
    reads_only=True,
)
def lambda_handler(request: Request) -> Response:
    ids = public_body(ByIdsRequest, request.body).ids
    return Response(200, envelope([public_view(s) for s in services().data_sources.get_many(request.principal, ids)]))
