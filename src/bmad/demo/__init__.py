"""``bmad demo``: the example service through B -> M -> A -> D twice, on the local stack.

1. Bring up the local stack (idempotent). Its Prometheus finds the example's replicas through
   file-based service discovery: the local target writes the serving release's replicas into the
   stack's ``file_sd`` folder at each cut-over and rollback.
2. Copy ``examples/hello`` into a work folder as a fresh git repository; adapt its ``bmad.yaml``
   to the stack (registry, Prometheus, Pushgateway, Docker API, free host ports) and to a short
   demo timing (small load test, short verification window with light traffic).
3. Release 1 (good): one ``run_release`` (B -> M -> A -> D); the runner writes the documents and
   pushes bmad's own metrics at the end of the run.
4. Commit a bad change (``HELLO_FAULT=errors`` with ``HELLO_ERRORS_AFTER=5``: past its first requests,
   about half of ``/`` answers 500), release 2:
   post-deploy verification sees the error ratio, DEPLOY rolls back automatically.
5. Print where the runbooks and reports are, the framework-metrics table, and where release 1 still
   serves: ``bmad demo --down`` removes its replicas and discovery file (the stack keeps running).

Above the engine (only the CLI imports it); glue only. Modules: :mod:`~bmad.demo.run` (the two
releases), :mod:`~bmad.demo.config` (the example's bmad.yaml adapted), :mod:`~bmad.demo.workdir`
(the work folder, git, free ports), :mod:`~bmad.demo.stack_prep` (base image, rules, old replicas),
:mod:`~bmad.demo.results`.
"""

from __future__ import annotations

from bmad.demo.results import DemoRelease, DemoResult
from bmad.demo.run import run_demo
from bmad.demo.stack_prep import remove_demo, remove_demo_containers

__all__ = ["DemoRelease", "DemoResult", "remove_demo", "remove_demo_containers", "run_demo"]
