"""Salesforce through its REST API: plain HTTPS, no SDK. A 003 connector key (type empty, connectorKey salesforce).

Authentication (OAuth 2.0 at `/services/oauth2/token`): client credentials (`clientId` + `clientSecret`, on the
org's My Domain, `instanceUrl`), JWT bearer (`clientId` + `privateKey` + `credentials.username`, at `loginUrl`,
login.salesforce.com by default; test.salesforce.com for a sandbox), a refresh token (`refreshToken` + `clientId`
[+ `clientSecret`], at `instanceUrl` or `loginUrl`), or an access token as `credentials.oauthToken` with
`instanceUrl`. The `instance_url` a token answer names is checked like any host. Test: describeGlobal
(`/services/data/vXX.X/sobjects`). Discovery: describeGlobal, include/exclude on `salesforce.<ObjectName>`, at most
10,000 objects, each object's describe (10 at a time through `/composite/batch`), row counts from
`/limits/recordCount` (cheap: the org's stored counts, not a query).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.pinned_http import Response, status_code
from datasource_registry.connectors.saas_http import (
    HttpsSession,
    answered,
    ca_certificate,
    config_text,
    load_private_key,
    oauth_token,
    rs256_jwt,
    secret_text,
    split_url,
)
from datasource_registry.discovered import Column, DiscoveredSchema, Table

SUFFIXES = ("salesforce.com", "force.com", "cloudforce.com", "database.com")
LOGIN_URL = "https://login.salesforce.com"
API_VERSION = "60.0"
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105  # an endpoint's path, not a secret
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCHEMA = "salesforce"
MAX_TABLES = 10_000
BATCH = 10  # composite/batch takes at most 25 subrequests; a describe can be a few MB, so fewer
MAX_BATCH_BYTES = 64 * 1024 * 1024
COUNT_CHUNK = 100  # object names per recordCount request (URL length)
_VERSION = re.compile(r"^\d{2,3}\.\d$")
_OBJECT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_AUTH_CODES = {"INVALID_SESSION_ID", "INVALID_AUTH_HEADER", "INVALID_LOGIN"}
_DENIED_CODES = {
    "API_DISABLED_FOR_ORG",
    "INSUFFICIENT_ACCESS",
    "INSUFFICIENT_ACCESS_OR_READONLY",
    "FUNCTIONALITY_NOT_ENABLED",
}


def error_of(ctx: Context, status: int, body: Any) -> ConnectorError:
    """Salesforce's REST error ([{"message", "errorCode"}]) as a stable code: INVALID_SESSION_ID 401 -> AUTH_FAILED."""
    error_code, message = "", ""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        error_code, message = str(body[0].get("errorCode") or ""), str(body[0].get("message") or "")
    code = status_code(status)
    if error_code in _AUTH_CODES:
        code = ErrorCode.AUTH_FAILED
    elif error_code in _DENIED_CODES:
        code = ErrorCode.PERMISSION_DENIED
    elif error_code in {"NOT_FOUND", "INVALID_TYPE"}:
        code = ErrorCode.NOT_FOUND
    elif error_code == "REQUEST_LIMIT_EXCEEDED":
        code = ErrorCode.PROTOCOL_ERROR
    return answered(ctx, "Salesforce", status, code, f" {error_code}" if error_code else "", message)


def _response_error(ctx: Context, response: Response) -> ConnectorError:
    return error_of(ctx, response.status, response.json_or_none())


def _session(ctx: Context, url: str, what: str) -> tuple[HttpsSession, str]:
    host, port, path = split_url(url, what)
    session = HttpsSession(ctx, host, port, engine="Salesforce", suffixes=SUFFIXES, ca_certificate=ca_certificate(ctx))
    return session, path


