"""The ``reports:`` section (owned by runbooks, reports and framework metrics). See docs/reports.md.

Example::

    reports:
      output_dir: .bmad/reports     # runbooks, checklists, HTML reports, metrics; relative to bmad.yaml
      push_own_metrics: true        # push bmad_deployments_total & co. to monitoring.pushgateway_url
"""

from bmad.config.base import Model, config_model, setting


@config_model
class ReportsConfig(Model):
    output_dir: str = setting(
        default=".bmad/reports", description="runbooks, checklists, HTML reports, metrics; relative to bmad.yaml"
    )
    push_own_metrics: bool = setting(
        default=True, description="push bmad_deployments_total & co. to monitoring.pushgateway_url"
    )
