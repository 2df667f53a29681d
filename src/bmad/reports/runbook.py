"""The guide's "Deployment Runbook Template" and "Pre-Deployment Checklist", filled from the ledger.

Both are built as a small document (sections of labelled facts) and rendered to Markdown and to a
self-contained HTML page (inline CSS, no script, nothing fetched).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field

from bmad.core.datatypes import datatype
from bmad.core.models import PhaseName
from bmad.ports.notifications import DeliveryRecord
from bmad.reports import facts as fx
from bmad.reports.facts import NOT_RECORDED, Fact
from bmad.reports.metrics import format_duration
from bmad.reports.people import team_notified_ok, team_notified_text
from bmad.reports.rollback_plan import ROLLBACK_PLAN_FILE
from bmad.reports.text import html_text, markdown_text
from bmad.reports.views import Outcome, ReleaseView, status_mark


@datatype
class Section:
    title: str
    items: list[Fact] = field(default_factory=list)
    text: str | None = None  # a paragraph shown instead of (or before) the items


@datatype
class Document:
    title: str
    meta: list[Fact]
    sections: list[Section]
    checklist: bool = False  # render items as "- [x] label: value"


def _outcome_text(view: ReleaseView) -> str:
    return {
        Outcome.SUCCESS: "deployed",
        Outcome.ROLLED_BACK: "rolled back",
        Outcome.FAILED: "deployment failed",
        Outcome.BLOCKED: "stopped at a gate",
        Outcome.INCOMPLETE: "incomplete",
    }[view.outcome]


def _image_line(view: ReleaseView) -> str:
    ref = fx.image_reference(view)
    tags = fx.image_tags(view)
    if ref and tags and ":" not in ref.rsplit("/", 1)[-1]:
        return f"{ref}:{tags[0]}"
    if ref:
        return ref
    if tags:
        return ", ".join(tags)
    return NOT_RECORDED


def build_runbook(
    view: ReleaseView,
    *,
    rollback_plan_link: str | None = ROLLBACK_PLAN_FILE,
    notified: Sequence[DeliveryRecord] = (),
) -> Document:
    """The guide's Deployment Runbook of one release: one section per phase, monitoring, issues, rollback
    (``notified``: the notifications sent about it)."""
    release = view.release
    problems = fx.issues(view)
    return Document(
        title=f"Deployment Runbook: {release.service}",
        meta=_runbook_meta(view),
        sections=[
            _pre_deployment_section(view, notified),
            _build_section(view),
            _measure_section(view),
            _analyze_section(view, rollback_plan_link),
            _deploy_section(view),
            Section("Post-Deployment Monitoring", _monitoring_facts(view)),
            Section("Issues Encountered", problems, None if problems else "None"),
            _rollback_section(view),
        ],
    )


def _runbook_meta(view: ReleaseView) -> list[Fact]:
    release = view.release
    return [
        Fact("Date", view.started_at.strftime("%Y-%m-%d") if view.started_at else NOT_RECORDED),
        Fact("Deployer", view.deployer or NOT_RECORDED),
        Fact("Version", release.version),
        Fact("Service / environment", f"{release.service} / {release.environment}"),
        Fact("Commit time", fx.fmt_time(release.commit_time, date=True)),
        Fact("Outcome", _outcome_text(view), view.outcome is Outcome.SUCCESS),
        Fact("Ledger release", f"#{view.release_id}"),
    ]


def _pre_deployment_section(view: ReleaseView, notified: Sequence[DeliveryRecord]) -> Section:
    release = view.release
    snap = fx.snapshot(view)
    analyze = view.phase(PhaseName.ANALYZE)
    return Section(
        "Pre-Deployment",
        [
            Fact("Reviewed change log", f"commit {release.short_version}" + (" (dirty tree)" if release.dirty else "")),
            Fact(
                "Backup created",
                f"rollback point snapshot at {fx.fmt_time(analyze.finished_at, date=True)}"
                if snap is not None and analyze is not None
                else NOT_RECORDED,
                True if snap is not None else None,
            ),
            Fact("Team notified", team_notified_text(notified), team_notified_ok(notified)),
            Fact(
                "Maintenance window",
                f"{fx.fmt_time(view.started_at, date=True)} - {fx.fmt_time(view.finished_at, date=True)}",
            ),
        ],
    )


def _build_section(view: ReleaseView) -> Section:
    start, end = fx.phase_times(view, PhaseName.BUILD)
    digest = fx.image_digest(view)
    return Section(
        "BUILD Phase",
        [
            Fact("Start time", start),
            Fact("Image tag", _image_line(view)),
            Fact("Image digest", digest or NOT_RECORDED, True if digest else None),
            fx.tests_fact(view),
            fx.scan_fact(view),
            fx.image_size_fact(view),
            Fact("Build duration", format_duration(view.number(PhaseName.BUILD, "build_duration_seconds"))),
            Fact("End time", end),
        ],
    )


def _measure_section(view: ReleaseView) -> Section:
    start, end = fx.phase_times(view, PhaseName.MEASURE)
    return Section(
        "MEASURE Phase",
        [
            Fact("Start time", start),
            fx.baseline_fact(view, "Baseline CPU", ("cpu",)),
            fx.baseline_fact(view, "Baseline Memory", ("memory", "mem", "rss")),
            fx.baseline_fact(view, "Baseline RPS", ("rps", "request_rate", "requests")),
            *[
                fx.baseline_fact(view, f"Baseline {name}", (name.lower(),))
                for name in fx.baselines(view)
                if not any(
                    w in name.lower() for w in ("cpu", "memory", "mem", "rss", "rps", "request_rate", "requests")
                )
            ],
            fx.count_fact(view, PhaseName.MEASURE, "grafana_dashboards_count", "Dashboards verified"),
            fx.count_fact(view, PhaseName.MEASURE, "alert_rules_loaded", "Alert rules"),
            _load_test_fact(view),
            Fact("End time", end),
        ],
    )


def _analyze_section(view: ReleaseView, rollback_plan_link: str | None) -> Section:
    start, end = fx.phase_times(view, PhaseName.ANALYZE)
    plan = fx.rollback_plan(view)
    return Section(
        "ANALYZE Phase",
        [
            Fact("Start time", start),
            fx.readiness_fact(view),
            fx.flag_fact(
                view, PhaseName.ANALYZE, "kubernetes_manifests_valid", "Manifests validated", "valid", "invalid"
            ),
            fx.secrets_fact(view),
            Fact(
                "Rollback plan",
                "documented" if plan is not None else NOT_RECORDED,
                True if plan is not None else None,
                rollback_plan_link if plan is not None else None,
            ),
            fx.flag_fact(
                view, PhaseName.ANALYZE, "risk_assessment_complete", "Risk assessment", "complete", "incomplete"
            ),
            Fact("End time", end),
        ],
    )


def _deploy_section(view: ReleaseView) -> Section:
    start, end = fx.phase_times(view, PhaseName.DEPLOY)
    return Section(
        "DEPLOY Phase",
        [
            Fact("Deployment start", start),
            Fact("Rollout complete", end),
            fx.rollout_fact(view),
            fx.pods_fact(view),
            fx.smoke_fact(view),
            fx.flag_fact(view, PhaseName.DEPLOY, "zero_downtime", "Zero downtime"),
            Fact("Deployment duration", format_duration(view.number(PhaseName.DEPLOY, "deployment_duration_seconds"))),
        ],
    )


def _load_test_fact(view: ReleaseView) -> Fact:
    levels = fx.load_levels(view)
    if not levels:
        return Fact("Load test", NOT_RECORDED)
    best = max(levels, key=lambda level: float(level.get("rps") or 0))
    loaded = fx.loaded_version(view)
    return Fact(
        "Load test",
        f"{len(levels)} levels up to concurrency {levels[-1].get('concurrency')}; peak "
        f"{fx.format_value('rps', best.get('rps'))} at concurrency {best.get('concurrency')}"
        + (f"; loaded {loaded}" if loaded else ""),
        True,
    )


def _monitoring_facts(view: ReleaseView) -> list[Fact]:
    rows = fx.post_deploy_comparison(view)
    found: list[Fact] = []
    for row in rows:
        name = row["name"]
        text = (
            f"{fx.format_value(name, row['observed'])} after deploy, baseline {fx.format_value(name, row['baseline'])}"
        )
        if row.get("limit") is not None:
            text += f" (limit {fx.format_value(name, row['limit'])})"
        found.append(Fact(name, text, row["ok"]))
    verify = None
    deploy = view.phase(PhaseName.DEPLOY)
    for check in deploy.checks if deploy else []:
        if "verif" in check.id or "baseline" in check.id or "monitor" in check.id:
            verify = check
            break
    if verify is not None:
        found.append(Fact(verify.title, verify.summary or verify.observed or verify.status.value, fx.check_ok(verify)))
    if not found:
        found.append(Fact("Post-deploy verification", NOT_RECORDED))
    found.extend(_watch_periods(fx.verification_window(view)))
    return found


def _watch_periods(window: fx.Window | None) -> list[Fact]:
    """First 15 min / hour / 24 h: what bmad's verification window covered, and who watches the rest."""
    if window is None:
        lead = "not watched by bmad (no post-deploy verification recorded)"
    else:
        lead = (
            f"bmad verified {format_duration(window.seconds)} ({window.rounds} round(s), "
            f"{fx.fmt_time(window.start)}-{fx.fmt_time(window.end)})"
        )
    facts = []
    for label, seconds in (("First 15 min", 900), ("First hour", 3600), ("First 24 hours", 86400)):
        if window is not None and window.seconds >= seconds:
            facts.append(Fact(label, lead, window.ok))
        else:
            facts.append(Fact(label, f"{lead}; the on-call fills in the rest from the dashboards and alerts"))
    return facts


