"""A load-generator worker process: reads one JSON plan per line on stdin, answers one JSON result per line.

Started by :mod:`bmad.adapters.loadgen.runner` as ``python -m bmad.adapters.loadgen.worker``;
it imports nothing heavy, so it starts in a few tens of milliseconds.
"""

from __future__ import annotations

import base64
import json
import sys

from bmad.adapters.loadgen.engine import run_level


def _raise_fd_limit() -> None:
    """Thousands of connections per worker need more descriptors than the usual soft limit of 1024."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))
    except (ImportError, ValueError, OSError):
        pass


def main() -> int:
    _raise_fd_limit()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        plan = json.loads(line)
        if plan.get("op") == "exit":
            return 0
        for target in plan["targets"]:
            target["request"] = base64.b64decode(target["request"])
        try:
            result = run_level(plan)
        except Exception as exc:  # report, never hang the parent
            result = {"fatal": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
