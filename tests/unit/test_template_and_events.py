"""template.yaml is the one route table: every function has a sample event, and the layer matches pyproject."""

from __future__ import annotations

import json
import re
import tomllib

from devserver.template import load
from tests.conftest import EVENTS, ROOT


def test_every_http_function_has_a_sample_event_for_its_route():
    for function in load().functions().values():
        for route in function.routes:
            event = json.loads((EVENTS / f"{function.code_uri.name}.json").read_text())
            assert event["routeKey"] == f"{route.method} {route.path}", function.logical_id


def test_routes_are_unique():
    keys = [(route.method, route.path) for route in load().routes()]
    assert len(keys) == len(set(keys))


def test_the_layers_install_exactly_the_runtime_dependencies_of_pyproject():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    # A driver two runner families need (paramiko, for SSH tunnels) is in both their layers, with one pin.
    layers = {
        line.strip()
        for path in sorted((ROOT / "layers").glob("*/requirements.txt"))
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    # boto3 comes with the Lambda runtime; it is pinned for development only.
    assert sorted([*layers, next(d for d in declared if d.startswith("boto3"))]) == sorted(declared)


def test_the_runtime_matches_the_installed_python():
    import sys

    runtime = load().document["Globals"]["Function"]["Runtime"]
    assert runtime == f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_secret_permissions_are_scoped_to_the_registry_prefix():
    for function in load().functions().values():
        text = json.dumps(load().resources[function.logical_id]["Properties"].get("Policies", []))
        for resource in re.findall(r'secretsmanager:[^"]*"', text):
            assert "*" not in resource.replace("${AWS::StackName}/*", "")


def test_every_function_without_a_route_has_a_sample_event_too():
    for function in load().functions().values():
        assert (EVENTS / f"{function.code_uri.name}.json").is_file(), function.logical_id


def test_the_template_loader_refuses_a_key_given_twice(tmp_path):
    import pytest

    twice = tmp_path / "template.yaml"
    twice.write_text("Resources:\n  F:\n    Properties:\n      Environment: {A: 1}\n      Environment: {B: 2}\n")
    with pytest.raises(ValueError, match="'Environment' is given twice"):
        load(twice)
