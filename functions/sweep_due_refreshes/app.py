"""Scheduled every minute (EventBridge Scheduler): claim the schema refreshes that are due and queue them in SQS."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from datasource_registry.api.observability import logger, metrics, tracer
from datasource_registry.runtime import cold_start, services

cold_start("REFRESH_QUEUE_URL")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = services().refresh_sweeper.sweep()
    metrics.add_metric(name="RefreshesClaimed", unit=MetricUnit.Count, value=report.claimed)
    logger.info("swept due schema refreshes", extra={"scheduled_time": event.get("scheduledTime"), **vars(report)})
    return {"due": report.due, "claimed": report.claimed, "batches": report.batches}
