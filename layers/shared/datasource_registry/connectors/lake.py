"""Table formats on S3 read by Rust libraries (delta-rs, hudi-rs): where the table is, the storage options they get,
and their calls bounded by the source's deadline.

The libraries talk to S3 with their own HTTP client (object_store), so what they may reach is fixed here, never by
the user: the deployment's embedded endpoint (`aws_endpoint_url`, local stacks; plain http allowed for it alone) or
AWS's own S3 endpoint for the table's region. The bucket and region are checked against AWS's naming rules before
they become part of a host name, and the libraries get every credential explicitly: both fill absent options from
the process environment (a role's session token would be sent with a source's own keys), and without keys
object_store asks the instance metadata service, which connectors never reach.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.discovered import Column, DiscoveredSchema, Table

T = TypeVar("T")

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
# What the libraries would take from the environment if an option were absent (every AWS_* variable, hudi-rs's
# HOODIE_ENV_* ones): hidden from them while they build their store, then put back.
_AMBIENT_PREFIXES = ("AWS_", "HOODIE_ENV_")
_KEPT_PREFIXES = ("AWS_LAMBDA_", "AWS_EXECUTION_ENV", "AWS_XRAY_")  # the runtime's own, no storage setting
_ENV_LOCK = threading.Lock()


def table_location(ctx: Context) -> tuple[str, str]:
    """Bucket and table path from filePath: `s3://bucket/path/table`, an AWS S3 https URL, or a path in
    sourceConfig.bucket."""
    from datasource_registry.connectors.s3 import location_of

    raw = (ctx.target.file_path or "").strip()
    if not raw:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "filePath (s3://bucket/path/to/table) is required")
    if "://" in raw:
        if not raw.startswith(("s3://", "https://")):
            raise ConnectorError(
                ErrorCode.INVALID_CONFIG, "filePath must be s3://bucket/path/to/table (or an AWS S3 https URL)"
            )
        bucket, path, _ = location_of(raw)
    else:
        bucket, path = str(ctx.target.source_config.get("bucket") or ""), raw
    path = path.strip("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "filePath names no valid S3 bucket (s3://bucket/path/to/table)")
    if not path or any(part in {".", ".."} for part in path.split("/")):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "filePath must name the table's folder inside the bucket")
    return bucket, path


def region_of(ctx: Context) -> str:
    region = ctx.target.region or str(ctx.target.source_config.get("region") or "") or "us-east-1"
    if not _REGION.match(region):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"{region!r} is not an AWS region name")
    return region


def _credentials(ctx: Context) -> dict[str, str]:
    key, secret = ctx.credential("access_key_id"), ctx.credential("secret_access_key")
    token = ctx.credential("session_token")
    if bool(key) != bool(secret):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "give both accessKeyId and secretAccessKey, or neither")
    if not key:  # the function's own role, through botocore's chain (never the metadata service on a runner)
        import botocore.session

        found = botocore.session.get_session().get_credentials()
        frozen = found.get_frozen_credentials() if found is not None else None
        if frozen is None or not frozen.access_key:
            raise ConnectorError(
                ErrorCode.AUTH_FAILED, "no AWS credentials: give accessKeyId and secretAccessKey for this source"
            )
        key, secret, token = frozen.access_key, frozen.secret_key, frozen.token
    options = {"aws_access_key_id": str(key), "aws_secret_access_key": str(secret)}
    if token:
        options["aws_session_token"] = str(token)
    return options


def storage_options(ctx: Context, bucket: str, seconds: float) -> dict[str, str]:
    """object_store's options for the table's bucket: explicit credentials, region, endpoint and timeouts."""
    region = region_of(ctx)
    options = _credentials(ctx)
    options.update(aws_region=region, timeout=f"{max(1, int(seconds))}s", connect_timeout=f"{max(1, int(seconds))}s")
    if ctx.aws_endpoint_url:  # the deployment's own endpoint (a local stack): path-style, http allowed for it alone
        parts = urlsplit(ctx.aws_endpoint_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "the deployment's AWS endpoint is not an http(s) URL")
        options.update(aws_endpoint_url=ctx.aws_endpoint_url, aws_virtual_hosted_style_request="false")
        if parts.scheme == "http":
            options["aws_allow_http"] = "true"
    elif "." in bucket:  # AWS itself, over https only; a dotted bucket in the path (its host fails the wildcard cert)
        options.update(
            aws_endpoint_url=f"https://s3.{region}.amazonaws.com",
            aws_virtual_hosted_style_request="false",
            aws_allow_http="false",
        )
    else:  # AWS itself, over https only: the bucket's own host, the endpoint object_store requests as is
        options.update(
            aws_endpoint_url=f"https://{bucket}.s3.{region}.amazonaws.com",
            aws_virtual_hosted_style_request="true",
            aws_allow_http="false",
        )
    return options


def _ambient(name: str) -> bool:
    return name.startswith(_AMBIENT_PREFIXES) and not name.startswith(_KEPT_PREFIXES)


@contextmanager
def _no_ambient_settings() -> Iterator[None]:
    """The process's AWS settings hidden while a library call starts (both read them when they build their store,
    which they do first); put back when the call ends or is abandoned, by the caller's thread."""
    with _ENV_LOCK:
        saved = {k: v for k, v in os.environ.items() if _ambient(k)}
        for name in saved:
            os.environ.pop(name, None)
        try:
            yield
        finally:
            os.environ.update(saved)