def _rollback_section(view: ReleaseView) -> Section:
    info = view.rollback
    if info is None:
        return Section("Rollback (if needed)", [], "Not needed.")
    restore = info.restore_seconds
    return Section(
        "Rollback (if needed)",
        [
            Fact("Rollback initiated", fx.fmt_time(info.detected_at, date=True)),
            Fact(
                "Rollback complete",
                fx.fmt_time(info.recovered_at, date=True) if info.recovered_at else "never recovered",
                info.recovered,
            ),
            Fact(
                "Time to restore", format_duration(restore) if restore is not None else "not restored", info.recovered
            ),
            Fact("Returned to version", info.to_version or NOT_RECORDED),
            Fact("Triggered", "manually" if info.manual else "automatically (post-deploy verification)"),
            Fact("Root cause", info.reason or NOT_RECORDED),
        ],
    )


def build_checklist(view: ReleaseView, *, notified: Sequence[DeliveryRecord] = ()) -> Document:
    """The guide's Pre-Deployment Checklist, ✓/✗ with the figures (``notified``: the notifications sent)."""
    deploy = Section(
        "DEPLOY Phase",
        [
            fx.rollout_fact(view),
            fx.pods_fact(view),
            fx.smoke_fact(view),
            _monitoring_validated(view),
        ],
    )
    post = Section(
        "Post-Deployment",
        [
            Fact("Grafana dashboards reviewed", NOT_RECORDED),
            fx.count_fact(view, PhaseName.MEASURE, "alert_rules_loaded", "Alerts configured"),
            Fact("Deployment documented", "this checklist and the runbook", True),
            Fact("Team notified", team_notified_text(notified), team_notified_ok(notified)),
        ],
    )
    return Document(
        title=f"Pre-Deployment Checklist: {view.service} {view.release.short_version} ({view.environment})",
        meta=[Fact("Outcome", _outcome_text(view), view.outcome is Outcome.SUCCESS)],
        sections=[_build_checks(view), _measure_checks(view), _analyze_checks(view), deploy, post],
        checklist=True,
    )


