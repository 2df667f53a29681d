"""Test-only phase implementations, selected through the supported custom-phase mechanism
(``plugins:`` in bmad.yaml or ``BMAD_PLUGIN_<PHASE>``). Their behaviour is driven by the run's
options (``--set KEY=VALUE`` / ``options=``), prefixed with ``x_`` (custom phases' keys) and the
phase name, e.g. ``x_build_status``:

* ``<phase>_checks``: how many checks (default 3), ids ``<phase>.c<N>``
* ``<phase>_status``: status of the first check: pass (default), warn, fail
* ``<phase>_sleep``: seconds every check sleeps (polling ctx.cancel)
* ``<phase>_wait_for``: every check waits until this file exists
* ``<phase>_marker``: a file each check touches when it starts (tests wait for it)
* ``<phase>_raise``: ``adapter`` / ``unreachable`` / ``bug``: the first check raises
* ``<phase>_needs``: ``chain`` makes check N need check N-1
* ``<phase>_exclusive``: index of a check that runs alone
* ``<phase>_secret_env``: name of an env var whose value the first check resolves as a secret
  and then (wrongly) puts everywhere: summary, evidence, metrics, artifacts, a command transcript
* ``<phase>_print_env``: name of an env var the first check reads as a test suite would (never
  resolving it) and prints: into a JUnit file, a command transcript, its summary and evidence
* ``<phase>_make_raise``: make_plugin raises an unexpected error (an internal error)
* ``<phase>_program``: a command line the first check runs through bmad's process seam
* ``<phase>_http``: a URL the first check GETs through bmad's HTTP session (as Prometheus)
* ``deploy_rollback``: true -> DEPLOY fails and reports a rollback artifact
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bmad.core.errors import AdapterError, Unreachable
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName
from bmad.core.redact import register_secret
from bmad.ports.phase import BasePhase, Check, PhaseContext

# in-process observation of concurrency (for the scheduler tests)
ACTIVE = {"now": 0, "max": 0}
_active_lock = threading.Lock()


class ScriptedPhase(BasePhase):
    def __init__(self, name: PhaseName, options: Mapping[str, Any]) -> None:
        self.name = name
        prefix = f"x_{name.value}_"
        self.opt = {k[len(prefix) :]: v for k, v in options.items() if k.startswith(prefix)}

    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        count = int(self.opt.get("checks", 3))
        exclusive = self.opt.get("exclusive")
        checks = []
        for index in range(1, count + 1):
            needs: tuple[str, ...] = ()
            if self.opt.get("needs") == "chain" and index > 1:
                needs = (f"{self.name.value}.c{index - 1}",)
            checks.append(
                Check(
                    id=f"{self.name.value}.c{index}",
                    title=f"{self.name.label} scripted check {index}",
                    run=self._runner(index),
                    needs=needs,
                    exclusive=exclusive is not None and int(exclusive) == index,
                )
            )
        return checks

    def _runner(self, index: int) -> Any:
        def run(ctx: PhaseContext) -> CheckResult:
            with _active_lock:
                ACTIVE["now"] += 1
                ACTIVE["max"] = max(ACTIVE["max"], ACTIVE["now"])
            try:
                return self._run(ctx, index)
            finally:
                with _active_lock:
                    ACTIVE["now"] -= 1

        return run

    def _run(self, ctx: PhaseContext, index: int) -> CheckResult:
        cid = f"{self.name.value}.c{index}"
        marker = self.opt.get("marker")
        if marker:
            Path(str(marker)).write_text(f"{os.getpid()}\n", encoding="utf-8")
        wait_for = self.opt.get("wait_for")
        while wait_for and not Path(str(wait_for)).exists() and not ctx.cancel.is_set():
            time.sleep(0.01)
        sleep = float(self.opt.get("sleep", 0))
        deadline = time.monotonic() + sleep
        while time.monotonic() < deadline and not ctx.cancel.is_set():
            time.sleep(0.01)
        status = CheckStatus.PASS
        metrics: dict[str, MetricValue] = {f"{self.name.value}_c{index}_ok": True}
        artifacts: dict[str, Any] = {f"{self.name.value}_c{index}": index}
        evidence: dict[str, Any] = {"index": index}
        summary = "ok"
        if index == 1:
            status = CheckStatus(str(self.opt.get("status", "pass")))
            raise_kind = self.opt.get("raise")
            if raise_kind == "adapter":
                raise AdapterError(
                    "registry", "pushing the image", "HTTP 500", status=500, hint="look at the registry log"
                )
            if raise_kind == "unreachable":
                raise Unreachable("prometheus", "querying baselines", "connection refused")
            if raise_kind == "bug":
                raise ZeroDivisionError("scripted bug")
            secret_env = self.opt.get("secret_env")
            if secret_env:
                from bmad.config.base import SecretRef

                value = SecretRef(env=str(secret_env)).resolve()
                summary = f"used token {value}"
                evidence["token"] = value
                metrics["leak"] = value
                artifacts["leak"] = value
                ctx.evidence.record_command(
                    ["curl", "-H", f"Authorization: Bearer {value}", f"--password={value}"],
                    exit_code=0,
                    stdout=f"echo {value}",
                    stderr="",
                    duration_seconds=0.01,
                    label="leaky",
                )
                register_secret(value)
            printed = self.opt.get("print_env")
            if printed:
                summary = _print_env(ctx, str(printed), evidence)
            _external_calls(self.opt)
        if self.name is PhaseName.DEPLOY and self.opt.get("rollback") and index == 1:
            status = CheckStatus.FAIL
            now = datetime.now(UTC)
            artifacts["rollback"] = {
                "reason": "error rate above threshold",
                "detected_at": now.isoformat(),
                "recovered_at": now.isoformat(),
                "to_version": "0" * 40,
                "manual": False,
            }
        previous = ctx.previous_artifact(PhaseName.BUILD, "build_c1") if self.name is not PhaseName.BUILD else None
        if previous is not None:
            evidence["saw_build_artifact"] = previous
        return CheckResult(
            id=cid,
            title=f"{self.name.label} scripted check {index}",
            status=status,
            summary=summary,
            expected="a scripted outcome",
            observed=status.value,
            fix="change the scripted option" if status is not CheckStatus.PASS else "",
            evidence=evidence,
            metrics=metrics,
            artifacts=artifacts,
        )


def _external_calls(opt: Mapping[str, Any]) -> None:
    """The waits on other systems the options ask for (each one a span of the phase)."""
    from bmad.adapters._http import HttpClient
    from bmad.adapters._process import run_command

    if opt.get("program"):
        run_command(str(opt["program"]).split(), check=True)
    if opt.get("http"):
        client = HttpClient("prometheus", str(opt["http"]))
        try:
            client.request("GET", str(opt["http"]))
        finally:
            client.close()


def make(name: PhaseName, ctx: PhaseContext) -> ScriptedPhase:
    if ctx.options.extra.get(f"x_{name.value}_make_raise"):
        raise RuntimeError("scripted bug while building the phase")
    return ScriptedPhase(name, ctx.options.extra)


def _print_env(ctx: PhaseContext, name: str, evidence: dict[str, Any]) -> str:
    """What a test suite that prints an environment variable leaves behind."""
    value = os.environ.get(name, "")
    case = f'<testcase name="t" classname="c"><system-out>{name}={value}</system-out></testcase>'
    ctx.evidence.write_text("tests/suite.junit.xml", f'<testsuite name="s" tests="1">{case}</testsuite>\n')
    ctx.evidence.record_command(
        ["sh", "-c", f"echo {value}"], exit_code=0, stdout=value, stderr=value, duration_seconds=0.01, label="echo"
    )
    evidence["output_tail"] = f"printed {value}"
    return f"suite printed {value}"
