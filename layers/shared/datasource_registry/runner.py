"""Connector runners: the families of drivers, the request a caller sends a runner, and the runner's side of it.

A runner is a Lambda function that holds no permission on the registry: the caller resolves the source and its
credentials, sends them here with the deadline and the network policy, and records what comes back. Requests and
answers are plain JSON, so both sides read them without the other's code: `{"result": ...}` or
`{"error": {"code": ..., "message": ...}}`, the message already scrubbed of the request's secrets. A result past
1 MiB travels gzip'd (`{"resultGzip": base64}`): Lambda returns at most 6 MB, and a 10,000-table schema is more.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
from collections.abc import Mapping
from typing import Any

from datasource_registry.connectors.errors import ConnectorError, ErrorCode, Scrubber
from datasource_registry.connectors.result import ConnectionTestResult, Stage
from datasource_registry.connectors.target import ConnectionTarget
from datasource_registry.discovered import DiscoveredSchema

# The family whose runner (and layer) holds each type's driver. sql: psycopg, PyMySQL, python-tds, python-oracledb
# (thin) and paramiko for SSH tunnels;
# files: pyarrow, python-calamine (Excel) and pyiceberg (the runtime's boto3 reads S3 and DynamoDB); kv-http: redis-py
# and paramiko, with the connectors that need no driver of their own (http_api, synthetic) and any type no connector
# serves yet (it answers UNSUPPORTED from the lightest runner); nosql: pymongo and cassandra-driver; lake: deltalake
# (delta-rs); lake-hudi: hudi (hudi-rs) with its pyarrow (the two Rust libraries are 134 and 106 MB: together with
# pyarrow they would pass Lambda's 250 MB).
FAMILIES: dict[str, str] = {
    "postgresql": "sql",
    "redshift": "sql",
    "mysql": "sql",
    "mariadb": "sql",
    "sqlserver": "sql",
    "oracle": "sql",
    "database": "sql",
    "s3": "files",
    "csv": "files",
    "json": "files",
    "parquet": "files",
    "orc": "files",
    "excel": "files",
    "iceberg": "files",
    "dynamodb": "files",
    "redis": "kv-http",
    "http_api": "kv-http",
    "synthetic": "kv-http",
    "elasticsearch": "kv-http",
    "kafka": "kv-http",
    "mongodb": "nosql",
    "cassandra": "nosql",
    # HTTPS engines: http.client plus the layer's cryptography (JWT signing), no SDK of their own.
    "snowflake": "kv-http",
    "bigquery": "kv-http",
    "salesforce": "kv-http",
    "delta_lake": "lake",
    "hudi": "lake-hudi",
}
DEFAULT_FAMILY = "kv-http"
OPERATIONS = ("test", "discover")
COMPRESS_ABOVE = 1024 * 1024
# Lambda's limit on a synchronous invocation's response, less room for the JSON around the base64 text.
RESPONSE_LIMIT = 6 * 1024 * 1024 - 1024


def family_of(source_type: str) -> str:
    return FAMILIES.get(source_type, DEFAULT_FAMILY)


def parse_runner_names(text: str) -> dict[str, str]:
    """`sql=fn-a,files=fn-b,kv-http=fn-c` (the CONNECTOR_RUNNERS setting) -> family -> function name."""
    names = {}
    for part in text.replace(" ", "").split(","):
        if part:
            family, _, name = part.partition("=")
            if not name:
                raise ValueError(f"CONNECTOR_RUNNERS: {part!r} is not family=function")
            names[family] = name
    return names


def request_of(
    operation: str,
    target: ConnectionTarget,
    credentials: Mapping[str, str],
    deadline_seconds: float | None,
    allowed_cidrs: str,
    aws_endpoint_url: str | None,
) -> dict[str, Any]:
    """The invoke payload: everything a runner needs, so it needs nothing of the registry's."""
    fields = dataclasses.asdict(target)
    fields["source_config"] = dict(target.source_config)
    fields["include_patterns"] = list(target.include_patterns)
    fields["exclude_patterns"] = list(target.exclude_patterns)
    return {
        "operation": operation,
        "target": fields,
        "credentials": dict(credentials),
        "deadlineSeconds": deadline_seconds,
        "allowedCidrs": allowed_cidrs,
        "awsEndpointUrl": aws_endpoint_url,
    }


