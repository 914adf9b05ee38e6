"""SSRF guards: every spelling of loopback and metadata addresses is refused before any connection."""

from __future__ import annotations

import ipaddress

import pytest

from datasource_registry.connectors import (
    ConnectionTarget,
    ConnectorError,
    NetworkPolicy,
    check_connection,
    discover_schema,
)
from datasource_registry.connectors.connstring import POSTGRES_SCHEMES, parse_connection_string
from datasource_registry.connectors.network import resolve_pinned

from .conftest import LOOPBACK

NOTHING_ALLOWED = NetworkPolicy.from_string("")

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "127.1",
    "127.0.1",
    "::ffff:127.0.0.1",
    "[::1]",
    "::1",
    "localhost",
    "0",
    "0.0.0.0",
]
METADATA_SPELLINGS = [
    "169.254.169.254",
    "2852039166",
    "0xa9fea9fe",
    "0251.0376.0251.0376",
    "169.254.43518",
    "::ffff:169.254.169.254",
    "[::ffff:a9fe:a9fe]",
    "fd00:ec2::254",
    "169.254.170.2",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS + METADATA_SPELLINGS)
def test_internal_addresses_are_blocked_when_the_policy_allows_nothing(host: str) -> None:
    # Given a PostgreSQL source pointing at an internal address in some spelling
    target = ConnectionTarget(type="postgresql", host=host, port=5432, database_name="test", connection_timeout=5)

    # When it is tested with a policy that opens nothing
    result = check_connection(target, {"username": "postgres"}, NOTHING_ALLOWED)

    # Then it is refused at the resolve stage, before any connection
    assert result.success is False
    assert result.error_code == "BLOCKED_ADDRESS"
    assert [s.name for s in result.stages] == ["resolve"]


@pytest.mark.parametrize("host", METADATA_SPELLINGS)
def test_metadata_addresses_stay_blocked_even_when_a_cidr_covers_them(host: str) -> None:
    policy = NetworkPolicy.from_string("127.0.0.0/8, 169.254.0.0/16, fd00::/8, 0.0.0.0/0, ::/0")
    target = ConnectionTarget(type="redis", host=host, port=6379, connection_timeout=5)

    result = check_connection(target, {}, policy)

    assert result.error_code == "BLOCKED_ADDRESS"


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "::ffff:127.0.0.1"])
def test_loopback_spellings_are_pinned_to_127_0_0_1_when_loopback_is_allowed(host: str) -> None:
    pinned = resolve_pinned(host, 5432, LOOPBACK, timeout=5)

    assert pinned.ip == "127.0.0.1"


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "100.64.0.1",
        "fc00::1",
        "fe80::1",
        "169.254.1.1",
        "240.0.0.1",
        "224.0.0.1",
        "ff02::1",
    ],
)
def test_private_and_reserved_ranges_need_an_explicit_allow(address: str) -> None:
    assert NOTHING_ALLOWED.check(ipaddress.ip_address(address)) is not None


def test_private_range_is_reachable_once_allowed() -> None:
    policy = NetworkPolicy.from_string("10.0.0.0/8")

    assert policy.check(ipaddress.ip_address("10.1.2.3")) is None
    assert policy.check(ipaddress.ip_address("192.168.1.1")) is not None


def test_public_addresses_are_allowed_and_multicast_never() -> None:
    everything = NetworkPolicy.from_string("0.0.0.0/0")

    assert NOTHING_ALLOWED.check(ipaddress.ip_address("8.8.8.8")) is None
    assert everything.check(ipaddress.ip_address("224.0.0.1")) is not None
    assert everything.check(ipaddress.ip_address("0.0.0.0")) is not None


def test_an_invalid_cidr_is_rejected() -> None:
    with pytest.raises(ValueError, match="CIDR"):
        NetworkPolicy.from_string("10.0.0.0/8,not-a-network")


def test_blocked_address_in_a_connection_string_is_refused() -> None:
    target = ConnectionTarget(type="database", connection_string="postgresql://u:pw@0x7f000001:5432/test")

    with pytest.raises(ConnectorError) as caught:
        discover_schema(target, {}, NOTHING_ALLOWED)

    assert caught.value.code == "BLOCKED_ADDRESS"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@h/db?host=/var/run/postgresql",
        "postgresql://u@h/db?hostaddr=169.254.169.254",
        "postgresql://u@h/db?sslkey=/etc/shadow",
        "postgresql://u@h/db?sslcert=/etc/passwd",
        "postgresql://u@h/db?sslrootcert=/etc/passwd",
        "postgresql://u@h/db?passfile=/root/.pgpass",
        "postgresql://u@h/db?service=prod",
        "postgresql://u@h/db?options=-c%20log_statement%3Dall",
        "postgresql://u@h1,h2/db",
        "postgresql:///db",
        "postgresql://u@%2Fvar%2Frun/db",
        "host=h dbname=db",
    ],
)
def test_dangerous_postgres_connection_strings_are_refused(url: str) -> None:
    with pytest.raises(ConnectorError) as caught:
        parse_connection_string(url, POSTGRES_SCHEMES)

    assert caught.value.code == "INVALID_CONFIG"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@127.0.0.1/test?local_infile=1",
        "mysql://root@127.0.0.1/test?read_default_file=/etc/mysql/my.cnf",
        "mysql://root@127.0.0.1/test?unix_socket=/run/mysqld/mysqld.sock",
        "mysql://root@127.0.0.1/test?init_command=DROP%20TABLE%20x",
    ],
)
def test_dangerous_mysql_connection_strings_are_refused(url: str) -> None:
    target = ConnectionTarget(type="database", connection_string=url)

    result = check_connection(target, {}, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"


def test_allowed_postgres_options_pass() -> None:
    parsed = parse_connection_string(
        "postgres://alice:s%40cret@db.example.com:6543/sales?sslmode=verify-full&sslrootcert=system",
        POSTGRES_SCHEMES,
    )

    assert (parsed.host, parsed.port, parsed.database, parsed.username, parsed.password) == (
        "db.example.com",
        6543,
        "sales",
        "alice",
        "s@cret",
    )
    assert parsed.options == {"sslmode": "verify-full", "sslrootcert": "system"}


def test_http_api_to_a_blocked_address_is_refused_before_connecting() -> None:
    target = ConnectionTarget(
        type="http_api", source_config={"url": "http://[::ffff:169.254.169.254]/latest/meta-data/"}
    )

    result = check_connection(target, {}, LOOPBACK)

    assert result.error_code == "BLOCKED_ADDRESS"
    assert all(s.name != "connect" for s in result.stages)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://example.com/x"])
def test_http_api_accepts_only_http_and_https(url: str) -> None:
    result = check_connection(ConnectionTarget(type="http_api", source_config={"url": url}), {}, LOOPBACK)

    assert result.error_code == "INVALID_CONFIG"
