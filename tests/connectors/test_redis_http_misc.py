"""Redis, HTTP API, synthetic and unsupported sources."""

from __future__ import annotations

import uuid

import pytest

from datasource_registry.connectors import ConnectionTarget, ConnectorError, check_connection, discover_schema

from .conftest import LOOPBACK, HttpServer, TlsServer, free_port, port_open, require

# --- Redis ----------------------------------------------------------------------------------------


def redis_target(**overrides: object) -> ConnectionTarget:
    fields: dict[str, object] = {"type": "redis", "host": "127.0.0.1", "port": 6379, "connection_timeout": 5}
    fields.update(overrides)
    return ConnectionTarget(**fields)  # type: ignore[arg-type]


@pytest.mark.needs_redis
def test_redis_connects_and_reports_its_version(redis_keys) -> None:
    redis_keys({})

    result = check_connection(redis_target(), {}, LOOPBACK)

    assert result.success, result.error
    assert [s.name for s in result.stages] == ["resolve", "connect", "authenticate", "metadata"]
    assert result.server_version and result.server_version.startswith("Redis ")


@pytest.mark.needs_redis
def test_redis_wrong_password_for_an_acl_user_is_auth_failed() -> None:
    require(port_open(6379), "Redis is not running on 127.0.0.1:6379")
    import redis

    admin = redis.Redis(host="127.0.0.1", port=6379)
    user, good = f"conn_{uuid.uuid4().hex[:8]}", f"good-{uuid.uuid4().hex}"
    admin.acl_setuser(user, enabled=True, passwords=[f"+{good}"], keys=[f"{user}:*"], commands=["+@all"])
    try:
        bad = f"bad-{uuid.uuid4().hex}"

        denied = check_connection(redis_target(), {"username": user, "password": bad}, LOOPBACK)
        allowed = check_connection(redis_target(), {"username": user, "password": good}, LOOPBACK)

        assert denied.error_code == "AUTH_FAILED"
        assert bad not in repr(denied.to_dict())
        assert allowed.success, allowed.error
    finally:
        admin.acl_deluser(user)
        admin.close()


@pytest.mark.needs_redis
def test_redis_discovery_groups_keys_into_patterns(redis_keys) -> None:
    prefix = redis_keys(
        {
            "{p}:user:1": "a",
            "{p}:user:2": "b",
            "{p}:user:3": "c",
            "{p}:session:0f3a9c2b7d6e5f41": "s",
            "{p}:profile:7": {"name": "Ann", "email": "a@x"},
        }
    )

    discovered = discover_schema(redis_target(include_patterns=[f"db0.{prefix}:*"]), {}, LOOPBACK)

    tables = {t.name: t for t in discovered.tables}
    assert set(tables) == {f"{prefix}:user:*", f"{prefix}:session:*", f"{prefix}:profile:*"}
    assert tables[f"{prefix}:user:*"].estimated_rows == 3
    assert [c.name for c in tables[f"{prefix}:profile:*"].columns] == ["key", "email", "name"]
    assert tables[f"{prefix}:user:*"].columns[1].type == "string"
    assert discovered.details["maxKeysScanned"] == 10_000


def test_redis_server_that_never_answers_times_out(silent_server: int) -> None:
    result = check_connection(redis_target(port=silent_server, connection_timeout=1), {}, LOOPBACK)

    assert result.error_code == "TIMEOUT"


# --- HTTP API -------------------------------------------------------------------------------------


def api(url: str, **overrides: object) -> ConnectionTarget:
    fields: dict[str, object] = {"type": "http_api", "source_config": {"url": url}, "connection_timeout": 5}
    fields.update(overrides)
    return ConnectionTarget(**fields)  # type: ignore[arg-type]


def test_http_api_test_succeeds_and_sends_the_api_key_as_a_header(http_server: HttpServer) -> None:
    result = check_connection(api(http_server.url("/secure")), {"api_key": "k3y-value-123"}, LOOPBACK)

    assert result.success, result.error
    assert result.details["status"] == 200
    assert http_server.requests[-1]["x-api-key"] == "k3y-value-123"
    assert http_server.requests[-1]["host"] == f"127.0.0.1:{http_server.port}"


def test_http_api_bearer_token_and_auth_failure_without_leaking_it(http_server: HttpServer) -> None:
    token = f"tok-{uuid.uuid4().hex}"

    result = check_connection(api(http_server.url("/secure")), {"oauth_token": token}, LOOPBACK)

    assert result.error_code == "AUTH_FAILED"
    assert http_server.requests[-1]["authorization"] == f"Bearer {token}"
    assert token not in repr(result.to_dict())


def test_http_api_redirects_are_reported_not_followed(http_server: HttpServer) -> None:
    result = check_connection(api(http_server.url("/redirect")), {}, LOOPBACK)

    assert result.success is False
    assert result.error_code == "INVALID_CONFIG"
    assert result.details["redirectLocation"] == "http://169.254.169.254/latest/meta-data/"
    assert [r["path"] for r in http_server.requests] == ["/redirect"]  # nothing else was fetched


def test_http_api_missing_page_is_not_found(http_server: HttpServer) -> None:
    assert check_connection(api(http_server.url("/nope")), {}, LOOPBACK).error_code == "NOT_FOUND"


