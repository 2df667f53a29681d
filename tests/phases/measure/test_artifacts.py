"""MEASURE's typed hand-off: what it stores reads back into the same types and writes the same JSON."""

from __future__ import annotations

from bmad.ports.artifacts import BaselineFigure, LoadTestLevel, MeasureArtifacts
from bmad.ports.loadtest import LevelResult

LEVEL = LevelResult(
    concurrency=5, requests=500, succeeded=490, failed=10, success_rate=0.98, error_rate=0.02, rps=250.0,
    duration_seconds=2.0, p50_ms=1.5, p95_ms=4.0, p99_ms=9.0, max_ms=20.0, mean_ms=2.0, min_ms=0.4,
    errors={"http_500": 10}, statuses={"200": 490, "500": 10},
)  # fmt: skip
FIGURE = BaselineFigure(
    query='sum(rate(http_requests_total{job="hello"}[1m]))', unit="req/s", value=12.5, minimum=9.1,
    average=11.8, maximum=14.0, p95=13.9, window_seconds=300.0, points=21,
)  # fmt: skip


def test_stored_json_keeps_the_record_keys() -> None:
    stored = MeasureArtifacts(
        baseline={"request_rate": FIGURE}, load_test=(LoadTestLevel(LEVEL, slo_breach="error rate 2.00% > 1.00%"),)
    ).to_artifacts()
    assert list(stored) == ["baseline", "load_test"]  # a check writes only its own part
    assert list(stored["baseline"]["request_rate"]) == [
        "query", "unit", "value", "min", "avg", "max", "p95", "window", "points", "no_data", "no_data_policy", "error",
    ]  # fmt: skip
    row = stored["load_test"][0]
    assert row["p95"] == 0.004 and row["p95_ms"] == 4.0 and row["slo_breach"].startswith("error rate")
    assert row["errors"] == {"http_500": 10} and row["runner"] == "builtin"


def test_what_is_stored_reads_back_the_same() -> None:
    written = MeasureArtifacts(
        baseline={"request_rate": FIGURE, "ghost": BaselineFigure(query="ghost", no_data=True, no_data_policy="fail")},
        baseline_pods={"hello-1": {"cpu_cores": 0.1}},
        baseline_nodes={},
        load_test=(LoadTestLevel(LEVEL),),
        grafana_dashboard_uids=("a", "b"),
        e2e_metric_seconds=1.25,
    )
    stored = written.to_artifacts()
    assert MeasureArtifacts.from_artifacts(stored) == written
    assert MeasureArtifacts.from_artifacts(stored).to_artifacts() == stored


def test_a_null_written_on_purpose_stays_written() -> None:
    assert MeasureArtifacts().to_artifacts() == {}
    assert MeasureArtifacts().to_artifacts("e2e_metric_seconds") == {"e2e_metric_seconds": None}


def test_older_and_partial_records_are_read() -> None:
    read = MeasureArtifacts.from_artifacts(
        {"load_test": {"levels": [{"concurrency": 10, "requests": 3}]}, "baseline": {"cpu": {"value": 0.2}}}
    )
    assert read.load_test is not None and read.load_test[0].result.concurrency == 10
    assert read.load_test[0].result.p95_ms == 0 and read.load_test[0].slo_breach is None
    assert read.baseline is not None and read.baseline["cpu"].value == 0.2 and read.baseline["cpu"].query == ""
    assert read.grafana_dashboard_uids is None and read.e2e_metric_seconds is None
