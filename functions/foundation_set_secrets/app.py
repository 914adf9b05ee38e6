"""POST /api/data/data_source/secret?identifier= (000): store env_key values in Secrets Manager; names only back."""

from datasource_registry.api.foundation import (
    SOURCE_IDENTIFIER,
    X_ORG,
    FoundationDataSourceView,
    SecretValues,
    foundation_view,
    identifier_of,
    secret_changes,
)
from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Set the secrets of a data source (Foundation)",
        headers=(X_ORG,),
        request=SecretValues,
        responses={200: FoundationDataSourceView},
        query=(SOURCE_IDENTIFIER,),
    ),
    body=True,
    render=foundation_view,
)
def lambda_handler(request: Request) -> Response:
    identifier = identifier_of(request)
    data_sources = services().data_sources
    current = data_sources.get(request.principal, identifier)
    changes = secret_changes(current, request.body)
    # Guarded by the rowVersion just read: a connection changed meanwhile cannot receive secrets it no longer names.
    source = data_sources.update(request.principal, current.id, {}, changes, current.row_version)
    return Response(200, foundation_view(source))
