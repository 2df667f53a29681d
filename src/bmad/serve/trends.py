"""Framework metrics per week for a service/environment, drawn against the guide's targets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bmad.core.datatypes import datatype
from bmad.reports import charts
from bmad.reports.metrics import (
    TARGET_DEPLOYMENT_SECONDS,
    TARGET_MTTR_SECONDS,
    TARGET_ROLLBACK_RATE,
    TARGET_SUCCESS_RATE,
    FrameworkMetrics,
    TableRow,
    compute_framework_metrics,
    format_duration,
    format_number,
    format_percent,
)
from bmad.reports.views import ReleaseView
from bmad.serve.layout import esc, layout, query

MAX_WEEKS = 104  # the newest two years are drawn
WEEK = timedelta(days=7)


@datatype(frozen=True)
class Week:
    """The framework metrics of one week, a point on the trend charts."""

    start: datetime
    metrics: FrameworkMetrics


@datatype(frozen=True)
class Chart:
    """One chart: a value per week (None: nothing to draw that week) and the guide's target."""

    title: str
    unit: str
    lines: tuple[tuple[str, Callable[[FrameworkMetrics], float | None]], ...]
    targets: tuple[tuple[str, float], ...]


def _percent(value: float | None) -> float | None:
    return value * 100.0 if value is not None else None


def _minutes(value: float | None) -> float | None:
    return value / 60.0 if value is not None else None


CHARTS = (
    Chart(
        "Success rate",
        "%",
        (("success rate", lambda m: _percent(m.success_rate)),),
        (("target > 95%", TARGET_SUCCESS_RATE * 100),),
    ),
    Chart(
        "Rollback rate and change failure rate",
        "%",
        (
            ("rollback rate", lambda m: _percent(m.rollback_rate)),
            ("change failure rate", lambda m: _percent(m.dora.change_failure_rate)),
        ),
        (("rollback target < 5%", TARGET_ROLLBACK_RATE * 100), ("change failure elite ≤ 15%", 15.0)),
    ),
    Chart(
        "Zero-downtime share",
        "%",
        (("zero downtime", lambda m: _percent(m.zero_downtime_share)),),
        (("target", 100.0),),
    ),
    Chart(
        "Deployment time (mean)",
        "minutes",
        (("deployment time", lambda m: _minutes(m.deployment_time.mean)),),
        (("target < 30 min", TARGET_DEPLOYMENT_SECONDS / 60),),
    ),
    Chart(
        "MTTR (mean) and time to restore (median)",
        "minutes",
        (
            ("MTTR", lambda m: _minutes(m.mttr.mean)),
            ("time to restore", lambda m: _minutes(m.dora.time_to_restore.p50)),
        ),
        (("MTTR target < 10 min", TARGET_MTTR_SECONDS / 60), ("restore elite < 60 min", 60.0)),
    ),
    Chart(
        "Lead time for changes (median)",
        "hours",
        (("lead time", lambda m: m.dora.lead_time.p50 / 3600 if m.dora.lead_time.p50 is not None else None),),
        (("elite < 1 day", 24.0),),
    ),
    Chart(
        "Deployment frequency",
        "per day",
        (("successful deployments per day", lambda m: m.dora.deployment_frequency_per_day if m.successful else 0.0),),
        (("elite ≥ 1/day", 1.0),),
    ),
)


def week_start(when: datetime) -> datetime:
    """Monday 00:00 of ``when``'s week, in ``when``'s time zone."""
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def weekly_metrics(
    views: Sequence[ReleaseView], *, service: str | None, environment: str | None, now: datetime
) -> list[Week]:
    """Every week from the first release's to the last one's (at most :data:`MAX_WEEKS`, the newest)."""
    whens = [v.when for v in views if v.when is not None]
    if not whens:
        return []
    first, last = week_start(min(whens)), week_start(max(whens))
    first = max(first, last - WEEK * (MAX_WEEKS - 1))
    weeks: list[Week] = []
    start = first
    while start <= last:
        metrics = compute_framework_metrics(
            views, service=service, environment=environment, since=start, until=start + WEEK, now=now
        )
        weeks.append(Week(start, metrics))
        start += WEEK
    return weeks


