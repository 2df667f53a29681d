"""The BUILD phase: test suites, image build, size budget, vulnerability and layer-secret gates, push, rollback tag.

Checks and what they need (independent ones run concurrently)::

    build.tests.<suite> ─────────────────────────────┐
    build.image ─┬─ build.image_size ────────────────┤
                 ├─ build.vulnerabilities ───────────┼─ build.push ── build.git_tag
                 └─ build.layer_secrets ─────────────┘
"""

from __future__ import annotations

import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bmad.config.build import BuildConfig, TestSuite
from bmad.core.errors import AdapterError, BmadError
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName, utcnow
from bmad.core.redact import redact
from bmad.phases.build.containerfile import detect_containerfile, parse_containerfile
from bmad.phases.build.gates import evaluate_vulnerabilities, finding_dict, secrets_sarif, vulnerabilities_sarif
from bmad.phases.build.junit import JUnitSummary, parse_junit_file
from bmad.ports.images import BuildRequest, ImageEngine, ImageInfo
from bmad.ports.phase import BasePhase, Check, PhaseContext
from bmad.ports.registry import ManifestInfo, Registry
from bmad.ports.release_tag import ReleaseTagger
from bmad.ports.scanner import LayerSecretScanner, ScanReport, VulnerabilityScanner
from bmad.ports.tests_runner import CommandRunner, EnvironmentSpec, TestEnvironments, Wait

IMAGE = "build.image"
SIZE = "build.image_size"
VULNS = "build.vulnerabilities"
SECRETS = "build.layer_secrets"
PUSH = "build.push"
GIT_TAG = "build.git_tag"
TESTS_PREFIX = "build.tests."
METRIC_NAMES = (
    "build_duration_seconds",
    "test_pass_rate",
    "image_size_mb",
    "vulnerabilities_critical",
    "vulnerabilities_high",
    "image_digest",
)
BYTES_PER_MB = 1_000_000  # as `docker images` shows sizes


@dataclass
class BuildPorts:
    """Everything the phase talks to; the engine's wiring builds the adapters."""

    images: ImageEngine
    registry: Registry
    layer_secrets: LayerSecretScanner
    tagger: ReleaseTagger
    runner: CommandRunner
    environments: TestEnvironments
    # "trivy", "grype" (installed tools) and the report reader under "report" (when a report is configured).
    scanners: Mapping[str, VulnerabilityScanner] = field(default_factory=dict)
    source_url: str | None = None  # org.opencontainers.image.source (bmad.yaml, else the git remote)
    sleep: Callable[[float], None] = time.sleep
    today: Callable[[], Any] = lambda: datetime.now(UTC).date()


def image_repository(config: BuildConfig, service: str) -> str:
    return f"{config.registry.rstrip('/')}/{config.image or service}"


def render_template(template: str, ctx: PhaseContext) -> str:
    return template.format(
        sha=ctx.release.version,
        short_sha=ctx.release.short_version,
        environment=ctx.environment_name,
        service=ctx.config.service.name,
    )


