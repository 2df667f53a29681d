"""Framework metrics (the guide's "Framework Metrics" table) and the DORA four keys.

Definitions (also in docs/reports.md):

* A **deployment** is a release that reached DEPLOY (its outcome is success, rolled back or
  failed). Releases stopped by an earlier gate are counted as ``blocked``, never as deployments.
* **Success rate** = successful deployments / deployments (success = DEPLOY passed, no rollback).
* **Deployment time** = first phase start to DEPLOY end of each deployment: mean, p50, p90.
* **Rollback rate** = rolled-back deployments / deployments.
* **Zero downtime** = deployments whose DEPLOY recorded ``zero_downtime: true`` / deployments that
  recorded it.
* **MTTR** = mean of detection -> recovery over rollbacks that recovered; a rollback that never
  recovered is counted apart (``unrecovered``) and makes the target fail.
* DORA: **deployment frequency** = successful deployments per day over the period (at least one
  day); **lead time for changes** = commit time -> DEPLOY end of successful deployments (median);
  **change failure rate** = (rolled back + failed) / deployments; **time to restore** = median of
  detection -> recovery.

Percentiles interpolate linearly between closest ranks (numpy's default "linear" method).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bmad.core.datatypes import datatype
from bmad.core.models import PhaseName, utcnow
from bmad.reports.text import markdown_text
from bmad.reports.views import Outcome, ReleaseView

if TYPE_CHECKING:
    from bmad.ledger.store import Ledger

DAY = 86400.0

# The guide's targets.
TARGET_SUCCESS_RATE = 0.95
TARGET_DEPLOYMENT_SECONDS = 30 * 60.0
TARGET_ROLLBACK_RATE = 0.05
TARGET_MTTR_SECONDS = 10 * 60.0

# The phases whose metrics, artifacts and checks the figures read: a release's rollback and zero
# downtime are DEPLOY's, or its checks' (ReleaseView.metric / artifact); of the others, only statuses and times.
FIGURE_DETAILS = (PhaseName.DEPLOY,)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@datatype(frozen=True)
class Stats:
    count: int
    mean: float | None
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        return cls(count=len(values), mean=mean(values), p50=percentile(values, 50), p90=percentile(values, 90))

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean, "p50": self.p50, "p90": self.p90}


@datatype(frozen=True)
class DoraKeys:
    deployment_frequency_per_day: float | None
    deployment_frequency_band: str | None
    lead_time: Stats
    lead_time_band: str | None
    change_failure_rate: float | None
    change_failure_band: str | None
    time_to_restore: Stats
    time_to_restore_band: str | None
    unrecovered: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment_frequency_per_day": self.deployment_frequency_per_day,
            "deployment_frequency_band": self.deployment_frequency_band,
            "lead_time_seconds": self.lead_time.to_dict(),
            "lead_time_band": self.lead_time_band,
            "change_failure_rate": self.change_failure_rate,
            "change_failure_band": self.change_failure_band,
            "time_to_restore_seconds": self.time_to_restore.to_dict(),
            "time_to_restore_band": self.time_to_restore_band,
            "unrecovered_rollbacks": self.unrecovered,
        }


@datatype(frozen=True)
class TableRow:
    metric: str
    target: str
    achieved: str
    met: bool | None  # None: nothing to judge yet

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "target": self.target, "achieved": self.achieved, "met": self.met}


@datatype(frozen=True)
class FrameworkMetrics:
    service: str | None
    environment: str | None
    since: datetime
    until: datetime
    releases: int
    deployments: int
    successful: int
    rolled_back: int
    failed: int
    blocked: int
    incomplete: int
    success_rate: float | None
    deployment_time: Stats
    rollback_rate: float | None
    zero_downtime_recorded: int
    zero_downtime_yes: int
    zero_downtime_share: float | None
    mttr: Stats
    recovered: int
    unrecovered: int
    dora: DoraKeys
    release_ids: tuple[str, ...] = field(default=())

    @property
    def period_days(self) -> float:
        return (self.until - self.since).total_seconds() / DAY

    @property
    def by_result(self) -> dict[str, int]:
        return {
            Outcome.SUCCESS.value: self.successful,
            Outcome.ROLLED_BACK.value: self.rolled_back,
            Outcome.FAILED.value: self.failed,
            Outcome.BLOCKED.value: self.blocked,
        }

    def rows(self) -> list[TableRow]:
        """The guide's table: Metric | Target | Achieved, with whether the target is met."""
        n = self.deployments
        none = "no deployments yet"
        rows: list[TableRow] = []
        if n == 0:
            rows.append(TableRow("Success Rate", ">95%", none, None))
            rows.append(TableRow("Deployment Time", "<30 min", none, None))
            rows.append(TableRow("Rollback Rate", "<5%", none, None))
            rows.append(TableRow("Zero Downtime", "Yes", none, None))
            rows.append(TableRow("MTTR", "<10 min", none, None))
            return rows
        assert self.success_rate is not None and self.rollback_rate is not None
        rows.append(
            TableRow(
                "Success Rate",
                ">95%",
                f"{format_percent(self.success_rate)} ({self.successful}/{n})",
                self.success_rate > TARGET_SUCCESS_RATE,
            )
        )
        time = self.deployment_time
        if time.mean is None:
            rows.append(TableRow("Deployment Time", "<30 min", "not recorded", None))
        else:
            rows.append(
                TableRow(
                    "Deployment Time",
                    "<30 min",
                    f"{format_duration(time.mean)} avg "
                    f"(p50 {format_duration(time.p50)}, p90 {format_duration(time.p90)})",
                    time.mean < TARGET_DEPLOYMENT_SECONDS,
                )
            )
        rows.append(
            TableRow(
                "Rollback Rate",
                "<5%",
                f"{format_percent(self.rollback_rate)} ({self.rolled_back}/{n})",
                self.rollback_rate < TARGET_ROLLBACK_RATE,
            )
        )
        if self.zero_downtime_share is None:
            rows.append(TableRow("Zero Downtime", "Yes", "not recorded", None))
        else:
            word = "Yes" if self.zero_downtime_share == 1.0 else "No"
            rows.append(
                TableRow(
                    "Zero Downtime",
                    "Yes",
                    f"{word}, {format_percent(self.zero_downtime_share)} "
                    f"({self.zero_downtime_yes}/{self.zero_downtime_recorded})",
                    self.zero_downtime_share == 1.0,
                )
            )
        rows.append(self._mttr_row())
        return rows

    def _mttr_row(self) -> TableRow:
        if self.rolled_back == 0:
            return TableRow("MTTR", "<10 min", "no rollbacks", None)
        parts: list[str] = []
        if self.mttr.mean is not None:
            parts.append(f"{format_duration(self.mttr.mean)} avg")
        if self.unrecovered:
            parts.append(f"{self.unrecovered} rollback{'s' if self.unrecovered > 1 else ''} never recovered")
        if not parts:
            return TableRow("MTTR", "<10 min", "not recorded", None)
        met = self.unrecovered == 0 and self.mttr.mean is not None and self.mttr.mean < TARGET_MTTR_SECONDS
        return TableRow("MTTR", "<10 min", "; ".join(parts), met)

    def dora_rows(self) -> list[TableRow]:
        d = self.dora
        rows = [
            TableRow(
                "Deployment Frequency",
                "on demand (elite)",
                "no successful deployment"
                if not self.successful
                else f"{format_number(d.deployment_frequency_per_day)}/day ({self.successful} in "
                f"{format_duration(self.period_days * DAY)}{'' if self.period_days >= 1 else ', counted as 1 day'})",
                None if d.deployment_frequency_band is None else d.deployment_frequency_band == "elite",
            ),
            TableRow(
                "Lead Time for Changes",
                "<1 day (elite)",
                "not recorded" if d.lead_time.p50 is None else f"{format_duration(d.lead_time.p50)} median",
                None if d.lead_time.p50 is None else d.lead_time.p50 < DAY,
            ),
            TableRow(
                "Change Failure Rate",
                "0-15% (elite)",
                "no deployments yet"
                if d.change_failure_rate is None
                else f"{format_percent(d.change_failure_rate)} ({self.rolled_back + self.failed}/{self.deployments})",
                None if d.change_failure_rate is None else d.change_failure_rate <= 0.15,
            ),
        ]
        if self.rolled_back == 0:
            rows.append(TableRow("Time to Restore", "<1 hour (elite)", "no rollbacks", None))
        else:
            text = (
                "never recovered"
                if d.time_to_restore.p50 is None
                else f"{format_duration(d.time_to_restore.p50)} median"
            )
            if d.time_to_restore.p50 is not None and d.unrecovered:
                text += f"; {d.unrecovered} never recovered"
            met = (
                None
                if d.time_to_restore.p50 is None and not d.unrecovered
                else (d.unrecovered == 0 and d.time_to_restore.p50 is not None and d.time_to_restore.p50 < 3600)
            )
            rows.append(TableRow("Time to Restore", "<1 hour (elite)", text, met))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "period_days": self.period_days,
            "releases": self.releases,
            "deployments": self.deployments,
            "by_result": self.by_result,
            "incomplete": self.incomplete,
            "success_rate": self.success_rate,
            "deployment_time_seconds": self.deployment_time.to_dict(),
            "rollback_rate": self.rollback_rate,
            "zero_downtime": {
                "recorded": self.zero_downtime_recorded,
                "yes": self.zero_downtime_yes,
                "share": self.zero_downtime_share,
            },
            "mttr_seconds": self.mttr.to_dict(),
            "rollbacks": {"total": self.rolled_back, "recovered": self.recovered, "unrecovered": self.unrecovered},
            "dora": self.dora.to_dict(),
            "table": [row.to_dict() for row in self.rows()],
            "dora_table": [row.to_dict() for row in self.dora_rows()],
            "release_ids": list(self.release_ids),
        }