def _build_checks(view: ReleaseView) -> Section:
    suites: list[Fact] = []
    for name, (passed, total) in fx.test_counts(view).items():
        label = "Integration tests" if "integration" in name else "E2E tests" if "e2e" in name else f"{name} tests"
        suites.append(Fact(label, f"{passed}/{total} passed", passed == total))
    if not suites:
        suites.append(fx.tests_fact(view))
    digest = fx.image_digest(view)
    return Section(
        "BUILD Phase",
        [
            *suites,
            fx.scan_fact(view),
            Fact(
                "Docker image built", _image_line(view) + (f" ({digest})" if digest else ""), True if digest else None
            ),
            fx.image_size_fact(view),
            fx.pushed_fact(view),
        ],
    )


def _measure_checks(view: ReleaseView) -> Section:
    return Section(
        "MEASURE Phase",
        [
            fx.prometheus_fact(view),
            fx.count_fact(view, PhaseName.MEASURE, "grafana_dashboards_count", "Grafana dashboards"),
            fx.count_fact(view, PhaseName.MEASURE, "alert_rules_loaded", "Alert rules"),
            fx.flag_fact(
                view, PhaseName.MEASURE, "baseline_captured", "Baseline metrics captured", "captured", "missing"
            ),
            _test_metric_fact(view),
        ],
    )


def _analyze_checks(view: ReleaseView) -> Section:
    snap = fx.snapshot(view)
    return Section(
        "ANALYZE Phase",
        [
            fx.readiness_fact(view),
            fx.flag_fact(
                view,
                PhaseName.ANALYZE,
                "kubernetes_manifests_valid",
                "Kubernetes manifests validated",
                "valid",
                "invalid",
            ),
            fx.secrets_fact(view),
            fx.flag_fact(view, PhaseName.ANALYZE, "rollback_plan_documented", "Rollback plan documented", "yes", "no"),
            Fact(
                "Current state snapshot saved",
                "saved" if snap is not None else NOT_RECORDED,
                True if snap is not None else None,
            ),
        ],
    )


def _test_metric_fact(view: ReleaseView) -> Fact:
    result = view.phase(PhaseName.MEASURE)
    for check in result.checks if result else []:
        if any(word in check.id for word in ("e2e", "test_metric", "pipeline", "push")):
            return Fact("Test metrics validated", check.summary or check.status.value, fx.check_ok(check))
    return Fact("Test metrics validated", NOT_RECORDED)


