"""Size budget of what deploys: each function plus its layers, unzipped, against Lambda's 250 MB; each layer zipped.

Reads `sam build`'s output (make sam-build). Lambda's limit counts the function's code and all its layers unzipped;
the zipped size of a layer is what is uploaded (and what a cold start downloads).
"""

from __future__ import annotations

import argparse
import io
import os
import zipfile
from pathlib import Path

from devserver.emulation import BUILD, built_functions, built_layers
from devserver.runners import runner_ids

LIMIT_MB = 250


def unzipped(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def zipped(path: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, _, files in os.walk(path):
            for name in files:
                file = Path(root) / name
                archive.write(file, file.relative_to(path.parent))
    return buffer.tell()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", type=Path, default=BUILD)
    args = parser.parse_args()
    mb = 1024 * 1024
    layers = built_layers(args.build)
    sizes = {path: unzipped(path) for path in layers.values()}
    print(f"{'layer':24} {'unzipped MB':>12} {'zipped MB':>10}")
    for name, path in layers.items():
        print(f"  {name:22} {sizes[path] / mb:12.1f} {zipped(path) / mb:10.1f}")
    print(f"{'function + its layers, unzipped':44} {'MB':>7} {'of 250 MB':>10}")
    worst = 0.0
    for name, function in sorted(built_functions(args.build).items()):
        total = unzipped(function.task_root) + sum(sizes[layer] for layer in function.layers)
        worst = max(worst, total / mb)
        print(f"  {name:42} {total / mb:7.1f} {total / mb / LIMIT_MB:9.0%}")
    names = {path: name for name, path in layers.items()}
    print(f"{'connector runners: code + layers, unzipped':44} {'MB':>7} {'of 250 MB':>10}  layers")
    for name, function in sorted(built_functions(args.build).items()):
        if name in runner_ids():
            total = unzipped(function.task_root) + sum(sizes[layer] for layer in function.layers)
            attached = " + ".join(f"{names[layer]} {sizes[layer] / mb:.1f}" for layer in function.layers)
            print(f"  {name:42} {total / mb:7.1f} {total / mb / LIMIT_MB:9.0%}  {attached}")
    print(f"largest function: {worst:.1f} MB of {LIMIT_MB} MB ({'within' if worst <= LIMIT_MB else 'OVER'} the limit)")


if __name__ == "__main__":
    main()
