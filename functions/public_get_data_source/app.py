"""GET /api/public/v1/data-sources/{id} (002): one data source's metadata and configuration, no secrets."""

from datasource_registry.api.http import Doc, Request, Response, endpoint, etag
from datasource_registry.api.public import PublicDataSourceAnswer, envelope, public_view
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(doc=Doc(summary="Get a data source by ID (Public v1)", responses={200: PublicDataSourceAnswer}))
def lambda_handler(request: Request) -> Response:
    source = services().data_sources.get(request.principal, request.path_param("id"))
    return Response(200, envelope(public_view(source)), {"etag": etag(source.row_version)})