def test_http_api_credentials_in_the_url_are_refused_and_scrubbed(http_server: HttpServer) -> None:
    url = f"http://user:hunter2-{uuid.uuid4().hex}@127.0.0.1:{http_server.port}/status"

    result = check_connection(api(url), {}, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"
    assert "hunter2" not in repr(result.to_dict())
    assert http_server.requests == []


def test_http_api_discovery_lists_top_level_fields(http_server: HttpServer) -> None:
    discovered = discover_schema(api(http_server.url("/orders")), {}, LOOPBACK)

    [table] = discovered.tables
    assert table.name == "orders"
    assert [(c.name, c.type, c.nullable) for c in table.columns] == [
        ("id", "integer", False),
        ("total", "number", False),
        ("note", "null", True),
        ("paid", "boolean", True),
    ]
    assert table.estimated_rows == 2


def test_http_api_on_loopback_is_blocked_without_an_allow(http_server: HttpServer) -> None:
    from datasource_registry.connectors import NetworkPolicy

    result = check_connection(api(http_server.url("/status")), {}, NetworkPolicy())

    assert result.error_code == "BLOCKED_ADDRESS"
    assert http_server.requests == []


def test_http_api_server_that_never_answers_times_out(silent_server: int) -> None:
    result = check_connection(api(f"http://127.0.0.1:{silent_server}/", connection_timeout=1), {}, LOOPBACK)

    assert result.error_code == "TIMEOUT"


def test_https_with_an_untrusted_certificate_is_tls_failed_and_sni_names_the_host(
    tls_server: TlsServer,
) -> None:
    # Given an HTTPS API on "localhost" (pinned to 127.0.0.1) with a self-signed certificate
    target = api(f"https://localhost:{tls_server.port}/status")

    result = check_connection(target, {}, LOOPBACK)

    # Then the certificate is refused, and the TLS handshake carried the configured name, not the IP
    assert result.error_code == "TLS_FAILED"
    assert result.stages[-1].name == "connect"
    assert tls_server.server_names == ["localhost"]


# --- synthetic and unsupported --------------------------------------------------------------------


def test_synthetic_source_is_always_healthy_and_deterministic() -> None:
    target = ConnectionTarget(type="synthetic", source_config={"tables": 4, "columns": 3})

    result = check_connection(target, {}, LOOPBACK)
    first = discover_schema(target, {}, LOOPBACK)
    second = discover_schema(target, {}, LOOPBACK)

    assert result.success
    assert len(first.tables) == 4 and len(first.tables[0].columns) == 3
    assert first.fingerprint() == second.fingerprint()


def test_other_is_a_configuration_error_that_says_what_it_lacks() -> None:
    target = ConnectionTarget(type="other", host="db.example.com", port=1)

    result = check_connection(target, {}, LOOPBACK)

    assert result.success is False
    assert result.error_code == "INVALID_CONFIG"
    assert "names no system" in (result.error or "") and "connector-types" in (result.error or "")
    with pytest.raises(ConnectorError) as caught:
        discover_schema(target, {}, LOOPBACK)
    assert caught.value.code == "INVALID_CONFIG"


def test_a_type_no_connector_serves_is_unsupported() -> None:
    target = ConnectionTarget(type="no-such-type", host="db.example.com", port=1)

    result = check_connection(target, {}, LOOPBACK)

    assert result.error_code == "UNSUPPORTED" and result.stages[-1].error == "connector not supported yet"
    with pytest.raises(ConnectorError) as caught:
        discover_schema(target, {}, LOOPBACK)
    assert caught.value.code == "UNSUPPORTED"


def test_generic_database_with_an_unknown_scheme_is_invalid_config() -> None:
    result = check_connection(ConnectionTarget(type="database", connection_string="sqlserver://h/db"), {}, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"


CLOSED_PORT_TARGETS = {
    "postgresql": {"database_name": "d"},
    "mysql": {"database_name": "d"},
    "sqlserver": {"database_name": "d"},
    "oracle": {"database_name": "d"},
    "redis": {},
    "mongodb": {},
    "cassandra": {},
    "elasticsearch": {},
    "snowflake": {"database_name": "d"},
    "kafka": {"source_config": {"bootstrapServers": "127.0.0.1:{port}"}},
}


@pytest.mark.server  # a refused connection on loopback
@pytest.mark.parametrize("type_name", sorted(CLOSED_PORT_TARGETS))
def test_a_refused_connection_reports_each_stage_once_and_ends_at_connect(type_name: str) -> None:
    # The stages a test reports are what it did, in order: none twice (a connector that wraps a stage around a
    # client that reports its own would say `resolve` twice), and a refusal ends the test at `connect`
    port = free_port()
    fields = dict(CLOSED_PORT_TARGETS[type_name])
    if "source_config" in fields:
        fields["source_config"] = {k: v.format(port=port) for k, v in fields["source_config"].items()}
    else:
        fields.update(host="127.0.0.1", port=port)

    result = check_connection(
        ConnectionTarget(type=type_name, **fields), {"username": "u-x7", "password": "pw-x7"}, LOOPBACK
    )

    names = [stage.name for stage in result.stages]
    assert result.error_code == "UNREACHABLE", result.error
    assert len(names) == len(set(names)) and names[-1] == "connect", names
