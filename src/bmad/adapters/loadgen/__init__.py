"""Load generators: the built-in multi-process engine, and locust / k6 when installed.

:func:`make_load_generator` picks one by name: ``builtin``, ``locust``, ``k6``, or ``auto``
(the built-in engine for plain http — the fastest here —, else locust, else k6 when installed:
the built-in engine does not speak TLS).
"""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

from bmad.core.errors import UsageError
from bmad.ports.evidence import EvidenceSink
from bmad.ports.loadtest import LoadGenerator


def make_load_generator(
    runner: str, *, url: str = "http://", workers: int | None = None, evidence: EvidenceSink | None = None
) -> LoadGenerator:
    from bmad.adapters.loadgen.external import K6LoadGenerator, LocustLoadGenerator
    from bmad.adapters.loadgen.runner import BuiltinLoadGenerator

    if runner == "auto":
        runner = "builtin"
        if urlsplit(url).scheme == "https":
            runner = "locust" if shutil.which("locust") else "k6" if shutil.which("k6") else "builtin"
    if runner == "builtin":
        return BuiltinLoadGenerator(workers=workers)
    if runner == "locust":
        if shutil.which("locust") is None:
            raise UsageError(
                "measure.load_test.runner is locust, but no 'locust' program is on PATH",
                hint="pip install locust (in its own venv, on PATH), or use runner: builtin",
            )
        return LocustLoadGenerator(processes=workers, evidence=evidence)
    if runner == "k6":
        if shutil.which("k6") is None:
            raise UsageError(
                "measure.load_test.runner is k6, but no 'k6' program is on PATH",
                hint="install k6, or use runner: builtin",
            )
        return K6LoadGenerator(evidence=evidence)
    raise UsageError(f"unknown load-test runner {runner!r}", hint="one of: builtin, locust, k6, auto")
