"""POST /api/v1/data-sources: register a data source; its credentials go to Secrets Manager."""

from datasource_registry.api.canonical import DataSourceView, canonical_view
from datasource_registry.api.canonical_writes import CreateDataSourceRequest, create_request
from datasource_registry.api.http import Doc, Request, Response, endpoint, etag
from datasource_registry.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from datasource_registry.runtime import cold_start, services

cold_start("IDEMPOTENCY_TABLE_NAME")


@endpoint(
    doc=Doc(
        summary="Create a data source",
        request=CreateDataSourceRequest,
        responses={201: DataSourceView},
        headers=(IDEMPOTENCY_HEADER,),
    ),
    body=True,
    render=canonical_view,
)
def lambda_handler(request: Request) -> Response:
    payload = create_request(request.body)

    def create() -> Response:
        source = services().data_sources.create(
            request.principal, payload.spec(), payload.key, payload.credential_values()
        )
        return Response(
            201,
            canonical_view(source),
            {"etag": etag(source.row_version), "location": f"/api/v1/data-sources/{source.id}"},
        )

    return idempotent(request, "canonical.create_data_source", services().idempotency_store, create)
