"""Reads template.yaml, the one route table: functions, their HTTP routes, environment and AWS resources."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
STACK_NAME = "local"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt ...) read as their long form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def _unique_keys(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    """A mapping whose keys are unique: YAML keeps the last of two equal keys silently, which once dropped a
    function's whole Environment block in a merge (CloudFormation would have deployed it without those settings)."""
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ValueError(f"template.yaml line {key_node.start_mark.line + 1}: {key!r} is given twice")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_CfnLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_keys)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        return re.compile(f"^{regex}$")


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    events: dict[str, Any] = field(default_factory=dict)

    @property
    def is_runner(self) -> bool:
        """A connector runner (functions/runner_*): it runs apart, in a credential-less process (devserver/runners.py)."""
        return self.code_uri.name.startswith("runner_")


@dataclass
class Template:
    document: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.document.get("Resources", {}))

    def resources_of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: spec for name, spec in self.resources.items() if spec.get("Type") == kind}

    def parameter_defaults(self) -> dict[str, Any]:
        return {name: spec.get("Default") for name, spec in self.document.get("Parameters", {}).items()}

    def functions(self) -> dict[str, Function]:
        globals_ = self.document.get("Globals", {}).get("Function", {})
        result = {}
        for name, spec in self.resources_of_type("AWS::Serverless::Function").items():
            props = spec.get("Properties", {})
            env = dict(globals_.get("Environment", {}).get("Variables", {}))
            env.update(props.get("Environment", {}).get("Variables", {}))
            function = Function(
                logical_id=name,
                code_uri=ROOT / props["CodeUri"],
                handler=props.get("Handler", globals_.get("Handler", "app.lambda_handler")),
                environment=env,
                events=dict(props.get("Events", {})),
            )
            for event in function.events.values():
                if event.get("Type") == "HttpApi":
                    p = event["Properties"]
                    function.routes.append(Route(p["Method"].upper(), p["Path"], name))
            result[name] = function
        return result

    def routes(self) -> list[Route]:
        return [route for function in self.functions().values() for route in function.routes]


@cache
def load(path: Path = TEMPLATE) -> Template:
    return Template(yaml.load(path.read_text(), Loader=_CfnLoader))  # noqa: S506  # SafeLoader subclass


def physical_name(logical_id: str) -> str:
    """The name a resource gets locally (in AWS, CloudFormation picks it)."""
    return f"{STACK_NAME}-{logical_id}"


class Resolver:
    """Evaluates the intrinsic functions the template uses, for the local stack."""

    def __init__(self, template: Template, endpoints: dict[str, str] | None = None) -> None:
        self.template = template
        self.parameters = template.parameter_defaults()
        self.endpoints = endpoints or {}  # logical id -> value of Ref (e.g. a queue URL)

    def pseudo(self, name: str) -> str:
        return {
            "AWS::StackName": STACK_NAME,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }[name]

    def ref(self, name: str) -> str:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            value = self.parameters[name]
            return ",".join(value) if isinstance(value, list) else str(value)
        return self.endpoints.get(name, physical_name(name))

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.template.resources[name]["Type"].split("::")[1].lower()
        if attribute == "Arn":
            if kind == "sqs":
                return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{physical_name(name)}"
            return f"arn:aws:{kind}:{REGION}:{ACCOUNT_ID}:{physical_name(name)}"
        if attribute in {"QueueName", "Name"}:
            return physical_name(name)
        if attribute == "QueueUrl":
            return self.ref(name)
        raise KeyError(f"{name}.{attribute}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                return self.get_att(*arg)
            if fn == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

                def substitute(match: re.Match[str]) -> str:
                    token = match.group(1)
                    if token in extra:
                        return str(self.resolve(extra[token]))
                    if "." in token:
                        return self.get_att(*token.split(".", 1))
                    return self.ref(token)

                return re.sub(r"\$\{([^}]+)\}", substitute, text)
            if fn == "Fn::Join":
                return arg[0].join(str(self.resolve(part)) for part in arg[1])
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value
