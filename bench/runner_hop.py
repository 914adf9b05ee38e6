"""The invoke hop: a connection test in the caller's process vs through a connector runner, side by side in one run.

In-process is the library behind LibraryConnectorGateway (how callers ran connectors before the runners); through
the runner is RunnerConnectorGateway with boto3's Lambda client against devserver's local Invoke endpoint (a warm
worker process without credentials), the path every caller takes now. Both test the same local PostgreSQL and
Redis, a Delta and a Hudi table on a moto S3 (devserver's embedded AWS), interleaved so machine noise hits both alike; medians, the added milliseconds and the ratio are printed.
On AWS the hop adds Lambda's own invoke overhead (and a runner's cold start after idling) on top of this.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from datasource_registry.adapters.connectors import LibraryConnectorGateway
from datasource_registry.adapters.runners import RunnerConnectorGateway
from datasource_registry.connectors import ConnectionTarget, NetworkPolicy
from devserver.runners import LambdaInvokeServer
from devserver.template import load, physical_name

LOOPBACK = "127.0.0.0/8"
TARGETS = {
    "postgresql": (
        ConnectionTarget(type="postgresql", host="127.0.0.1", port=5432, database_name="test"),
        {"username": "postgres"},
    ),
    "redis": (ConnectionTarget(type="redis", host="127.0.0.1", port=6379), {}),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    import boto3
    from botocore.config import Config

    from devserver.artifacts import put_sample_tables
    from devserver.aws import EmbeddedAws, free_port

    aws = EmbeddedAws.start(free_port())
    aws.client("s3").create_bucket(Bucket="sample-bucket")
    put_sample_tables(aws.client("s3"), aws.endpoint_url)
    keys = {"access_key_id": "testing", "secret_access_key": "testing"}
    targets = {
        **TARGETS,
        "delta_lake": (
            ConnectionTarget(type="delta_lake", file_path="s3://sample-bucket/warehouse/orders_delta"),
            keys,
        ),
        "hudi": (ConnectionTarget(type="hudi", file_path="s3://sample-bucket/warehouse/orders_hudi"), keys),
    }
    server = LambdaInvokeServer.for_template(load())
    clients: dict[float, object] = {}

    def lambda_client(read_timeout: float) -> object:
        if read_timeout not in clients:
            config = Config(read_timeout=read_timeout, retries={"max_attempts": 1})
            clients[read_timeout] = boto3.client(
                "lambda",
                endpoint_url=server.url,
                region_name="us-east-1",
                config=config,
                aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            )
        return clients[read_timeout]

    families = (
        ("sql", "RunnerSqlFunction"),
        ("kv-http", "RunnerKvHttpFunction"),
        ("lake", "RunnerLakeFunction"),
        ("lake-hudi", "RunnerLakeHudiFunction"),
    )
    runners = {f: physical_name(n) for f, n in families}
    through = RunnerConnectorGateway(lambda_client, runners, LOOPBACK, aws.endpoint_url)
    in_process = LibraryConnectorGateway(NetworkPolicy.from_string(LOOPBACK), aws.endpoint_url)
    try:
        print(f"{'connection test (median ms)':32} {'in-process':>11} {'via runner':>11} {'added ms':>9} {'x':>6}")
        for name, (target, credentials) in targets.items():
            for gateway in (in_process, through):  # warm both: the runner's first call is its cold start
                assert gateway.check(target, credentials, 10).success, name
            samples: dict[str, list[float]] = {"in": [], "via": []}
            for _ in range(args.rounds):
                for key, gateway in (("in", in_process), ("via", through)):
                    started = time.perf_counter()
                    result = gateway.check(target, credentials, 10)
                    samples[key].append((time.perf_counter() - started) * 1000)
                    assert result.success, result.error
            local, hop = statistics.median(samples["in"]), statistics.median(samples["via"])
            print(f"  {name:30} {local:11.2f} {hop:11.2f} {hop - local:9.2f} {hop / local:6.2f}")
    finally:
        server.stop()
        aws.stop()


if __name__ == "__main__":
    main()
