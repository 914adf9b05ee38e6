"""Google BigQuery through its REST API v2: plain HTTPS, no Google SDK (google-cloud-bigquery brings grpc).

Authentication: a service account's JSON key (`sourceConfig.serviceAccountJson`, a secret) is exchanged for an
access token with the OAuth 2.0 JWT bearer grant at its `token_uri` (an RS256 assertion signed here, scope
bigquery.readonly), or an access token is given as `credentials.oauthToken`. Test: `GET projects/{p}/datasets`.
Discovery: datasets (or `sourceConfig.dataset`), `tables.list` paged, include/exclude on `dataset.table` (the list
API takes no filter, so it runs here, before any `tables.get`), at most 10,000 tables, then `tables.get` per table
for its schema (RECORD fields flattened as dotted paths, REPEATED marked) and `numRows`, over up to 8 connections.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError, ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.pinned_http import Response, status_code
from datasource_registry.connectors.saas_http import (
    HttpsSession,
    answered,
    as_int,
    ca_certificate,
    config_text,
    load_private_key,
    oauth_token,
    rs256_jwt,
    secret_text,
    split_url,
)
from datasource_registry.discovered import Column, DiscoveredSchema, Table

SUFFIXES = ("googleapis.com",)
API_URL = "https://bigquery.googleapis.com"
TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105  # Google's token endpoint, not a secret
SCOPE = "https://www.googleapis.com/auth/bigquery.readonly"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_TABLES = 10_000
MAX_DATASETS = 10_000
MAX_DEPTH = 15  # BigQuery nests RECORDs at most 15 levels
PARALLEL = 8  # connections for tables.get
_PROJECT = re.compile(r"^[a-z0-9:._-]{1,128}$", re.IGNORECASE)


def service_account(ctx: Context) -> dict[str, Any] | None:
    text = secret_text(ctx, "serviceAccountJson")
    if not text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.serviceAccountJson is not JSON") from None
    if not isinstance(document, dict):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.serviceAccountJson is not a JSON object")
    for secret in ("private_key", "private_key_id"):
        if isinstance(document.get(secret), str):
            ctx.scrub.add(document[secret])
    if document.get("type") not in (None, "service_account"):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "serviceAccountJson must be a service account key")
    for name in ("client_email", "private_key"):
        if not isinstance(document.get(name), str) or not document[name]:
            raise ConnectorError(ErrorCode.INVALID_CONFIG, f"serviceAccountJson has no {name}")
    return document


def project_of(ctx: Context, account: Mapping[str, Any] | None) -> str:
    project = config_text(ctx, "projectId") or (str(account.get("project_id") or "") if account else "")
    if not project:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.projectId is required")
    if not _PROJECT.match(project):
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "sourceConfig.projectId is not a project id")
    return project


def _access_token(ctx: Context, account: Mapping[str, Any] | None) -> str:
    if account is None:
        token = ctx.credential("oauth_token")
        if not token:
            raise ConnectorError(
                ErrorCode.INVALID_CONFIG, "BigQuery needs sourceConfig.serviceAccountJson or credentials.oauthToken"
            )
        ctx.scrub.add(token)
        return token
    key = load_private_key(str(account["private_key"]), None, "the service account's private_key")
    uri = str(account.get("token_uri") or TOKEN_URI)
    host, port, path = split_url(uri, "the service account's token_uri")
    now = int(time.time())
    claims = {"iss": account["client_email"], "scope": SCOPE, "aud": uri, "iat": now, "exp": now + 3600}
    header = {"kid": account["private_key_id"]} if isinstance(account.get("private_key_id"), str) else {}
    assertion = rs256_jwt(claims, key, header)
    ctx.scrub.add(assertion)
    session = HttpsSession(
        ctx, host, port, engine="Google OAuth", suffixes=SUFFIXES, ca_certificate=ca_certificate(ctx)
    )
    document = oauth_token(ctx, session, path or "/", {"grant_type": JWT_BEARER, "assertion": assertion}, "Google")
    return str(document["access_token"])


def error_of(ctx: Context, response: Response) -> ConnectorError:
    """Google's JSON error ({"error": {"code", "message", "status", "errors": [{"reason"}]}}) as a stable code."""
    message, reason = "", ""
    document = response.json_or_none()
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        reasons = error.get("errors")
        if isinstance(reasons, list) and reasons and isinstance(reasons[0], dict):
            reason = str(reasons[0].get("reason") or "")
    code = status_code(response.status)
    if reason in {"rateLimitExceeded", "quotaExceeded"}:
        code = ErrorCode.PROTOCOL_ERROR
    if response.status == 400 and reason == "invalid":
        code = ErrorCode.INVALID_CONFIG
    return answered(ctx, "BigQuery", response.status, code, f" {reason}" if reason else "", message)


class Api:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        account = service_account(ctx)
        self.project = project_of(ctx, account)
        host, port, self.base = split_url(config_text(ctx, "apiUrl") or API_URL, "sourceConfig.apiUrl")
        self.session = HttpsSession(
            ctx, host, port, engine="BigQuery", suffixes=SUFFIXES, ca_certificate=ca_certificate(ctx)
        )
        self.account = account

    def authenticate(self) -> None:
        self.headers = {"Authorization": f"Bearer {_access_token(self.ctx, self.account)}"}

    def get(self, path: str, query: Mapping[str, str | int] | None = None, session: HttpsSession | None = None) -> Any:
        url = f"{self.base}/bigquery/v2/projects/{quote(self.project, safe='')}{path}"
        if query:
            url += "?" + urlencode(dict(query))
        response = (session or self.session).request("GET", url, headers=self.headers)
        if response.status != 200:
            raise error_of(self.ctx, response)
        document = response.json()
        if not isinstance(document, dict):
            raise ConnectorError(ErrorCode.PROTOCOL_ERROR, "BigQuery answered with something other than an object")
        return document

    def pages(self, path: str, member: str, limit: int) -> Iterator[dict[str, Any]]:
        token: str | None = None
        seen = 0
        while True:
            query: dict[str, str | int] = {"maxResults": 1000}
            if token:
                query["pageToken"] = token
            document = self.get(path, query)
            items = document.get(member) or []
            if not isinstance(items, list):
                raise ConnectorError(ErrorCode.PROTOCOL_ERROR, f"BigQuery's {member} is not a list")
            for item in items:
                if isinstance(item, dict):
                    seen += 1
                    yield item
            next_token = document.get("nextPageToken")
            if not isinstance(next_token, str) or not next_token or seen >= limit or next_token == token:
                return
            token = next_token


