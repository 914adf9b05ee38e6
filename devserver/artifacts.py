"""What deploys, run locally: `sam build`'s functions and layers under a Lambda-like interpreter, on the embedded AWS.

The emulation (README, "What runs is what deploys"): each function runs in its own process of the base python3.11
started as `python -S -B -P` (no site-packages, no bytecode written, as on Lambda's read-only filesystem), with
PYTHONPATH = the function's built code (LAMBDA_TASK_ROOT), its layers' `python/` dirs (where /opt/python is on
Lambda) and `.aws-sam/lambda-runtime` (boto3 as the runtime provides it); the environment is the template's, with
tracing as deployed (an X-Ray trace header per invocation, segments sent to a local UDP port and counted).

`python -m devserver.artifacts check` (make artifact-check) checks every layer's contents and imports, then invokes
every function with its events/*.json in a lifecycle order and compares the status with the expected one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from devserver.emulation import (
    BUILD,
    EVENTS,
    LAMBDA_RUNTIME,
    PYTHON,
    RUNTIME_PROVIDED,
    BuiltFunction,
    LambdaWorker,
    XRayDaemon,
    built_functions,
    built_layers,
    lambda_environment,
)
from devserver.template import ROOT, Function, load


@dataclass
class BuiltInvoker:
    """The devserver's invoker (same interface as devserver.lambdas.Invoker), each function in its own worker."""

    functions: dict[str, Function]  # the source template's, for routes and schedules
    refs: dict[str, str]
    endpoint_url: str
    overrides: dict[str, str] = field(default_factory=dict)
    build: Path = BUILD
    log: IO[Any] | None = None

    def __post_init__(self) -> None:
        self.built = built_functions(self.build)
        self.xray = XRayDaemon()
        self.workers: dict[str, LambdaWorker] = {}
        self._lock = threading.Lock()

    def worker(self, logical_id: str) -> LambdaWorker:
        with self._lock:
            if logical_id not in self.workers:
                function = self.built[logical_id]
                env = lambda_environment(
                    function, self.refs, self.endpoint_url, self.overrides, self.xray.address, self.build
                )
                from devserver.runners import runner_ids, without_credentials

                if logical_id in runner_ids():  # a connector runner: no credentials at all
                    env = without_credentials(env)
                self.workers[logical_id] = LambdaWorker(function, env, self.log)
            return self.workers[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.worker(logical_id).invoke(event)

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.xray.socket.close()


def built_runner_factory(invoker: BuiltInvoker) -> Any:
    """Workers of the built runners for the local Invoke endpoint: Lambda's environment minus every credential."""
    from devserver.runners import without_credentials

    def make(logical_id: str, _function: Function) -> LambdaWorker:
        function = invoker.built[logical_id]
        env = lambda_environment(function, invoker.refs, invoker.endpoint_url, invoker.overrides, build=invoker.build)
        return LambdaWorker(function, without_credentials(env), invoker.log)

    return make


# -- the check ------------------------------------------------------------------------------------------------------

# What each layer must import under the emulation (besides every top-level module it ships), with a use of each
# pyarrow reader the file connectors rely on.
LAYER_PROBES = {
    "SharedLayer": "import datasource_registry.runtime, aws_lambda_powertools.tracing, pydantic, aws_xray_sdk.core",
    "RunnerSqlLayer": """
import psycopg, pymysql, paramiko, nacl.bindings, bcrypt, cryptography.hazmat.bindings._rust
assert psycopg.pq.__impl__ == "binary", psycopg.pq.__impl__
import datasource_registry.connectors.postgres, datasource_registry.connectors.mysql, datasource_registry.connectors.tunnel
import pytds, pytds.tls, OpenSSL.SSL, oracledb
assert pytds.tls.OPENSSL_AVAILABLE, "python-tds without pyOpenSSL cannot encrypt"
assert oracledb.is_thin_mode(), "python-oracledb must stay in thin mode (no Instant Client)"
import datasource_registry.connectors.sqlserver, datasource_registry.connectors.oracle
""",
    "RunnerFilesLayer": """
import io, pyarrow, pyarrow.parquet, pyarrow.csv, pyarrow.orc, pyarrow.json, pyarrow.dataset, pyarrow.fs
table = pyarrow.table({"id": [1, 2], "name": ["a", "b"]})
for write, read in ((pyarrow.parquet.write_table, pyarrow.parquet.read_table), (pyarrow.orc.write_table, pyarrow.orc.read_table)):
    sink = io.BytesIO(); write(table, sink); assert read(io.BytesIO(sink.getvalue())).equals(table)
assert pyarrow.csv.read_csv(io.BytesIO(b"id,name\\n1,a\\n")).num_rows == 1
assert pyarrow.json.read_json(io.BytesIO(b'{"id": 1}\\n')).num_rows == 1
import datasource_registry.connectors.files, datasource_registry.connectors.s3, datasource_registry.connectors.dynamodb
import zipfile, python_calamine
from datasource_registry.connectors.excel import sheet_columns
from datasource_registry.connectors.iceberg import parse_metadata
sheet = io.BytesIO()
with zipfile.ZipFile(sheet, "w") as xlsx:  # the smallest workbook calamine opens: one sheet, inline strings
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    xlsx.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
    xlsx.writestr("_rels/.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    xlsx.writestr("xl/workbook.xml", f'<workbook {ns} xmlns:r="{rel}"><sheets><sheet name="orders" sheetId="1" r:id="rId1"/></sheets></workbook>')
    xlsx.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    xlsx.writestr("xl/worksheets/sheet1.xml", f'<worksheet {ns}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row>'
        '<row r="2"><c r="A2"><v>7</v></c></row></sheetData></worksheet>')
book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(sheet.getvalue()))
assert book.sheet_names == ["orders"], book.sheet_names
assert [(c.name, c.type) for c in sheet_columns(book.get_sheet_by_name("orders").to_python())] == [("id", "integer")]
metadata = parse_metadata("v1.metadata.json", b'{"format-version": 2, "table-uuid": "9c12d441-03fe-4693-9a96-a0705ddf69c1",'
    b' "location": "s3://b/t", "last-sequence-number": 0, "last-updated-ms": 1, "last-column-id": 1, "current-schema-id": 0,'
    b' "schemas": [{"type": "struct", "schema-id": 0, "fields": [{"id": 1, "name": "id", "required": true, "type": "long"}]}],'
    b' "default-spec-id": 0, "partition-specs": [{"spec-id": 0, "fields": []}], "last-partition-id": 999,'
    b' "default-sort-order-id": 0, "sort-orders": [{"order-id": 0, "fields": []}]}')
assert [f.name for f in metadata.schema().fields] == ["id"]
""",
    "RunnerLakeLayer": """
import deltalake, deltalake.writer, arro3.core
assert deltalake.DeltaTable.__init__ and deltalake.schema.PrimitiveType("long").type == "long"
import datasource_registry.connectors.delta_lake
""",
    "RunnerLakeHudiLayer": """
import hudi, hudi._internal, pyarrow
assert hudi.HudiTableBuilder.from_base_uri("s3://sample-bucket/t") is not None
import datasource_registry.connectors.hudi_table
""",
    "RunnerKvHttpLayer": """
import redis, paramiko, nacl.bindings, bcrypt, cryptography.hazmat.bindings._rust
import datasource_registry.connectors.redis_kv, datasource_registry.connectors.http_api, datasource_registry.connectors.tunnel
import kafka, kafka.net.inet, kafka.net.compat, kafka.net.sasl.scram, kafka.consumer.group
import datasource_registry.connectors.kafka_topics as kafka_topics, datasource_registry.connectors.elasticsearch
assert issubclass(kafka_topics._pinned_socket_class(), kafka.net.inet.KafkaNetSocket)  # the pinning hook exists
import datasource_registry.connectors.snowflake, datasource_registry.connectors.bigquery, datasource_registry.connectors.salesforce
from cryptography.hazmat.primitives.asymmetric import rsa
from datasource_registry.connectors.saas_http import rs256_jwt
assert rs256_jwt({"sub": "probe"}, rsa.generate_private_key(public_exponent=65537, key_size=2048)).count(".") == 2
""",
    "RunnerNosqlLayer": """
import pymongo, bson, dns.resolver, cassandra.cluster, cassandra.io.libevreactor, cassandra.cqltypes
assert bson.has_c() and pymongo.has_c(), "pymongo's C extensions"
assert cassandra.cluster.DefaultConnection is cassandra.io.libevreactor.LibevConnection, cassandra.cluster.DefaultConnection
import datasource_registry.connectors.mongodb, datasource_registry.connectors.cassandra
""",
}
# The bytecode flags of a pyc compiled with --invalidation-mode unchecked-hash (PEP 552: hash-based, not checked).
UNCHECKED_HASH = 0b01


def top_level_names(layer: Path) -> set[str]:
    names = set()
    for entry in layer.iterdir():
        if entry.name in {"__pycache__", "bin"} or entry.name.endswith((".dist-info", ".pth", "-stubs")):
            continue
        if entry.is_dir() and not (entry / "__init__.py").exists() and not any(entry.glob("*.py")):
            continue  # data-only directories (e.g. *.libs with bundled shared objects)
        names.add(entry.name.split(".")[0])
    return names


def check_layer_contents(layers: dict[str, Path], functions: dict[str, BuiltFunction]) -> list[str]:
    problems = []
    for name, layer in layers.items():
        shipped = top_level_names(layer)
        for forbidden in sorted(shipped & set(RUNTIME_PROVIDED)):
            problems.append(f"{name} ships {forbidden}, which the python3.11 runtime provides")
        missing, checked = [], 0
        for source in layer.rglob("*.py"):
            pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
            if not pyc.exists():
                missing.append(str(source.relative_to(layer)))
                continue
            flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
            checked += 1
            if flags != UNCHECKED_HASH:
                problems.append(f"{name}: {pyc.relative_to(layer)} is not an unchecked-hash pyc (flags {flags})")
                break
        if missing:
            problems.append(f"{name}: {len(missing)} modules without bytecode, e.g. {missing[:3]}")
        print(f"  layer {name}: {len(shipped)} top-level modules, {checked} with unchecked-hash bytecode")
    for function in functions.values():
        seen: dict[str, Path] = {}
        for layer in function.layers:
            for module in top_level_names(layer):
                if module in seen:
                    problems.append(f"{function.logical_id}: {module} is in two of its layers")
                seen[module] = layer
    return problems


def check_layer_imports(layers: dict[str, Path], functions: dict[str, BuiltFunction]) -> list[str]:
    """Each layer, with the layers it is attached beside, imports everything it ships and runs its probe."""
    problems = []
    for name, layer in layers.items():
        companions = next(f.layers for f in functions.values() if layer in f.layers)
        path = os.pathsep.join(str(p) for p in (*reversed(companions), LAMBDA_RUNTIME))
        modules = sorted(top_level_names(layer))
        code = (
            "import importlib, os, sys\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            f"{LAYER_PROBES.get(name, '')}\n"
            # boto3 & co. must come from the runtime's copy, never from a layer
            f"files = [getattr(m, '__file__', None) or '' for n, m in list(sys.modules.items()) "
            f"if n.split('.')[0] in {set(RUNTIME_PROVIDED)!r}]\n"
            f"stray = [f for f in files if f and not f.startswith({str(LAMBDA_RUNTIME)!r})]\n"
            "print(len(sys.modules), 'modules loaded', 'stray:' if stray else '', *stray[:3])\n"
            "sys.stdout.flush(); os._exit(1 if stray else 0)\n"  # no interpreter shutdown: pyarrow may abort in it
        )
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
        run = subprocess.run(  # noqa: S603
            [PYTHON, "-S", "-B", "-P", "-c", code], env=env, capture_output=True, text=True, check=False
        )
        verdict = "ok" if run.returncode == 0 else "FAILED"
        print(f"  layer {name} imports {len(modules)} top-level modules + probe: {verdict} {run.stdout.strip()}")
        if run.returncode != 0:
            problems.append(f"{name} does not import under the emulation:\n{run.stderr[-3000:]}")
    return problems


@dataclass(frozen=True)
class Step:
    event: str  # events/<event>.json, whose stem is also the function's code directory under functions/
    status: int | None  # the expected statusCode; None for non-HTTP functions (they must not fail)
    ids: tuple[tuple[str, str], ...] = ()  # placeholder id in the event -> name of an id captured earlier
    capture: tuple[str, str] | None = None  # (name, dotted path in the JSON body) of an id to capture
    headers: tuple[tuple[str, str], ...] = ()  # added to the event's headers


DS, SYS = "ds_01kaqz5h0000000000000000000", "sys_01kaqz5h0000000000000000000"
# A lifecycle through every function: creates first, reads and updates, then deletes. Sample events that name
# placeholder ids get the ids the creates returned, so every call reaches the store and the secrets for real.
KEY = (("idempotency-key", "artifact-check-create"),)
SCENARIO = (
    Step("create_data_source", 201, headers=KEY),
    Step("create_data_source", 201, headers=KEY),  # a retry: the first answer, replayed (idempotency utility)
    Step("get_data_source", 200),
    Step("list_data_sources", 200),
    Step("update_data_source", 200),
    Step("test_connection", 200),  # the sample's host does not resolve: a failed test is still a 200 answer
    Step("test_unsaved_connection", 200),  # the local PostgreSQL, through the sql runner (its psycopg, its layer)
    Step("discover_schema", 422),  # the sample's host does not resolve: the discovery fails cleanly
    Step("list_discoveries", 200),  # ... and that job is listed, failed
    Step("get_discovery", 404),  # the sample names a job id never issued
    Step("rivergen_get_data_source", 200),  # 001's dialect names the canonical sample by its key
    Step("rivergen_list_data_sources", 200),
    Step("rivergen_update_data_source", 200),
    Step("rivergen_test_connection", 200),
    Step("rivergen_discover_schema", 422),
    Step("list_connector_types", 200),  # the catalogue: a viewer's read, no table or secret touched
    Step("get_connector_type", 200),
    Step("get_schema", 404),
    Step("get_schema_diff", 404),
    Step("list_revisions", 200),  # created, updated twice: three revisions
    Step("get_revision", 200),
    Step("get_revision_diff", 200),
    Step("restore_revision", 200),  # revision 1 again, as revision 4
    Step("list_audit_events", 200),
    Step("public_create_data_sources", 200, capture=("public", "data.id")),
    Step("public_filter_data_sources", 200),
    Step("public_get_data_source", 200, ids=((DS, "public"),)),
    Step("public_get_data_sources_by_ids", 200, ids=((DS, "public"),)),
    Step("public_update_data_source", 200, ids=((DS, "public"),)),
    Step("foundation_create_data_source", 200, capture=("source", "entity.identifier")),
    Step("foundation_create_data_system", 200, capture=("system", "entity.identifier")),
    Step("foundation_get_data_source", 200, ids=((DS, "source"),)),
    Step("foundation_get_data_system", 200, ids=((SYS, "system"),)),
    Step("foundation_list_data_sources", 200),
    Step("foundation_list_data_systems", 200),
    Step("foundation_update_data_source", 200, ids=((DS, "source"),)),
    Step("foundation_configure_connection", 200, ids=((DS, "source"),)),
    Step("foundation_set_secrets", 200, ids=((DS, "source"),)),
    Step("foundation_link_data_source", 200, ids=((DS, "source"), (SYS, "system"))),
    Step("runner_sql", None),  # the runners, invoked as their callers invoke them (no credentials in their process)
    Step("runner_files", None, ids=(("http://127.0.0.1:9", "aws"),)),  # a parquet file on the embedded S3
    Step("runner_kv_http", None),
    Step("runner_nosql", None),  # mongodb at 127.0.0.1:27017: an answer (UNREACHABLE if nothing listens)
    Step("runner_lake", None, ids=(("http://127.0.0.1:9", "aws"),)),  # a Delta table on the embedded S3
    Step("runner_lake_hudi", None, ids=(("http://127.0.0.1:9", "aws"),)),  # a Hudi table on the embedded S3
    Step("sweep_due_refreshes", None),
    Step("refresh_schema", None),
    Step("foundation_delete_data_system", 200, ids=((SYS, "system"),)),
    Step("foundation_delete_data_source", 200, ids=((DS, "source"),)),
    Step("delete_data_source", 204),
    Step("rivergen_create_data_source", 201),  # the same sample in 001's form, once the canonical one is gone
    Step("rivergen_delete_data_source", 200),
)


def _dig(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document[part]
    return document


def run_scenario(invoker: BuiltInvoker, by_code_dir: dict[str, str], known: dict[str, str] | None = None) -> list[str]:
    problems: list[str] = []
    captured: dict[str, str] = dict(known or {})
    print(f"  {'function':42} {'init ms':>8} {'call ms':>8}  event -> status (expected)")
    for step in SCENARIO:
        text = (EVENTS / f"{step.event}.json").read_text()
        for placeholder, name in step.ids:
            text = text.replace(placeholder, captured.get(name, placeholder))
        logical_id = by_code_dir[step.event]
        worker = invoker.worker(logical_id)
        event = json.loads(text)
        event.setdefault("headers", {}).update(dict(step.headers))
        answer = worker.invoke_raw(event)
        result = answer.get("result")
        status = result.get("statusCode") if isinstance(result, dict) else None
        failed = "errorType" in answer or (status != step.status)
        if step.event.startswith("runner_"):  # a runner's answer: a result (a failed test is one), never an error
            failed = failed or not isinstance(result, dict) or not {"result", "resultGzip"} & result.keys()
        shown = answer.get("errorType") or status
        if step.event.startswith("runner_") and isinstance(result, dict):
            outcome = result.get("result") or {}
            tables = f"{outcome['tableCount']} tables" if "tableCount" in outcome else None
            shown = outcome.get("errorCode") or tables or ("ok" if outcome.get("success") else "failed")
        flag = "  <-- FAILED" if failed else ""
        print(
            f"  {logical_id:42} {worker.init_ms:8.0f} {answer['duration_ms']:8.0f}  {step.event} -> {shown} "
            f"({step.status}){flag}"
        )
        if failed:
            detail = answer.get("errorMessage") or (result or {}).get("body") or (result or {}).get("error", "")
            problems.append(f"{step.event} on {logical_id}: {shown}, expected {step.status}: {str(detail)[:400]}")
        elif step.capture is not None and isinstance(result, dict):
            captured[step.capture[0]] = str(_dig(json.loads(result["body"]), step.capture[1]))
    return problems


def check_runner_environments(workers: list[LambdaWorker]) -> list[str]:
    """Each runner process's own environment (/proc/<pid>/environ): no AWS credentials, no registry names."""
    from devserver.runners import CREDENTIAL_VARIABLES

    problems = []
    for worker in workers:
        environ = Path(f"/proc/{worker.process.pid}/environ")
        if not environ.exists() or worker.process.poll() is not None:
            continue
        variables = dict(
            entry.split("=", 1) for entry in environ.read_text(errors="replace").split("\0") if "=" in entry
        )
        held = sorted(set(variables) & set(CREDENTIAL_VARIABLES))
        named = sorted(k for k in ("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "SECRET_PREFIX") if variables.get(k))
        if held or named:
            problems.append(f"runner {worker.function.logical_id} holds {held + named}")
    print(f"  runner processes checked for credentials and registry names: {len(workers)}")
    return problems


def put_sample_parquet(s3: Any) -> None:
    """The file events/runner_files.json discovers: a small parquet table, written with the venv's pyarrow."""
    import io

    import pyarrow
    import pyarrow.parquet

    sink = io.BytesIO()
    pyarrow.parquet.write_table(pyarrow.table({"order_id": [1, 2], "total": [9.5, 12.0]}), sink)
    s3.create_bucket(Bucket="sample-bucket")
    s3.put_object(Bucket="sample-bucket", Key="warehouse/orders/part-0.parquet", Body=sink.getvalue())


def put_sample_tables(s3: Any, endpoint_url: str) -> None:
    """The tables events/runner_lake.json and runner_lake_hudi.json discover: a Delta table written with the venv's
    deltalake, a Hudi table written as Hudi's writers lay one out (devserver/hudi_writer.py)."""
    import pyarrow
    from deltalake import write_deltalake

    from devserver.hudi_writer import HudiTable

    rows = pyarrow.table({"order_id": pyarrow.array([1, 2], pyarrow.int64()), "day": ["a", "b"], "total": [9.5, 12.0]})
    options = {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_region": "us-east-1",
        "aws_endpoint_url": endpoint_url,
        "aws_allow_http": "true",
    }
    write_deltalake("s3://sample-bucket/warehouse/orders_delta", rows, partition_by=["day"], storage_options=options)
    hudi = HudiTable(s3, "sample-bucket", "warehouse/orders_hudi", "orders_hudi", "order_id", "day").create()
    hudi.commit(rows, "20250101000000000")


def check(build: Path = BUILD) -> int:
    from devserver.aws import EmbeddedAws, free_port

    if not LAMBDA_RUNTIME.is_dir():
        print(f"{LAMBDA_RUNTIME} is missing: run make lambda-runtime", file=sys.stderr)
        return 2
    functions = built_functions(build)
    layers = built_layers(build)
    problems = check_layer_contents(layers, functions)
    problems += check_layer_imports(layers, functions)

    template = load()
    by_code_dir = {f.code_uri.name: name for name, f in template.functions().items()}
    untouched = set(functions) - {by_code_dir[step.event] for step in SCENARIO}
    if untouched:
        problems.append(f"functions the scenario never invokes: {sorted(untouched)}")
    aws = EmbeddedAws.start(free_port())  # a moto server of its own, even when AWS_ENDPOINT_URL is set
    log_path = build.parent / "artifact-check.log"
    with log_path.open("w") as log:
        refs = aws.provision(template)
        # As `make serve`: connection tests may reach loopback, AWS sources may use the placeholder credentials.
        overrides = {"ALLOWED_CIDRS": "127.0.0.0/8", "ALLOW_FUNCTION_ROLE_FOR_AWS": "true"}
        invoker = BuiltInvoker(template.functions(), refs, aws.endpoint_url, overrides, build, log)
        from devserver.runners import LambdaInvokeServer, runner_ids

        # The callers reach the built runners through the local Invoke endpoint, each in a credential-less worker.
        runners = LambdaInvokeServer.for_template(template, built_runner_factory(invoker))
        invoker.overrides["AWS_ENDPOINT_URL_LAMBDA"] = runners.url
        try:
            put_sample_parquet(aws.client("s3"))
            put_sample_tables(aws.client("s3"), aws.endpoint_url)
            problems += run_scenario(invoker, by_code_dir, {"aws": aws.endpoint_url})
            problems += check_runner_environments(
                [*runners.pool.every, *(invoker.workers[n] for n in runner_ids(template) if n in invoker.workers)]
            )
            served = runners.pool.invocations
            print(f"  runner invocations by the callers (through the local Invoke endpoint): {served}")
            if not served:
                problems.append("no caller invoked a connector runner (test_unsaved_connection should)")
            time.sleep(0.2)  # the last segments are in flight on loopback
            print(f"  X-Ray segments sent by the functions: {invoker.xray.segments}")
            sdk_on = [
                f
                for f in functions.values()
                if f.tracing == "Active"
                and lambda_environment(f, refs, aws.endpoint_url, build=build).get("POWERTOOLS_TRACE_DISABLED", "false")
                not in {"1", "true", "yes", "on"}
            ]
            if sdk_on and invoker.xray.segments == 0:
                problems.append("tracing is Active with the X-Ray SDK on, yet no function sent a segment")
        finally:
            runners.stop()
            invoker.stop()
            aws.stop()
    print(f"  function logs: {log_path.relative_to(ROOT)}")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    print(f"artifact check: {len(SCENARIO)} invocations, {len(layers)} layers, {len(problems)} problems")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devserver.artifacts")
    parser.add_argument("command", choices=["check"])
    parser.add_argument("--build", type=Path, default=BUILD)
    args = parser.parse_args(argv)
    return check(args.build)


if __name__ == "__main__":
    sys.exit(main())
