"""A release served live: the HTML report of :mod:`bmad.reports`, its runbook, checklist and
rollback plan, and the live panel of a release that is still running."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.models import PhaseName, PhaseStatus
from bmad.reports.metrics import format_duration
from bmad.reports.report import render_report
from bmad.reports.rollback_plan import render_rollback_plan
from bmad.reports.runbook import build_checklist, build_runbook, render_html
from bmad.reports.views import ReleaseView
from bmad.serve.layout import esc, layout, rehost

# The report's footer speaks of a file; served, it is a page read from the ledger on each request.
REPORT_FILE_NOTE = "This file is self-contained: it fetches nothing."
SERVED_NOTE = "Served by bmad serve from the ledger; this page fetches only its script, stylesheet and live updates."


@datatype(frozen=True)
class PhaseLine:
    """One phase of a release as the live panel shows it."""

    phase: str
    status: str
    duration: str
    checks: str

    def to_dict(self) -> dict[str, str]:
        return {"phase": self.phase, "status": self.status, "duration": self.duration, "checks": self.checks}


@datatype(frozen=True)
class LiveState:
    """Where a release stands now: sent to live pages whenever it changes."""

    release_id: str
    outcome: str
    running: str | None  # the phase running now
    running_for: str | None
    last_check: str | None  # the newest check recorded (checks are recorded when their phase ends)
    phases: tuple[PhaseLine, ...]

    @property
    def statuses(self) -> str:
        """Each phase's status in one text: a page shows a state, an event with other statuses is newer."""
        return ",".join(f"{line.phase}:{line.status}" for line in self.phases)

    def to_dict(self) -> dict[str, Any]:
        return {
            "release_id": self.release_id,
            "outcome": self.outcome,
            "running": self.running,
            "running_for": self.running_for,
            "last_check": self.last_check,
            "ended": self.running is None,
            "statuses": self.statuses,
            "phases": [line.to_dict() for line in self.phases],
        }


def live_state(view: ReleaseView, now: datetime) -> LiveState:
    lines: list[PhaseLine] = []
    running: tuple[str, str] | None = None
    last_check: str | None = None
    for name in PhaseName.ordered():
        result = view.phase(name)
        if result is None:
            lines.append(PhaseLine(name.label, PhaseStatus.PENDING.value, "–", "–"))
            continue
        duration = format_duration(result.duration_seconds) if result.finished_at else "–"
        if result.status is PhaseStatus.RUNNING and result.started_at is not None:
            duration = format_duration((now - result.started_at).total_seconds())
            running = (name.label, duration)
        counts = result.counts()
        checks = f"{counts['pass']} pass / {counts['warn']} warn / {counts['fail']} fail / {counts['skip']} skip"
        if result.checks:
            newest = result.checks[-1]
            last_check = f"{name.label} {newest.id}: {newest.status.value}"
        lines.append(PhaseLine(name.label, result.status.value, duration, checks))
    return LiveState(
        release_id=view.release_id,
        outcome=view.outcome.value,
        running=running[0] if running else None,
        running_for=running[1] if running else None,
        last_check=last_check,
        phases=tuple(lines),
    )


def live_panel(state: LiveState) -> str:
    """The panel the script keeps current; rendered on the server too, so it reads without JavaScript."""
    rows = "".join(
        f'<tr data-phase="{esc(line.phase)}"><td>{esc(line.phase)}</td>'
        f'<td><span class="badge b-{esc(line.status)}">{esc(line.status)}</span></td>'
        f"<td>{esc(line.duration)}</td><td>{esc(line.checks)}</td></tr>"
        for line in state.phases
    )
    now = (
        f"{esc(state.running)} running for {esc(state.running_for)}"
        if state.running
        else f"finished: {esc(state.outcome)}"
    )
    running = "1" if state.running else "0"
    return (
        f'<section class="live" id="live" data-events="/events/release/{esc(state.release_id)}" '
        f'data-running="{running}" data-statuses="{esc(state.statuses)}">'
        f'<h2>Live status</h2><p>Now: <b data-field="now">{now}</b> · '
        f'latest check recorded: <span data-field="last_check">{esc(state.last_check or "none yet")}</span></p>'
        f"<table><tr><th>Phase</th><th>Status</th><th>Duration</th><th>Checks</th></tr>{rows}</table></section>"
    )


def document_links(view: ReleaseView) -> dict[str, str]:
    base = f"/release/{view.release_id}"
    links = {"runbook": f"{base}/runbook", "checklist": f"{base}/checklist"}
    if render_rollback_plan(view) is not None:
        links["rollback plan"] = f"{base}/rollback-plan"
    return links


def render_release(view: ReleaseView, now: datetime) -> str:
    """The release's HTML report, with the live panel above it."""
    report = render_report(view, links=document_links(view)).replace(REPORT_FILE_NOTE, SERVED_NOTE, 1)
    return rehost(report, current="board", before=live_panel(live_state(view, now)), script=True)


def render_document(view: ReleaseView, name: str) -> str | None:
    """The runbook, checklist or rollback plan of ``view``; None for any other name (or no plan)."""
    if name == "runbook":
        plan = f"/release/{view.release_id}/rollback-plan" if render_rollback_plan(view) is not None else None
        return rehost(render_html(build_runbook(view, rollback_plan_link=plan)), current="board")
    if name == "checklist":
        return rehost(render_html(build_checklist(view)), current="board")
    if name == "rollback-plan":
        plan_text = render_rollback_plan(view)
        if plan_text is None:
            return None
        title = f"Rollback plan: {view.service} {view.release.short_version} ({view.environment})"
        return layout(title, f"<h1>{esc(title)}</h1><pre>{esc(plan_text)}</pre>", current="board")
    return None
