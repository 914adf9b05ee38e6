"""`python -m devserver serve|token|invoke`: the Makefile's serve, token and invoke targets."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devserver")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API on 127.0.0.1:$PORT over an embedded moto server")
    token = commands.add_parser("token", help="print a dev token")
    token.add_argument("--tenant", required=True)
    token.add_argument("--role", required=True, choices=["viewer", "editor", "admin"])
    token.add_argument("--subject")
    invoke = commands.add_parser("invoke", help="run one handler with a sample event on the embedded AWS")
    invoke.add_argument("function")
    invoke.add_argument("event", type=Path)
    args = parser.parse_args(argv)

    if args.command == "token":
        from devserver.tokens import issue

        print(issue(args.tenant, args.role, args.subject))
        return 0
    if args.command == "serve":
        from devserver.server import serve

        serve(int(os.environ.get("PORT", "3000")))
        return 0
    from devserver.server import LocalApi
    from devserver.template import physical_name

    api = LocalApi.start()
    try:
        if args.function not in api.invoker.functions:
            print(
                f"unknown function {args.function}; known: {', '.join(sorted(api.invoker.functions))}",
                file=sys.stderr,
            )
            return 2
        event = json.loads(args.event.read_text())
        if api.runners is not None and physical_name(args.function) in api.runners.pool.functions:
            # A connector runner runs where it always does locally: its own process, without credentials.
            answer = api.runners.pool.invoke(physical_name(args.function), event)
            result = answer.get("result", answer)  # the handler's answer, or Lambda's error
        else:
            result = api.invoker.invoke(args.function, event)
        print(json.dumps(result, indent=2))
    finally:
        api.aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
