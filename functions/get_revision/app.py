"""GET /api/v1/data-sources/{id}/revisions/{n}: the whole configuration at revision n (credentials by name)."""

from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.revisions import RevisionView, revision_number, revision_view
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(doc=Doc(summary="Read one configuration revision of a data source", responses={200: RevisionView}))
def lambda_handler(request: Request) -> Response:
    number = revision_number(request.path_param("n"))
    revision = services().history.get(request.principal, request.path_param("id"), number)
    return Response(200, revision_view(revision))
