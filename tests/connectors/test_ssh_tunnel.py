"""SSH tunnels through a real OpenSSH sshd (started by the fixture) to the local PostgreSQL."""

from __future__ import annotations

import pytest

from datasource_registry.connectors import ConnectionTarget, NetworkPolicy, check_connection, discover_schema

from .conftest import LOOPBACK, SshServer, free_port, port_open, require

pytestmark = pytest.mark.needs_postgres


def through(sshd: SshServer, **overrides: object) -> ConnectionTarget:
    fields: dict[str, object] = {
        "type": "postgresql",
        "host": "127.0.0.1",  # as the bastion sees it
        "port": 5432,
        "database_name": "test",
        "use_ssh_tunnel": True,
        "ssh_host": "127.0.0.1",
        "ssh_port": sshd.port,
        "ssh_username": sshd.username,
        "connection_timeout": 10,
    }
    fields.update(overrides)
    return ConnectionTarget(**fields)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _postgres_running() -> None:
    require(port_open(5432), "PostgreSQL is not running on 127.0.0.1:5432")


def test_an_unpinned_host_key_succeeds_and_reports_the_fingerprint_to_pin(sshd: SshServer) -> None:
    result = check_connection(through(sshd), {"username": "postgres", "ssh_private_key": sshd.client_key}, LOOPBACK)

    assert result.success, result.error
    assert [s.name for s in result.stages] == ["tunnel", "connect", "authenticate", "metadata"]
    assert result.ssh_host_key_fingerprint == sshd.host_key_fingerprint
    assert result.to_dict()["sshHostKeyFingerprint"] == sshd.host_key_fingerprint


def test_a_pinned_matching_host_key_succeeds_and_discovery_works(sshd: SshServer, pg_schema) -> None:
    schema = pg_schema("CREATE TABLE {schema}.t (id int PRIMARY KEY)")
    target = through(sshd, ssh_host_key_fingerprint=sshd.host_key_fingerprint, schema_name=schema)
    credentials = {"ssh_private_key": sshd.client_key}

    result = check_connection(target, credentials, LOOPBACK)
    discovered = discover_schema(target, credentials, LOOPBACK)

    assert result.success, result.error
    assert [(t.name, t.primary_key) for t in discovered.tables] == [("t", ["id"])]


def test_a_host_key_mismatch_fails_before_authenticating(sshd: SshServer) -> None:
    wrong = "SHA256:" + "A" * 43

    result = check_connection(
        through(sshd, ssh_host_key_fingerprint=wrong), {"ssh_private_key": sshd.client_key}, LOOPBACK
    )

    assert result.error_code == "HOST_KEY_MISMATCH"
    assert result.ssh_host_key_fingerprint == sshd.host_key_fingerprint
    assert [s.name for s in result.stages] == ["tunnel"]


def test_an_encrypted_key_with_its_passphrase_works_and_the_passphrase_never_leaks(sshd: SshServer) -> None:
    good = check_connection(
        through(sshd),
        {"ssh_private_key": sshd.encrypted_client_key, "ssh_passphrase": sshd.passphrase},
        LOOPBACK,
    )
    bad = check_connection(
        through(sshd),
        {"ssh_private_key": sshd.encrypted_client_key, "ssh_passphrase": "wrong passphrase!"},
        LOOPBACK,
    )

    assert good.success, good.error
    assert bad.success is False
    assert "wrong passphrase!" not in repr(bad.to_dict())
    assert sshd.encrypted_client_key.splitlines()[1] not in repr(bad.to_dict())


def test_an_unauthorized_key_is_auth_failed(sshd: SshServer) -> None:
    import io

    import paramiko

    stranger = io.StringIO()
    key = paramiko.ECDSAKey.generate()
    key.write_private_key(stranger)

    result = check_connection(through(sshd), {"ssh_private_key": stranger.getvalue()}, LOOPBACK)

    assert result.error_code == "AUTH_FAILED"
    assert result.stages[-1].name == "tunnel"


def test_the_bastion_itself_is_subject_to_the_network_policy(sshd: SshServer) -> None:
    result = check_connection(through(sshd), {"ssh_private_key": sshd.client_key}, NetworkPolicy())

    assert result.error_code == "BLOCKED_ADDRESS"


def test_a_metadata_target_behind_the_bastion_is_refused(sshd: SshServer) -> None:
    result = check_connection(through(sshd, host="169.254.169.254"), {"ssh_private_key": sshd.client_key}, LOOPBACK)

    assert result.error_code == "BLOCKED_ADDRESS"


def test_a_target_the_bastion_cannot_reach_is_unreachable(sshd: SshServer) -> None:
    result = check_connection(through(sshd, port=free_port()), {"ssh_private_key": sshd.client_key}, LOOPBACK)

    assert result.error_code == "UNREACHABLE"
    assert result.ssh_host_key_fingerprint == sshd.host_key_fingerprint