def check(ctx: Context) -> None:
    api = Api(ctx)
    api.session.connect()
    with ctx.stage("authenticate"):
        api.authenticate()
    with ctx.stage("metadata"):
        document = api.get("/datasets", {"maxResults": 1})
        ctx.details.update(project=api.project, datasetsSeen=len(document.get("datasets") or []))
        ctx.server_version = "BigQuery API v2"


# -- discovery ------------------------------------------------------------------------------------------------------
def flatten(fields: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, str, bool]]:
    """(dotted path, type, nullable) of each field, a RECORD's children after it; REPEATED marked in the type."""
    if not isinstance(fields, list) or depth > MAX_DEPTH:
        return
    for field in fields:
        if not isinstance(field, dict) or not isinstance(field.get("name"), str):
            continue
        path = prefix + field["name"]
        kind = str(field.get("type") or "UNKNOWN")
        mode = str(field.get("mode") or "NULLABLE").upper()
        yield path, kind + (" REPEATED" if mode == "REPEATED" else ""), mode == "NULLABLE"
        if kind in {"RECORD", "STRUCT"}:
            yield from flatten(field.get("fields"), path + ".", depth + 1)


def _kind(table_type: Any) -> str:
    return "view" if str(table_type or "").upper() in {"VIEW", "MATERIALIZED_VIEW"} else "table"


def _segment(value: str) -> str:
    return quote(value, safe="")


def _table(api: Api, session: HttpsSession, dataset: str, table_id: str, table_type: str) -> Table:
    document = api.get(f"/datasets/{_segment(dataset)}/tables/{_segment(table_id)}", session=session)
    schema = document.get("schema") if isinstance(document.get("schema"), dict) else {}
    columns = [
        Column(path, kind, nullable, None, ordinal)
        for ordinal, (path, kind, nullable) in enumerate(flatten(schema.get("fields")), start=1)
    ]
    kind = _kind(document.get("type") or table_type)
    return Table(dataset, table_id, kind, columns, [], as_int(document.get("numRows")))


def _described(api: Api, kept: list[tuple[str, str, str]]) -> list[Table]:
    """tables.get for each kept table, over PARALLEL keep-alive connections to the same pinned address (one
    request per table: 10,000 of them one after another would outlast any deadline); the first failure stops all."""
    if len(kept) <= 1:
        return [_table(api, api.session, *item) for item in kept]
    from concurrent.futures import ThreadPoolExecutor

    stop = threading.Event()
    sessions = [api.session] + [api.session.sibling() for _ in range(min(PARALLEL, len(kept)) - 1)]

    def work(worker: int) -> list[tuple[int, Table]]:
        done = []
        for index in range(worker, len(kept), len(sessions)):
            if stop.is_set():
                break
            try:
                done.append((index, _table(api, sessions[worker], *kept[index])))
            except BaseException:
                stop.set()
                raise
        return done

    with ThreadPoolExecutor(max_workers=len(sessions), thread_name_prefix="bigquery") as pool:
        futures = [pool.submit(work, worker) for worker in range(len(sessions))]
        results = [pair for future in futures for pair in future.result()]
    return [table for _, table in sorted(results, key=lambda pair: pair[0])]


def discover(ctx: Context) -> DiscoveredSchema:
    started = time.monotonic()
    names = NameFilter(ctx.target.include_patterns, ctx.target.exclude_patterns)
    api = Api(ctx)
    with ctx.stage("authenticate"):
        api.authenticate()
    kept: list[tuple[str, str, str]] = []
    truncated = False
    with ctx.stage("metadata"):
        only = config_text(ctx, "dataset") or ctx.target.schema_name
        if only:
            datasets = [only]
        else:
            datasets = [
                str(item["datasetReference"]["datasetId"])
                for item in api.pages("/datasets", "datasets", MAX_DATASETS)
                if isinstance(item.get("datasetReference"), dict) and item["datasetReference"].get("datasetId")
            ]
        for dataset in datasets:
            if truncated:
                break
            for item in api.pages(f"/datasets/{_segment(dataset)}/tables", "tables", MAX_TABLES + 1):
                reference = item.get("tableReference")
                if not isinstance(reference, dict) or not isinstance(reference.get("tableId"), str):
                    continue
                if not names(f"{dataset}.{reference['tableId']}"):
                    continue
                if len(kept) == MAX_TABLES:
                    truncated = True
                    break
                kept.append((dataset, reference["tableId"], str(item.get("type") or "TABLE")))
        tables = _described(api, kept)
    details: dict[str, Any] = {
        "project": api.project,
        "datasets": len(datasets),
        "durationMs": round((time.monotonic() - started) * 1000, 1),
    }
    if truncated:
        details["truncated"] = True
        details["maxTables"] = MAX_TABLES
    return DiscoveredSchema(tables, details=details)
