"""The connector library stays a library: lazy driver imports, no handler or storage code."""

from __future__ import annotations

import subprocess
import sys

DRIVERS = ("psycopg", "pymysql", "redis", "pyarrow", "boto3", "botocore", "paramiko")


def loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    return set(output.split())


def test_importing_the_library_loads_no_driver() -> None:
    modules = loaded_after("import datasource_registry.connectors")

    assert not {m for m in modules if m.split(".")[0] in DRIVERS}


def test_a_synthetic_test_loads_no_driver_and_only_connector_and_neutral_code() -> None:
    modules = loaded_after(
        "from datasource_registry.connectors import ConnectionTarget, NetworkPolicy, test_connection\n"
        "assert test_connection(ConnectionTarget(type='synthetic'), {}, NetworkPolicy()).success"
    )

    ours = {m for m in modules if m.startswith("datasource_registry.")}
    assert not {m for m in modules if m.split(".")[0] in DRIVERS}
    # The library stands on the neutral modules only: never the registry's domain, adapters or API.
    neutral = {"datasource_registry", "datasource_registry.discovered", "datasource_registry.globs"}
    assert all(
        m.startswith("datasource_registry.connectors") or m in neutral | {"datasource_registry.secret_parts"}
        for m in ours
    ), ours


def test_postgres_connector_loads_psycopg_but_not_pyarrow() -> None:
    modules = loaded_after("import datasource_registry.connectors.postgres as p\nimport psycopg")

    assert "psycopg" in modules
    assert "pyarrow" not in modules and "boto3" not in modules
