"""PATCH /api/public/v1/data-sources/{id} (002): only given fields change, arrays replace, If-Match honoured."""

from datasource_registry.api.http import IF_MATCH, Doc, Request, Response, endpoint, etag
from datasource_registry.api.public import (
    DataSourceFields,
    PublicDataSourceAnswer,
    changes_of,
    envelope,
    public_body,
    public_field_errors,
    public_view,
)
from datasource_registry.domain.errors import ValidationFailed
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Update data source attributes (Public v1)",
        request=DataSourceFields,
        responses={200: PublicDataSourceAnswer},
        headers=(IF_MATCH,),
    ),
    body=True,
    render=public_view,
)
def lambda_handler(request: Request) -> Response:
    changes, credentials, profile = changes_of(public_body(DataSourceFields, request.body))
    try:
        source = services().data_sources.update(
            request.principal, request.path_param("id"), changes, credentials, request.expected_version(), profile
        )
    except ValidationFailed as error:
        raise public_field_errors(error) from None
    return Response(200, envelope(public_view(source)), {"etag": etag(source.row_version)})
