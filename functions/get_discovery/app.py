"""GET /api/v1/data-sources/{id}/discoveries/{jobId}: one discovery job: status, progress, timings, result or error."""

from datasource_registry.api.http import Doc, Request, Response, endpoint
from datasource_registry.api.jobs import DiscoveryJobView, job_view
from datasource_registry.runtime import services


@endpoint(doc=Doc(summary="Get a discovery job", responses={200: DiscoveryJobView}))
def lambda_handler(request: Request) -> Response:
    job = services().discovery_jobs.get(request.principal, request.path_param("id"), request.path_param("jobId"))
    return Response(200, job_view(job))