class BuildPhase(BasePhase):
    name = PhaseName.BUILD

    def __init__(self, ports: BuildPorts) -> None:
        self.ports = ports
        self._started: float | None = None
        self._workdir: Path | None = None
        self._archive: Path | None = None
        self._archive_lock = threading.Lock()
        self._suite_lock = threading.Lock()
        self._build_log: list[str] = []

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def cfg(ctx: PhaseContext) -> BuildConfig:
        return ctx.config.build

    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        self._started = time.monotonic()
        config = self.cfg(ctx)
        suites = [
            Check(
                id=f"{TESTS_PREFIX}{suite.name}",
                title=f"Test suite '{suite.name}' passes",
                run=self._suite_check(suite),
            )
            for suite in config.suites
        ]
        checks = [
            *suites,
            Check(id=IMAGE, title="Container image builds", run=self.check_image),
            Check(id=SIZE, title="Image size within budget", run=self.check_size, needs=(IMAGE,)),
            Check(
                id=VULNS,
                title="No vulnerabilities at or above the gate",
                run=self.check_vulnerabilities,
                needs=(IMAGE,),
            ),
            Check(id=SECRETS, title="No secrets in image layers", run=self.check_layer_secrets, needs=(IMAGE,)),
        ]
        if config.push.enabled:
            gates = tuple(c.id for c in checks)
            checks.append(Check(id=PUSH, title="Image pushed and manifest verified", run=self.check_push, needs=gates))
            if config.git_tag.enabled:
                checks.append(
                    Check(id=GIT_TAG, title="Rollback git tag created", run=self.check_git_tag, needs=(PUSH,))
                )
        return checks

    def finish(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> Sequence[CheckResult]:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
            self._archive = None
        return ()

    def metrics(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> dict[str, MetricValue]:
        by_id = {r.id: r for r in results}
        totals = [r.evidence.get("tests") for r in results if r.id.startswith(TESTS_PREFIX)]
        counted = [t for t in totals if isinstance(t, dict)]
        executed = sum(int(t.get("total", 0)) - int(t.get("skipped", 0)) for t in counted)
        passed = sum(int(t.get("passed", 0)) for t in counted)
        metrics: dict[str, MetricValue] = dict.fromkeys(METRIC_NAMES)
        metrics["build_duration_seconds"] = (
            round(time.monotonic() - self._started, 3) if self._started is not None else None
        )
        metrics["test_pass_rate"] = round(100.0 * passed / executed, 2) if executed else None
        for check_id, names in (
            (SIZE, ("image_size_mb",)),
            (VULNS, ("vulnerabilities_critical", "vulnerabilities_high")),
        ):
            result = by_id.get(check_id)
            for name in names:
                if result is not None and name in result.metrics:
                    metrics[name] = result.metrics[name]
        push = by_id.get(PUSH)
        if push is not None and push.status is CheckStatus.PASS:
            metrics["image_digest"] = push.artifacts.get("image_digest")
        return metrics

    def _work(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="bmad-build-"))
        return self._workdir

    def _export(self, ctx: PhaseContext) -> Path:
        """The built image as a docker-archive, exported once and shared by the scanners."""
        with self._archive_lock:
            if self._archive is None:
                image_id = ctx.artifact("image_id")
                self._archive = self.ports.images.export(image_id, self._work() / "image.tar")
            return self._archive

    # ------------------------------------------------------------------ test suites

    def _suite_check(self, suite: TestSuite) -> Callable[[PhaseContext], CheckResult]:
        def run(ctx: PhaseContext) -> CheckResult:
            if self.cfg(ctx).parallel_suites:
                return self.check_suite(ctx, suite)
            with self._suite_lock:
                return self.check_suite(ctx, suite)

        return run

    def check_suite(self, ctx: PhaseContext, suite: TestSuite) -> CheckResult:
        check_id = f"{TESTS_PREFIX}{suite.name}"
        title = f"Test suite '{suite.name}' passes"
        config = self.cfg(ctx)
        repo = ctx.config.repository_dir
        cwd = (repo / suite.cwd).resolve()
        evidence: dict[str, Any] = {"command": redact(" ".join(suite.command)), "cwd": str(cwd)}
        environment = None
        if suite.environment is not None:
            env_cfg = suite.environment
            spec = EnvironmentSpec(
                project=f"bmad-{ctx.config.service.name}-{suite.name}-{random.randbytes(4).hex()}".lower(),
                cwd=repo,
                compose_file=(repo / env_cfg.compose) if env_cfg.compose else None,
                up=tuple(tuple(a) for a in env_cfg.up),
                down=tuple(tuple(a) for a in env_cfg.down),
                waits=tuple(Wait(url=w.url, tcp=w.tcp, timeout_seconds=w.timeout_seconds) for w in env_cfg.waits),
                ready_timeout_seconds=env_cfg.ready_timeout_seconds,
            )
            environment = self.ports.environments.create(spec)
            evidence["environment"] = {"project": spec.project, "compose": env_cfg.compose}
        junit_path = (cwd / suite.junit) if suite.junit else None
        started_wall = time.time()
        run = None
        try:
            if environment is not None:
                ctx.progress.log(f"suite {suite.name}: bringing up its environment")
                up = environment.up(on_line=lambda line: ctx.progress.log(f"[{suite.name}] {line}"))
                evidence["environment"]["up"] = up.steps
                if not up.ok:
                    return CheckResult(
                        id=check_id,
                        title=title,
                        status=CheckStatus.FAIL,
                        summary=f"the test environment did not come up: {up.error}",
                        expected="environment healthy before the suite runs",
                        observed=up.error or "not healthy",
                        fix="check the compose file / up commands and the health checks (see evidence)",
                        evidence=evidence,
                    )
            if ctx.cancel.is_set():
                return CheckResult(id=check_id, title=title, status=CheckStatus.SKIP, summary="cancelled")
            ctx.progress.log(f"suite {suite.name}: {' '.join(suite.command)}")
            run = self.ports.runner.run(
                suite.command, cwd=cwd, env=suite.env, timeout=suite.timeout_seconds, label=f"suite {suite.name}"
            )
        finally:
            if environment is not None:
                down = environment.down()
                leftovers = environment.leftovers() if down.ok else []
                evidence["environment"]["down"] = {"ok": down.ok, "steps": down.steps, "error": down.error}
                evidence["environment"]["leftovers"] = leftovers
        evidence.update(
            {
                "exit_code": run.exit_code,
                "timed_out": run.timed_out,
                "test_execution_seconds": round(run.duration_seconds, 3),
                "target_seconds": config.test_time_target_seconds,
                "output_tail": run.output_tail,
            }
        )
        files = tuple(f for f in (run.evidence_file,) if f)
        summary, junit_note = self._read_junit(ctx, suite, junit_path, started_wall)
        if junit_note:
            evidence["junit_note"] = junit_note
        if summary is None:  # counts from the exit code: one unit for the whole suite
            summary = JUnitSummary(total=1, failed=0 if run.exit_code == 0 else 1)
            if run.exit_code != 0:
                summary.failing.append(f"{suite.name} (exit code {run.exit_code})")
            evidence["counted_from"] = "exit code"
        else:
            evidence["counted_from"] = "junit"
            files += (f"build/tests/{suite.name}.junit.xml",)
        evidence["tests"] = summary.as_dict()
        # Per-suite pass rate for later phases, e.g. ANALYZE reads ``e2e_pass_rate`` (TQ-030) of a suite named e2e.
        rate_key = suite.name.replace("-", "_") + "_pass_rate"
        rates = {rate_key: round(100.0 * summary.passed / summary.executed, 2) if summary.executed else None}
        down_info = evidence.get("environment", {}).get("down", {})
        leftovers = evidence.get("environment", {}).get("leftovers") or []
        problems = []
        if run.timed_out:
            problems.append(f"timed out after {suite.timeout_seconds:.0f}s")
        elif run.exit_code != 0:
            problems.append(f"command exited with {run.exit_code}")
        if summary.failed or summary.errors:
            problems.append(f"{summary.failed + summary.errors} of {summary.executed} tests failed")
        if environment is not None and (not down_info.get("ok", True) or leftovers):
            problems.append(f"environment teardown incomplete ({', '.join(leftovers) or down_info.get('error')})")
        observed = f"{summary.passed}/{summary.executed} passed in {run.duration_seconds:.1f}s"
        if problems:
            status = CheckStatus.FAIL if suite.required else CheckStatus.WARN
            failing = ", ".join(summary.failing[:5])
            return CheckResult(
                id=check_id,
                title=title,
                status=status,
                summary="; ".join(problems) + (f": {failing}" if failing else ""),
                expected="all tests pass",
                observed=observed,
                fix="fix the failing tests (names in the evidence) and run BUILD again",
                evidence=evidence,
                evidence_files=files,
                artifacts=rates,
            )
        slow = run.duration_seconds > config.test_time_target_seconds
        return CheckResult(
            id=check_id,
            title=title,
            status=CheckStatus.WARN if slow else CheckStatus.PASS,
            summary=f"{observed}" + (f" (over the {config.test_time_target_seconds:.0f}s target)" if slow else ""),
            expected=f"all tests pass within {config.test_time_target_seconds:.0f}s",
            observed=observed,
            fix="split or speed up the suite" if slow else "",
            evidence=evidence,
            evidence_files=files,
            artifacts=rates,
        )

    def _read_junit(
        self, ctx: PhaseContext, suite: TestSuite, path: Path | None, started_wall: float
    ) -> tuple[JUnitSummary | None, str | None]:
        if path is None:
            return None, None
        if not path.is_file():
            return None, f"JUnit report {path} was not written; counted from the exit code"
        if path.stat().st_mtime < started_wall - 1:
            return None, f"JUnit report {path} is older than this run (stale); counted from the exit code"
        try:
            summary = parse_junit_file(path)
        except (ValueError, OSError) as exc:
            return None, f"JUnit report {path} unreadable ({exc}); counted from the exit code"
        ctx.evidence.write_text(
            f"build/tests/{suite.name}.junit.xml", path.read_text(encoding="utf-8", errors="replace")
        )
        return summary, None

    # ------------------------------------------------------------------ image

    def _containerfile(self, ctx: PhaseContext) -> tuple[Path, Path | None]:
        config = self.cfg(ctx)
        repo = ctx.config.repository_dir
        context = (repo / config.context).resolve()
        return context, detect_containerfile(context, config.containerfile, base=repo)

    def tags(self, ctx: PhaseContext) -> list[str]:
        repository = image_repository(self.cfg(ctx), ctx.config.service.name)
        return [f"{repository}:{render_template(t, ctx)}" for t in self.cfg(ctx).tags]

    def labels(self, ctx: PhaseContext) -> dict[str, str]:
        config = self.cfg(ctx)
        revision = ctx.release.version + ("-dirty" if ctx.release.dirty else "")
        labels = {
            "org.opencontainers.image.revision": revision,
            # The commit time, not the clock: the same commit builds the same image (cache hits, stable ids).
            "org.opencontainers.image.created": (ctx.release.commit_time or utcnow())
            .astimezone(UTC)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "org.opencontainers.image.title": ctx.config.service.name,
            "org.opencontainers.image.version": ctx.release.short_version,
        }
        source = config.source_url or self.ports.source_url
        if source:
            labels["org.opencontainers.image.source"] = str(source)
        labels.update(config.labels)
        return labels

    def check_image(self, ctx: PhaseContext) -> CheckResult:
        config = self.cfg(ctx)
        context, containerfile = self._containerfile(ctx)
        title = "Container image builds"
        if containerfile is None or not containerfile.is_file():
            return CheckResult(
                id=IMAGE,
                title=title,
                status=CheckStatus.FAIL,
                summary=f"no Containerfile or Dockerfile in {context}",
                expected="a Containerfile (or Dockerfile) in the build context, or build.containerfile",
                observed=str(containerfile) if containerfile else "none found",
                fix="add a Containerfile or set build.containerfile in bmad.yaml",
            )
        info = parse_containerfile(containerfile, config.build_args)
        tags = self.tags(ctx)
        labels = self.labels(ctx)
        request = BuildRequest(
            context=context,
            containerfile=containerfile,
            tags=tuple(tags),
            build_args=config.build_args,
            target=config.target,
            labels=labels,
            timeout_seconds=config.build_timeout_seconds,
        )
        task = ctx.progress.task(f"building {tags[0]}")
        lines: list[str] = []

        def on_line(line: str) -> None:
            lines.append(line)
            ctx.progress.log(line)
            task.advance()

        started = time.monotonic()
        try:
            outcome = self.ports.images.build(request, on_line=on_line)
        finally:
            task.done()
        duration = time.monotonic() - started
        self._build_log = lines
        log_file = ctx.evidence.write_text("build/image-build.log", "\n".join(lines) + "\n")
        evidence: dict[str, Any] = {
            "containerfile": str(containerfile),
            "context": str(context),
            "stages": [{"base": s.base, "name": s.name, "line": s.line} for s in info.stages],
            "multi_stage": info.multi_stage,
            "build_args": sorted(config.build_args),  # names only: values may be secret
            "target": config.target,
            "tags": tags,
            "labels": labels,
            "build_seconds": round(duration, 3),
        }
        if not outcome.ok or outcome.image_id is None:
            return CheckResult(
                id=IMAGE,
                title=title,
                status=CheckStatus.FAIL,
                summary=f"the build failed: {(outcome.error or 'unknown error').splitlines()[0][:300]}",
                expected="the image builds",
                observed=outcome.error or "no image",
                fix=f"fix {containerfile.name} (build log in the evidence) and run BUILD again",
                evidence={**evidence, "log_tail": lines[-20:]},
                evidence_files=(log_file,),
            )
        image = self.ports.images.inspect(outcome.image_id)
        evidence["image_id"] = outcome.image_id
        artifacts: dict[str, Any] = {
            "image_id": outcome.image_id,
            "image_ref": tags[0],
            "image_tags": tags,
            "multi_stage": info.multi_stage,
            "containerfile": str(containerfile),
            "base_image": info.final_base(),
        }
        if image is not None:
            artifacts["image_size_bytes"] = image.size_bytes
            evidence["layers"] = len(image.diff_ids)
        ctx.add_artifacts(artifacts)
        return CheckResult(
            id=IMAGE,
            title=title,
            status=CheckStatus.PASS,
            summary=f"built {tags[0]} ({outcome.image_id[:19]}) in {duration:.1f}s",
            expected="the image builds",
            observed=f"image {outcome.image_id[:19]}, tags {', '.join(tags)}",
            evidence=evidence,
            artifacts=artifacts,
            evidence_files=(log_file,),
        )

    def check_size(self, ctx: PhaseContext) -> CheckResult:
        config = self.cfg(ctx)
        budget = config.effective_size_budget_mb
        size_bytes = ctx.artifact("image_size_bytes")
        if size_bytes is None:
            image = self.ports.images.inspect(ctx.artifact("image_id"))
            size_bytes = image.size_bytes if image else None
        if size_bytes is None:
            raise AdapterError("container engine", "reading the image size", "the built image is gone")
        size_mb = round(size_bytes / BYTES_PER_MB, 2)
        multi = bool(ctx.artifact("multi_stage"))
        evidence = {
            "size_bytes": size_bytes,
            "image_size_mb": size_mb,
            "budget_mb": budget,
            "image_kind": config.image_kind,
            "multi_stage": multi,
        }
        stage_note = "multi-stage build" if multi else "single-stage build"
        over = size_mb > budget
        return CheckResult(
            id=SIZE,
            title="Image size within budget",
            status=CheckStatus.FAIL if over else CheckStatus.PASS,
            summary=f"{size_mb} MB against a {budget:.0f} MB budget ({stage_note})",
            expected=f"<= {budget:.0f} MB ({config.image_kind} image)",
            observed=f"{size_mb} MB, {stage_note}",
            fix=(
                "shrink the image: multi-stage build, slimmer base, fewer build tools in the final stage"
                + ("" if multi else " (this Containerfile has a single stage)")
                if over
                else ""
            ),
            evidence=evidence,
            metrics={"image_size_mb": size_mb},
        )

    # ------------------------------------------------------------------ vulnerabilities

    def _scanner(self, ctx: PhaseContext) -> VulnerabilityScanner | None:
        wanted = self.cfg(ctx).vulnerabilities.scanner
        scanners = self.ports.scanners
        if wanted == "auto":
            for name in ("trivy", "grype"):
                found = scanners.get(name)
                if found is not None and found.available():
                    return found
            return scanners.get("report")
        return scanners.get(wanted)

    def check_vulnerabilities(self, ctx: PhaseContext) -> CheckResult:
        config = self.cfg(ctx).vulnerabilities
        title = "No vulnerabilities at or above the gate"
        if not config.enabled:
            return _disabled(VULNS, title, "build.vulnerabilities.enabled")
        scanner = self._scanner(ctx)
        if scanner is None or not scanner.available():
            status = CheckStatus.FAIL if config.missing_scanner == "fail" else CheckStatus.WARN
            return CheckResult(
                id=VULNS,
                title=title,
                status=status,
                summary="no vulnerability scanner ran: trivy/grype not installed and no report configured",
                expected=f"a scan with no findings at or above {config.fail_on}",
                observed=f"scanner '{config.scanner}' not available",
                fix="install trivy or grype, or set build.vulnerabilities.report to a JSON report of this image",
                metrics={"vulnerabilities_critical": None, "vulnerabilities_high": None},
            )
        image_ref = ctx.artifact("image_ref")
        archive = self._export(ctx) if scanner.name in ("trivy", "grype") else None
        report: ScanReport = scanner.scan(image_ref=image_ref, archive=archive, evidence=ctx.evidence)
        verdict = evaluate_vulnerabilities(
            report.findings,
            fail_on=config.fail_on,
            only_fixed=config.only_fixed,
            ignore=config.ignore,
            today=self.ports.today(),
        )
        critical = verdict.counts.get("CRITICAL", 0)
        high = verdict.counts.get("HIGH", 0)
        _, containerfile = self._containerfile(ctx)
        sarif = vulnerabilities_sarif(
            verdict,
            tool=report.tool,
            image=image_ref,
            containerfile=_relative(containerfile, ctx.config.repository_dir),
        )
        sarif_file = ctx.evidence.write_text("build/vulnerabilities.sarif", sarif.to_json())
        image_id = ctx.artifact("image_id")
        evidence: dict[str, Any] = {
            "scanner": report.tool,
            "scanner_version": report.tool_version,
            "report_file": report.source_file,
            "report_image_id": report.image_id,
            "fail_on": config.fail_on,
            "only_fixed": config.only_fixed,
            "findings_total": len(report.findings),
            "by_severity": verdict.counts,
            "blocking": [finding_dict(f) for f in verdict.blocking[:100]],
            "ignored": [{**finding_dict(f), "reason": e.reason, "expires": str(e.expires)} for f, e in verdict.ignored],
            "expired_ignores": [
                {"id": f.id, "package": f.package, "expired": str(e.expires)} for f, e in verdict.expired
            ],
            "unused_ignores": [{"id": e.id, "expires": str(e.expires)} for e in verdict.unused_ignores],
            "unfixed_not_counted": verdict.unfixed_skipped,
            "reported_secrets": [{"rule": s.rule, "target": s.target, "layer": s.layer} for s in report.secrets],
        }
        metrics: dict[str, MetricValue] = {"vulnerabilities_critical": critical, "vulnerabilities_high": high}
        problems = []
        if verdict.blocking:
            ids = ", ".join(sorted({f.id for f in verdict.blocking})[:5])
            problems.append(f"{len(verdict.blocking)} finding(s) at or above {config.fail_on}: {ids}")
        for finding, entry in verdict.expired:
            problems.append(f"ignore entry for {finding.id} expired on {entry.expires} ({finding.severity})")
        if report.secrets:
            problems.append(f"{report.tool} reported {len(report.secrets)} secret(s) in the image")
        if problems:
            return CheckResult(
                id=VULNS,
                title=title,
                status=CheckStatus.FAIL,
                summary="; ".join(problems),
                expected=f"no findings at or above {config.fail_on}" + (" with a fix" if config.only_fixed else ""),
                observed=f"{critical} critical, {high} high",
                fix="upgrade the affected packages/base image; to accept a finding for a while add it to "
                "build.vulnerabilities.ignore with a reason and an expiry date (renew expired ones)",
                evidence=evidence,
                metrics=metrics,
                evidence_files=(sarif_file,),
            )
        stale = report.image_id is not None and image_id is not None and report.image_id != image_id
        if stale:
            evidence["note"] = "the report names another image id than the one built"
        return CheckResult(
            id=VULNS,
            title=title,
            status=CheckStatus.WARN if stale else CheckStatus.PASS,
            summary=f"{critical} critical, {high} high ({len(verdict.ignored)} ignored) by {report.tool}"
            + ("; the report is for another image id" if stale else ""),
            expected=f"no findings at or above {config.fail_on}",
            observed=f"{critical} critical, {high} high",
            fix="produce the report from this build's image" if stale else "",
            evidence=evidence,
            metrics=metrics,
            evidence_files=(sarif_file,),
        )

    # ------------------------------------------------------------------ secrets in layers

    def _base_layers(self, ctx: PhaseContext, image: ImageInfo | None) -> tuple[frozenset[str], str]:
        base = ctx.artifact("base_image")
        if base is None:
            return frozenset(), "no base image (FROM scratch)"
        base_info = self.ports.images.inspect(base)
        if base_info is None or image is None:
            return frozenset(), f"base image {base} not found in the engine: every layer scanned"
        prefix = []
        for ours, theirs in zip(image.diff_ids, base_info.diff_ids, strict=False):
            if ours != theirs:
                break
            prefix.append(ours)
        return frozenset(prefix), f"{len(prefix)} layer(s) of base image {base} skipped"

    def check_layer_secrets(self, ctx: PhaseContext) -> CheckResult:
        config = self.cfg(ctx).layer_secrets
        title = "No secrets in image layers"
        if not config.enabled:
            return _disabled(SECRETS, title, "build.layer_secrets.enabled")
        image = self.ports.images.inspect(ctx.artifact("image_id"))
        skip, base_note = self._base_layers(ctx, image) if config.layers == "own" else (frozenset(), "all layers")
        archive = self._export(ctx)
        scan = self.ports.layer_secrets.scan(archive, skip_diff_ids=skip, max_file_bytes=config.max_file_bytes)
        # Values found just now are registered for redaction: rewrite the build log through the redacting sink.
        if self._build_log:
            ctx.evidence.write_text("build/image-build.log", "\n".join(self._build_log) + "\n")
        allowed = {entry.fingerprint for entry in config.allow}
        blocking = [f for f in scan.findings if f.fingerprint not in allowed]
        _, containerfile = self._containerfile(ctx)
        sarif = secrets_sarif(
            scan.findings,
            allowed,
            image=ctx.artifact("image_ref"),
            containerfile=_relative(containerfile, ctx.config.repository_dir),
        )
        sarif_file = ctx.evidence.write_text("build/layer-secrets.sarif", sarif.to_json())
        findings = [
            {
                "rule": f.rule,
                "location": f.location,
                "line": f.line,
                "value": f.masked,
                "layer": f.layer,
                "layer_index": f.layer_index,
                "created_by": f.created_by,
                "fingerprint": f.fingerprint,
                "allowed": f.fingerprint in allowed,
            }
            for f in scan.findings
        ]
        evidence = {
            "layers_total": scan.layers_total,
            "layers_scanned": scan.layers_scanned,
            "layers_skipped": scan.layers_skipped,
            "base": base_note,
            "files_scanned": scan.files_scanned,
            "files_skipped": scan.files_skipped,
            "findings": findings[:100],
            "unused_allow": sorted(allowed - {f.fingerprint for f in scan.findings}),
        }
        if blocking:
            where = "; ".join(
                f"{f.rule} in {f.location} (layer {(f.layer or 'config')[:19]}, {f.created_by or 'unknown step'})"
                for f in blocking[:5]
            )
            return CheckResult(
                id=SECRETS,
                title=title,
                status=CheckStatus.FAIL,
                summary=f"{len(blocking)} secret(s) in the image: {where}",
                expected="no secrets in any layer or in the image's Env",
                observed=f"{len(blocking)} finding(s)",
                fix="remove the secret from the build context/Containerfile (a later layer deleting it does not help), "
                "rotate it, and pass secrets at run time; allow-list false positives by fingerprint in "
                "build.layer_secrets.allow",
                evidence=evidence,
                evidence_files=(sarif_file,),
                artifacts={"secrets_in_image": len(blocking)},
            )
        return CheckResult(
            id=SECRETS,
            title=title,
            status=CheckStatus.PASS,
            summary=f"{scan.files_scanned} files in {scan.layers_scanned} layer(s) scanned, no secrets"
            + (f" ({len(scan.findings)} allow-listed)" if scan.findings else ""),
            expected="no secrets in any layer or in the image's Env",
            observed="none",
            evidence=evidence,
            evidence_files=(sarif_file,),
            # Read by ANALYZE (SC-046): secrets that are not allow-listed (0 here).
            artifacts={"secrets_in_image": 0},
        )

    # ------------------------------------------------------------------ push + tag

    def _retrying(self, ctx: PhaseContext, what: str, attempts_log: list[dict[str, Any]], fn: Callable[[], Any]) -> Any:
        """Run ``fn`` with bounded retries (exponential backoff with jitter) on temporary errors."""
        config = self.cfg(ctx).push
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                value = fn()
            except AdapterError as exc:
                attempts_log.append(
                    {
                        "step": what,
                        "attempt": attempt,
                        "ok": False,
                        "error": exc.message,
                        "temporary": exc.temporary,
                        "seconds": round(time.monotonic() - started, 3),
                    }
                )
                if not exc.temporary or attempt > config.retries or ctx.cancel.is_set():
                    raise
                delay = config.backoff_seconds * (2 ** (attempt - 1))
                delay += random.uniform(0, delay / 2)
                attempts_log[-1]["retry_in_seconds"] = round(delay, 3)
                ctx.progress.log(f"{what}: {exc.message}; retrying in {delay:.1f}s ({attempt}/{config.retries})")
                self.ports.sleep(delay)
                continue
            attempts_log.append(
                {"step": what, "attempt": attempt, "ok": True, "seconds": round(time.monotonic() - started, 3)}
            )
            return value

    def check_push(self, ctx: PhaseContext) -> CheckResult:
        config = self.cfg(ctx)
        tags: list[str] = list(ctx.artifact("image_tags") or self.tags(ctx))
        repository = image_repository(config, ctx.config.service.name)
        registry = self.ports.registry
        path = repository.split("/", 1)[1]
        attempts: list[dict[str, Any]] = []
        manifests: dict[str, ManifestInfo] = {}
        lines: list[str] = []
        task = ctx.progress.task(f"pushing {repository}", total=len(tags))

        def push_one(tag: str) -> None:
            registry.ping()
            self.ports.images.push(repository, tag, on_line=lines.append)

        try:
            for ref in tags:
                tag = ref.rsplit(":", 1)[1]
                self._retrying(ctx, f"push {tag}", attempts, lambda tag=tag: push_one(tag))  # type: ignore[misc]
                task.advance()
            for ref in tags:
                tag = ref.rsplit(":", 1)[1]
                manifests[tag] = self._retrying(
                    ctx,
                    f"manifest {tag}",
                    attempts,
                    lambda tag=tag: registry.manifest(path, tag),  # type: ignore[misc]
                )
        except BmadError as exc:
            retries = _retries(attempts)
            return CheckResult(
                id=PUSH,
                title="Image pushed and manifest verified",
                status=CheckStatus.FAIL,
                summary=f"push to {registry.address} failed after {len(attempts)} attempt(s): {exc.message}",
                expected=f"{', '.join(tags)} in {registry.address} with one digest",
                observed=exc.message,
                fix=(exc.hint + "; " if exc.hint else "")
                + f"check that the registry {registry.address} is up and accepts pushes, then run BUILD again",
                evidence={"attempts": attempts, "retries": retries, "tags": tags, "push_log": lines[-30:]},
            )
        finally:
            task.done()
        pushed = {tag: manifest.digest for tag, manifest in manifests.items()}
        digests = set(pushed.values())
        image_id = ctx.artifact("image_id")
        foreign = {t: m.config_digest for t, m in manifests.items() if m.config_digest not in (None, image_id)}
        evidence = {
            "attempts": attempts,
            "retries": _retries(attempts),
            "tags": tags,
            "digests": pushed,
            "push_log": lines[-30:],
        }
        if len(digests) != 1:
            return CheckResult(
                id=PUSH,
                title="Image pushed and manifest verified",
                status=CheckStatus.FAIL,
                summary=f"the tags point to different manifests: {pushed}",
                expected="every tag points to the same manifest digest",
                observed=str(pushed),
                fix="another push raced this one; run BUILD again",
                evidence=evidence,
            )
        if foreign:
            return CheckResult(
                id=PUSH,
                title="Image pushed and manifest verified",
                status=CheckStatus.FAIL,
                summary=f"the registry's manifest is not the image built here (config {foreign})",
                expected=f"manifest config digest {image_id}",
                observed=str(foreign),
                fix="another push overwrote the tags; run BUILD again",
                evidence=evidence,
            )
        evidence["manifest"] = {
            "media_type": next(iter(manifests.values())).media_type,
            "config_digest": image_id,
            "layers": next(iter(manifests.values())).layers,
        }
        digest = digests.pop()
        artifacts = {
            "image_digest": digest,
            "image": repository,
            "image_tags": tags,
            "image_pinned": f"{repository}@{digest}",
        }
        ctx.add_artifacts(artifacts)
        return CheckResult(
            id=PUSH,
            title="Image pushed and manifest verified",
            status=CheckStatus.PASS,
            summary=f"pushed {', '.join(t.rsplit(':', 1)[1] for t in tags)} to {repository}: {digest}",
            expected=f"{', '.join(tags)} in {registry.address} with one digest",
            observed=digest,
            evidence=evidence,
            artifacts=artifacts,
            metrics={"image_digest": digest},
        )

    def check_git_tag(self, ctx: PhaseContext) -> CheckResult:
        config = self.cfg(ctx).git_tag
        name = render_template(config.name, ctx)
        digest = ctx.artifact("image_digest")
        repository = ctx.artifact("image")
        message = "\n".join(
            [
                f"bmad release {ctx.config.service.name} {ctx.release.short_version} for {ctx.environment_name}",
                "",
                f"image: {repository}@{digest}",
                f"tags: {', '.join(ctx.artifact('image_tags') or [])}",
                f"commit: {ctx.release.version}",
            ]
        )
        outcome = self.ports.tagger.tag(name, commit=ctx.release.version, message=message)
        evidence: dict[str, Any] = {"name": name, "action": outcome.action, "message": message}
        pushed_to = None
        if config.push and self.ports.tagger.has_remote(config.remote):
            self.ports.tagger.push(name, remote=config.remote, force=outcome.action == "moved")
            pushed_to = config.remote
        evidence["pushed_to"] = pushed_to
        artifacts = {"git_tag": name}
        ctx.add_artifacts(artifacts)
        remote_note = f", pushed to {pushed_to}" if pushed_to else ", not pushed (no remote)"
        return CheckResult(
            id=GIT_TAG,
            title="Rollback git tag created",
            status=CheckStatus.PASS,
            summary=f"tag {name} {outcome.action}{remote_note}",
            expected="an annotated tag naming the image digest",
            observed=name,
            evidence=evidence,
            artifacts=artifacts,
        )


def _retries(attempts: list[dict[str, Any]]) -> int:
    """How many attempts failed with a temporary error and were tried again."""
    return sum(1 for attempt in attempts if "retry_in_seconds" in attempt)


def _disabled(check_id: str, title: str, setting: str) -> CheckResult:
    """A gate turned off: a warning (so production, where warnings fail, cannot push without it)."""
    return CheckResult(
        id=check_id,
        title=title,
        status=CheckStatus.WARN,
        summary=f"not checked: {setting} is false",
        expected="the gate runs",
        observed="disabled",
        fix=f"set {setting}: true",
        evidence={"disabled": setting},
    )


def _relative(path: Path | None, base: Path) -> str | None:
    if path is None:
        return None
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)
