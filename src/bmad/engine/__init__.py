"""The phase engine: releases, gating, concurrency, lifecycle, locks, records. Also the wiring
(composition root) that picks adapters for each phase's ports. See docs/engine.md.

Entry points (imported lazily, so ``import bmad.engine`` stays cheap)::

    from bmad.engine import run_release, release_status, release_history, verify_ledger
    outcome = run_release("bmad.yaml", "staging")          # -> RunOutcome (.exit_code, .phases)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bmad.engine.opening import open_ledger
    from bmad.engine.outcomes import PhaseOutcome, RunOutcome
    from bmad.engine.queries import StatusReport, release_history, release_status, verify_ledger
    from bmad.engine.runner import run_release

__all__ = [
    "PhaseOutcome",
    "RunOutcome",
    "StatusReport",
    "open_ledger",
    "release_history",
    "release_status",
    "run_release",
    "verify_ledger",
]


_WHERE = {
    "PhaseOutcome": "bmad.engine.outcomes",
    "RunOutcome": "bmad.engine.outcomes",
    "StatusReport": "bmad.engine.queries",
    "release_history": "bmad.engine.queries",
    "release_status": "bmad.engine.queries",
    "verify_ledger": "bmad.engine.queries",
    "open_ledger": "bmad.engine.opening",
    "run_release": "bmad.engine.runner",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(module), name)
