"""The report's auto-scaling section: replicas and load against time, from ``deploy.autoscaling``'s evidence."""

from __future__ import annotations

from typing import Any

from bmad.core.models import PhaseName
from bmad.reports import charts
from bmad.reports.text import escape
from bmad.reports.views import ReleaseView

CHECK_ID = "deploy.autoscaling"


def autoscaling_section(view: ReleaseView) -> str:
    """A chart per release whose DEPLOY watched its HPAs under load; empty when it did not."""
    deploy = view.phase(PhaseName.DEPLOY)
    check = next((c for c in deploy.checks if c.id == CHECK_ID), None) if deploy is not None else None
    evidence = check.evidence if check is not None else {}
    replicas, load = evidence.get("replicas") or [], evidence.get("load") or []
    if check is None or not (replicas or load):
        return ""
    svg = charts.line_chart_svg(
        [*_replica_series(replicas), charts.Series("load (req/s)", _points(load, "rps"), axis="right", dashed=True)],
        title="Auto-scaling under load: replicas and requests per second against time",
        x_label="seconds since the load started",
        left_label="replicas",
        right_label="requests per second",
    )
    rows = "".join(_row(f) for f in evidence.get("hpas") or [])
    head = "<tr><th>HPA</th><th>replicas</th><th>first scale-up</th><th>goal reached</th><th>metric</th></tr>"
    summary = f"<p>{escape(check.status.value)}: {escape(check.summary)}</p>"
    return f"<h2>Auto-scaling under load</h2>{summary}{svg}<table>{head}{rows}</table>"


def _replica_series(samples: list[dict[str, Any]]) -> list[charts.Series]:
    names = sorted({str(s.get("hpa")) for s in samples})
    return [
        charts.Series(f"{name} replicas", _points([s for s in samples if s.get("hpa") == name], "replicas"))
        for name in names
    ]


def _points(samples: list[dict[str, Any]], key: str) -> list[tuple[float, float]]:
    points = []
    for sample in samples:
        at, value = sample.get("at"), sample.get(key)
        if isinstance(at, int | float) and isinstance(value, int | float) and not isinstance(value, bool):
            points.append((float(at), float(value)))
    return points


def _row(figures: dict[str, Any]) -> str:
    def seconds(key: str) -> str:
        value = figures.get(key)
        return "never" if value is None else f"{value:.1f} s"

    cells = (
        figures.get("hpa"),
        f"{figures.get('start_replicas')} → {figures.get('highest_replicas')} (goal {figures.get('goal')})",
        seconds("first_scale_up_seconds"),
        seconds("goal_reached_seconds"),
        f"{figures.get('metric')}: {figures.get('metric_last')} (peak {figures.get('metric_peak')}, "
        f"target {figures.get('metric_target')})",
    )
    return "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>"
