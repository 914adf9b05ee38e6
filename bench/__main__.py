"""`make bench`: every benchmark of the project, one after another (each prints its own ratios)."""

import runpy
import sys

BENCHES = [
    "bench.size",
    "bench.cold_start",
    "bench.runner_hop",
    "bench.first_request",
    "bench.first_request_floor",
    "bench.warm_list",
    "bench.aws_calls",
    "bench.discovery",
    "bench.discovery_job",
    "bench.sweep",
]

if __name__ == "__main__":
    for name in sys.argv[1:] or BENCHES:
        print(f"\n=== {name}", flush=True)
        runpy.run_module(name, run_name="__main__")
