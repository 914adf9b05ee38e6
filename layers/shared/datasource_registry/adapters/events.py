"""Domain events on an EventBridge bus (DataSourceSchemaChanged, DataSourceHealthChanged)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

EVENT_SOURCE = "datasource-registry"


class EventBridgePublisher:
    def __init__(self, client: EventBridgeClient, bus_name: str, source: str = EVENT_SOURCE) -> None:
        self._client = client
        self._bus = bus_name
        self._source = source

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        response = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus,
                    "Source": self._source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, separators=(",", ":"), default=str),
                }
            ]
        )
        if response.get("FailedEntryCount"):
            codes = [entry.get("ErrorCode", "?") for entry in response["Entries"] if entry.get("ErrorCode")]
            raise RuntimeError(f"EventBridge refused {detail_type}: {', '.join(codes)}")
