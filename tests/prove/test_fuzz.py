"""Schemathesis over every operation of the OpenAPI document, against the local server: valid and invalid inputs."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from devserver import tokens
from devserver.openapi import document
from tests.prove.conftest import COUNTS, report, scan
from tests.prove.harness import MARKER, create_body

# Examples per operation and generation mode; thousands of cases in all at the default.
EXAMPLES = int(os.environ.get("DS_FUZZ_EXAMPLES", "200"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
FOUNDATION = "/api/data/"  # 000's routes: a source or data system is named by ?identifier= (and ?child_identifier=)


class Live:
    """Sources and a data system that exist in the tenant, for 000's cases to name: a generated identifier is
    never one, so without them every identifier-taking 000 operation would only ever answer 404 or 400."""

    def __init__(self, client: httpx.Client, tenant: str) -> None:
        self.client, self.org = client, {"x-org": tenant}
        # "any" is the source the cases of every 000 data_source route name (they may rewrite or delete it);
        # "secrets" only ever takes secrets, so its connection keeps naming DB_PASSWORD as an env_key.
        self.sources: dict[str, str] = {}
        self.system: str | None = None
        self.numbers = itertools.count()

    def aim(self, case: schemathesis.Case) -> None:
        """Point the case's identifiers at live ones (data_system routes and links name the system first)."""
        query: dict[str, Any] = case.query if case.query is not None else {}
        path = case.operation.path
        secrets = path.endswith("/data_source/secret")
        if "identifier" in query:
            query["identifier"] = (
                self._system() if "data_system" in path else self._source("secrets" if secrets else "any")
            )
        if "child_identifier" in query:
            query["child_identifier"] = self._source("any")
        if secrets:
            # 000 takes {env_key: value} for the env_keys the connection names (the live source's: DB_PASSWORD); a
            # generated key never is one.
            case.body = {"DB_PASSWORD": f"{MARKER}-live-{next(self.numbers)}"}
            case.media_type = "application/json"

    def answered(self, case: schemathesis.Case, status: int) -> None:
        """A 2xx DELETE took the named one away: the next case gets a new one."""
        if case.method.upper() == "DELETE" and 200 <= status < 300:
            if case.operation.path.endswith("/data_system"):
                self.system = None
            else:
                self.sources.pop("any", None)

    def _source(self, role: str) -> str:
        if role not in self.sources:
            created = self.client.post("/api/v1/data-sources", json=create_body(f"live-{next(self.numbers)}"))
            assert created.status_code == 201, created.text
            self.sources[role] = str(created.json()["id"])
        return self.sources[role]

    def _system(self) -> str:
        if self.system is None:
            body = {"entity": {"name": f"Live system {next(self.numbers)}"}}
            created = self.client.post("/api/data/data_system", json=body, headers=self.org)
            assert created.status_code == 200, created.text
            self.system = str(created.json()["entity"]["identifier"])
        return self.system


def _operations():
    schema = schemathesis.openapi.from_dict(document())
    # The token is ours to send (and to withhold in the probes); unknown query parameters are ignored, as
    # API Gateway and most APIs do, so they are not counted as schema violations.
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    return [result.ok() for result in schema.get_all_operations()]


OPERATIONS = _operations()


# One test per operation and mode (each well inside the per-test timeout, however loaded the machine).
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_every_operation_answers_as_documented_and_refuses_missing_or_bad_auth(
    server, client_for, tenant, mode, operation
):
    # Given a real editor token, one for another audience, and none at all
    good = {"authorization": f"Bearer {tokens.issue(tenant, 'editor')}"}
    bad = {"authorization": f"Bearer {tokens.issue(tenant, 'editor', aud='someone-else')}"}
    counted = {"cases": 0, "unauthenticated": 0}
    live = Live(client_for("editor"), tenant)
    statuses: Counter[int] = Counter()
    # About half of 000's valid cases name a live source or system, so their success paths are reached too.
    aim = operation.path.startswith(FOUNDATION) and mode is schemathesis.GenerationMode.POSITIVE

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), aimed=st.booleans())
    def run(case: schemathesis.Case, aimed: bool) -> None:
        # When the case is sent with the token (and, on 000's routes, x-org naming its tenant so that the
        # success paths are reached, unless x-org is the header this negative case is about)
        sent = dict(good)
        if "x-org" in {k.lower() for k in case.headers or {}} and not (
            case.meta and case.meta.is_negative_at(ParameterLocation.HEADER)
        ):
            sent["x-org"] = tenant
        if aim and aimed:
            live.aim(case)
        response = case.call(base_url=server.url, headers=sent)
        live.answered(case, response.status_code)
        scan(response.text, "a fuzz answer")  # the live sources' credentials, and the secrets set, are marked
        counted["cases"] += 1
        statuses[response.status_code] += 1
        # 413 refuses an oversized invalid body as surely as a 400 does; schemathesis's list lacks it.
        checks = [c for c in CHECKS if response.status_code != 413 or c is not negative_data_rejection]
        case.validate_response(response, checks=checks, headers=sent)
        # And the same request without a token, or with a wrong-audience one, is a 401 problem
        generated = dict(case.headers or {})
        case.headers = {k: v for k, v in generated.items() if k.lower() != "authorization"}
        for headers in ({}, bad):
            probe = case.call(base_url=server.url, headers=headers)
            counted["unauthenticated"] += 1
            if not case.meta or not case.meta.is_negative_at(ParameterLocation.PATH):
                assert probe.status_code == 401, (case.operation.label, probe.status_code, probe.text[:300])
                assert probe.headers["content-type"] == ["application/problem+json"]
        case.headers = generated

    try:
        run()
    except Unsatisfiable:
        # An operation with nothing a client can get wrong (no body, no query, an opaque path id) has no
        # negative case to generate; reported by name, never silently.
        assert mode is schemathesis.GenerationMode.NEGATIVE, f"no valid case for {operation.label}"
        report(f"[fuzz:negative] no negative case exists for: {operation.label}")
    finally:
        COUNTS[f"fuzz cases ({mode.value})"] += counted["cases"]
        COUNTS["fuzz unauthenticated probes"] += counted["unauthenticated"]
    if aim:
        # And each of 000's operations reached its success path at least once (a 2xx), not only its refusals
        assert any(200 <= code < 300 for code in statuses), f"{operation.label} never answered 2xx: {dict(statuses)}"
        COUNTS["fuzz: 000 operations that reached a 2xx"] += 1