def chart_svg(chart: Chart, weeks: Sequence[Week]) -> str:
    """The weeks are numbered 1..n on the x axis (the table below names their dates)."""
    series = [
        charts.Series(name, [(float(i), y) for i, w in enumerate(weeks, 1) if (y := value(w.metrics)) is not None])
        for name, value in chart.lines
    ]
    xs = [float(i) for i in range(1, len(weeks) + 1)]
    series += [charts.Series(name, [(x, target) for x in xs], dashed=True) for name, target in chart.targets]
    return charts.line_chart_svg(
        series,
        title=f"{chart.title} per week",
        x_label="week (numbered in the table)",
        left_label=chart.unit,
        left_max=100.0 if chart.unit == "%" else None,
        height=280,
    )


def render_trends(views: Sequence[ReleaseView], *, service: str | None, environment: str | None, now: datetime) -> str:
    scope = " / ".join(p for p in (service, environment) if p) or "every service and environment"
    parts = [f"<h1>Framework metrics: {esc(scope)}</h1>", _scope_form(views, service, environment)]
    overall = compute_framework_metrics(views, service=service, environment=environment, now=now)
    parts.append(_guide_table("The guide's targets, whole period", overall.rows()))
    parts.append(_guide_table("DORA keys, whole period", overall.dora_rows()))
    weeks = weekly_metrics(views, service=service, environment=environment, now=now)
    if not weeks:
        parts.append('<p class="na">No release recorded yet.</p>')
    else:
        parts.append("<h2>Per week</h2>")
        parts.extend(chart_svg(chart, weeks) for chart in CHARTS)
        parts.append(_weeks_table(weeks))
    return layout(f"bmad: metrics of {scope}", "\n".join(parts), current="metrics")


def _scope_form(views: Sequence[ReleaseView], service: str | None, environment: str | None) -> str:
    def select(name: str, values: set[str], current: str | None) -> str:
        options = ['<option value="">all</option>'] + [
            f'<option value="{esc(v)}"{" selected" if v == current else ""}>{esc(v)}</option>' for v in sorted(values)
        ]
        return f'<label>{name}<select name="{name}">{"".join(options)}</select></label>'

    return (
        '<form class="filters" method="get" action="/metrics">'
        + select("service", {v.service for v in views}, service)
        + select("environment", {v.environment for v in views}, environment)
        + '<button type="submit">Show</button></form>'
        + f'<p><a href="/{esc(query({"service": service, "environment": environment}))}">board of this scope</a></p>'
    )


def _guide_table(title: str, rows: Sequence[TableRow]) -> str:
    marks = {True: '<span class="ok">✓</span>', False: '<span class="bad">✗</span>', None: "–"}
    body = "".join(
        f"<tr><td>{marks[r.met]}</td><td>{esc(r.metric)}</td><td>{esc(r.target)}</td><td>{esc(r.achieved)}</td></tr>"
        for r in rows
    )
    return (
        f"<h2>{esc(title)}</h2><table><tr><th></th><th>Metric</th><th>Target</th><th>Achieved</th></tr>{body}</table>"
    )


def _weeks_table(weeks: Sequence[Week]) -> str:
    head = (
        "<tr><th>#</th><th>Week of</th><th>Releases</th><th>Deployments</th><th>Success</th><th>Rollback</th>"
        "<th>Zero downtime</th><th>Deployment time</th><th>MTTR</th><th>Per day</th><th>Lead time</th>"
        "<th>Change failure</th></tr>"
    )
    rows = []
    for index, week in enumerate(weeks, 1):
        m = week.metrics
        cells = (
            str(index),
            week.start.date().isoformat(),
            str(m.releases),
            str(m.deployments),
            format_percent(m.success_rate),
            format_percent(m.rollback_rate),
            format_percent(m.zero_downtime_share),
            format_duration(m.deployment_time.mean),
            format_duration(m.mttr.mean),
            format_number(m.dora.deployment_frequency_per_day),
            format_duration(m.dora.lead_time.p50),
            format_percent(m.dora.change_failure_rate),
        )
        rows.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    return f"<h2>Weeks</h2><table>{head}{''.join(rows)}</table>"
