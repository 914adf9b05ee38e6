"""POST /api/v1/data-sources/{id}/revisions/{n}/restore: a new revision whose configuration equals revision n."""

from datasource_registry.api.canonical import canonical_view
from datasource_registry.api.http import IF_MATCH, Doc, Request, Response, endpoint, etag
from datasource_registry.api.revisions import RestoreView, restore_view, revision_number
from datasource_registry.runtime import cold_start, services

cold_start()


@endpoint(
    doc=Doc(
        summary="Restore a data source's configuration to revision n",
        responses={200: RestoreView},
        headers=(IF_MATCH,),
    ),
    render=canonical_view,  # a 409's `current`
)
def lambda_handler(request: Request) -> Response:
    number = revision_number(request.path_param("n"))
    restored = services().history.restore(
        request.principal, request.path_param("id"), number, request.expected_version()
    )
    return Response(200, restore_view(restored), {"etag": etag(restored.source.row_version)})
