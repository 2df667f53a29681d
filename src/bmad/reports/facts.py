"""The figures a runbook, checklist and report show, looked up in a release's phase records.

Each look-up degrades to "not recorded" (``ok=None``) when a phase did not record the figure.
Metric and artifact names are the phases' (see docs/reports.md for the list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseStatus
from bmad.reports.metrics import format_duration, format_number
from bmad.reports.views import ReleaseView, check_status_ok

NOT_RECORDED = "not recorded"


@datatype(frozen=True)
class Fact:
    label: str
    value: str
    ok: bool | None = None  # True ✓, False ✗, None not judged / not recorded
    link: str | None = None


def fmt_time(value: datetime | None, *, date: bool = False) -> str:
    if value is None:
        return NOT_RECORDED
    return value.strftime("%Y-%m-%d %H:%M:%S UTC" if date else "%H:%M:%S")


def phase_times(view: ReleaseView, phase: PhaseName) -> tuple[str, str]:
    result = view.phase(phase)
    if result is None:
        return ("not run", "not run")
    end = fmt_time(result.finished_at) if result.finished_at else result.status.value
    return (fmt_time(result.started_at), end)


def _first_artifact(view: ReleaseView, phase: PhaseName, names: Sequence[str]) -> Any:
    for name in names:
        value = view.artifact(phase, name)
        if value not in (None, "", [], {}):
            return value
    return None


def _first_number(view: ReleaseView, phase: PhaseName, names: Sequence[str]) -> float | None:
    for name in names:
        value = view.number(phase, name)
        if value is not None:
            return value
    return None


# -- BUILD ---------------------------------------------------------------------------------------


def image_reference(view: ReleaseView) -> str | None:
    value = _first_artifact(view, PhaseName.BUILD, ("image_ref", "image", "image_reference", "pushed_image"))
    if isinstance(value, Mapping):
        value = value.get("reference") or value.get("ref") or value.get("repository")
    if isinstance(value, str):
        return value
    return None


def image_tags(view: ReleaseView) -> list[str]:
    value = _first_artifact(view, PhaseName.BUILD, ("image_tags", "tags", "pushed_tags"))
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if isinstance(value, str):
        return [value]
    return []


def image_digest(view: ReleaseView) -> str | None:
    value = view.metric(PhaseName.BUILD, "image_digest")
    if isinstance(value, str) and value:
        return value
    art = _first_artifact(view, PhaseName.BUILD, ("image_digest", "digest"))
    return art if isinstance(art, str) else None


def test_counts(view: ReleaseView) -> dict[str, tuple[int, int]]:
    """Suite name -> (passed, total), from BUILD's ``tests`` artifact or its test checks' evidence."""
    found: dict[str, tuple[int, int]] = {}
    suites = _first_artifact(view, PhaseName.BUILD, ("tests", "test_suites", "suites"))
    if isinstance(suites, Mapping):
        for name, data in suites.items():
            pair = _passed_total(data)
            if pair is not None:
                found[str(name)] = pair
    if isinstance(suites, list):
        for data in suites:
            if isinstance(data, Mapping):
                pair = _passed_total(data)
                if pair is not None:
                    found[str(data.get("name") or data.get("suite") or f"suite {len(found) + 1}")] = pair
    if found:
        return found
    build = view.phase(PhaseName.BUILD)
    for check in build.checks if build else []:
        if not check.id.startswith("build.tests"):
            continue
        pair = _passed_total(check.evidence.get("tests")) or _passed_total(check.evidence)
        if pair is not None:
            found[check.id.removeprefix("build.tests").lstrip(".") or "tests"] = pair
    return found


def _passed_total(data: Any) -> tuple[int, int] | None:
    if not isinstance(data, Mapping):
        return None
    passed = data.get("passed", data.get("tests_passed"))
    total = data.get("total", data.get("tests", data.get("tests_total")))
    skipped = data.get("skipped", 0)
    if isinstance(passed, int) and isinstance(total, int) and not isinstance(total, bool):
        return (passed, total - skipped if isinstance(skipped, int) else total)
    return None


def tests_fact(view: ReleaseView) -> Fact:
    counts = test_counts(view)
    rate = view.number(PhaseName.BUILD, "test_pass_rate")
    if counts:
        passed = sum(p for p, _ in counts.values())
        total = sum(t for _, t in counts.values())
        detail = ", ".join(f"{name} {p}/{t}" for name, (p, t) in counts.items())
        text = f"{passed}/{total} passed" + (f" ({detail})" if len(counts) > 1 else "")
        return Fact("Tests passed", text, passed == total)
    if rate is not None:
        percent = rate * 100 if rate <= 1.0 else rate
        return Fact("Tests passed", f"pass rate {format_number(percent, 1)}%", percent >= 100.0)
    return Fact("Tests passed", NOT_RECORDED)


def scan_fact(view: ReleaseView) -> Fact:
    critical = view.number(PhaseName.BUILD, "vulnerabilities_critical")
    high = view.number(PhaseName.BUILD, "vulnerabilities_high")
    if critical is None and high is None:
        return Fact("Security scan", NOT_RECORDED)
    scan = _check_like(view, PhaseName.BUILD, ("vuln", "scan", "cve"))
    ok = (critical or 0) == 0 and (high or 0) == 0
    if scan is not None:
        ok = scan.status is not CheckStatus.FAIL
    text = f"{'PASS' if ok else 'FAIL'}: {int(high or 0)} HIGH, {int(critical or 0)} CRITICAL CVEs"
    return Fact("Security scan", text, ok)


def image_size_fact(view: ReleaseView) -> Fact:
    size = view.number(PhaseName.BUILD, "image_size_mb")
    if size is None:
        return Fact("Image size", NOT_RECORDED)
    check = _check_like(view, PhaseName.BUILD, ("size",))
    ok = size < 500 if check is None else check.status is not CheckStatus.FAIL
    return Fact("Image size", f"{format_number(size, 1)} MB (<500MB target)", ok)


def _check_like(view: ReleaseView, phase: PhaseName, words: Sequence[str]) -> Any:
    result = view.phase(phase)
    if result is None:
        return None
    for check in result.checks:
        if any(word in check.id for word in words):
            return check
    return None


def pushed_fact(view: ReleaseView) -> Fact:
    push = _check_like(view, PhaseName.BUILD, ("push",))
    if push is None:
        return Fact("Artifacts pushed to registry", NOT_RECORDED)
    ok = push.status in (CheckStatus.PASS, CheckStatus.WARN)
    return Fact("Artifacts pushed to registry", push.observed or push.summary or push.status.value, ok)


# -- MEASURE -------------------------------------------------------------------------------------


def baselines(view: ReleaseView) -> dict[str, dict[str, Any]]:
    data = view.artifact(PhaseName.MEASURE, "baseline")
    if not isinstance(data, Mapping):
        return {}
    return {str(k): dict(v) for k, v in data.items() if isinstance(v, Mapping)}


def format_value(name: str, value: Any) -> str:
    if value is None:
        return "no data"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    low = name.lower()
    if "bytes" in low or "memory" in low:
        mb = float(value) / (1024 * 1024)
        return f"{format_number(mb / 1024, 2)} GB" if mb >= 1024 else f"{format_number(mb, 1)} MB"
    if "ratio" in low or "error" in low or "success" in low:
        return f"{format_number(float(value) * 100, 2)}%"
    if "latency" in low or "seconds" in low or low.startswith("p9") or "duration" in low:
        return f"{format_number(float(value) * 1000, 1)} ms"
    if "cpu" in low:
        return f"{format_number(float(value) * 100, 1)}% of a core"
    if "rps" in low or "rate" in low or "requests" in low:
        return f"{format_number(float(value), 1)} req/s"
    return format_number(float(value), 3)


def baseline_fact(view: ReleaseView, label: str, words: Sequence[str]) -> Fact:
    for name, data in baselines(view).items():
        if any(word in name.lower() for word in words):
            if data.get("no_data"):
                return Fact(label, f"no data ({name})", None)
            return Fact(label, f"{format_value(name, data.get('value'))} ({name})", True)
    return Fact(label, NOT_RECORDED)


def loaded_version(view: ReleaseView) -> str | None:
    """Which version MEASURE's load test loaded, in words (the check's ``loaded`` evidence)."""
    check = view.check(PhaseName.MEASURE, "measure.load_test")
    loaded = check.evidence.get("loaded") if check is not None else None
    return str(loaded) if loaded else None


def load_levels(view: ReleaseView) -> list[dict[str, Any]]:
    data = view.artifact(PhaseName.MEASURE, "load_test")
    levels: Any = data.get("levels") if isinstance(data, Mapping) else data
    if not isinstance(levels, list):
        return []
    rows = [dict(level) for level in levels if isinstance(level, Mapping) and "concurrency" in level]
    return sorted(rows, key=lambda row: float(row.get("concurrency") or 0))


def count_fact(view: ReleaseView, phase: PhaseName, metric: str, label: str, *, minimum: int = 1) -> Fact:
    value = view.number(phase, metric)
    if value is None:
        return Fact(label, NOT_RECORDED)
    return Fact(label, f"{int(value)} loaded", value >= minimum)


def prometheus_fact(view: ReleaseView) -> Fact:
    uptime = view.number(PhaseName.MEASURE, "prometheus_uptime_seconds")
    if uptime is None:
        return Fact("Prometheus running", NOT_RECORDED)
    return Fact("Prometheus running", f"uptime: {format_duration(uptime)}", True)


def flag_fact(view: ReleaseView, phase: PhaseName, metric: str, label: str, yes: str = "yes", no: str = "no") -> Fact:
    value = view.flag(phase, metric)
    if value is None:
        return Fact(label, NOT_RECORDED)
    return Fact(label, yes if value else no, value)


# -- ANALYZE -------------------------------------------------------------------------------------


def readiness_fact(view: ReleaseView) -> Fact:
    value = view.metric(PhaseName.ANALYZE, "readiness_checklist_complete")
    number = view.number(PhaseName.ANALYZE, "readiness_checklist_complete")
    if number is None:
        flag = view.flag(PhaseName.ANALYZE, "readiness_checklist_complete")
        if flag is None:
            return Fact("Readiness checklist", NOT_RECORDED)
        return Fact("Readiness checklist", "complete" if flag else "incomplete", flag)
    percent = number * 100 if (number <= 1.0 and not (isinstance(value, str) and "%" in value)) else number
    gate = view.check(PhaseName.ANALYZE, "analyze.readiness")
    ok = percent >= 100.0 if gate is None else gate.status is not CheckStatus.FAIL  # ANALYZE's gate decides
    return Fact("Readiness checklist", f"{format_number(percent, 1)}% complete", ok)


def secrets_fact(view: ReleaseView) -> Fact:
    configured = view.flag(PhaseName.ANALYZE, "secrets_configured")
    check = _check_like(view, PhaseName.ANALYZE, ("secret",))
    detail = ""
    if check is not None:
        found, required = check.evidence.get("found"), check.evidence.get("required")
        if isinstance(found, list | int) and isinstance(required, list | int):
            nf = len(found) if isinstance(found, list) else found
            nr = len(required) if isinstance(required, list) else required
            detail = f"{nf}/{nr}"
    if configured is None:
        return Fact("Secrets configured", detail or NOT_RECORDED, None)
    return Fact("Secrets configured", detail or ("yes" if configured else "no"), configured)


def rollback_plan(view: ReleaseView) -> Any:
    return view.artifact(PhaseName.ANALYZE, "rollback_plan")


def snapshot(view: ReleaseView) -> Any:
    return view.artifact(PhaseName.ANALYZE, "snapshot")


# -- DEPLOY --------------------------------------------------------------------------------------


def pods_fact(view: ReleaseView) -> Fact:
    running = view.number(PhaseName.DEPLOY, "pods_running")
    failed = view.number(PhaseName.DEPLOY, "pods_failed")
    desired = _first_number(view, PhaseName.DEPLOY, ("pods_desired", "replicas"))
    if running is None:
        return Fact("Pods healthy", NOT_RECORDED)
    total = desired if desired is not None else running + (failed or 0)
    return Fact("Pods healthy", f"{int(running)}/{int(total)}", running >= total and not failed)


def smoke_fact(view: ReleaseView) -> Fact:
    passed = view.number(PhaseName.DEPLOY, "smoke_tests_passed")
    total = _first_number(view, PhaseName.DEPLOY, ("smoke_tests_total", "smoke_tests"))
    failed = view.number(PhaseName.DEPLOY, "smoke_tests_failed")
    if passed is None:
        return Fact("Smoke tests", NOT_RECORDED)
    if total is None and failed is not None:
        total = passed + failed
    if total is None:
        check = _check_like(view, PhaseName.DEPLOY, ("smoke",))
        if check is not None:
            t = check.evidence.get("total")
            total = float(t) if isinstance(t, int | float) and not isinstance(t, bool) else None
    if total is None:
        return Fact("Smoke tests", f"{int(passed)} passed", None)
    return Fact("Smoke tests", f"{int(passed)}/{int(total)} passed", passed >= total)


def rollout_fact(view: ReleaseView) -> Fact:
    deploy = view.phase(PhaseName.DEPLOY)
    if deploy is None:
        return Fact("Deployment rolled out", "not run", None)
    ok = view.flag(PhaseName.DEPLOY, "rollout_successful")
    if ok is None:
        ok = deploy.status is PhaseStatus.PASSED if deploy.status.finished else None
    word = {True: "successfully", False: "failed", None: deploy.status.value}[ok]
    if view.rolled_back:
        word += ", then rolled back"
        ok = False
    return Fact("Deployment rolled out", word, ok)


def post_deploy_comparison(view: ReleaseView) -> list[dict[str, Any]]:
    """Rows of (name, baseline, observed, ok) from DEPLOY's post-deploy verification, when recorded."""
    data = _first_artifact(
        view, PhaseName.DEPLOY, ("verification", "post_deploy", "post_deploy_metrics", "comparison", "verify")
    )
    rows: list[dict[str, Any]] = []
    base = baselines(view)
    items: list[tuple[str, Any]] = []
    if isinstance(data, Mapping):
        inner = data.get("metrics") or data.get("comparisons") or data
        if isinstance(inner, Mapping):
            items = [(str(k), v) for k, v in inner.items()]
        elif isinstance(inner, list):
            items = [(str(v.get("name", i)), v) for i, v in enumerate(inner) if isinstance(v, Mapping)]
    elif isinstance(data, list):
        items = [(str(v.get("name", i)), v) for i, v in enumerate(data) if isinstance(v, Mapping)]
    if not items:
        items = _last_verification_round(view)
    for name, value in items:
        if isinstance(value, Mapping):
            observed = value.get("observed", value.get("value", value.get("post")))
            baseline = value.get("baseline", base.get(name, {}).get("value"))
            ok = value.get("ok", value.get("passed"))
            if ok is None and isinstance(value.get("status"), str):
                ok = {"pass": True, "fail": False}.get(value["status"])
            rows.append(
                {
                    "name": name,
                    "baseline": baseline,
                    "observed": observed,
                    "ok": ok if isinstance(ok, bool) else None,
                    "limit": value.get("limit", value.get("threshold", value.get("bound") or None)),
                }
            )
        elif isinstance(value, int | float):
            rows.append(
                {
                    "name": name,
                    "baseline": base.get(name, {}).get("value"),
                    "observed": value,
                    "ok": None,
                    "limit": None,
                }
            )
    return rows


