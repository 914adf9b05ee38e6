"""PUT /api/v1/data-sources: change the given fields of the source named by `key`, guarded by rowVersion/If-Match."""

from datasource_registry.api.canonical import DataSourceView, canonical_view
from datasource_registry.api.canonical_writes import UpdateDataSourceRequest, update_request
from datasource_registry.api.http import IF_MATCH, Doc, Request, Response, endpoint, etag
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Update the given fields of a data source",
        request=UpdateDataSourceRequest,
        responses={200: DataSourceView},
        headers=(IF_MATCH,),
    ),
    body=True,
    render=canonical_view,
)
def lambda_handler(request: Request) -> Response:
    key, changes, credentials, row_version = update_request(request.body)
    source = services().data_sources.update(
        request.principal, key, changes, credentials, request.expected_version(row_version)
    )
    return Response(200, canonical_view(source), {"etag": etag(source.row_version)})
