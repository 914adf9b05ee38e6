"""SQS worker: run each claimed schema refresh (or discovery job) once; a message that fails is retried alone, then
dead-lettered."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from datasource_registry.adapters.queues import JobMessage, request_from_body
from datasource_registry.api.observability import logger, metrics, tracer
from datasource_registry.runtime import services

processor = BatchProcessor(event_type=EventType.SQS)


def refresh_one(record: SQSRecord) -> str:
    request = request_from_body(record.body)  # a malformed message raises: it fails alone, then goes to the DLQ
    if isinstance(request, JobMessage):
        outcome = services().discovery_jobs.run_queued(request.tenant_id, request.data_source_id, request.job_id)
        logger.info(
            "discovery job",
            extra={"data_source_id": request.data_source_id, "job_id": request.job_id, "outcome": outcome},
        )
        return outcome
    result = services().refresh_worker.run(request)
    logger.info(
        "schema refresh",
        extra={"data_source_id": request.data_source_id, "status": result.status, "reason": result.reason},
    )
    return result.status.value


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=refresh_one, processor=processor, context=context))
