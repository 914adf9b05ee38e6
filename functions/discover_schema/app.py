"""POST /api/v1/data-sources/{id}/discover-schema: discover the schema as a job; wait for it unless told not to."""

from datasource_registry.api.http import Doc, QueryParam, Request, Response, endpoint
from datasource_registry.api.jobs import DiscoveryJobView, job_location, job_view
from datasource_registry.api.schemas import DiscoveryView
from datasource_registry.domain.errors import DiscoveryFailed
from datasource_registry.runtime import services

PREFER = QueryParam(
    "Prefer",
    "`respond-async`: answer 202 at once with the job (RFC 7240); without it the request waits for the result.",
)


@endpoint(
    doc=Doc(
        summary="Discover and store a schema snapshot (a job)",
        responses={200: DiscoveryView, 202: DiscoveryJobView},
        headers=(PREFER,),
        problems=(422,),
    )
)
def lambda_handler(request: Request) -> Response:
    asynchronous = "respond-async" in request.headers.get("prefer", "").lower()
    wait = None if asynchronous else request.seconds_left(margin=3.0)
    requested = services().discovery_jobs.request(
        request.principal, request.path_param("id"), request.request_id, wait_seconds=wait
    )
    job = requested.job
    headers = {"location": job_location(job)}
    if not requested.done:
        return Response(202, job_view(job), {**headers, "retry-after": "2"})
    if job.error is not None:
        # As before jobs: a discovery that failed is 422 with the connector's code (the job keeps the record).
        raise DiscoveryFailed(job.error["code"], job.error["message"])
    return Response(200, job.result, {"content-location": job_location(job)})