def target_from(fields: Mapping[str, Any]) -> ConnectionTarget:
    known = {f.name for f in dataclasses.fields(ConnectionTarget)}
    values = {k: v for k, v in fields.items() if k in known}
    values["include_patterns"] = tuple(values.get("include_patterns") or ())
    values["exclude_patterns"] = tuple(values.get("exclude_patterns") or ())
    return ConnectionTarget(**values)


def check_result_from(data: Mapping[str, Any]) -> ConnectionTestResult:
    stages = [Stage(s["name"], bool(s["ok"]), float(s["durationMs"]), s.get("error")) for s in data["stages"]]
    return ConnectionTestResult(
        success=bool(data["success"]),
        stages=stages,
        duration_ms=float(data["durationMs"]),
        error_code=data.get("errorCode"),
        error=data.get("error"),
        server_version=data.get("serverVersion"),
        ssh_host_key_fingerprint=data.get("sshHostKeyFingerprint"),
        details=dict(data.get("details") or {}),
    )


def failed_test(code: ErrorCode, message: str, duration_ms: float = 0.0) -> ConnectionTestResult:
    return ConnectionTestResult(
        False, [Stage("connect", False, duration_ms, message)], duration_ms, code.value, message
    )


def scrubber_for(credentials: Mapping[str, Any]) -> Scrubber:
    return Scrubber(str(v) for v in credentials.values() if v)


def handle(event: Mapping[str, Any]) -> dict[str, Any]:
    """A runner's whole job: run the connector library in this process and answer in JSON, never raising."""
    from datasource_registry.connectors import NetworkPolicy, check_connection, discover_schema

    credentials = {str(k): str(v) for k, v in dict(event.get("credentials") or {}).items()}
    scrub = scrubber_for(credentials)
    try:
        operation = event.get("operation")
        if operation not in OPERATIONS:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"a runner request's operation is one of {OPERATIONS}")
        target = target_from(event["target"])
        policy = NetworkPolicy.from_string(str(event.get("allowedCidrs") or ""))
        deadline = None if event.get("deadlineSeconds") is None else float(event["deadlineSeconds"])
        endpoint = event.get("awsEndpointUrl") or None
        if operation == "test":
            result = check_connection(target, credentials, policy, deadline_seconds=deadline, aws_endpoint_url=endpoint)
            return _answer(result.to_dict())
        schema = discover_schema(target, credentials, policy, deadline_seconds=deadline, aws_endpoint_url=endpoint)
        return _answer(schema.to_dict())
    except ConnectorError as exc:
        return {"error": {"code": exc.code.value, "message": scrub(exc.message)}}
    except Exception as exc:  # a malformed request or a driver bug: an answer with a stable code, never a trace
        return {"error": {"code": ErrorCode.UNEXPECTED.value, "message": scrub(f"{type(exc).__name__}: {exc}")}}


def _answer(result: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()
    if len(text) <= COMPRESS_ABOVE:
        return {"result": result}
    packed = base64.b64encode(gzip.compress(text, compresslevel=6)).decode("ascii")
    if len(packed) > RESPONSE_LIMIT:
        mb = len(text) / 1024 / 1024
        message = f"the answer is too large for a runner to return ({mb:.0f} MB); narrow it with includePatterns"
        return {"error": {"code": ErrorCode.UNEXPECTED.value, "message": message}}
    return {"resultGzip": packed}


def result_of(answer: Mapping[str, Any]) -> Any:
    """The result of a runner's answer, unpacked when it came gzip'd."""
    if "resultGzip" in answer:
        return json.loads(gzip.decompress(base64.b64decode(answer["resultGzip"])))
    return answer["result"]


def schema_from(data: Mapping[str, Any]) -> DiscoveredSchema:
    return DiscoveredSchema.from_dict(dict(data))