def bounded(ctx: Context, what: str, call: Callable[[], T]) -> T:
    """Run a library call in a worker thread and wait at most the time left (query_timeout, capped by the deadline).

    The Rust call cannot be interrupted: past the deadline the caller gets TIMEOUT and the thread is left to end by
    the libraries' own timeouts (the storage options carry the same budget)."""
    budget = ctx.query_timeout()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    with _no_ambient_settings():
        worker = threading.Thread(target=work, name=f"lake-{what}", daemon=True)
        worker.start()
        worker.join(budget)
    if worker.is_alive():
        raise ConnectorError(ErrorCode.TIMEOUT, f"{what} took longer than the {budget:.1f} s left of the deadline")
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, ConnectorError):
            raise error
        text = describe(error)
        raise ConnectorError(classify_text(text), text) from None
    value: T = outcome["value"]
    return value


def _reachable(ctx: Context, endpoint: str) -> None:
    """One TCP connect to the storage endpoint (the deployment's own or AWS's, never a user's) before the library
    call: a refused or dead endpoint fails at once, where the Rust clients retry with backoff for seconds."""
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=max(0.1, ctx.query_timeout())):
            pass
    except socket.gaierror:
        raise ConnectorError(ErrorCode.DNS_FAILED, "the storage endpoint's name did not resolve") from None
    except TimeoutError:
        raise ConnectorError(ErrorCode.TIMEOUT, "the storage endpoint did not answer within the deadline") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConnectorError(ErrorCode.UNREACHABLE, f"the storage endpoint could not be reached ({reason})") from None


def read_table(
    ctx: Context,
    table_format: str,
    what: str,
    load: Callable[[str, dict[str, str]], T],
    extra_options: Callable[[float], dict[str, str]] | None = None,
) -> tuple[str, str, T]:
    """Bucket, path and what `load(uri, storage_options)` read of the table: "resolve" (the table's location and the
    storage options, with the time left), then "metadata" (the library call, bounded by the deadline). The call's
    details get the bucket, path and format."""
    with ctx.stage("resolve"):
        bucket, path = table_location(ctx)
        budget = ctx.query_timeout()
        options = {**storage_options(ctx, bucket, budget), **(extra_options(budget) if extra_options else {})}
    uri = f"s3://{bucket}/{path}"
    with ctx.stage("connect"):
        _reachable(ctx, options["aws_endpoint_url"])
    with ctx.stage("metadata", classify):
        found = bounded(ctx, what, lambda: load(uri, options))
    ctx.details.update(bucket=bucket, path=path, format=table_format)
    return bucket, path, found


