"""A local HTTPS server answering as Snowflake's SQL API v2, Google's OAuth + BigQuery REST v2 and Salesforce's
OAuth + REST API document their answers, errors included (login failures, invalid_grant, INVALID_SESSION_ID ...).

It runs no SQL: a statement is recognised by what it reads, and the rows it answers are filtered the way the
engine would filter them by the bound values (LIKE patterns with their escape, LIMIT/OFFSET). JWTs are checked
for real: signature against the test's public key, and the claims each engine documents.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import re
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from tests.connectors.conftest import JsonHandler

SF_OAUTH = "sf-oauth-access-token-0001"
SF_PAT = "sf-programmatic-access-token-0002"
GOOGLE_TOKEN = "ya29.fake-google-access-token-0003"
SALESFORCE_SESSION = "00Dfake!session.token.value.0004"
SALESFORCE_CLIENT = "3MVG9fake.client.id"
SALESFORCE_SECRET = "salesforce-client-secret-0005"
SALESFORCE_REFRESH = "5Aep861fake.refresh.token.0006"
SNOWFLAKE_USER = "reader"


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_ca(directory: Path) -> tuple[str, Path, Path]:
    """A CA and a leaf for localhost/127.0.0.1 signed by it: (CA PEM, leaf cert path, leaf key path)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "saas test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / "leaf.pem", directory / "leaf-key.pem"
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_cert.public_bytes(serialization.Encoding.PEM).decode(), cert_path, key_path