@datatype(frozen=True)
class Window:
    """DEPLOY's post-deploy verification window: when bmad watched the new release, and the verdict."""

    start: datetime
    end: datetime
    rounds: int
    ok: bool | None

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def verification_window(view: ReleaseView) -> Window | None:
    """The window of DEPLOY's verification check (its rounds' times, else its start and duration)."""
    deploy = view.phase(PhaseName.DEPLOY)
    for check in deploy.checks if deploy else []:
        rounds = check.evidence.get("rounds")
        if not isinstance(rounds, list) or not rounds:
            continue
        times = [_when(o.get("at")) for r in rounds if isinstance(r, list) for o in r if isinstance(o, Mapping)]
        known = [t for t in times if t is not None]
        start = check.started_at or (min(known) if known else None)
        end = max(known) if known else None
        if start is not None and check.duration_seconds > 0:
            end = max(end or start, start + timedelta(seconds=check.duration_seconds))
        if start is None or end is None:
            return None
        return Window(start, end, len(rounds), check_ok(check))
    return None


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _last_verification_round(view: ReleaseView) -> list[tuple[str, Any]]:
    """The last round of DEPLOY's post-deploy verification (check evidence ``rounds``: lists of outcomes)."""
    deploy = view.phase(PhaseName.DEPLOY)
    for check in deploy.checks if deploy else []:
        rounds = check.evidence.get("rounds")
        if isinstance(rounds, list) and rounds and isinstance(rounds[-1], list):
            return [(str(o.get("name")), o) for o in rounds[-1] if isinstance(o, Mapping) and o.get("name")]
    return []


