"""Runbooks, checklists, HTML release reports and framework metrics, computed from the ledger.

The engine's hook at the end of a run::

    from bmad.reports import write_release_outputs, own_metrics_snapshot
    outputs = write_release_outputs(ledger, release, out_dir)   # runbook/checklist/report files

Importing this package is cheap; submodules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bmad.reports.metrics import FrameworkMetrics, compute_framework_metrics, framework_metrics
    from bmad.reports.outputs import (
        OwnMetricsSnapshot,
        ReleaseOutputs,
        own_metrics_snapshot,
        write_release_outputs,
        write_view_outputs,
    )
    from bmad.reports.views import Outcome, ReleaseView

__all__ = [
    "FrameworkMetrics",
    "Outcome",
    "OwnMetricsSnapshot",
    "ReleaseOutputs",
    "ReleaseView",
    "compute_framework_metrics",
    "framework_metrics",
    "own_metrics_snapshot",
    "write_release_outputs",
    "write_view_outputs",
]

_WHERE = {
    "FrameworkMetrics": "bmad.reports.metrics",
    "compute_framework_metrics": "bmad.reports.metrics",
    "Outcome": "bmad.reports.views",
    "ReleaseView": "bmad.reports.views",
    "OwnMetricsSnapshot": "bmad.reports.outputs",
    "ReleaseOutputs": "bmad.reports.outputs",
    "framework_metrics": "bmad.reports.metrics",
    "own_metrics_snapshot": "bmad.reports.outputs",
    "write_release_outputs": "bmad.reports.outputs",
    "write_view_outputs": "bmad.reports.outputs",
}


def __getattr__(name: str) -> Any:
    import importlib

    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(module), name)
