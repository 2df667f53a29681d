"""The phase engine: releases, gating, concurrency, lifecycle, locks, records. Also the wiring
(composition root) that picks adapters for each phase's ports. See docs/engine.md.

Entry points (imported lazily, so ``import bmad.engine`` stays cheap)::

    from bmad.engine import run_release, release_status, release_history, verify_ledger
    outcome = run_release("bmad.yaml", "staging")          # -> RunOutcome (.exit_code, .phases)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bmad.engine.runner import (
        PhaseOutcome,
        RunOutcome,
        StatusReport,
        open_ledger,
        release_history,
        release_status,
        run_release,
        verify_ledger,
    )

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


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        return getattr(importlib.import_module("bmad.engine.runner"), name)
    raise AttributeError(name)