def one_table(
    ctx: Context,
    bucket: str,
    path: str,
    name: Any,
    columns: list[Column],
    *,
    no_columns: str,
    key: list[str] | None = None,
    rows: int | None = None,
    **details: Any,
) -> DiscoveredSchema:
    """The table (named `name`, or its folder's name) as `bucket.name`, unless include/exclude leave it out; the
    record key fields that are columns as its primary key; `details` added to the call's details."""
    table_name = str(name or path.rsplit("/", 1)[-1])
    if not NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)(f"{bucket}.{table_name}"):
        return DiscoveredSchema([], details=dict(ctx.details))
    if not columns:
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, no_columns)
    known = {c.name for c in columns}
    primary_key = [k for k in key or [] if k in known]
    return DiscoveredSchema(
        [Table(bucket, table_name, "table", columns, primary_key, rows)], details={**ctx.details, **details}
    )


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RETRIES = re.compile(r",? *after \d+ retries|,? *max_retries\W*\d+|,? *retry_timeout\W*\d+\w*")


def describe(exc: BaseException) -> str:
    """A library error as one line: delta-rs colours its error chain (ANSI) and both add object_store's retry
    summary, whose words ("retry_timeout") would read as a timeout."""
    text = _RETRIES.sub("", _ANSI.sub("", str(exc)))
    return " ".join(text.replace("↳", ":").split())[:1000] or type(exc).__name__


# Matched on the casefolded text; status codes as object_store prints them ("404 Not Found"), never bare digits,
# which a request's duration may hold.
_NOT_FOUND = ("nosuchbucket", "nosuchkey", "not found", "no files in log segment")
_DENIED = ("accessdenied", "403 forbidden", "allaccessdisabled")
_AUTH = ("invalidaccesskeyid", "signaturedoesnotmatch", "expiredtoken", "invalidtoken", "401 unauthorized")
_TIMEOUT = ("timed out", "timeout", "deadline has elapsed")
# A table whose own files are unreadable ("Config 'hoodie.table.name' not found" is a broken hoodie.properties).
_BROKEN = ("config error", "json error", "schema error", "parse error", "invalid table")
# A table the library cannot read yet (a Hudi table version before 6; Delta reader features it lacks).
_UNSUPPORTED = ("unsupported", "not supported", "only support")
# A refused or unresolvable connection, before the timeout words (a retry summary may follow it).
_REFUSED = ("connection refused", "dns error", "failed to lookup address", "connection reset")
_UNREACHABLE = ("error sending request", "connect error")


def classify(exc: BaseException) -> ErrorCode | None:
    """A library error by its text (both surface object_store's and the server's messages): a stable code, and
    PROTOCOL_ERROR for what is left (an unreadable log or timeline is the table's fault, not ours)."""
    if isinstance(exc, ConnectorError):
        return exc.code
    return classify_text(f"{type(exc).__name__} {describe(exc)}")


def classify_text(text: str) -> ErrorCode:
    folded = text.casefold()
    for words, code in (
        (_AUTH, ErrorCode.AUTH_FAILED),
        (_DENIED, ErrorCode.PERMISSION_DENIED),
        (_REFUSED, ErrorCode.UNREACHABLE),
        (_TIMEOUT, ErrorCode.TIMEOUT),
        (_UNREACHABLE, ErrorCode.UNREACHABLE),
        (_UNSUPPORTED, ErrorCode.UNSUPPORTED),
        (_BROKEN, ErrorCode.PROTOCOL_ERROR),
        (_NOT_FOUND, ErrorCode.NOT_FOUND),
    ):
        if any(word in folded for word in words):
            return code
    return ErrorCode.PROTOCOL_ERROR
