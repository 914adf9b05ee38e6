"""The connector library stays a library: lazy driver imports, no handler or storage code."""

from __future__ import annotations

import subprocess
import sys

DRIVERS = ("psycopg", "pymysql", "redis", "pyarrow", "boto3", "botocore", "paramiko", "kafka")


def loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    return set(output.split())


def test_importing_the_library_loads_no_driver() -> None:
    modules = loaded_after("import datasource_registry.connectors")

    assert not {m for m in modules if m.split(".")[0] in DRIVERS}


def test_a_synthetic_test_loads_no_driver_and_only_connector_and_neutral_code() -> None:
    modules = loaded_after(
        "from datasource_registry.connectors import ConnectionTarget, NetworkPolicy, check_connection\n"
        "assert check_connection(ConnectionTarget(type='synthetic'), {}, NetworkPolicy()).success"
    )

    ours = {m for m in modules if m.startswith("datasource_registry.")}
    assert not {m for m in modules if m.split(".")[0] in DRIVERS}
    # The library stands on the neutral modules only: never the registry's domain, adapters or API.
    neutral = {"datasource_registry", "datasource_registry.discovered", "datasource_registry.globs"}
    assert all(
        m.startswith("datasource_registry.connectors") or m in neutral | {"datasource_registry.secret_parts"}
        for m in ours
    ), ours


def test_postgres_connector_loads_psycopg_when_it_runs_and_never_pyarrow() -> None:
    # Importing the dialect loads no driver; running a PostgreSQL test through the library's one entry point loads
    # psycopg (the test stops at the network policy, before any socket: the default policy refuses loopback).
    imported = loaded_after("import datasource_registry.connectors.postgres")
    ran = loaded_after(
        "from datasource_registry.connectors import ConnectionTarget, NetworkPolicy, check_connection\n"
        "target = ConnectionTarget(type='postgresql', host='127.0.0.1', port=5432)\n"
        "result = check_connection(target, {}, NetworkPolicy())\n"
        "assert result.error_code == 'BLOCKED_ADDRESS', result"
    )

    assert "psycopg" not in imported
    assert "psycopg" in ran
    assert "pyarrow" not in ran and "boto3" not in ran
