"""The embedded AWS: a moto server on loopback, provisioned with template.yaml's tables, queues and buses."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

import boto3

from devserver.template import REGION, Resolver, Template, load, physical_name

_TABLE_KEYS = {
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "StreamSpecification",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def use_fake_credentials() -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's placeholder credentials
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        os.environ.setdefault(name, value)


_WRITE_LOCK = threading.RLock()


def _isolate_dynamodb_writes() -> None:
    """Make moto's DynamoDB writes isolated from each other, as DynamoDB's are.

    moto checks a condition and then writes, and undoes a failed transaction by restoring a snapshot of the
    table; two requests at once can interleave there (a loser's half-applied transaction survives in another's
    snapshot). The local stack serves concurrent clients, so its DynamoDB writes take one lock.
    """
    from moto.dynamodb.models import DynamoDBBackend

    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_isolated", False):
            continue

        def isolated(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                return __original(self, *args, **kwargs)

        isolated._isolated = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, isolated)


# DynamoDB keeps a TransactWriteItems ClientRequestToken for 10 minutes after the first request that used it.
IDEMPOTENCY_WINDOW_SECONDS = 600


def _honour_transaction_tokens() -> None:
    """Make moto's TransactWriteItems idempotent per ClientRequestToken, as DynamoDB's is.

    DynamoDB: a repeat of a transaction that succeeded, with the same token and the same parameters within ten
    minutes, succeeds again without writing anything; the same token with other parameters is refused with
    IdempotentParameterMismatchException. moto ignores the token, so a retry of a committed transaction (botocore
    resends it when the response is lost) would be applied twice, or fail its conditions, where AWS answers
    success. Only successes are remembered: a cancelled transaction wrote nothing and may be sent again.
    Secrets Manager's tokens need no patch: moto already ignores a CreateSecret/PutSecretValue whose
    ClientRequestToken names an existing version with the same value, as AWS does.
    """
    import json
    import time

    from moto.core.responses import ActionResult
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.transact_write_items
    if getattr(original, "_tokens", False):
        return
    seen: dict[tuple[str, str, str], tuple[float, str]] = {}

    def transact_write_items(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return original(self)
        key = (self.current_account, self.region, token)
        # Binary attributes (gzip'd revisions) arrive decoded: compare their bytes too.
        request = json.dumps(self.body.get("TransactItems"), sort_keys=True, default=_bytes_as_hex)
        with _WRITE_LOCK:
            now = time.monotonic()
            for stale in [k for k, (at, _) in seen.items() if now - at > IDEMPOTENCY_WINDOW_SECONDS]:
                del seen[stale]
            if key in seen:
                if seen[key][1] != request:
                    raise DynamodbException(
                        ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
                        "The request uses the same client token as a previous, but non-identical request.",
                    )
                return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
            result = original(self)
            seen[key] = (time.monotonic(), request)
            return result

    transact_write_items._tokens = True  # type: ignore[attr-defined]
    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _bytes_as_hex(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)


def _refuse_versions_of_deleted_secrets() -> None:
    """PutSecretValue on a secret marked for deletion is an InvalidRequestException on AWS; moto adds the version.

    A repeat of a put that already landed (same token, same value) is still answered as the first one was.
    """
    from moto.secretsmanager.exceptions import InvalidRequestException
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.put_secret_value
    if getattr(original, "_refuses_deleted", False):
        return

    def put_secret_value(self: Any, secret_id: str, *args: Any, **kwargs: Any) -> Any:
        secret = self.secrets[secret_id] if secret_id in self.secrets else None  # noqa: SIM401  # its [] resolves ARNs
        token = kwargs.get("client_request_token")
        if secret is not None and secret.is_deleted() and not (token and token in secret.versions):
            raise InvalidRequestException(
                "You can't perform this operation on the secret because it was marked for deletion."
            )
        return original(self, secret_id, *args, **kwargs)

    put_secret_value._refuses_deleted = True  # type: ignore[attr-defined]
    SecretsManagerBackend.put_secret_value = put_secret_value  # type: ignore[method-assign]


@dataclass
class EmbeddedAws:
    endpoint_url: str
    server: Any = None

    @classmethod
    def start(cls, port: int | None = None) -> EmbeddedAws:
        """Use AWS_ENDPOINT_URL when it is set (any AWS endpoint); otherwise start moto server on loopback."""
        use_fake_credentials()
        if os.environ.get("AWS_ENDPOINT_URL") and port is None:
            return cls(os.environ["AWS_ENDPOINT_URL"])
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
        port = port or free_port()
        _isolate_dynamodb_writes()
        _honour_transaction_tokens()
        _refuse_versions_of_deleted_secrets()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        return cls(endpoint, server)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=REGION)  # type: ignore[call-overload]

    def provision(self, template: Template | None = None) -> dict[str, str]:
        """Create the template's resources; returns logical id -> Ref value for the environment resolver."""
        template = template or load()
        refs: dict[str, str] = {}
        dynamodb = self.client("dynamodb")
        existing = set(dynamodb.list_tables()["TableNames"])
        for name, spec in template.resources_of_type("AWS::DynamoDB::Table").items():
            table = physical_name(name)
            refs[name] = table
            if table in existing:
                continue
            props = {k: v for k, v in spec["Properties"].items() if k in _TABLE_KEYS}
            dynamodb.create_table(TableName=table, **props)
            ttl = spec["Properties"].get("TimeToLiveSpecification")
            if ttl:
                dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl)
        queues = template.resources_of_type("AWS::SQS::Queue")
        if queues:
            sqs = self.client("sqs")
            resolver = Resolver(template)
            # Dead-letter queues first, so redrive policies can name them.
            for name, spec in sorted(queues.items(), key=lambda item: "RedrivePolicy" in item[1].get("Properties", {})):
                attributes = {}
                for key, value in (spec.get("Properties") or {}).items():
                    if key in {
                        "VisibilityTimeout",
                        "MessageRetentionPeriod",
                        "ReceiveMessageWaitTimeSeconds",
                    }:
                        attributes[key] = str(value)
                    elif key == "RedrivePolicy":
                        import json

                        attributes[key] = json.dumps(resolver.resolve(value))
                refs[name] = sqs.create_queue(QueueName=physical_name(name), Attributes=attributes)["QueueUrl"]
        buses = template.resources_of_type("AWS::Events::EventBus")
        if buses:
            events = self.client("events")
            known = {bus["Name"] for bus in events.list_event_buses()["EventBuses"]}
            for name in buses:
                refs[name] = physical_name(name)
                if physical_name(name) not in known:
                    events.create_event_bus(Name=physical_name(name))
        return refs


def function_environment(template: Template, refs: dict[str, str]) -> dict[str, str]:
    """The environment every in-process function sees locally; they must agree where they share a variable."""
    resolver = Resolver(template, refs)
    merged: dict[str, str] = {}

    for function in template.functions().values():
        if function.is_runner:  # runners run apart, in processes of their own with their own environment
            continue
        for key, value in resolver.resolve(function.environment).items():
            if key in merged and merged[key] != str(value):
                raise ValueError(f"functions disagree on {key}; the local server runs them in one process")
            merged[key] = str(value)
    merged.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    merged.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    return merged