def issues(view: ReleaseView) -> list[Fact]:
    """Every failed or warning check, with what was seen and the fix."""
    found: list[Fact] = []
    for phase, check in view.all_checks():
        if check.status in (CheckStatus.FAIL, CheckStatus.WARN):
            text = check.summary or check.observed or check.status.value
            fix = fix_text(check)
            if fix:
                text += f" — fix: {fix}"
            if check.status is CheckStatus.WARN:
                found.append(Fact(f"[{phase.label}] warning: {check.title}", text, None))
            else:
                found.append(Fact(f"[{phase.label}] {check.title}", text, False))
    for name in PhaseName.ordered():
        result = view.phase(name)
        if result is not None and result.forced_reason:
            found.append(Fact(f"[{name.label}] forced past a failed gate", result.forced_reason, False))
        if result is not None and result.status in (PhaseStatus.ABORTED, PhaseStatus.INTERRUPTED):
            found.append(Fact(f"[{name.label}] {result.status.value}", result.message or result.status.value, False))
    return found


def fix_text(check: CheckResult) -> str:
    """The check's fix, naming the real cause where the record shows it.

    A skipped check says why it was skipped; a readiness check whose evidence lists its items gives each
    skipped item's reason (no scan ran, no Prometheus...) instead of the fix for a failure.
    """
    if check.status is CheckStatus.SKIP and not check.fix:
        cause = check.summary.removeprefix("skipped:").strip() or "it could not run"
        return f"nothing to fix here: skipped because {cause}; fix that first"
    items = check.evidence.get("items")
    if not isinstance(items, list) or not any(isinstance(i, Mapping) and i.get("status") == "skipped" for i in items):
        return check.fix
    lines = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        if item.get("status") == "fail":
            lines.append(f"{item.get('id')}: {item.get('fix')}")
        elif item.get("status") == "skipped":
            lines.append(f"{item.get('id')}: could not be checked ({item.get('reason') or 'no reason recorded'})")
    return "\n".join(lines) or check.fix


def check_ok(check: CheckResult) -> bool | None:
    return check_status_ok(check.status)
