"""Schemathesis over every operation of the OpenAPI document, against the local server: valid and invalid inputs."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
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
from tests.prove.conftest import COUNTS, report

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


def _operations():
    schema = schemathesis.openapi.from_dict(document())
    # The token is ours to send (and to withhold in the probes); unknown query parameters are ignored, as
    # API Gateway and most APIs do, so they are not counted as schema violations.
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_every_operation_answers_as_documented_and_refuses_missing_or_bad_auth(server, tenant, mode):
    # Given a real editor token, one for another audience, and none at all
    good = {"authorization": f"Bearer {tokens.issue(tenant, 'editor')}"}
    bad = {"authorization": f"Bearer {tokens.issue(tenant, 'editor', aud='someone-else')}"}
    counted = {"cases": 0, "unauthenticated": 0}
    failures: list[str] = []
    unsatisfiable: list[str] = []

    for operation in _operations():

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            # When the case is sent with the token (and, on 000's routes, x-org naming its tenant so that the
            # success paths are reached, unless x-org is the header this negative case is about)
            sent = dict(good)
            if "x-org" in {k.lower() for k in case.headers or {}} and not (
                case.meta and case.meta.is_negative_at(ParameterLocation.HEADER)
            ):
                sent["x-org"] = tenant
            response = case.call(base_url=server.url, headers=sent)
            counted["cases"] += 1
            try:
                # 413 refuses an oversized invalid body as surely as a 400 does; schemathesis's list lacks it.
                checks = [c for c in CHECKS if response.status_code != 413 or c is not negative_data_rejection]
                case.validate_response(response, checks=checks, headers=sent)
            except AssertionError as failure:
                failures.append(f"{case.operation.label}: {str(failure)[:2000]}")
                raise
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
            unsatisfiable.append(operation.label)

    report(
        f"[fuzz:{mode.value}] {counted['cases']} cases, {counted['unauthenticated']} unauthenticated probes,"
        f" {len(failures)} failures; no negative case exists for: {', '.join(unsatisfiable) or 'none'}"
    )
    COUNTS["fuzz cases"] += counted["cases"]
    assert not failures
