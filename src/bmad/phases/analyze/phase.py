"""The ANALYZE phase: readiness catalog, manifest validation, secrets, snapshot, rollback plan, risk.

Checks (ids never change):

* ``analyze.manifests``            schema/API validation (+ dry-run)      -> kubernetes_manifests_valid
* ``analyze.readiness.<category>`` one result per catalog category, failures with their fix
* ``analyze.readiness``            score, checklist % and the hard gate   -> readiness_checklist_complete
* ``analyze.secrets``              referenced/required Secrets and keys   -> secrets_configured
* ``analyze.snapshot``             what runs now (the rollback point)     -> artifact ``snapshot``
* ``analyze.rollback_plan``        plan from the snapshot                 -> rollback_plan_documented
* ``analyze.risk``                 decision matrix + mitigations          -> risk_assessment_complete
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bmad.core.errors import BmadError
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName
from bmad.phases.analyze.attestations import Attestations
from bmad.phases.analyze.context import EvalContext, Evidence
from bmad.phases.analyze.manifests import Bundle, ParseFinding, load_bundle
from bmad.phases.analyze.model import Category, ItemStatus, Location, Severity
from bmad.phases.analyze.outputs import to_junit, to_sarif
from bmad.phases.analyze.readiness import ReadinessReport, run_catalog
from bmad.phases.analyze.risk import assess, infer_change_types
from bmad.phases.analyze.rollback import build_rollback_plan, render_plan_markdown
from bmad.phases.analyze.secrets import check_secrets, secret_requirements
from bmad.phases.analyze.suppressions import SuppressionSet
from bmad.phases.analyze.validation import ValidationFinding, ValidationReport, validate_bundle
from bmad.ports.phase import BasePhase, Check, PhaseContext
from bmad.ports.schemas import SchemaValidator
from bmad.ports.source import SourceHistory
from bmad.ports.target import Target

METRIC_NAMES = (
    "readiness_checklist_complete",
    "kubernetes_manifests_valid",
    "secrets_configured",
    "rollback_plan_documented",
    "risk_assessment_complete",
)
MANIFEST_CANDIDATES = ("k8s", "kubernetes", "deploy/k8s", "manifests")


class DryRunner(Protocol):
    def dry_run(self, objects: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]: ...


@dataclass
class Prepared:
    bundle: Bundle
    validation: ValidationReport
    eval_ctx: EvalContext
    report: ReadinessReport
    manifests_dir: str | None


def find_manifests_dir(ctx: PhaseContext) -> Path | None:
    config = ctx.config
    configured = config.analyze.manifests or getattr(ctx.environment.target.kubernetes, "manifests", None)
    if configured:
        return config.resolve_path(configured)
    for name in MANIFEST_CANDIDATES:
        candidate = config.resolve_path(name)
        if candidate.is_dir():
            return candidate
    return None


class AnalyzePhase(BasePhase):
    name = PhaseName.ANALYZE

    def __init__(
        self,
        *,
        schemas: SchemaValidator | None,
        target: Target | None = None,
        target_note: str = "no target configured",
        dry_runner: DryRunner | None = None,
        dry_run_note: str = "no Kubernetes target configured",
        source: SourceHistory | None = None,
        attestations: Callable[[], Attestations] | None = None,
        now: datetime | None = None,
    ) -> None:
        self.schemas = schemas
        self.target = target
        self.target_note = target_note
        self.dry_runner = dry_runner
        self.dry_run_note = dry_run_note
        self.source = source
        self._attestations = attestations or Attestations
        self._now = now
        self._lock = threading.Lock()
        self._prepared: Prepared | None = None

    # -- shared preparation -------------------------------------------------------------------
    def prepare(self, ctx: PhaseContext) -> Prepared:
        with self._lock:
            if self._prepared is None:
                self._prepared = self._prepare(ctx)
            return self._prepared

    def _prepare(self, ctx: PhaseContext) -> Prepared:
        settings = ctx.config.analyze
        folder = find_manifests_dir(ctx)
        if folder is not None and folder.exists():
            bundle = load_bundle(
                [folder],
                max_file_mb=settings.max_file_mb,
                default_namespace=settings.default_namespace,
                relative_to=ctx.config.base_dir,
            )
        else:
            bundle = Bundle(source=str(folder) if folder else "(no manifests folder)")
            where = str(folder) if folder else ", ".join(MANIFEST_CANDIDATES)
            bundle.findings.append(
                ParseFinding(where, f"no manifests found (looked in {where}); set analyze.manifests", "unreadable")
            )
        validation = validate_bundle(
            bundle,
            self.schemas,
            kubernetes_version=settings.kubernetes_version,
            reject_missing_schemas=settings.reject_missing_schemas,
        )
        eval_ctx = EvalContext(
            bundle=bundle,
            settings=settings,
            config=ctx.config,
            environment_name=ctx.environment_name,
            first_deployment=_first_deployment(ctx),
            evidence=Evidence(dict(ctx.previous)),
            attestations=self._attestations(),
            schema_results=validation.schema_results if self.schemas is not None else None,
            now=self._now or datetime.now(UTC),
            dry_run_note=self.dry_run_note,
        )
        failures: list[tuple[int, str]] | None = None
        if self.dry_runner is not None and settings.server_dry_run and bundle.objects:
            try:
                failures = self.dry_runner.dry_run([o.data for o in bundle.objects])
            except BmadError as exc:
                eval_ctx.dry_run_error = str(exc)
                validation.dry_run = f"could not run: {exc}"
                validation.findings.append(
                    ValidationFinding(None, None, f"server dry-run could not run: {exc}", "dry_run", "warning")
                )
        if failures is not None:
            eval_ctx.dry_run = []
            for index, message in failures:
                obj = bundle.objects[index]
                loc = Location(obj.namespace, obj.kind, obj.name, None, obj.file, obj.line)
                eval_ctx.dry_run.append((loc, message))
            validation.dry_run = f"{len(bundle.objects) - len(failures)}/{len(bundle.objects)} accepted"
            for loc, message in eval_ctx.dry_run:
                validation.findings.append(
                    ValidationFinding(loc.file, loc.line, f"dry-run: {message}", "dry_run", "error", loc.logical)
                )
        elif eval_ctx.dry_run_error is not None:
            pass
        elif not settings.server_dry_run:
            eval_ctx.dry_run_note = "disabled (analyze.server_dry_run: false)"
            validation.dry_run = eval_ctx.dry_run_note
        else:
            validation.dry_run = f"not run: {eval_ctx.dry_run_note}"
        suppressions = SuppressionSet(
            settings.suppressions, today=eval_ctx.today, enabled=not bool(ctx.options.get("no_suppressions"))
        )
        report = run_catalog(eval_ctx, suppressions=suppressions)
        return Prepared(bundle, validation, eval_ctx, report, str(folder) if folder else None)

    # -- checks ---------------------------------------------------------------------------------
    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        checks = [
            Check("analyze.manifests", "Kubernetes manifests validated", self.check_manifests),
            Check("analyze.readiness", "Production readiness checklist", self.check_readiness),
        ]
        for category in Category:
            checks.append(
                Check(
                    f"analyze.readiness.{category.slug}",
                    f"Readiness: {category.value}",
                    self._category_check(category),
                )
            )
        checks += [
            Check("analyze.secrets", "Secrets configured in the target", self.check_secrets),
            Check("analyze.snapshot", "Current state documented (rollback point)", self.check_snapshot),
            Check(
                "analyze.rollback_plan",
                "Rollback plan documented",
                self.check_rollback_plan,
                needs=("analyze.snapshot",),
            ),
            Check("analyze.risk", "Risk assessment complete", self.check_risk, needs=("analyze.rollback_plan",)),
        ]
        return checks

    def check_manifests(self, ctx: PhaseContext) -> CheckResult:
        prepared = self.prepare(ctx)
        validation = prepared.validation
        summary = validation.summary()
        file = ctx.evidence.write_json(
            "analyze/validation.json",
            {"summary": summary, "findings": [f.to_dict() for f in validation.findings]},
        )
        errors = validation.errors
        warnings = [f for f in validation.findings if f.level == "warning"]
        notes = [f for f in validation.findings if f.level == "note"]
        ok = not errors and bool(prepared.bundle.objects)
        observed_lines = [f"{f.file}:{f.line}: {f.message}" for f in (errors + warnings)[:15]]
        if not prepared.bundle.objects and not errors:
            observed_lines.insert(0, "no Kubernetes objects found")
        return CheckResult(
            id="analyze.manifests",
            title="Kubernetes manifests validated",
            status=CheckStatus.FAIL if not ok else (CheckStatus.WARN if warnings else CheckStatus.PASS),
            summary=(
                f"{summary['objects']} objects: {summary['valid']} valid, {summary['invalid']} invalid, "
                f"{summary['skipped_no_schema']} skipped (no schema); {len(errors)} error(s), "
                f"{len(warnings)} warning(s); dry-run: {validation.dry_run}"
            ),
            expected=f"every object valid for Kubernetes {validation.kubernetes_version} (strict), no removed APIs, "
            "no duplicate keys, server dry-run accepted when a cluster is configured",
            observed="\n".join(observed_lines) or (f"{len(notes)} note(s)" if notes else "all valid"),
            fix="fix each finding at the file:line shown (schema paths name the field)" if not ok else "",
            evidence={
                "summary": summary,
                "errors": [f.to_dict() for f in errors[:50]],
                "warnings": [f.to_dict() for f in warnings[:50]],
                "notes": [f.to_dict() for f in notes[:50]],
            },
            metrics={"kubernetes_manifests_valid": ok},
            artifacts={
                "manifest_validation": {"summary": summary, "findings": [f.to_dict() for f in validation.findings]}
            },
            evidence_files=(file,),
        )

    def _category_check(self, category: Category) -> Callable[[PhaseContext], CheckResult]:
        def run(ctx: PhaseContext) -> CheckResult:
            report = self.prepare(ctx).report
            items = report.by_category(category)
            counts = report.counts(items)
            failed = [i for i in items if i.status is ItemStatus.FAIL]
            skipped = [i for i in items if i.status is ItemStatus.SKIPPED]
            serious = [i for i in failed if i.entry.severity in (Severity.CRITICAL, Severity.HIGH)]
            status = CheckStatus.FAIL if serious else (CheckStatus.WARN if failed or skipped else CheckStatus.PASS)
            score = report.category_scores.get(category)
            observed = []
            for item in failed:
                first = item.failures[0]
                where = first.location.logical if first.location.kind else (first.location.file or "")
                more = f" (+{len(item.failures) - 1} more)" if len(item.failures) > 1 else ""
                observed.append(
                    f"{item.entry.id} [{item.entry.severity.value}] {item.entry.title}: "
                    f"{where + ': ' if where else ''}{first.message}{more}"
                )
            observed += [f"{i.entry.id} skipped: {i.reason}" for i in skipped]
            return CheckResult(
                id=f"analyze.readiness.{category.slug}",
                title=f"Readiness: {category.value}",
                status=status,
                summary=(
                    f"{counts['pass']} pass, {counts['fail']} fail, {counts['skipped']} skipped, "
                    f"{counts['not_applicable']} n/a, {counts['suppressed']} suppressed; "
                    f"score {score if score is not None else 'n/a'}"
                ),
                expected="every applicable item passes",
                observed="\n".join(observed) or "all applicable items pass",
                fix="\n".join(f"{i.entry.id}: {i.entry.fix}" for i in failed + skipped),
                evidence={
                    "score": score,
                    "counts": counts,
                    "items": _capped(
                        {"items": [i.to_dict() for i in items if i.status is not ItemStatus.PASS or i.findings]}
                    )["items"],
                },
            )

        return run

    def check_readiness(self, ctx: PhaseContext) -> CheckResult:
        prepared = self.prepare(ctx)
        report = prepared.report
        data = report.to_dict()
        files = (
            ctx.evidence.write_json("analyze/readiness.json", data),
            ctx.evidence.write_text(
                "analyze/readiness.sarif", to_sarif(data, default_file=_config_name(ctx)).to_json()
            ),
            ctx.evidence.write_text("analyze/readiness.junit.xml", to_junit(data).to_xml()),
        )
        threshold = ctx.config.analyze.min_readiness_percent
        critical = report.critical_failures
        status = CheckStatus.PASS
        reasons = []
        if critical:
            status = CheckStatus.FAIL
            reasons.append("critical item(s) failed: " + ", ".join(i.entry.id for i in critical))
        counts = report.counts()
        if report.complete_percent < threshold:
            # Skipped items could not be checked (e.g. no vulnerability scanner ran): unknown, not failed.
            # When only they hold the checklist below the threshold the gate warns - and warnings fail
            # production environments (warn_as_fail) - the way BUILD treats a missing scanner.
            applicable = len(report.items) - counts["not_applicable"]
            if_known = 100.0 * (counts["pass"] + counts["skipped"]) / applicable if applicable else 0.0
            skipped_ids = [i.entry.id for i in report.items if i.status is ItemStatus.SKIPPED]
            if if_known >= threshold:
                if status is not CheckStatus.FAIL:
                    status = CheckStatus.WARN
                reasons.append(
                    f"checklist {report.complete_percent}% complete, below analyze.min_readiness_percent {threshold} "
                    f"only because {len(skipped_ids)} item(s) could not be checked: {', '.join(skipped_ids)}"
                )
            else:
                status = CheckStatus.FAIL
                reasons.append(
                    f"checklist {report.complete_percent}% complete, below analyze.min_readiness_percent {threshold}"
                )
        return CheckResult(
            id="analyze.readiness",
            title="Production readiness checklist",
            status=status,
            summary=(
                f"{report.complete_percent}% complete ({counts['pass']} pass, {counts['fail']} fail, "
                f"{counts['skipped']} skipped, {counts['not_applicable']} n/a of {len(report.items)}); "
                f"score {report.overall_score}"
            ),
            expected=f"no critical failure and ≥ {threshold}% of applicable items passing",
            observed="; ".join(reasons) or "met",
            fix="\n".join(f"{i.entry.id}: {i.entry.fix}" for i in critical)
            or ("see the failing items of each category" if status is CheckStatus.FAIL else "")
            or ("make the skipped items checkable (see each category's fix)" if status is CheckStatus.WARN else ""),
            evidence={
                "category_scores": data["category_scores"],
                "overall_score": report.overall_score,
                "critical_failures": data["critical_failures"],
                "suppression_notes": report.suppression_notes,
                "manifests": prepared.manifests_dir,
            },
            metrics={"readiness_checklist_complete": report.complete_percent},
            artifacts={"readiness": _capped(data)},
            evidence_files=files,
        )

    def check_secrets(self, ctx: PhaseContext) -> CheckResult:
        prepared = self.prepare(ctx)
        requirements = secret_requirements(prepared.bundle, ctx.config.analyze)
        title = "Secrets configured in the target"
        if not requirements:
            return CheckResult(
                id="analyze.secrets",
                title=title,
                status=CheckStatus.PASS,
                summary="the release references no Secret and bmad.yaml names none",
                expected="every referenced Secret and required key exists",
                observed="nothing required",
                metrics={"secrets_configured": True},
            )
        if self.target is None:
            return CheckResult(
                id="analyze.secrets",
                title=title,
                status=CheckStatus.SKIP,
                summary=f"cannot check {len(requirements)} Secret(s): {self.target_note}",
                evidence={"required": [r.to_dict() for r in requirements]},
                metrics={"secrets_configured": False},
            )
        statuses = check_secrets(requirements, prepared.bundle, self.target)
        bad = [s for s in statuses if not s.ok]
        observed = []
        for s in statuses:
            where = f"{s.requirement.namespace}/{s.requirement.name}" if s.requirement.namespace else s.requirement.name
            if not s.exists:
                observed.append(f"{where}: missing" + (" (optional)" if s.requirement.optional else ""))
            elif s.missing_keys:
                observed.append(f"{where}: missing key(s) {', '.join(s.missing_keys)}")
            else:
                observed.append(f"{where}: present ({s.source})")
        fixes = []
        for s in bad:
            keys = s.missing_keys or sorted(s.requirement.keys)
            ns = f" -n {s.requirement.namespace}" if s.requirement.namespace else ""
            literal = " ".join(f"--from-literal={k}=..." for k in keys) or "--from-literal=KEY=..."
            fixes.append(
                f"kubectl create secret generic {s.requirement.name}{ns} {literal}"
                if self.target.kind == "kubernetes"
                else f"create the engine secret {s.requirement.name} (podman secret create ...)"
            )
        present = sum(1 for s in statuses if s.exists and not s.missing_keys)
        return CheckResult(
            id="analyze.secrets",
            title=title,
            status=CheckStatus.FAIL if bad else CheckStatus.PASS,
            summary=f"{present}/{len(statuses)} Secret(s) configured",
            expected="every Secret the bundle references and every key bmad.yaml requires exists (names only)",
            observed="\n".join(observed),
            fix="\n".join(fixes),
            evidence={"secrets": [s.to_dict() for s in statuses], "target": self.target.kind},
            metrics={"secrets_configured": not bad},
        )

    def check_snapshot(self, ctx: PhaseContext) -> CheckResult:
        title = "Current state documented (rollback point)"
        if self.target is None:
            return CheckResult(
                id="analyze.snapshot",
                title=title,
                status=CheckStatus.FAIL,
                summary=f"no snapshot: {self.target_note}",
                fix="configure environments.<env>.target so the current state can be read",
            )
        snapshot = self.target.snapshot(ctx.config.service.name, ctx.environment_name).to_dict()
        file = ctx.evidence.write_json("analyze/snapshot.json", snapshot)
        exists = bool(snapshot.get("exists"))
        described = (
            f"{snapshot.get('kind')}: release {snapshot.get('release')}, "
            f"images {snapshot.get('images') or snapshot.get('image')}, replicas {snapshot.get('replicas')}"
            + (f", revision {snapshot.get('revision')}" if snapshot.get("revision") else "")
            if exists
            else f"nothing of {ctx.config.service.name} runs in {ctx.environment_name} yet (first deployment)"
        )
        return CheckResult(
            id="analyze.snapshot",
            title=title,
            status=CheckStatus.PASS,
            summary=described,
            expected="the live state recorded before DEPLOY changes it",
            observed=described,
            evidence={"snapshot": snapshot},
            artifacts={"snapshot": snapshot},
            evidence_files=(file,),
        )

    def check_rollback_plan(self, ctx: PhaseContext) -> CheckResult:
        snapshot = ctx.artifact("snapshot") or {}
        durations = []
        try:
            for record in ctx.history.previous_releases(limit=20):
                deploy = record.phases.get(PhaseName.DEPLOY)
                if deploy is not None and deploy.duration_seconds > 0:
                    durations.append(deploy.duration_seconds)
        except Exception:  # noqa: S110 - no history is fine: fall back to the configured timeout
            pass
        prepared = self.prepare(ctx)
        plan = build_rollback_plan(
            snapshot,
            service=ctx.config.service.name,
            environment=ctx.environment_name,
            release_version=ctx.release.version,
            timeout_seconds=float(getattr(ctx.config.deploy, "rollback_timeout_seconds", 120.0)),
            manifests=prepared.manifests_dir,
            past_durations=durations[:10],
        )
        files = (
            ctx.evidence.write_text("analyze/rollback_plan.md", render_plan_markdown(plan)),
            ctx.evidence.write_json("analyze/rollback_plan.json", plan),
        )
        documented = bool(plan.get("commands")) and "to" in plan
        return CheckResult(
            id="analyze.rollback_plan",
            title="Rollback plan documented",
            status=CheckStatus.PASS if documented else CheckStatus.FAIL,
            summary=f"roll back {plan['what']} to {plan['to']} in ~{plan['expected_seconds']} s",
            expected="what, to which digest/revision, exact command, expected time",
            observed="\n".join(plan["commands"]),
            evidence={"plan": plan},
            metrics={"rollback_plan_documented": documented},
            artifacts={"rollback_plan": plan},
            evidence_files=files,
        )

    def check_risk(self, ctx: PhaseContext) -> CheckResult:
        prepared = self.prepare(ctx)
        settings = ctx.config.analyze.risk
        env = ctx.environment
        forced = ctx.options.get("change_type") or settings.change_type
        base = head = None
        files_changed = 0
        if forced:
            types = [str(t) for t in (forced if isinstance(forced, list | tuple) else [forced])]
            reasons = [f"change type given: {', '.join(types)}"]
            inferred = False
        elif self.source is None:
            return CheckResult(
                id="analyze.risk",
                title="Risk assessment complete",
                status=CheckStatus.FAIL,
                summary="cannot read the change: no git repository",
                fix="set analyze.risk.change_type, or run bmad inside the service's git repository",
                metrics={"risk_assessment_complete": False},
            )
        else:
            last = ctx.history.last_deployed()
            head = self.source.resolve(ctx.release.version) or self.source.head()
            base = self.source.resolve(last.release.version) if last is not None else None
            changed = self.source.changed_files(base, head)
            files_changed = len(changed)
            source = self.source

            def diff(paths: list[str]) -> str:
                return source.diff_text(base, str(head), paths)

            types, reasons = infer_change_types(
                changed, settings, production=env.production, first_release=base is None, diff_text=diff
            )
            if last is not None and base is None:
                reasons.append(f"last deployed release {last.release.short_version} is not in this repository")
            inferred = True
        facts = _mitigation_facts(ctx, prepared.eval_ctx.evidence, prepared.validation)
        assessment = assess(
            types,
            reasons,
            environment=ctx.environment_name,
            environment_risk=env.risk,
            facts=facts,
            attestations=prepared.eval_ctx.attestations,
            today=prepared.eval_ctx.today,
            inferred=inferred,
        )
        assessment.base, assessment.head, assessment.files = base, head, files_changed
        data = assessment.to_dict()
        file = ctx.evidence.write_json("analyze/risk.json", data)
        missing = assessment.missing_mitigations if assessment.level == "high" else []
        return CheckResult(
            id="analyze.risk",
            title="Risk assessment complete",
            status=CheckStatus.PASS if assessment.complete else CheckStatus.FAIL,
            summary=f"risk {assessment.level.upper()} ({', '.join(assessment.change_types)}); "
            f"B-MAD required: {assessment.bmad_required}",
            expected="risks identified; for HIGH every required mitigation in place",
            observed=assessment.render(),
            fix="\n".join(f"{m.id}: {m.text} ({m.how})" for m in missing),
            evidence=data,
            metrics={"risk_assessment_complete": assessment.complete},
            artifacts={"risk": data},
            evidence_files=(file,),
        )

    def metrics(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> dict[str, MetricValue]:
        merged: dict[str, MetricValue] = {
            "readiness_checklist_complete": 0.0,
            "kubernetes_manifests_valid": False,
            "secrets_configured": False,
            "rollback_plan_documented": False,
            "risk_assessment_complete": False,
        }
        for result in results:
            for key in METRIC_NAMES:
                if key in result.metrics:
                    merged[key] = result.metrics[key]
        return merged


MAX_FINDINGS_PER_ITEM = 200


def _capped(data: dict[str, Any]) -> dict[str, Any]:
    """The readiness report for the phase record: every item, at most 200 findings each (the
    evidence file analyze/readiness.json keeps them all)."""
    items = []
    for item in data["items"]:
        findings = item["findings"]
        if len(findings) > MAX_FINDINGS_PER_ITEM:
            item = {
                **item,
                "findings": findings[:MAX_FINDINGS_PER_ITEM],
                "findings_truncated": len(findings) - MAX_FINDINGS_PER_ITEM,
            }
        items.append(item)
    return {**data, "items": items}


def _config_name(ctx: PhaseContext) -> str:
    return Path(ctx.config.source_path).name if ctx.config.source_path else "bmad.yaml"


def _mitigation_facts(ctx: PhaseContext, evidence: Evidence, validation: ValidationReport) -> dict[str, bool | None]:
    def metric(phase: PhaseName, key: str) -> Any:
        return evidence.lookup(phase, key)[1]

    rate = metric(PhaseName.BUILD, "test_pass_rate")
    crit, high = metric(PhaseName.BUILD, "vulnerabilities_critical"), metric(PhaseName.BUILD, "vulnerabilities_high")
    alerts = metric(PhaseName.MEASURE, "alert_rules_loaded")
    plan = ctx.artifact("rollback_plan")
    load = metric(PhaseName.MEASURE, "load_test")

    def known(value: Any, test: Callable[[Any], bool]) -> bool | None:
        if value is None:
            return False if ctx.previous else None
        try:
            return bool(test(value))
        except (TypeError, ValueError):
            return False

    return {
        "rollback_plan_documented": bool(plan),
        "baseline_captured": known(metric(PhaseName.MEASURE, "baseline_captured"), lambda v: v is True),
        "alerts_loaded": known(alerts, lambda v: float(v) > 0),
        "tests_passed": known(rate, lambda v: float(str(v).rstrip("%")) >= 100),
        "scan_clean": known(crit, lambda v: int(v) == 0 and int(high or 0) == 0),
        "kubernetes_manifests_valid": validation.ok and validation.objects > 0,
        "load_tested": known(load, lambda v: bool(v)),
    }


def _first_deployment(ctx: PhaseContext) -> bool:
    """No release of this service was ever deployed to the environment (per the ledger)."""
    try:
        return ctx.history.last_deployed() is None
    except Exception:  # no history port or ledger: do not guess "first"
        return False
