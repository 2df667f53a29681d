"""The ``reports:`` section (owned by runbooks, reports and framework metrics)."""

from __future__ import annotations

from bmad.config.base import Model


class ReportsConfig(Model):
    output_dir: str = ".bmad/reports"