def _frequency_band(per_day: float | None) -> str | None:
    # Bands after the DORA reports: elite on demand (>= 1/day), high >= monthly, medium >= twice a year.
    if per_day is None:
        return None
    if per_day >= 1.0:
        return "elite"
    if per_day >= 1.0 / 30:
        return "high"
    if per_day >= 1.0 / 182:
        return "medium"
    return "low"


def _lead_time_band(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds < DAY:
        return "elite"
    if seconds < 7 * DAY:
        return "high"
    if seconds < 30 * DAY:
        return "medium"
    return "low"


def _failure_band(rate: float | None) -> str | None:
    if rate is None:
        return None
    return "elite" if rate <= 0.15 else "high" if rate <= 0.30 else "low"


def _restore_band(seconds: float | None, unrecovered: int) -> str | None:
    if unrecovered:
        return "low"
    if seconds is None:
        return None
    if seconds < 3600:
        return "elite"
    if seconds < DAY:
        return "high"
    if seconds < 7 * DAY:
        return "medium"
    return "low"


def select_releases(
    releases: Iterable[ReleaseView],
    *,
    service: str | None = None,
    environment: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ReleaseView]:
    """Releases of a service/environment whose instant (DEPLOY end, else last activity) is in [since, until)."""
    chosen: list[tuple[tuple[int, float], ReleaseView]] = []
    for view in releases:
        if service is not None and view.service != service:
            continue
        if environment is not None and view.environment != environment:
            continue
        when = view.when
        if since is not None and (when is None or when < since):
            continue
        if until is not None and (when is None or when >= until):
            continue
        chosen.append(((1, 0.0) if when is None else (0, when.timestamp()), view))
    chosen.sort(key=lambda pair: pair[0])
    return [view for _, view in chosen]


def compute_framework_metrics(
    releases: Iterable[ReleaseView],
    *,
    service: str | None = None,
    environment: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> FrameworkMetrics:
    """Framework metrics and DORA keys over the releases in the period (see the module doc)."""
    views = select_releases(releases, service=service, environment=environment, since=since, until=until)
    end = until or now or utcnow()
    starts = [v.started_at for v in views if v.started_at is not None]
    start = since or (min(starts) if starts else end)
    if start > end:
        start = end

    counts = {outcome: 0 for outcome in Outcome}
    by_outcome: dict[Outcome, list[ReleaseView]] = {outcome: [] for outcome in Outcome}
    deployed: list[ReleaseView] = []
    for view in views:
        outcome = view.outcome  # a look-up through the phases, checks and rollbacks: once per release
        counts[outcome] += 1
        by_outcome[outcome].append(view)
        if outcome.deployed:
            deployed.append(view)
    n = len(deployed)
    successful = by_outcome[Outcome.SUCCESS]
    rolled = by_outcome[Outcome.ROLLED_BACK]

    times = [t for t in (v.total_seconds for v in deployed) if t is not None]
    zero = [z for z in (v.zero_downtime for v in deployed) if z is not None]
    restores, unrecovered = _restore_times(rolled)
    restore_stats = Stats.of(restores)
    dora = _dora_keys(
        successful, counts, n, restore_stats, unrecovered, rolled_back=bool(rolled), days=(end - start).total_seconds()
    )
    return FrameworkMetrics(
        service=service,
        environment=environment,
        since=start,
        until=end,
        releases=len(views),
        deployments=n,
        successful=len(successful),
        rolled_back=len(rolled),
        failed=counts[Outcome.FAILED],
        blocked=counts[Outcome.BLOCKED],
        incomplete=counts[Outcome.INCOMPLETE],
        success_rate=len(successful) / n if n else None,
        deployment_time=Stats.of(times),
        rollback_rate=len(rolled) / n if n else None,
        zero_downtime_recorded=len(zero),
        zero_downtime_yes=sum(1 for z in zero if z),
        zero_downtime_share=(sum(1 for z in zero if z) / len(zero)) if zero else None,
        mttr=restore_stats,
        recovered=len(restores),
        unrecovered=unrecovered,
        dora=dora,
        release_ids=tuple(v.release_id for v in views),
    )


def framework_metrics(
    ledger: Ledger,
    *,
    service: str | None = None,
    environment: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> FrameworkMetrics:
    """:func:`compute_framework_metrics` over the ledger's releases, read as outlines: statuses and
    times, and the details of :data:`FIGURE_DETAILS` only."""
    from bmad.reports.source import outline_view

    outlines = ledger.release_outlines(service=service, environment=environment, details=FIGURE_DETAILS)
    views = [outline_view(outline) for outline in reversed(outlines)]
    return compute_framework_metrics(
        views, service=service, environment=environment, since=since, until=until, now=now or ledger.now()
    )


def _restore_times(rolled: list[ReleaseView]) -> tuple[list[float], int]:
    """Seconds to restore of the rolled-back releases that recovered, and how many never did."""
    restores: list[float] = []
    unrecovered = 0
    for view in rolled:
        info = view.rollback
        seconds = info.restore_seconds if info is not None else None
        if seconds is None:
            unrecovered += 1
        else:
            restores.append(seconds)
    return restores, unrecovered


def _dora_keys(
    successful: list[ReleaseView],
    counts: dict[Outcome, int],
    deployments: int,
    restore_stats: Stats,
    unrecovered: int,
    *,
    rolled_back: bool,
    days: float,
) -> DoraKeys:
    lead = [t for t in (v.lead_time_seconds for v in successful) if t is not None]
    period_days = max(days / DAY, 1.0)
    frequency = len(successful) / period_days if deployments else None
    change_failure = (counts[Outcome.ROLLED_BACK] + counts[Outcome.FAILED]) / deployments if deployments else None
    lead_stats = Stats.of(lead)
    return DoraKeys(
        deployment_frequency_per_day=frequency,
        deployment_frequency_band=_frequency_band(frequency),
        lead_time=lead_stats,
        lead_time_band=_lead_time_band(lead_stats.p50),
        change_failure_rate=change_failure,
        change_failure_band=_failure_band(change_failure),
        time_to_restore=restore_stats,
        time_to_restore_band=_restore_band(restore_stats.p50, unrecovered) if rolled_back else None,
        unrecovered=unrecovered,
    )


# -- formatting --------------------------------------------------------------------------------


def format_number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "not recorded"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return text or "0"


def format_percent(value: float | None) -> str:
    if value is None:
        return "not recorded"
    return f"{format_number(value * 100, 1)}%"


def format_duration(seconds: float | None) -> str:
    """42 s / 4.5 min / 2.5 h / 3.2 days, as the guide writes them."""
    if seconds is None:
        return "not recorded"
    if seconds < 60:
        return f"{format_number(seconds, 1)} s"
    if seconds < 3600:
        return f"{format_number(seconds / 60, 1)} min"
    if seconds < DAY:
        return f"{format_number(seconds / 3600, 1)} h"
    return f"{format_number(seconds / DAY, 1)} days"


def render_table(metrics: FrameworkMetrics) -> str:
    """The guide's "Framework Metrics (N Deployments)" table plus the DORA keys, as Markdown."""
    scope = " ".join(
        part
        for part in (
            metrics.service or "all services",
            f"/ {metrics.environment}" if metrics.environment else "/ all environments",
        )
    )
    lines = [
        f"### Framework Metrics ({metrics.deployments} Deployment{'s' if metrics.deployments != 1 else ''})",
        "",
        f"{markdown_text(scope)}, {metrics.since:%Y-%m-%d %H:%M} to {metrics.until:%Y-%m-%d %H:%M} UTC: "
        f"{metrics.successful} success, {metrics.rolled_back} rolled back, {metrics.failed} failed, "
        f"{metrics.blocked} stopped at a gate",
        "",
        *_markdown_rows(metrics.rows()),
        "",
        "DORA four keys",
        "",
        *_markdown_rows(metrics.dora_rows()),
    ]
    return "\n".join(lines) + "\n"


def _markdown_rows(rows: Sequence[TableRow]) -> list[str]:
    out = ["| Metric | Target | Achieved | Met |", "|--------|--------|----------|-----|"]
    for row in rows:
        met = "–" if row.met is None else ("✓" if row.met else "✗")
        out.append(f"| **{row.metric}** | {row.target} | {row.achieved} | {met} |")
    return out


def parse_when(text: str, *, now: datetime) -> datetime:
    """``--since``/``--until``: an ISO date or date-time (UTC when no zone), or ``7d`` / ``12h`` / ``30m`` ago."""
    from datetime import UTC, timedelta

    from bmad.core.errors import UsageError

    value = text.strip()
    units = {"d": 86400.0, "h": 3600.0, "m": 60.0, "w": 7 * 86400.0}
    if len(value) >= 2 and value[-1] in units and value[:-1].replace(".", "", 1).isdigit():
        return now - timedelta(seconds=float(value[:-1]) * units[value[-1]])
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise UsageError(
            f"cannot read the time {text!r}", hint="use 2026-01-31, 2026-01-31T12:00, or a span such as 7d, 12h, 30m"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
