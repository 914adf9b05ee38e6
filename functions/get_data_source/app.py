"""GET /api/v1/data-sources/{id}: one data source, by id or key, with its ETag."""

from datasource_registry.api.canonical import view
from datasource_registry.api.http import Request, Response, endpoint, etag
from datasource_registry.runtime import services


@endpoint()
def lambda_handler(request: Request) -> Response:
    source = services().data_sources.get(request.principal, request.path_param("id"))
    return Response(200, view(source), {"etag": etag(source.row_version)})
