"""A load-generator worker process: reads one JSON plan per line on stdin, answers one JSON result per line.

Started by :mod:`bmad.adapters.loadgen.runner` as ``python -m bmad.adapters.loadgen.worker``;
it imports nothing heavy, so it starts in a few tens of milliseconds.
"""

from __future__ import annotations

import base64
import json
import sys

from bmad.adapters.loadgen.engine import run_level


def main() -> int:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        plan = json.loads(line)
        if plan.get("op") == "exit":
            return 0
        plan["request"] = base64.b64decode(plan["request"])
        try:
            result = run_level(plan)
        except Exception as exc:  # report, never hang the parent
            result = {"fatal": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
