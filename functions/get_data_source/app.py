"""GET /api/v1/data-sources/{id}: one data source, by id or key, with its ETag."""

from datasource_registry.api.canonical import DataSourceView, canonical_view
from datasource_registry.api.http import Doc, Request, Response, endpoint, etag
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(summary="Get a data source by id or key", responses={200: DataSourceView}),
)
def lambda_handler(request: Request) -> Response:
    source = services().data_sources.get(request.principal, request.path_param("id"))
    return Response(200, canonical_view(source), {"etag": etag(source.row_version)})
