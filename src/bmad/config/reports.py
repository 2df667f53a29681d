"""The ``reports:`` section (owned by runbooks, reports and framework metrics). See docs/reports.md.

Example::

    reports:
      output_dir: .bmad/reports     # runbooks, checklists, HTML reports, metrics; relative to bmad.yaml
      push_own_metrics: true        # push bmad_deployments_total & co. to monitoring.pushgateway_url
"""

from __future__ import annotations

from pydantic import Field

from bmad.config.base import Model


class ReportsConfig(Model):
    output_dir: str = Field(
        default=".bmad/reports", description="runbooks, checklists, HTML reports, metrics; relative to bmad.yaml"
    )
    push_own_metrics: bool = Field(
        default=True, description="push bmad_deployments_total & co. to monitoring.pushgateway_url"
    )