def _token_request(ctx: Context) -> tuple[str, dict[str, str]] | None:
    """(token endpoint URL, form fields) of the configured OAuth flow, or None for a given access token."""
    client_id = config_text(ctx, "clientId")
    client_secret = secret_text(ctx, "clientSecret")
    refresh = secret_text(ctx, "refreshToken")
    private_key = secret_text(ctx, "privateKey")
    instance = config_text(ctx, "instanceUrl")
    login = config_text(ctx, "loginUrl") or LOGIN_URL
    if ctx.credential("oauth_token"):
        ctx.scrub.add(ctx.credential("oauth_token"))
        if not instance:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "an access token needs sourceConfig.instanceUrl")
        return None
    if not client_id:
        raise ConnectorError(
            ErrorCode.INVALID_CONFIG,
            "Salesforce needs sourceConfig.clientId (with clientSecret, privateKey or refreshToken)"
            " or credentials.oauthToken",
        )
    if refresh:
        fields = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh}
        if client_secret:
            fields["client_secret"] = client_secret
        return (instance or login), fields
    if private_key:
        user = ctx.credential("username") or config_text(ctx, "username")
        if not user:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "the JWT bearer flow needs credentials.username")
        key = load_private_key(private_key, secret_text(ctx, "privateKeyPassphrase"), "sourceConfig.privateKey")
        host, port, _ = split_url(login, "sourceConfig.loginUrl")
        audience = f"https://{host}" + (f":{port}" if port != 443 else "")
        claims = {"iss": client_id, "sub": user, "aud": audience, "exp": int(time.time()) + 180}
        assertion = rs256_jwt(claims, key)
        ctx.scrub.add(assertion)
        return login, {"grant_type": JWT_BEARER, "assertion": assertion}
    if client_secret:
        if not instance:
            raise ConnectorError(
                ErrorCode.INVALID_CONFIG, "the client credentials flow needs sourceConfig.instanceUrl (your My Domain)"
            )
        return instance, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    raise ConnectorError(
        ErrorCode.INVALID_CONFIG, "sourceConfig.clientId needs clientSecret, privateKey or refreshToken with it"
    )


class Api:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        version = (config_text(ctx, "apiVersion") or API_VERSION).removeprefix("v")
        if not _VERSION.match(version):
            raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.apiVersion must look like 60.0")
        self.version = version
        self.request = _token_request(ctx)
        instance = config_text(ctx, "instanceUrl")
        token_url = self.request[0] if self.request else instance
        assert token_url is not None
        self.session, self.base = _session(ctx, token_url, "sourceConfig.instanceUrl or loginUrl")
        self.token = ctx.credential("oauth_token") or ""

    def authenticate(self) -> None:
        if self.request is not None:
            _, _, base = split_url(self.request[0], "the token URL")
            document = oauth_token(self.ctx, self.session, base + TOKEN_PATH, self.request[1], "Salesforce")
            self.token = str(document["access_token"])
            instance = document.get("instance_url")
            if isinstance(instance, str) and instance:
                # The org's own host, checked (engine host or allowed by policy) and pinned like any other.
                host, port, _ = split_url(instance, "the token answer's instance_url")
                if (host, port) != (self.session.host, self.session.port):
                    self.session, self.base = _session(self.ctx, instance, "the token answer's instance_url")
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def path(self, rest: str) -> str:
        return f"{self.base}/services/data/v{self.version}{rest}"

    def get(self, rest: str) -> Any:
        response = self.session.request("GET", self.path(rest), headers=self.headers)
        if response.status != 200:
            raise _response_error(self.ctx, response)
        return response.json()

    def describe(self, names: list[str]) -> Iterator[tuple[str, Any]]:
        """Each object's describe, BATCH per composite/batch request."""
        for start in range(0, len(names), BATCH):
            chunk = names[start : start + BATCH]
            body = {
                "batchRequests": [
                    {"method": "GET", "url": f"v{self.version}/sobjects/{quote(n, safe='')}/describe"} for n in chunk
                ]
            }
            response = self.session.request(
                "POST",
                self.path("/composite/batch"),
                headers={**self.headers, "Content-Type": "application/json"},
                body=json.dumps(body).encode(),
                max_bytes=MAX_BATCH_BYTES,
            )
            if response.status != 200:
                raise _response_error(self.ctx, response)
            document = response.json()
            results = document.get("results") if isinstance(document, dict) else None
            if not isinstance(results, list) or len(results) != len(chunk):
                raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "composite/batch answered without one result each")
            for name, result in zip(chunk, results, strict=True):
                status = result.get("statusCode") if isinstance(result, dict) else None
                if status != 200:
                    raise error_of(
                        self.ctx, int(status or 0), result.get("result") if isinstance(result, dict) else None
                    )
                yield name, result.get("result")

    def record_counts(self, names: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for start in range(0, len(names), COUNT_CHUNK):
            chunk = ",".join(names[start : start + COUNT_CHUNK])
            try:
                document = self.get(f"/limits/recordCount?sObjects={quote(chunk, safe=',')}")
            except ConnectorError as exc:
                if exc.code in {ErrorCode.AUTH_FAILED, ErrorCode.TIMEOUT}:
                    raise
                return counts  # counts are a nicety: a refused count leaves estimates out
            for item in document.get("sObjects") or [] if isinstance(document, dict) else []:
                if isinstance(item, dict) and isinstance(item.get("count"), int):
                    counts[str(item.get("name"))] = item["count"]
        return counts


def _objects(api: Api) -> list[dict[str, Any]]:
    document = api.get("/sobjects")
    objects = document.get("sobjects") if isinstance(document, dict) else None
    if not isinstance(objects, list):
        raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "describeGlobal answered without sobjects")
    return [o for o in objects if isinstance(o, dict) and isinstance(o.get("name"), str)]


