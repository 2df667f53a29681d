"""build.tests.<suite>: a test suite passes, its environment brought up before and torn down after (always).

One check per configured suite. Counts come from the suite's JUnit report when it wrote a fresh one, else
from the exit code (one unit for the whole suite). A failing optional suite only warns.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from bmad.config.build import BuildConfig, TestSuite
from bmad.core.models import CheckResult, CheckStatus
from bmad.core.redact import redact
from bmad.phases.build.junit import JUnitSummary, parse_junit_file
from bmad.phases.build.ports import BuildPorts
from bmad.phases.build.workspace import BuildWorkspace
from bmad.ports.artifacts import SuitePassRate
from bmad.ports.phase import CheckId, PhaseContext
from bmad.ports.tests_runner import CommandRun, EnvironmentSpec, TestEnvironment, Wait

PREFIX = "build.tests."
NEEDS: tuple[str, ...] = ()


def check_of(suite: TestSuite) -> CheckId:
    return CheckId(f"{PREFIX}{suite.name}", f"Test suite '{suite.name}' passes")


def run(ctx: PhaseContext, ports: BuildPorts, work: BuildWorkspace, suite: TestSuite) -> CheckResult:
    """Run ``suite``; suites take turns unless build.parallel_suites."""
    if ctx.config.build.parallel_suites:
        return run_suite(ctx, ports, suite)
    with work.suite_lock:
        return run_suite(ctx, ports, suite)


def run_suite(ctx: PhaseContext, ports: BuildPorts, suite: TestSuite) -> CheckResult:
    check = check_of(suite)
    cwd = (ctx.config.repository_dir / suite.cwd).resolve()
    evidence: dict[str, Any] = {"command": redact(" ".join(suite.command)), "cwd": str(cwd)}
    environment = _create_environment(ctx, ports, suite, evidence)
    started_wall = time.time()
    outcome = _run_in_environment(ctx, ports, suite, cwd, environment, evidence)
    if isinstance(outcome, CheckResult):
        return outcome
    evidence.update(
        {
            "exit_code": outcome.exit_code,
            "timed_out": outcome.timed_out,
            "test_execution_seconds": round(outcome.duration_seconds, 3),
            "target_seconds": ctx.config.build.test_time_target_seconds,
            "output_tail": outcome.output_tail,
        }
    )
    files = tuple(f for f in (outcome.evidence_file,) if f)
    junit_path = (cwd / suite.junit) if suite.junit else None
    summary, junit_note = _read_junit(ctx, suite, junit_path, started_wall)
    if junit_note:
        evidence["junit_note"] = junit_note
    if summary is None:  # counts from the exit code: one unit for the whole suite
        summary = JUnitSummary(total=1, failed=0 if outcome.exit_code == 0 else 1)
        if outcome.exit_code != 0:
            summary.failing.append(f"{suite.name} (exit code {outcome.exit_code})")
        evidence["counted_from"] = "exit code"
    else:
        evidence["counted_from"] = "junit"
        files += (f"build/tests/{suite.name}.junit.xml",)
    evidence["tests"] = summary.as_dict()
    problems = _problems(suite, outcome, summary, evidence.get("environment"))
    return _verdict(check, ctx.config.build, suite, outcome, summary, problems, evidence, files)


def _create_environment(
    ctx: PhaseContext, ports: BuildPorts, suite: TestSuite, evidence: dict[str, Any]
) -> TestEnvironment | None:
    """The suite's environment (not up yet), under a project name unique to this run."""
    if suite.environment is None:
        return None
    config = suite.environment
    repo = ctx.config.repository_dir
    spec = EnvironmentSpec(
        project=f"bmad-{ctx.config.service.name}-{suite.name}-{random.randbytes(4).hex()}".lower(),
        cwd=repo,
        compose_file=(repo / config.compose) if config.compose else None,
        profiles=tuple(config.profiles),
        up=tuple(tuple(a) for a in config.up),
        down=tuple(tuple(a) for a in config.down),
        waits=tuple(Wait(url=w.url, tcp=w.tcp, timeout_seconds=w.timeout_seconds) for w in config.waits),
        ready_timeout_seconds=config.ready_timeout_seconds,
    )
    environment = ports.environments.create(spec)
    evidence["environment"] = {"project": spec.project, "compose": config.compose}
    return environment