def rsa_pem(key: rsa.RSAPrivateKey, passphrase: str | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def verify_jwt(token: str, key: rsa.RSAPublicKey) -> dict[str, Any] | None:
    try:
        head, body, signature = token.split(".")
        key.verify(_b64url_decode(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        header = json.loads(_b64url_decode(head))
        claims = json.loads(_b64url_decode(body))
    except Exception:
        return None
    if header.get("alg") != "RS256" or not isinstance(claims, dict):
        return None
    return claims


def fingerprint(key: rsa.RSAPublicKey) -> str:
    import hashlib

    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def like(pattern: str, text: str) -> bool:
    """SQL LIKE with `\\` as its escape, as Snowflake evaluates it (case-sensitive)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.fullmatch("".join(out), text, re.DOTALL) is not None


# Snowflake INFORMATION_SCHEMA rows as the SQL API returns them (every value a string, NULL as null).
SNOWFLAKE_TABLES = [
    ["PUBLIC", "CUSTOMERS", "BASE TABLE", "1200"],
    ["PUBLIC", "ORDERS", "BASE TABLE", "56000"],
    ["PUBLIC", "ORDER_SUMMARY", "VIEW", None],
    ["PUBLIC", "ORDERXSUMMARY", "BASE TABLE", "3"],
    ["STAGING", "RAW_EVENTS", "BASE TABLE", "99"],
]
SNOWFLAKE_COLUMNS = [
    ["PUBLIC", "CUSTOMERS", "ID", "NUMBER", "NO", None, "1", None, "38", "0"],
    ["PUBLIC", "CUSTOMERS", "EMAIL", "TEXT", "YES", None, "2", "16777216", None, None],
    ["PUBLIC", "ORDERS", "ID", "NUMBER", "NO", None, "1", None, "38", "0"],
    ["PUBLIC", "ORDERS", "TOTAL", "NUMBER", "YES", "0", "2", None, "12", "2"],
    ["PUBLIC", "ORDERS", "CREATED_AT", "TIMESTAMP_NTZ", "YES", "CURRENT_TIMESTAMP()", "3", None, None, None],
    ["PUBLIC", "ORDERXSUMMARY", "N", "NUMBER", "YES", None, "1", None, "38", "0"],
    ["PUBLIC", "ORDER_SUMMARY", "TOTAL", "NUMBER", "YES", None, "1", None, "38", "2"],
    ["STAGING", "RAW_EVENTS", "PAYLOAD", "VARIANT", "YES", None, "1", None, None, None],
]

BIGQUERY_SCHEMA = {
    "fields": [
        {"name": "id", "type": "INTEGER", "mode": "REQUIRED"},
        {"name": "email", "type": "STRING", "mode": "NULLABLE"},
        {
            "name": "address",
            "type": "RECORD",
            "mode": "NULLABLE",
            "fields": [
                {"name": "city", "type": "STRING"},
                {
                    "name": "geo",
                    "type": "RECORD",
                    "fields": [{"name": "lat", "type": "FLOAT"}, {"name": "lon", "type": "FLOAT"}],
                },
            ],
        },
        {"name": "tags", "type": "STRING", "mode": "REPEATED"},
        {"name": "items", "type": "RECORD", "mode": "REPEATED", "fields": [{"name": "sku", "type": "STRING"}]},
    ]
}
BIGQUERY_TABLES = {
    "analytics": [("customers", "TABLE", "1500"), ("orders", "TABLE", "42"), ("daily", "VIEW", None)],
    "staging": [("raw", "TABLE", "7")],
}

SALESFORCE_OBJECTS = ["Account", "Contact", "Opportunity", "AccountHistory", "Custom__c"]


def salesforce_describe(name: str) -> dict[str, Any]:
    fields = [
        {"name": "Id", "type": "id", "nillable": False, "length": 18, "defaultValue": None},
        {"name": "Name", "type": "string", "nillable": False, "length": 255, "defaultValue": None},
        {
            "name": "OwnerId",
            "type": "reference",
            "nillable": False,
            "referenceTo": ["User"],
            "defaultValue": None,
        },
        {"name": "Amount", "type": "currency", "nillable": True, "precision": 18, "scale": 2, "defaultValue": None},
        {"name": "IsActive", "type": "boolean", "nillable": False, "defaultValue": True},
    ]
    return {"name": name, "label": name, "queryable": True, "fields": fields}


@dataclass
class SaasServer:
    port: int
    ca_pem: str
    snowflake_key: rsa.RSAPrivateKey
    google_key: rsa.RSAPrivateKey
    salesforce_key: rsa.RSAPrivateKey
    requests: list[dict[str, Any]] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def service_account(self, email: str = "reader@example-project.iam.gserviceaccount.com") -> str:
        return json.dumps(
            {
                "type": "service_account",
                "project_id": "example-project",
                "private_key_id": "0123456789abcdef0123456789abcdef01234567",
                "private_key": rsa_pem(self.google_key),
                "client_email": email,
                "client_id": "1234567890",
                "token_uri": f"{self.url}/token",
            }
        )


class _Handler(JsonHandler):
    server_state: SaasServer
    protocol_version = "HTTP/1.1"

    # -- plumbing --------------------------------------------------------------------------------------
    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _record(self, body: bytes) -> None:
        self.server_state.requests.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body,
                "client": self.client_address,
            }
        )

    def _bearer(self) -> str:
        value = self.headers.get("Authorization") or ""
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else ""

    def do_GET(self) -> None:
        self._record(b"")
        self._route("GET", b"")

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        self._route("POST", body)

    def _route(self, method: str, body: bytes) -> None:
        path = urlsplit(self.path).path
        slow = self.server_state.options.get("slow_path")
        if slow and slow in path:
            time.sleep(float(self.server_state.options.get("slow_seconds", 5)))
        if path.startswith("/api/v2/statements"):
            self._snowflake(method, body)
        elif path == "/token":
            self._google_token(body)
        elif path.startswith("/bigquery/v2/"):
            self._bigquery()
        elif path == "/services/oauth2/token":
            self._salesforce_token(body)
        elif path.startswith("/services/data/"):
            self._salesforce(method, body)
        else:
            self._send(404, {"error": "not found"})

    # -- Snowflake SQL API v2 ----------------------------------------------------------------------------
    def _snowflake_login(self) -> bool:
        state = self.server_state
        kind = self.headers.get("X-Snowflake-Authorization-Token-Type") or "OAUTH"
        token = self._bearer()
        if kind == "KEYPAIR_JWT":
            claims = verify_jwt(token, state.snowflake_key.public_key())
            account = state.options.get("snowflake_account", "LOCALHOST")
            qualified = f"{account}.{SNOWFLAKE_USER.upper()}"
            ok = (
                claims is not None
                and claims.get("sub") == qualified
                and claims.get("iss") == f"{qualified}.{fingerprint(state.snowflake_key.public_key())}"
                and int(claims.get("exp", 0)) > time.time()
                and int(claims.get("exp", 0)) - int(claims.get("iat", 0)) <= 3600
            )
            if not ok:
                self._send(401, {"code": "390144", "message": f"JWT token is invalid. [{uuid.uuid4()}]"})
            return ok
        if kind == "OAUTH" and token == SF_OAUTH:
            return True
        if kind == "PROGRAMMATIC_ACCESS_TOKEN" and token == SF_PAT:
            return True
        if kind == "OAUTH":  # 390303: Snowflake's documented "Invalid OAuth access token"
            self._send(401, {"code": "390303", "message": f"Invalid OAuth access token. [{uuid.uuid4()}]"})
        else:  # what a refused programmatic access token answers is not documented: the generic login failure
            self._send(401, {"code": "390100", "message": "Incorrect username or password was specified."})
        return False

    def _snowflake(self, method: str, body: bytes) -> None:
        state = self.server_state
        if not self._snowflake_login():
            return
        parts = urlsplit(self.path)
        if method == "GET":
            handle = parts.path.rsplit("/", 1)[-1]
            pending = state.options.setdefault("snowflake_results", {})
            query = parse_qs(parts.query)
            if handle not in pending:
                self._send(404, {"code": "000709", "message": f"Statement {handle} not found"})
            elif "partition" in query:
                rows = pending[handle]["partitions"][int(query["partition"][0])]
                # Partitions after the first come gzip'd, as the SQL API sends them.
                raw = gzip.compress(json.dumps({"data": rows}).encode())
                self._send(200, None, {"Content-Encoding": "gzip"}, raw=raw)
            else:
                self._send(200, pending[handle]["answer"])
            return
        request = json.loads(body)
        state.statements.append(request)
        sql = request["statement"]
        bound = [b["value"] for _, b in sorted(request.get("bindings", {}).items(), key=lambda kv: int(kv[0]))]
        handle = str(uuid.uuid4())
        if "CURRENT_VERSION" in sql:
            # A warehouse the role cannot use is left unset (CURRENT_WAREHOUSE() NULL), not an error.
            warehouse = None if request.get("warehouse") == "NO_SUCH_WH" else request.get("warehouse")
            rows = [["9.38.2", warehouse, request.get("role"), request.get("database")]]
        elif "INFORMATION_SCHEMA" in sql:
            database = sql.split(" FROM ", 1)[1].split(".INFORMATION_SCHEMA", 1)[0]
            if database.strip('"').upper() == "MISSING":
                self._send(
                    422,
                    {
                        "code": "002003",
                        "message": "SQL compilation error:\nDatabase 'MISSING' does not exist or not authorized.",
                        "sqlState": "02000",
                        "statementHandle": handle,
                    },
                )
                return
            source = SNOWFLAKE_TABLES if ".TABLES" in sql else SNOWFLAKE_COLUMNS
            rows = self._filtered(sql, bound, source)
        else:
            self._send(422, {"code": "001003", "message": "SQL compilation error: syntax error", "sqlState": "42000"})
            return
        per = int(state.options.get("snowflake_partition_rows", 1000))
        partitions = [rows[i : i + per] for i in range(0, len(rows), per)] or [[]]
        names = ["TABLE_SCHEMA", "TABLE_NAME"]
        answer = {
            "resultSetMetaData": {
                "numRows": len(rows),
                "format": "jsonv2",
                "partitionInfo": [{"rowCount": len(p), "uncompressedSize": 100} for p in partitions],
                "rowType": [{"name": n, "type": "text", "nullable": True} for n in names],
            },
            "data": partitions[0],
            "code": "090001",
            "statementStatusUrl": f"/api/v2/statements/{handle}?requestId={uuid.uuid4()}",
            "requestId": str(uuid.uuid4()),
            "sqlState": "00000",
            "statementHandle": handle,
            "message": "Statement executed successfully.",
            "createdOn": int(time.time() * 1000),
        }
        state.options.setdefault("snowflake_results", {})[handle] = {"answer": answer, "partitions": partitions}
        if state.options.pop("snowflake_async_once", False):
            self._send(
                202,
                {
                    "code": "333334",
                    "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring"
                    " and management.",
                    "statementHandle": handle,
                    "statementStatusUrl": f"/api/v2/statements/{handle}",
                },
            )
            return
        self._send(200, answer)

    @staticmethod
    def _filtered(sql: str, bound: list[str], source: list[list[Any]]) -> list[list[Any]]:
        values = list(bound)
        limit, offset = int(values[-2]), int(values[-1])
        values = values[:-2]
        schema = values.pop(0) if "TABLE_SCHEMA = ?" in sql else None
        where = sql.split(" WHERE ", 1)[1].split(" ORDER BY ", 1)[0]
        excludes_n = where.count("NOT LIKE ?")
        includes_n = where.count("LIKE ?") - excludes_n
        includes, excludes = values[:includes_n], values[includes_n : includes_n + excludes_n]
        out = []
        for row in sorted(source, key=lambda r: (r[0], r[1], int(r[6]) if len(r) > 6 else 0)):
            name = f"{row[0]}.{row[1]}"
            if row[0] == "INFORMATION_SCHEMA" or (schema is not None and row[0] != schema):
                continue
            if includes and not any(like(p, name) for p in includes):
                continue
            if any(like(p, name) for p in excludes):
                continue
            out.append(row)
        return out[offset : offset + limit]

    # -- Google OAuth + BigQuery --------------------------------------------------------------------------
    def _google_token(self, body: bytes) -> None:
        state = self.server_state
        fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if fields.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            self._send(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: "})
            return
        claims = verify_jwt(fields.get("assertion", ""), state.google_key.public_key())
        if claims is None or claims.get("iss", "").startswith("revoked"):
            # Google's documented answer to a bad assertion; this one even quotes what it was sent.
            self._send(
                400,
                {"error": "invalid_grant", "error_description": f"Invalid JWT Signature. {fields.get('assertion')}"},
            )
            return
        if claims.get("aud") != f"{state.url}/token" or "bigquery" not in claims.get("scope", ""):
            self._send(400, {"error": "invalid_grant", "error_description": "Invalid JWT: audience or scope"})
            return
        self._send(200, {"access_token": GOOGLE_TOKEN, "expires_in": 3599, "token_type": "Bearer"})

    def _google_error(self, status: int, reason: str, message: str, status_name: str) -> None:
        body = {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
                "status": status_name,
            }
        }
        self._send(status, body)

    def _bigquery(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self._bearer() != GOOGLE_TOKEN:
            self._google_error(
                401,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                "UNAUTHENTICATED",
            )
            return
        segments = [unquote(s) for s in parts.path.split("/")[3:]]  # projects/{p}/...
        project = segments[1]
        if project == "forbidden-project":
            self._google_error(
                403,
                "accessDenied",
                f"Access Denied: Project {project}: User does not have permission",
                "PERMISSION_DENIED",
            )
            return
        if project == "echo-project":  # an error that quotes the request's credentials back
            self._google_error(403, "accessDenied", f"Denied for {self.headers.get('Authorization')}", "DENIED")
            return
        rest = segments[2:]
        if rest == ["datasets"]:
            items = [
                {
                    "kind": "bigquery#dataset",
                    "id": f"{project}:{d}",
                    "datasetReference": {"datasetId": d, "projectId": project},
                }
                for d in BIGQUERY_TABLES
            ]
            self._page(items, "datasets", query, {"kind": "bigquery#datasetList", "etag": "x"})
        elif len(rest) == 3 and rest[0] == "datasets" and rest[2] == "tables":
            if rest[1] not in BIGQUERY_TABLES:
                self._google_error(404, "notFound", f"Not found: Dataset {project}:{rest[1]}", "NOT_FOUND")
                return
            items = [
                {
                    "kind": "bigquery#table",
                    "id": f"{project}:{rest[1]}.{t}",
                    "tableReference": {"projectId": project, "datasetId": rest[1], "tableId": t},
                    "type": kind,
                }
                for t, kind, _ in BIGQUERY_TABLES[rest[1]]
            ]
            self._page(items, "tables", query, {"kind": "bigquery#tableList", "totalItems": len(items)})
        elif len(rest) == 4 and rest[0] == "datasets" and rest[2] == "tables":
            found = [t for t in BIGQUERY_TABLES.get(rest[1], []) if t[0] == rest[3]]
            if not found:
                self._google_error(404, "notFound", f"Not found: Table {project}:{rest[1]}.{rest[3]}", "NOT_FOUND")
                return
            name, kind, rows = found[0]
            table: dict[str, Any] = {
                "kind": "bigquery#table",
                "tableReference": {"projectId": project, "datasetId": rest[1], "tableId": name},
                "type": kind,
                "schema": BIGQUERY_SCHEMA,
            }
            if rows is not None:
                table["numRows"] = rows
            self._send(200, table)
        else:
            self._google_error(404, "notFound", "Not found", "NOT_FOUND")

    def _page(self, items: list[Any], member: str, query: dict[str, str], extra: dict[str, Any]) -> None:
        # Pages of two at most, whatever maxResults says, so paging is exercised.
        start = int(query.get("pageToken", "0"))
        size = min(int(query.get("maxResults", "1000")), 2)
        page: dict[str, Any] = {**extra, member: items[start : start + size]}
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        self._send(200, page)

    # -- Salesforce ---------------------------------------------------------------------------------------------
    def _salesforce_token(self, body: bytes) -> None:
        state = self.server_state
        fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        grant = fields.get("grant_type")
        ok = False
        if grant == "client_credentials":
            if fields.get("client_id") != SALESFORCE_CLIENT or fields.get("client_secret") != SALESFORCE_SECRET:
                self._send(400, {"error": "invalid_client", "error_description": "invalid client credentials"})
                return
            ok = True
        elif grant == "refresh_token":
            ok = fields.get("refresh_token") == SALESFORCE_REFRESH and fields.get("client_id") == SALESFORCE_CLIENT
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            claims = verify_jwt(fields.get("assertion", ""), state.salesforce_key.public_key())
            ok = (
                claims is not None
                and claims.get("iss") == SALESFORCE_CLIENT
                and claims.get("aud") == state.url
                and claims.get("sub") == "integration@example.com"
            )
        else:
            self._send(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
            return
        if not ok:
            self._send(400, {"error": "invalid_grant", "error_description": "authentication failure"})
            return
        instance = state.options.get("salesforce_instance_url", state.url)
        self._send(
            200,
            {
                "access_token": SALESFORCE_SESSION,
                "instance_url": instance,
                "id": f"{state.url}/id/00Dfake/005fake",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "signature": "c2lnbmF0dXJl",
            },
        )

    def _salesforce(self, method: str, body: bytes) -> None:
        parts = urlsplit(self.path)
        if self._bearer() != SALESFORCE_SESSION:
            self._send(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
            return
        match = re.match(r"^/services/data/v(\d+\.\d)(/.*)$", parts.path)
        if not match:
            self._send(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
            return
        rest = match[2]
        if rest == "/sobjects" and method == "GET":
            objects = [
                {"name": n, "label": n, "queryable": not n.endswith("History") or True, "custom": n.endswith("__c")}
                for n in SALESFORCE_OBJECTS
            ]
            objects.append({"name": "AuraDefinitionChange", "queryable": False, "custom": False})
            self._send(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})
        elif rest == "/composite/batch" and method == "POST":
            requests = json.loads(body)["batchRequests"]
            if len(requests) > 25:
                self._send(400, [{"errorCode": "INVALID_BATCH_REQUEST", "message": "more than 25 subrequests"}])
                return
            results = []
            for sub in requests:
                name = unquote(sub["url"].split("/sobjects/", 1)[1].split("/", 1)[0])
                if name in SALESFORCE_OBJECTS:
                    results.append({"statusCode": 200, "result": salesforce_describe(name)})
                else:
                    results.append(
                        {
                            "statusCode": 404,
                            "result": [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
                        }
                    )
            self._send(200, {"hasErrors": any(r["statusCode"] != 200 for r in results), "results": results})
        elif rest == "/limits/recordCount":
            names = parse_qs(parts.query).get("sObjects", [""])[0].split(",")
            counts = [{"count": 10 * (i + 1), "name": n} for i, n in enumerate(names) if n in SALESFORCE_OBJECTS]
            self._send(200, {"sObjects": counts})
        else:
            self._send(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])


@contextmanager
def running(directory: Path) -> Iterator[SaasServer]:
    ca_pem, cert, key = make_ca(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    state = SaasServer(
        port=0,
        ca_pem=ca_pem,
        snowflake_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        google_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        salesforce_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    handler = type("Handler", (_Handler,), {"server_state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
