"""An SDK user's path: a client generated from openapi.json by openapi-python-client runs the README's first session.

The client is generated afresh from the committed document (which tests/unit/test_openapi.py keeps current), so an
operation, model or header the document loses is an import error, a TypeError or a wrong answer here.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from devserver import tokens
from devserver.openapi import OPENAPI_FILE
from tests.conftest import ROOT, require

GENERATOR = ROOT / ".tools" / "openapi-client" / "bin" / "openapi-python-client"
PACKAGE = "registry_sdk"
OPERATIONS = [
    "create_data_source",
    "list_data_sources",
    "get_data_source",
    "update_data_source",
    "delete_data_source",
    "foundation_get_data_source",
    "foundation_list_data_sources",
    "public_get_data_source",
    "public_filter_data_sources",
]


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The package openapi-python-client generates from openapi.json, imported; the generator must not complain."""
    require(GENERATOR.exists(), "openapi-python-client is not installed: run make openapi-client")
    where = tmp_path_factory.mktemp("sdk")
    config = where / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter runs on the generated code
    command = [str(GENERATOR), "generate", "--path", str(OPENAPI_FILE), "--meta", "none", "--config", str(config)]
    run = subprocess.run(
        [*command, "--output-path", str(where / PACKAGE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    # The generator skips a schema it cannot read (as it once skipped CreateDataSourceRequest) and carries on.
    assert run.returncode == 0 and "Unable to" not in output and "warning" not in output.lower(), output
    sys.path.insert(0, str(where))
    try:
        yield SimpleNamespace(
            root=importlib.import_module(PACKAGE),
            models=importlib.import_module(f"{PACKAGE}.models"),
            **{name: importlib.import_module(f"{PACKAGE}.api.default.{name}") for name in OPERATIONS},
        )
    finally:
        sys.path.remove(str(where))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_the_readme_session_runs_through_a_generated_client(sdk, server):
    # Given a client generated from openapi.json and an editor's token of a fresh organisation
    m = sdk.models
    tenant = f"t_{uuid.uuid4().hex[:12]}"
    client = sdk.root.AuthenticatedClient(base_url=server.url, token=tokens.issue(tenant, "editor"), timeout=30.0)
    body = m.CreateDataSourceRequest(
        name="Production PostgreSQL",
        type_=m.DataSourceType.POSTGRESQL,
        host="db.example.com",
        port=5432,
        database_name="production",
        credentials=m.Credentials(username="dbuser", password="securepassword"),
    )
    retry_key = uuid.uuid4().hex

    # When the README's create runs (with an Idempotency-Key), Then the answer is a typed DataSourceView
    created = sdk.create_data_source.sync_detailed(client=client, body=body, idempotency_key=retry_key)
    assert created.status_code == 201, created.content
    source = created.parsed
    assert isinstance(source, m.DataSourceView)
    assert (source.key, source.row_version, source.database_name) == ("production-postgresql", 1, "production")
    assert source.type_ is m.DataSourceType.POSTGRESQL
    assert sorted(source.credentials.configured) == ["password", "username"]
    assert "securepassword" not in created.content.decode()
    # ... and the Idempotency-Key header reached the server: a retry replays the first answer, creating nothing
    again = sdk.create_data_source.sync_detailed(client=client, body=body, idempotency_key=retry_key)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.parsed.id == source.id

    # When the tenant's sources are listed, Then the page holds exactly that one
    page = sdk.list_data_sources.sync(client=client, limit=10)
    assert isinstance(page, m.DataSourcePage)
    assert [item.id for item in page.data] == [source.id] and page.pagination.total == 1
    assert page.pagination.has_more is False

    # When it is read by key, Then it is the same source
    read = sdk.get_data_source.sync(source.key, client=client)
    assert isinstance(read, m.DataSourceView) and read.id == source.id

    # When the README's update runs with the rowVersion read, Then only the description changes
    update = m.UpdateDataSourceRequest(key=source.key, description="OLTP", row_version=1)
    updated = sdk.update_data_source.sync(client=client, body=update)
    assert isinstance(updated, m.DataSourceView)
    assert (updated.description, updated.row_version, updated.host) == ("OLTP", 2, "db.example.com")
    # ... and a stale If-Match header is refused with a typed problem carrying the current state
    stale = sdk.update_data_source.sync_detailed(
        client=client, body=m.UpdateDataSourceRequest(key=source.key, description="lost"), if_match='"1"'
    )
    assert stale.status_code == 409 and isinstance(stale.parsed, m.Problem)
    assert stale.parsed.current["description"] == "OLTP"

    # When the Foundation dialect reads it (x-org names the organisation), Then 000's shape comes back typed
    foundation = sdk.foundation_get_data_source.sync(client=client, identifier=source.id, x_org=tenant)
    assert isinstance(foundation, m.FoundationDataSourceView)
    assert (foundation.entity.identifier, foundation.entity.name) == (source.id, "Production PostgreSQL")
    listed = sdk.foundation_list_data_sources.sync(client=client, x_org=tenant)
    assert isinstance(listed, list) and [item.entity.identifier for item in listed] == [source.id]
    # ... and without the right x-org it is a 403 problem
    refused = sdk.foundation_get_data_source.sync_detailed(client=client, identifier=source.id, x_org="someone_else")
    assert refused.status_code == 403 and isinstance(refused.parsed, m.Problem)

    # When Public v1 reads and filters, Then its envelopes hold typed data sources
    public = sdk.public_get_data_source.sync(source.id, client=client)
    assert isinstance(public, m.PublicDataSourceAnswer) and public.status == 200
    assert (public.data.database_type, public.data.port, public.data.row_version) == ("postgresql", "5432", 2)
    found = sdk.public_filter_data_sources.sync(
        client=client, body=m.FilterRequest(resource_names=["Production*"], database_types=["postgres*"])
    )
    assert isinstance(found, m.PublicDataSourcesAnswer) and [item.id for item in found.data] == [source.id]

    # When the README's delete runs, Then it is gone: 204, and a read is a 404 problem
    deleted = sdk.delete_data_source.sync_detailed(client=client, key=source.key, if_match='"2"')
    assert deleted.status_code == 204
    gone = sdk.get_data_source.sync_detailed(source.id, client=client)
    assert gone.status_code == 404 and isinstance(gone.parsed, m.Problem)
