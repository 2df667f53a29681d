"""No default Pushgateway: without one, measure.e2e_metric is skipped with the reason (issue 14)."""

from __future__ import annotations

from pathlib import Path

from bmad.config.measure import MonitoringConfig
from bmad.engine.wiring.measure import make_plugin
from bmad.phases.measure.checks import e2e_metric
from tests.phases.measure.conftest import make_ctx

YAML = """\
service: {name: hello}
environments:
  staging:
    monitoring:
      prometheus_url: http://127.0.0.1:9
"""


def test_no_pushgateway_url_by_default() -> None:
    """Guards: the config defaulted to http://127.0.0.1:9091 and pushed into whatever ran there."""
    assert MonitoringConfig().pushgateway_url is None


def test_e2e_metric_is_skipped_with_the_reason_when_none_is_configured(tmp_path: Path) -> None:
    """Guards: with no Pushgateway configured the check pushed to the default URL and waited 30 s."""
    ctx = make_ctx(tmp_path, YAML)
    plugin = make_plugin(ctx)
    ports = plugin.ports  # type: ignore[attr-defined]
    assert ports.pushgateway is None
    result = e2e_metric.run(ctx, ports)
    assert result.status.value == "skip"
    assert "no Pushgateway configured" in result.summary and "pushgateway_url" in result.summary
