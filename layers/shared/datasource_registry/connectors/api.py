"""Entry points: test a connection or discover a schema for any data source type, never raising for a test."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from importlib import import_module

from datasource_registry.connectors.connstring import MYSQL_SCHEMES, POSTGRES_SCHEMES, scheme_of
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import WITHHELD, ConnectorError, ErrorCode
from datasource_registry.connectors.network import NetworkPolicy
from datasource_registry.connectors.result import ConnectionTestResult, Stage
from datasource_registry.connectors.target import ConnectionTarget
from datasource_registry.discovered import DiscoveredSchema

# Connector modules by type name (the registry's type names, as plain strings: the library knows no registry
# model), imported on first use so handlers that never test connections
# do not pay for psycopg, pyarrow or boto3 at cold start.
_MODULES: dict[str, str] = {
    "postgresql": "postgres",
    "redshift": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlserver": "sqlserver",
    "oracle": "oracle",
    "redis": "redis_kv",
    "s3": "s3",
    "csv": "files",
    "json": "files",
    "parquet": "files",
    "orc": "files",
    "excel": "excel",
    "iceberg": "iceberg",
    "dynamodb": "dynamodb",
    "delta_lake": "delta_lake",
    "hudi": "hudi_table",
    "http_api": "http_api",
    "elasticsearch": "elasticsearch",
    "kafka": "kafka_topics",
    "synthetic": "synthetic",
    "mongodb": "mongodb",
    "cassandra": "cassandra",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "salesforce": "salesforce",
}
NOT_SUPPORTED = "connector not supported yet"
# 001's `other` names no system, so there is nothing to connect to: a configuration error, said as such.
OTHER_LACKS = (
    "type `other` names no system the registry can connect to, so it is stored and scheduled but never tested or"
    " discovered; give the source its system's type (GET /api/v1/connector-types lists them) to test it"
)


def _module_name(target: ConnectionTarget) -> str:
    if target.type == "database":
        scheme = scheme_of(target.connection_string or "")
        if scheme in POSTGRES_SCHEMES:
            return "postgres"
        if scheme in MYSQL_SCHEMES:
            return "mysql"
        raise ConnectorError(
            ErrorCode.INVALID_CONFIG,
            "a `database` source needs a connection string starting with"
            " postgresql://, postgres://, mysql:// or mariadb://",
        )
    if target.type == "other":
        raise ConnectorError(ErrorCode.INVALID_CONFIG, OTHER_LACKS)
    name = _MODULES.get(target.type)
    if name is None:
        raise ConnectorError(ErrorCode.UNSUPPORTED, NOT_SUPPORTED)
    return name


def _connector(target: ConnectionTarget, function: str) -> Callable[[Context], object]:
    module = import_module(f"datasource_registry.connectors.{_module_name(target)}")
    connector: Callable[[Context], object] = getattr(module, function)
    return connector


def check_connection(
    target: ConnectionTarget,
    credentials: Mapping[str, str],
    policy: NetworkPolicy,
    *,
    deadline_seconds: float | None = None,
    aws_endpoint_url: str | None = None,
) -> ConnectionTestResult:
    """Resolve, connect, authenticate and read metadata within connection_timeout (or deadline_seconds)."""
    started = time.perf_counter()
    ctx = Context.create(target, credentials, policy, deadline_seconds, aws_endpoint_url, whole_call_is_connect=True)
    code: ErrorCode | None = None
    message: str | None = None
    try:
        with ctx.resources:
            _connector(target, "check")(ctx)
    except ConnectorError as exc:
        code, message = exc.code, ctx.scrub(exc.message)
        if not ctx.stages or ctx.stages[-1].ok:
            ctx.stages.append(Stage(_failed_stage_name(code), False, 0.0, message))
    except Exception as exc:  # a driver bug must still produce an answer, never a stack trace with secrets
        code, message = ErrorCode.UNEXPECTED, ctx.scrub(f"{type(exc).__name__}: {exc}")
        ctx.stages.append(Stage("metadata", False, 0.0, message))
    return ConnectionTestResult(
        success=code is None,
        stages=ctx.stages,
        duration_ms=(time.perf_counter() - started) * 1000,
        error_code=code.value if code else None,
        error=message,
        server_version=_shown(ctx, ctx.server_version),
        ssh_host_key_fingerprint=ctx.ssh_host_key_fingerprint,
        details={k: _shown(ctx, v) if isinstance(v, str) else v for k, v in ctx.details.items()},
    )


def _shown(ctx: Context, value: str | None) -> str | None:
    """A value the server reported, unless it holds a credential (then it is simply not shown)."""
    if not value:
        return None
    scrubbed = ctx.scrub(value)
    return None if scrubbed == WITHHELD else scrubbed


def _failed_stage_name(code: ErrorCode) -> str:
    return "connect" if code in {ErrorCode.UNSUPPORTED, ErrorCode.INVALID_CONFIG} else "metadata"


def discover_schema(
    target: ConnectionTarget,
    credentials: Mapping[str, str],
    policy: NetworkPolicy,
    *,
    deadline_seconds: float | None = None,
    aws_endpoint_url: str | None = None,
) -> DiscoveredSchema:
    """Tables, columns, keys and row estimates; raises ConnectorError(code, scrubbed message) on failure."""
    ctx = Context.create(target, credentials, policy, deadline_seconds, aws_endpoint_url, whole_call_is_connect=False)
    try:
        with ctx.resources:
            schema = _connector(target, "discover")(ctx)
    except ConnectorError as exc:
        raise ConnectorError(exc.code, ctx.scrub(exc.message)) from None
    except Exception as exc:
        raise ConnectorError(ErrorCode.UNEXPECTED, ctx.scrub(f"{type(exc).__name__}: {exc}")) from None
    assert isinstance(schema, DiscoveredSchema)
    return schema
