"""Every route of the template: other tenants' sources are not found and unchanged, viewers cannot write, bad tokens are 401.

None of these calls may change anything (each case asserts it), so the cases share one tenant of the module and its
sources: the one another tenant tries to reach, and the one a viewer or a bad token tries to write.
"""

from __future__ import annotations

import time

import jwt
import pytest

from devserver import tokens
from tests.prove.harness import WRITES, new_source, records, revision_items, routes, sample, table_items

ROUTES = routes()
IDS = [f"{route.method} {route.path}" for route in ROUTES]


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_another_tenants_source_answers_404_and_changes_nothing(local_api, client_for, tenant, module_tenant, route):
    # Given a source of another tenant
    other = module_tenant.tenant
    theirs = module_tenant.source("theirs")
    before = records(local_api.aws, other)
    # When this tenant's editor calls the route on it (naming its own organisation where 000 asks for x-org)
    call = sample(route).build(theirs, 1)
    if "x-org" in call.headers:
        call.headers["x-org"] = tenant
    response = call.send(client_for("editor"))
    # Then it is not found (collection routes: it is not listed), and the other tenant's data is unchanged
    if sample(route).targets_source:
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
    else:
        assert theirs["id"] not in response.text
    assert records(local_api.aws, other) == before


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.method in WRITES and not sample(r).reads], ids=lambda r: f"{r.method} {r.path}"
)
def test_a_viewer_cannot_write(local_api, module_tenant, route):
    # Given a source and a viewer of the same tenant
    tenant = module_tenant.tenant
    source = module_tenant.source("mine")
    before = records(local_api.aws, tenant)
    # When the viewer writes, Then it is 403 and nothing changes
    response = sample(route).build(source, 2).send(module_tenant.client("viewer"))
    assert response.status_code == 403, response.text
    assert response.json()["status"] == 403
    assert records(local_api.aws, tenant) == before


def _bad_tokens(tenant: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": "https://issuer.example.com", "sub": "x", "tenant_id": tenant, "role": "admin"}
    return {
        "expired": tokens.issue(tenant, "admin", ttl_seconds=-60),
        "alg none": jwt.encode({**claims, "aud": "datasource-registry", "exp": now + 600}, None, algorithm="none"),
        "wrong secret": jwt.encode(
            {**claims, "aud": "datasource-registry", "exp": now + 600},
            "not-the-secret-0123456789abcdef-0123456789",
            "HS256",
        ),
        "wrong audience": tokens.issue(tenant, "admin", aud="another-api"),
        "garbage": "not.a.token",
    }


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_expired_unsigned_or_wrong_audience_tokens_answer_401(local_api, module_tenant, route):
    tenant = module_tenant.tenant
    source = module_tenant.source("mine")
    before = records(local_api.aws, tenant)
    for name, token in _bad_tokens(tenant).items():
        response = sample(route).build(source, 3).send(module_tenant.client(token=token))
        assert response.status_code == 401, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert records(local_api.aws, tenant) == before


def test_another_tenants_history_is_never_seen_even_after_its_source_is_deleted(local_api, client_for, tenant):
    # Given another tenant's source, changed once and then deleted (its history is kept for the retention)
    other = f"{tenant}_other"
    theirs_api = client_for("editor", tenant_id=other)
    theirs = new_source(theirs_api, "history")
    assert theirs_api.delete(f"/rivergen/api/v1/data-sources/{theirs['id']}").status_code == 200
    history = revision_items(table_items(local_api.aws, other))
    assert len(history) == 3  # created, linked, deleted: there is something to find
    # When this tenant asks for it by id, by diff, by restore, and through its own audit trail
    mine = client_for("admin")
    base = f"/api/v1/data-sources/{theirs['id']}/revisions"
    answers = [
        mine.get(base),
        mine.get(f"{base}/1"),
        mine.get(f"{base}/diff", params={"from": "1", "to": "3"}),
        mine.post(f"{base}/1/restore"),
    ]
    audit = mine.get("/api/v1/audit-events", params={"limit": "100"})
    # Then nothing is found, the audit trail does not name it, and their history is unchanged
    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert audit.status_code == 200 and theirs["id"] not in audit.text
    assert revision_items(table_items(local_api.aws, other)) == history
    # And its own tenant still reads it
    assert [r["action"] for r in theirs_api.get(base).json()["data"]] == ["deleted", "linked", "created"]
