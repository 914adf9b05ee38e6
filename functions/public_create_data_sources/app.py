"""POST /api/public/v1/data-sources (002): create one (object) or many (array, a result per item)."""

from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from datasource_registry.api.public import (
    MAX_BULK,
    CreateDataSource,
    CreateDataSources,
    PublicCreateAnswer,
    create_spec,
    envelope,
    item_result,
    public_body,
    public_field_errors,
    public_view,
)
from datasource_registry.domain.errors import DomainError, FieldError, ValidationFailed
from datasource_registry.domain.model import DataSource
from datasource_registry.runtime import cold_start, services

cold_start("IDEMPOTENCY_TABLE_NAME")


def create_one(request: Request, body: object, prefix: str = "") -> DataSource:
    spec, credentials, extensions = create_spec(public_body(CreateDataSource, body, prefix), prefix)
    try:
        return services().data_sources.create(request.principal, spec, None, credentials, extensions)
    except ValidationFailed as error:  # the domain names fields as the canonical API does; 002 says uri, path
        raise public_field_errors(error, prefix) from None


def create(request: Request) -> Response:
    if not isinstance(request.body, list):
        return Response(200, envelope(public_view(create_one(request, request.body))))
    if not 1 <= len(request.body) <= MAX_BULK:
        raise ValidationFailed([FieldError("body", f"an array must hold 1 to {MAX_BULK} data sources")])
    request.principal.require_write()
    results = []
    for index, item in enumerate(request.body):
        try:
            results.append(item_result(index, create_one(request, item, f"[{index}].")))
        except DomainError as error:  # one bad item does not sink the others
            results.append(item_result(index, error))
    return Response(200, envelope(results))


@endpoint(
    doc=Doc(
        summary="Create one or more data sources (Public v1)",
        request=CreateDataSources,
        responses={200: PublicCreateAnswer},
        headers=(IDEMPOTENCY_HEADER,),
    ),
    body=True,
    render=public_view,
)
def lambda_handler(request: Request) -> Response:
    return idempotent(request, "public.create_data_sources", services().idempotency_store, lambda: create(request))