def check(ctx: Context) -> None:
    api = Api(ctx)
    api.session.connect()
    with ctx.stage("authenticate"):
        api.authenticate()
    with ctx.stage("metadata"):
        objects = _objects(api)
        ctx.server_version = f"Salesforce REST API v{api.version}"
        ctx.details.update(objects=len(objects), instance=api.session.host)


def field_type(field: dict[str, Any]) -> str:
    kind = str(field.get("type") or "unknown")
    if kind in {"string", "textarea", "url", "email", "phone", "picklist", "multipicklist", "encryptedstring"}:
        length = field.get("length")
        return f"{kind}({length})" if isinstance(length, int) and length > 0 else kind
    if kind in {"double", "currency", "percent"} and isinstance(field.get("precision"), int) and field["precision"]:
        return f"{kind}({field['precision']},{field.get('scale') or 0})"
    if kind == "reference" and isinstance(field.get("referenceTo"), list) and field["referenceTo"]:
        return "reference(" + ",".join(str(r) for r in field["referenceTo"][:5]) + ")"
    return kind


def table_of(name: str, describe: Any, rows: int | None) -> Table:
    fields = describe.get("fields") if isinstance(describe, dict) else None
    columns = []
    for ordinal, field in enumerate(fields if isinstance(fields, list) else [], start=1):
        if isinstance(field, dict) and isinstance(field.get("name"), str):
            default = field.get("defaultValueFormula") or field.get("defaultValue")
            columns.append(
                Column(
                    field["name"],
                    field_type(field),
                    bool(field.get("nillable")),
                    None if default is None else str(default),
                    ordinal,
                )
            )
    key = ["Id"] if any(c.name == "Id" and c.type == "id" for c in columns) else []
    return Table(SCHEMA, name, "table", columns, key, rows)


def discover(ctx: Context) -> DiscoveredSchema:
    started = time.monotonic()
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    api = Api(ctx)
    with ctx.stage("authenticate"):
        api.authenticate()
    truncated = False
    with ctx.stage("metadata"):
        only = config_text(ctx, "objectName")
        if only:
            if not _OBJECT.match(only):
                raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.objectName is not an object name")
            wanted = [only]
        else:
            wanted = []
            for item in _objects(api):
                if item.get("queryable") is False or not _OBJECT.match(item["name"]):
                    continue
                if not names(f"{SCHEMA}.{item['name']}"):
                    continue
                if len(wanted) == MAX_TABLES:
                    truncated = True
                    break
                wanted.append(item["name"])
        counts = api.record_counts(wanted) if wanted else {}
        tables = [table_of(name, describe, counts.get(name)) for name, describe in api.describe(wanted)]
    details: dict[str, Any] = {
        "apiVersion": api.version,
        "instance": api.session.host,
        "durationMs": round((time.monotonic() - started) * 1000, 1),
    }
    if truncated:
        details["truncated"] = True
        details["maxTables"] = MAX_TABLES
    return DiscoveredSchema(tables, details=details)
