"""bmad's own metrics pushed to the stack's real Pushgateway."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bmad.adapters.own_metrics import push_own_metrics
from bmad.core.errors import Unreachable
from bmad.ledger import Ledger
from bmad.reports.outputs import own_metrics_snapshot
from tests.helpers import free_port
from tests.reports.reports_data import SPECS

pytestmark = [pytest.mark.stack]


def _samples(text: str, job: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("instance", "job")))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("job") == job
    }


def test_push_snapshot_of_the_ledger(stack: Any, ledger: Ledger) -> None:
    snapshot = own_metrics_snapshot(ledger, SPECS[2].version)  # the rolled-back release
    assert snapshot.deployments == {"success": 3, "rolled_back": 1, "failed": 0, "blocked": 1}
    assert snapshot.phase_durations == {"build": 180.0, "measure": 180.0, "analyze": 180.0, "deploy": 360.0}
    assert snapshot.last_result == "rolled_back"
    push_own_metrics(stack.pushgateway_url, **snapshot.as_kwargs())
    try:
        text = requests.get(f"{stack.pushgateway_url}/metrics", timeout=10).text
        got = _samples(text, "bmad")
        hello = (("env", "dev"), ("service", "hello"))
        assert got[("bmad_deployments_total", (("env", "dev"), ("result", "success"), ("service", "hello")))] == 3
        assert got[("bmad_deployments_total", (("env", "dev"), ("result", "rolled_back"), ("service", "hello")))] == 1
        assert got[("bmad_rollbacks_total", hello)] == 1
        assert got[("bmad_mttr_seconds", hello)] == 90.0
        assert got[("bmad_phase_duration_seconds", (("env", "dev"), ("phase", "deploy"), ("service", "hello")))] == 360
        assert got[("bmad_last_run_success", hello)] == 0
    finally:
        requests.delete(f"{stack.pushgateway_url}/metrics/job/bmad/service/hello/env/dev", timeout=10)


def test_unreachable_gateway_is_an_adapter_error(ledger: Ledger) -> None:
    snapshot = own_metrics_snapshot(ledger, SPECS[0].version)
    with pytest.raises(Unreachable):
        push_own_metrics(f"http://127.0.0.1:{free_port()}", timeout=2, **snapshot.as_kwargs())


def test_dashboard_queries_answer_from_pushed_metrics(stack: Any, ledger: Ledger) -> None:
    """Every query of dashboards/bmad.json parses in the real Prometheus and finds the pushed series."""
    import json
    import time
    from pathlib import Path

    import bmad

    dashboard = json.loads((Path(bmad.__file__).parent / "dashboards" / "bmad.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 8
    snapshot = own_metrics_snapshot(ledger, SPECS[2].version)
    push_own_metrics(stack.pushgateway_url, **snapshot.as_kwargs())
    try:
        deadline = time.monotonic() + 15
        empty: list[str] = exprs
        while empty and time.monotonic() < deadline:
            empty = []
            for expr in exprs:
                query = expr.replace("$service", "hello").replace("$env", "dev")
                answer = requests.get(f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=10)
                assert answer.status_code == 200, (query, answer.text)
                if not answer.json()["data"]["result"]:
                    empty.append(query)
            time.sleep(0.3)
        assert empty == []
    finally:
        requests.delete(f"{stack.pushgateway_url}/metrics/job/bmad/service/hello/env/dev", timeout=10)