def _run_in_environment(
    ctx: PhaseContext,
    ports: BuildPorts,
    suite: TestSuite,
    cwd: Path,
    environment: TestEnvironment | None,
    evidence: dict[str, Any],
) -> CommandRun | CheckResult:
    """The suite's run, or the result that stopped it; the environment is torn down either way."""
    try:
        if environment is not None:
            ctx.progress.log(f"suite {suite.name}: bringing up its environment")
            up = environment.up(on_line=lambda line: ctx.progress.log(f"[{suite.name}] {line}"))
            evidence["environment"]["up"] = up.steps
            if not up.ok:
                return check_of(suite).failed(
                    f"the test environment did not come up: {up.error}",
                    expected="environment healthy before the suite runs",
                    observed=up.error or "not healthy",
                    fix="check the compose file / up commands and the health checks (see evidence)",
                    evidence=evidence,
                )
        if ctx.cancel.is_set():
            return check_of(suite).skipped("cancelled")
        ctx.progress.log(f"suite {suite.name}: {' '.join(suite.command)}")
        return ports.runner.run(
            suite.command, cwd=cwd, env=suite.env, timeout=suite.timeout_seconds, label=f"suite {suite.name}"
        )
    finally:
        if environment is not None:
            down = environment.down()
            leftovers = environment.leftovers() if down.ok else []
            evidence["environment"]["down"] = {"ok": down.ok, "steps": down.steps, "error": down.error}
            evidence["environment"]["leftovers"] = leftovers


def _read_junit(
    ctx: PhaseContext, suite: TestSuite, path: Path | None, started_wall: float
) -> tuple[JUnitSummary | None, str | None]:
    """The suite's JUnit counts (kept as evidence), or why the exit code counts instead."""
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
    ctx.evidence.write_text(f"build/tests/{suite.name}.junit.xml", path.read_text(encoding="utf-8", errors="replace"))
    return summary, None


def _problems(
    suite: TestSuite, outcome: CommandRun, summary: JUnitSummary, environment: dict[str, Any] | None
) -> list[str]:
    """What makes the suite fail; ``environment`` is its environment's evidence (an unclean teardown counts)."""
    problems = []
    if outcome.timed_out:
        problems.append(f"timed out after {suite.timeout_seconds:.0f}s")
    elif outcome.exit_code != 0:
        problems.append(f"command exited with {outcome.exit_code}")
    if summary.failed or summary.errors:
        problems.append(f"{summary.failed + summary.errors} of {summary.executed} tests failed")
    if environment is not None:
        down = environment.get("down", {})
        leftovers = environment.get("leftovers") or []
        if not down.get("ok", True) or leftovers:
            problems.append(f"environment teardown incomplete ({', '.join(leftovers) or down.get('error')})")
    return problems


def _verdict(
    check: CheckId,
    config: BuildConfig,
    suite: TestSuite,
    outcome: CommandRun,
    summary: JUnitSummary,
    problems: list[str],
    evidence: dict[str, Any],
    files: tuple[str, ...],
) -> CheckResult:
    # Per-suite pass rate for later phases, e.g. ANALYZE reads ``e2e_pass_rate`` (TQ-030) of a suite named e2e.
    rate = round(100.0 * summary.passed / summary.executed, 2) if summary.executed else None
    artifacts = SuitePassRate(suite=suite.name, percent=rate).to_artifacts()
    observed = f"{summary.passed}/{summary.executed} passed in {outcome.duration_seconds:.1f}s"
    if problems:
        failing = ", ".join(summary.failing[:5])
        return check.result(
            CheckStatus.FAIL if suite.required else CheckStatus.WARN,
            "; ".join(problems) + (f": {failing}" if failing else ""),
            expected="all tests pass",
            observed=observed,
            fix="fix the failing tests (names in the evidence) and run BUILD again",
            evidence=evidence,
            evidence_files=files,
            artifacts=artifacts,
        )
    target = config.test_time_target_seconds
    slow = outcome.duration_seconds > target
    return check.result(
        CheckStatus.WARN if slow else CheckStatus.PASS,
        f"{observed}" + (f" (over the {target:.0f}s target)" if slow else ""),
        expected=f"all tests pass within {target:.0f}s",
        observed=observed,
        fix="split or speed up the suite" if slow else "",
        evidence=evidence,
        evidence_files=files,
        artifacts=artifacts,
    )
