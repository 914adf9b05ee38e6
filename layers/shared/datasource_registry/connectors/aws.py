"""boto3 clients for the AWS connectors, with the call's deadline, no retries, and error mapping."""

from __future__ import annotations

from typing import Any

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ErrorCode

_AUTH = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
}
_DENIED = {"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "403", "Forbidden"}
_MISSING = {
    "NoSuchBucket",
    "NoSuchKey",
    "ResourceNotFoundException",
    "404",
    "NotFound",
    "TableNotFoundException",
}


def classify(exc: BaseException) -> ErrorCode | None:
    from botocore import exceptions as bex

    if isinstance(exc, bex.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _AUTH:
            return ErrorCode.AUTH_FAILED
        if code in _DENIED:
            return ErrorCode.PERMISSION_DENIED
        if code in _MISSING:
            return ErrorCode.NOT_FOUND
        return ErrorCode.PROTOCOL_ERROR
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return ErrorCode.AUTH_FAILED
    if isinstance(exc, bex.ConnectTimeoutError | bex.ReadTimeoutError):
        return ErrorCode.TIMEOUT
    if isinstance(exc, bex.SSLError):
        return ErrorCode.TLS_FAILED
    if isinstance(exc, bex.EndpointConnectionError):
        return ErrorCode.UNREACHABLE
    return None


def client(ctx: Context, service: str, region: str | None = None) -> Any:
    """A client using the source's keys if given, else the default credential chain (the function's role)."""
    import boto3
    from botocore.config import Config

    timeout = max(ctx.connect_timeout(), 0.5)
    session = boto3.session.Session(
        aws_access_key_id=ctx.credential("access_key_id"),
        aws_secret_access_key=ctx.credential("secret_access_key"),
        aws_session_token=ctx.credential("session_token"),
        region_name=ctx.target.region or str(ctx.target.source_config.get("region") or "") or region or "us-east-1",
    )
    return session.client(
        service,  # type: ignore[call-overload]
        endpoint_url=ctx.aws_endpoint_url,
        config=Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},  # one attempt: max_attempts=1 is one RETRY
            user_agent_extra="datasource-registry-connector",
        ),
    )
