"""The local HTTP API: routes from template.yaml, payload 2.0 events, dev-token verification, real handlers."""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devserver import tokens
from devserver.aws import EmbeddedAws, function_environment
from devserver.lambdas import Invoker
from devserver.runners import LambdaInvokeServer
from devserver.template import Route, Template, load

MAX_API_GATEWAY_BODY = 10 * 1024 * 1024


def problem(status: int, title: str, detail: str) -> tuple[int, dict[str, str], bytes]:
    body = {
        "type": f"urn:datasource-registry:problem:{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    return status, {"content-type": "application/problem+json"}, json.dumps(body).encode()


@dataclass
class LocalApi:
    """Everything `make serve` runs: the embedded AWS, the invoker and the route table."""

    aws: EmbeddedAws
    template: Template
    invoker: Invoker
    routes: list[Route]
    runners: LambdaInvokeServer | None = None  # the connector runners, each in processes without credentials

    @classmethod
    def start(cls, aws_port: int | None = None) -> LocalApi:
        template = load()
        aws = EmbeddedAws.start(aws_port)
        refs = aws.provision(template)
        env = function_environment(template, refs)
        # Local connection tests reach the servers on loopback; in AWS the AllowedCidrs parameter decides.
        env["ALLOWED_CIDRS"] = os.environ.get("DS_LOCAL_ALLOWED_CIDRS", "127.0.0.0/8")
        # moto accepts any keys; locally, AWS sources may use the embedded AWS's placeholder credentials.
        env["ALLOW_FUNCTION_ROLE_FOR_AWS"] = os.environ.get("DS_LOCAL_LEND_ROLE", "true")
        built = os.environ.get("DS_BUILT")
        if built:  # make serve-built: the functions and layers sam build made, each in a Lambda-like process
            from devserver.artifacts import BuiltInvoker, built_runner_factory

            local = {name: env[name] for name in ("ALLOWED_CIDRS", "ALLOW_FUNCTION_ROLE_FOR_AWS")}
            invoker: Any = BuiltInvoker(template.functions(), refs, aws.endpoint_url, local, Path(built), sys.stderr)
            runners = LambdaInvokeServer.for_template(template, built_runner_factory(invoker))
            invoker.overrides["AWS_ENDPOINT_URL_LAMBDA"] = runners.url
        else:
            invoker = Invoker(template.functions())
            runners = LambdaInvokeServer.for_template(template)
        # The callers' boto3 Lambda client reaches the runners here (the rest of AWS stays on the embedded one).
        env["AWS_ENDPOINT_URL_LAMBDA"] = runners.url
        os.environ.update(env)
        return cls(aws, template, invoker, template.routes(), runners)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        # API Gateway picks the most specific route: `/revisions/diff` wins over `/revisions/{n}`.
        candidates = [
            (route, found) for route in self.routes if route.method == method and (found := route.pattern.match(path))
        ]
        if not candidates:
            return None
        route, found = max(
            candidates, key=lambda pair: sum(not part.startswith("{") for part in pair[0].path.split("/"))
        )
        return route, {k: unquote(v) for k, v in found.groupdict().items()}

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(raw_path)
        if method == "GET" and (split.path == "/openapi.json" or split.path.startswith("/docs")):
            return api_documentation(split.path)
        matched = self.match(method, split.path)
        if matched is None:
            return problem(404, "Not found", f"No route for {method} {split.path}.")
        route, path_parameters = matched
        if len(body) > MAX_API_GATEWAY_BODY:
            return problem(413, "Payload too large", "API Gateway accepts at most 10 MB.")
        claims = tokens.verify(headers.get("authorization"))
        if claims is None:
            return problem(401, "Unauthorized", "A valid bearer token is required.")
        event = build_event(route, split.path, split.query, headers, body, path_parameters, claims)
        result = self.invoker.invoke(route.function, event)
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        return int(result.get("statusCode", 200)), dict(result.get("headers") or {}), data


_SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data source registry API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script></body></html>
"""
_STATIC_TYPES = {".css": "text/css", ".js": "application/javascript", ".png": "image/png"}


@cache
def _openapi_bytes() -> bytes:
    from devserver.openapi import document, render

    return render(document()).encode()


def api_documentation(path: str) -> tuple[int, dict[str, str], bytes]:
    """/openapi.json (generated from the code) and /docs, Swagger UI served from the swagger-ui-bundle package."""
    if path == "/openapi.json":
        return 200, {"content-type": "application/json"}, _openapi_bytes()
    if path in {"/docs", "/docs/"}:
        return 200, {"content-type": "text/html; charset=utf-8"}, _SWAGGER_PAGE.encode()
    from swagger_ui_bundle import swagger_ui_path

    name = path.removeprefix("/docs/")
    asset = Path(str(swagger_ui_path)) / name
    if "/" in name or asset.suffix not in _STATIC_TYPES or not asset.is_file():
        return problem(404, "Not found", f"No route for GET {path}.")
    return 200, {"content-type": _STATIC_TYPES[asset.suffix]}, asset.read_bytes()


def build_event(
    route: Route,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    path_parameters: dict[str, str],
    claims: dict[str, str],
) -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event, as AWS would deliver it."""
    now = datetime.now(UTC)
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, []).append(value)
    try:
        text, encoded = body.decode(), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{route.method} {route.path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "authorizer": {"jwt": {"claims": claims, "scopes": None}},
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {
                "method": route.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{route.method} {route.path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if params:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        event["body"] = text
    return event


class _Handler(BaseHTTPRequestHandler):
    api: LocalApi
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_API_GATEWAY_BODY:
            status, headers, data = problem(413, "Payload too large", "API Gateway accepts at most 10 MB.")
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else b""
            headers_in: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers_in[key] = f"{headers_in[key]},{value}" if key in headers_in else value
            try:
                status, headers, data = self.api.handle(self.command, self.path, headers_in, body)
            except Exception as exc:  # the handler itself crashed: Lambda would answer 502
                status, headers, data = problem(502, "Bad gateway", f"The function failed: {type(exc).__name__}.")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # BaseHTTPRequestHandler's signature
        if os.environ.get("DS_ACCESS_LOG", "1") == "1":
            super().log_message(format, *args)


class LocalServer:
    def __init__(self, api: LocalApi, port: int) -> None:
        handler = type("Handler", (_Handler,), {"api": api})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.api = api
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> LocalServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(port: int) -> None:
    api = LocalApi.start()
    server = LocalServer(api, port).start()
    mode = f", functions from {os.environ['DS_BUILT']} in Lambda-like workers" if os.environ.get("DS_BUILT") else ""
    print(f"datasource registry on {server.url} (AWS at {api.aws.endpoint_url}{mode})", flush=True)
    print(f"  token: make token TENANT=t_local ROLE=editor   routes: {len(api.routes)}", flush=True)
    from devserver.scheduler import start_local_scheduler

    scheduler = start_local_scheduler(api)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        if scheduler:
            scheduler.stop()
        server.stop()
        api.aws.stop()