def _monitoring_validated(view: ReleaseView) -> Fact:
    rows = fx.post_deploy_comparison(view)
    if rows:
        oks = [row["ok"] for row in rows if row["ok"] is not None]
        return Fact(
            "Monitoring validated",
            f"{sum(1 for o in oks if o)}/{len(oks)} metrics within limits",
            all(oks) if oks else None,
        )
    deploy = view.phase(PhaseName.DEPLOY)
    for check in deploy.checks if deploy else []:
        if "verif" in check.id or "monitor" in check.id:
            return Fact("Monitoring validated", check.summary or check.status.value, fx.check_ok(check))
    return Fact("Monitoring validated", NOT_RECORDED)


# -- rendering -------------------------------------------------------------------------------------


def render_markdown(doc: Document) -> str:
    """The document as Markdown; every recorded text passes through :func:`markdown_text`."""
    md = markdown_text
    lines = [f"# {md(doc.title)}", ""]
    for fact in doc.meta:
        lines.append(f"**{md(fact.label)}**: {md(fact.value)}  ")
    lines.append("")
    for section in doc.sections:
        lines.extend([f"## {md(section.title)}"])
        if section.text:
            lines.append(md(section.text))
        for fact in section.items:
            text = md(" ".join(fact.value.split()))  # one line per item, whatever the phase wrote
            value = f"[{text}]({fact.link})" if fact.link else text
            label = md(fact.label)
            if doc.checklist:
                box = {True: "[x]", False: "[ ]", None: "[ ]"}[fact.ok]
                mark = status_mark(fact.ok)
                lines.append(f"- {box} {mark} {label}: {value}")
            else:
                mark = "" if fact.ok is None else f" {status_mark(fact.ok)}"
                lines.append(f"- {label}: {value}{mark}")
        lines.append("")
    return "\n".join(lines)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#1d2330;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #d5dae3;padding-bottom:.3em}
h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #e3e7ee}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em;table-layout:fixed}
th,td{border:1px solid #d5dae3;padding:.35em .6em;text-align:left;vertical-align:top;font-size:.92em;
overflow-wrap:anywhere}
th{background:#f1f4f8}
code{word-break:break-all}svg{display:block;max-width:100%;height:auto}
col.narrow{width:7em}col.check{width:22%}col.evidence{width:14%}col.mark{width:2.5em}col.label{width:30%}col.wide{width:30%}
.phases col{width:11%}.phases col:first-child{width:13%}.phases col:nth-child(6){width:14%}.phases col.wide{width:29%}
@media (max-width:900px){th,td{font-size:.8em;padding:.3em .4em}}
.ok{color:#17803d;font-weight:600}.bad{color:#c0262d;font-weight:600}.na{color:#7a8394}
.badge{display:inline-block;padding:.1em .55em;border-radius:.8em;font-size:.85em;color:#fff}
.b-pass,.b-passed,.b-success{background:#17803d}.b-fail,.b-failed,.b-rolled_back{background:#c0262d}
.b-warn,.b-blocked{background:#b7791f}.b-skip,.b-pending,.b-incomplete,.b-aborted,.b-interrupted{background:#7a8394}
pre{background:#f6f8fa;border:1px solid #e3e7ee;padding:.5em;overflow:auto;max-height:18em;font-size:.82em;
white-space:pre-wrap;word-break:break-all}
.meta td:first-child{width:14em;font-weight:600}
details summary{cursor:pointer}
svg text{font-family:system-ui,Arial,sans-serif}
"""


def mark_html(ok: bool | None) -> str:
    cls = {True: "ok", False: "bad", None: "na"}[ok]
    return f'<span class="{cls}">{status_mark(ok)}</span>'


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML page: inline CSS, no script, no external resource."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">'
        f"<title>{html_text(title)}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def render_html(doc: Document) -> str:
    parts = [f"<h1>{html_text(doc.title)}</h1>", '<table class="meta">']
    for fact in doc.meta:
        mark = "" if fact.ok is None else " " + mark_html(fact.ok)
        parts.append(f"<tr><td>{html_text(fact.label)}</td><td>{html_text(fact.value)}{mark}</td></tr>")
    parts.append("</table>")
    for section in doc.sections:
        parts.append(f"<h2>{html_text(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{html_text(section.text)}</p>")
        if section.items:
            parts.append(
                '<table><colgroup><col class="mark"><col class="label"><col></colgroup>'
                "<tr><th></th><th>Item</th><th>Value</th></tr>"
            )
            for fact in section.items:
                value = html_text(fact.value)
                if fact.link:
                    value = f'<a href="{html_text(fact.link)}">{value}</a>'
                parts.append(f"<tr><td>{mark_html(fact.ok)}</td><td>{html_text(fact.label)}</td><td>{value}</td></tr>")
            parts.append("</table>")
    return page(doc.title, "\n".join(parts))
