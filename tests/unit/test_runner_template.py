"""template.yaml: connector runners hold no permission on the registry; only the callers may invoke them."""

from __future__ import annotations

import json
import re

from datasource_registry.domain.types import DataSourceType
from datasource_registry.runner import FAMILIES, family_of, parse_runner_names
from devserver.template import load

REGISTRY_SERVICES = ("dynamodb:", "secretsmanager:", "sqs:", "events:", "lambda:", "kms:", "s3:")
# What a runner's role may hold: writing its logs, and (in a VPC) managing its network interfaces.
RUNNER_MANAGED_POLICIES = {"AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"}


def runners() -> dict[str, dict]:
    template = load()
    return {n: template.resources[n]["Properties"] for n, f in template.functions().items() if f.is_runner}


def test_there_is_one_runner_per_family_and_every_type_has_one():
    names = parse_runner_names(
        load()
        .resources["TestConnectionFunction"]["Properties"]["Environment"]["Variables"]["CONNECTOR_RUNNERS"]["Fn::Sub"]
        .replace("${", "")
        .replace("}", "")
    )
    assert set(names.values()) == set(runners())
    assert set(names) == set(FAMILIES.values())
    assert {family_of(t.value) for t in DataSourceType} <= set(names)


def test_a_runners_role_writes_logs_and_nothing_else():
    template = load()
    for name, props in runners().items():
        assert "Policies" not in props, name  # SAM would add them to a role of its own
        role = template.resources[props["Role"]["Fn::GetAtt"][0]]
        assert role["Type"] == "AWS::IAM::Role"
        assert "Policies" not in role["Properties"]
        managed = json.dumps(role["Properties"]["ManagedPolicyArns"])
        named = set(re.findall(r"policy/service-role/([A-Za-z]+)", managed))
        assert managed.count("arn:") == len(re.findall(r"policy/service-role/", managed)) > 0, managed
        assert named <= RUNNER_MANAGED_POLICIES, named
        assert not any(service in managed for service in REGISTRY_SERVICES), managed


def test_no_runner_role_statement_names_the_registrys_services():
    template = load()
    text = json.dumps([template.resources[p["Role"]["Fn::GetAtt"][0]] for p in runners().values()])
    assert not any(service in text for service in REGISTRY_SERVICES)


def test_runners_sit_in_the_users_vpc_only_when_subnets_are_given():
    template = load()
    assert template.document["Conditions"]["RunnersInVpc"]
    for name, props in runners().items():
        assert props["VpcConfig"]["Fn::If"][0] == "RunnersInVpc", name
    for name, function in template.functions().items():
        if not function.is_runner:
            assert "VpcConfig" not in template.resources[name]["Properties"], name


def test_callers_invoke_the_runners_only_and_no_function_but_a_runner_carries_drivers():
    template = load()
    runner_names = set(runners())
    for name, function in template.functions().items():
        props = template.resources[name]["Properties"]
        text = json.dumps(props.get("Policies", []))
        layers = {ref["Ref"] for ref in props.get("Layers", [])}
        if function.is_runner:
            assert layers and all(layer.startswith("Runner") for layer in layers), name
            continue
        assert not layers, f"{name} carries driver layers {layers}"
        if "lambda:" in text:
            for statement in (s for p in props["Policies"] for s in p.get("Statement", [])):
                if any(str(a).startswith("lambda:") for a in [statement["Action"]]):
                    assert statement["Action"] == "lambda:InvokeFunction"
                    targets = {r["Fn::GetAtt"][0] for r in statement["Resource"]}
                    assert targets == runner_names, name


def test_runners_never_get_the_registrys_resource_names():
    for props in runners().values():
        variables = props["Environment"]["Variables"]
        assert variables["TABLE_NAME"] == variables["IDEMPOTENCY_TABLE_NAME"] == variables["SECRET_PREFIX"] == ""
