"""Test suites and the environments they need.

* :class:`SuiteCommandRunner` runs a suite's command (argv list, timeout, evidence).
* :class:`ComposeEnvironment` runs the suite's compose file with a real Compose implementation
  (:mod:`bmad.adapters.compose_cli`) on the same engine as the build, as the project
  ``<service>-<suite>-<run>``: ``down`` removes that project (containers, networks, volumes), and
  the projects of a run that was killed are removed by the next ``up`` of the same suite.
* :class:`CommandsEnvironment` runs ``up`` commands, waits for URLs/ports, and runs ``down`` commands.

Both tear down from an ``atexit`` hook as well, in case bmad is interrupted mid-suite.
"""

from __future__ import annotations

import atexit
import contextlib
import shlex
import shutil
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bmad.adapters._http import HttpClient
from bmad.adapters._process import run_command
from bmad.adapters.compose_cli import (
    PROJECT_LABEL,
    SERVICE_LABEL,
    ComposeProject,
    ComposeRunner,
    write_label_override,
)
from bmad.adapters.compose_file import ComposeFile, ComposeService, duration_seconds, load_compose_file
from bmad.adapters.containers import EngineConnection
from bmad.core.errors import AdapterError, BmadError
from bmad.core.files import private_temp_dir
from bmad.core.redact import redact
from bmad.core.spans import SpanKind, sleeper, waiting
from bmad.ports.evidence import EvidenceSink
from bmad.ports.images import LineSink
from bmad.ports.tests_runner import CommandRun, EnvironmentReport, EnvironmentSpec, TestEnvironment, Wait

LABEL_ENV = "bmad.env"
LABEL_OWNER = "bmad.env.owner"

_active: dict[int, TestEnvironment] = {}
_active_lock = threading.Lock()


def _teardown_active() -> None:  # pragma: no cover - runs at interpreter exit
    with _active_lock:
        environments = list(_active.values())
        _active.clear()
    for environment in environments:
        environment.down()


atexit.register(_teardown_active)


def _track(environment: TestEnvironment, active: bool) -> None:
    with _active_lock:
        if active:
            _active[id(environment)] = environment
        else:
            _active.pop(id(environment), None)


class SuiteCommandRunner:
    """Implements :class:`bmad.ports.tests_runner.CommandRunner`."""

    def __init__(self, evidence: EvidenceSink | None = None) -> None:
        self._evidence = evidence

    def run(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float, label: str) -> CommandRun:
        started = time.monotonic()
        try:
            result = run_command(
                argv, cwd=cwd, env=env, timeout=timeout, evidence=self._evidence, label=label, waits_on=SpanKind.SERVICE
            )
        except AdapterError as exc:
            if "timed out" not in exc.detail:
                raise
            return CommandRun(
                argv=tuple(argv),
                exit_code=None,
                output_tail=redact(exc.message),
                duration_seconds=time.monotonic() - started,
                timed_out=True,
            )
        return CommandRun(
            argv=tuple(argv),
            exit_code=result.exit_code,
            output_tail=result.tail(30),
            duration_seconds=result.duration_seconds,
            evidence_file=result.evidence_file,
        )


class EngineTestEnvironments:
    """Implements :class:`bmad.ports.tests_runner.TestEnvironments`."""

    def __init__(self, connection: EngineConnection, *, evidence: EvidenceSink | None = None) -> None:
        self._connection = connection
        self._evidence = evidence

    def create(self, spec: EnvironmentSpec) -> TestEnvironment:
        if spec.compose_file is not None:
            return ComposeEnvironment(self._connection, spec, evidence=self._evidence)
        return CommandsEnvironment(spec, evidence=self._evidence)


# ---------------------------------------------------------------- commands + waits

# Pauses between two looks at a test environment (or a compose release) wait on it: spans of the phase.
_ENVIRONMENT_PAUSE = sleeper(SpanKind.SERVICE, "test environment: waiting for a URL or port")
_HEALTH_PAUSE = sleeper(SpanKind.SERVICE, "waiting for a compose service's healthcheck")
_COMPLETION_PAUSE = sleeper(SpanKind.SERVICE, "waiting for a compose service to complete")


def wait_for(wait: Wait, *, deadline: float) -> str | None:
    """Poll until the URL answers < 400 or the TCP port accepts; None when ready, else the last problem."""
    end = min(deadline, time.monotonic() + wait.timeout_seconds)
    problem = "not tried"
    client = HttpClient("test environment", wait.url, timeout=2.0) if wait.url else None
    try:
        while True:
            if client is not None:
                try:
                    client.request("GET", "", expect=tuple(range(200, 400)))
                    return None
                except AdapterError as exc:
                    problem = exc.message
            else:
                assert wait.tcp is not None
                host, _, port = wait.tcp.rpartition(":")
                try:
                    with (
                        waiting(SpanKind.SERVICE, f"connect {wait.tcp}"),
                        socket.create_connection((host or "127.0.0.1", int(port)), timeout=2.0),
                    ):
                        return None
                except OSError as exc:
                    problem = f"{wait.tcp}: {exc.strerror or exc}"
            if time.monotonic() >= end:
                return problem
            _ENVIRONMENT_PAUSE(0.1)
    finally:
        if client is not None:
            client.close()


class CommandsEnvironment:
    def __init__(self, spec: EnvironmentSpec, *, evidence: EvidenceSink | None = None) -> None:
        self.spec = spec
        self._evidence = evidence
        self._downed = False

    def up(self, *, on_line: LineSink) -> EnvironmentReport:
        report = EnvironmentReport()
        _track(self, True)
        deadline = time.monotonic() + self.spec.ready_timeout_seconds
        for argv in self.spec.up:
            try:
                step = self._run(argv, "environment up")
            except BmadError as exc:  # program missing, timeout: reported, the caller tears down
                report.ok, report.error = False, exc.message
                return report
            report.steps.append(step)
            on_line(f"up: {step['command']} -> {step['exit_code']}")
            if step["exit_code"] != 0:
                report.ok, report.error = False, f"'{step['command']}' exited with {step['exit_code']}"
                return report
        for wait in self.spec.waits:
            started = time.monotonic()
            problem = wait_for(wait, deadline=deadline)
            what = wait.url or wait.tcp
            report.steps.append(
                {"wait": what, "ready": problem is None, "seconds": round(time.monotonic() - started, 3)}
            )
            if problem is not None:
                report.ok, report.error = False, f"{what} not ready: {problem}"
                return report
        return report

    def down(self) -> EnvironmentReport:
        report = EnvironmentReport()
        if self._downed:
            return report
        self._downed = True
        for argv in self.spec.down:
            try:
                step = self._run(argv, "environment down")
            except BmadError as exc:
                step = {"command": " ".join(argv), "error": exc.message}
            report.steps.append(step)
            if step.get("exit_code") != 0:
                report.ok, report.error = False, f"'{step['command']}' failed"
        _track(self, False)
        return report

    def leftovers(self) -> list[str]:
        return []

    def _run(self, argv: Sequence[str], label: str) -> dict[str, Any]:
        result = run_command(
            argv, cwd=self.spec.cwd, timeout=self.spec.ready_timeout_seconds, evidence=self._evidence, label=label
        )
        return {
            "command": redact(shlex.join(argv)),
            "exit_code": result.exit_code,
            "seconds": round(result.duration_seconds, 3),
            "tail": result.tail(5) if not result.ok else "",
        }


# ---------------------------------------------------------------- compose


class ComposeEnvironment:
    """A suite's compose file run by a real Compose implementation as the project ``spec.project``.

    Services start in ``depends_on`` order, one wave at a time: a wave starts when the services it
    depends on are running, healthy (their healthcheck passes) or exited 0, as each condition asks.
    """

    def __init__(
        self, connection: EngineConnection, spec: EnvironmentSpec, *, evidence: EvidenceSink | None = None
    ) -> None:
        assert spec.compose_file is not None
        self.spec = spec
        self._connection = connection
        self._runner = ComposeRunner(
            ComposeProject(spec.project, spec.compose_file, connection.docker_host, profiles=spec.profiles),
            evidence=evidence,
            timeout=spec.ready_timeout_seconds,
        )
        self._downed = False
        self._workdir: Path | None = None

    @property
    def _owner(self) -> str:
        return self.spec.project.rsplit("-", 1)[0]

    def up(self, *, on_line: LineSink) -> EnvironmentReport:
        report = EnvironmentReport()
        _track(self, True)
        try:
            assert self.spec.compose_file is not None
            compose = load_compose_file(self.spec.compose_file)
            self._label_services(compose)
            swept = self._sweep_leftovers()
            if swept:
                report.steps.append({"removed_leftovers": swept})
            deadline = time.monotonic() + self.spec.ready_timeout_seconds
            report.error = self._start(compose, deadline, report, on_line)
            if report.error is None:
                report.error = self._wait_for_urls(deadline, report)
            report.ok = report.error is None
        except BmadError as exc:
            report.ok, report.error = False, exc.message
        except Exception as exc:  # docker SDK errors: report, the caller tears down
            report.ok, report.error = False, redact(f"{type(exc).__name__}: {exc}")[:500]
        return report

    def _label_services(self, compose: ComposeFile) -> None:
        """Every container carries ``bmad.env`` (this run) and ``bmad.env.owner`` (service/suite)."""
        if self._workdir is None:
            self._workdir = private_temp_dir("bmad-compose-env-")
        labels = {LABEL_ENV: self.spec.project, LABEL_OWNER: self._owner}
        images = {  # one tag per suite and service, reused by each run (not one per run's project)
            s.name: f"localhost/bmad-env-{self._owner}-{s.name}:latest".lower()
            for s in compose.services
            if s.builds and s.image is None
        }
        override = write_label_override(self._workdir, [s.name for s in compose.services], labels, images)
        self._runner.project = replace(self._runner.project, override_files=(override,))

    def _start(self, compose: ComposeFile, deadline: float, report: EnvironmentReport, on_line: LineSink) -> str | None:
        built = [s.name for s in compose.active(self.spec.profiles) if s.builds]
        if built:
            result = self._runner.build(built)
            report.steps.append({"build": built, "exit_code": result.exit_code})
            if not result.ok:
                return f"compose build exited with {result.exit_code}: {redact(result.tail(5))}"
        required = {d.service: d.condition for s in compose.services for d in s.depends_on}
        for wave in compose.waves(self.spec.profiles):
            names = [s.name for s in wave]
            result = self._runner.up(names)
            report.steps.append({"up": names, "exit_code": result.exit_code})
            if not result.ok:
                return f"compose up {' '.join(names)} exited with {result.exit_code}: {redact(result.tail(5))}"
            for service in wave:
                container = self._container(service.name)
                on_line(f"started {service.name} ({container.name})")
                started = time.monotonic()
                if required.get(service.name) == "service_completed_successfully":
                    problem = wait_service_completed(container, deadline)
                else:
                    problem = wait_service_healthy(container, service, deadline)
                seconds = round(time.monotonic() - started, 3)
                report.steps.append({"healthy": service.name, "ok": problem is None, "seconds": seconds})
                if problem is not None:
                    return f"service {service.name} not healthy: {problem}"
        return None

    def _wait_for_urls(self, deadline: float, report: EnvironmentReport) -> str | None:
        for wait in self.spec.waits:
            problem = wait_for(wait, deadline=deadline)
            report.steps.append({"wait": wait.url or wait.tcp, "ready": problem is None})
            if problem is not None:
                return f"{wait.url or wait.tcp} not ready: {problem}"
        return None

    def _container(self, service: str) -> Any:
        client = self._connection.client()
        labels = [f"{PROJECT_LABEL}={self.spec.project}", f"{SERVICE_LABEL}={service}"]
        found = client.containers.list(all=True, filters={"label": labels})
        if not found:
            raise AdapterError("compose", f"starting service {service}", "compose up created no container")
        return found[0]

    def down(self) -> EnvironmentReport:
        report = EnvironmentReport()
        if self._downed:
            return report
        try:
            result = self._runner.down(volumes=True)
            report.steps.append({"down": self.spec.project, "exit_code": result.exit_code})
            removed = self._remove({self.spec.project})
            if removed:
                report.steps.append({"removed": removed})
            self._downed = True
            _track(self, False)
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
        except Exception as exc:
            report.ok, report.error = False, redact(f"{type(exc).__name__}: {exc}")[:500]
        return report

    def leftovers(self) -> list[str]:
        client = self._connection.client()
        found = client.containers.list(all=True, filters={"label": f"{LABEL_ENV}={self.spec.project}"})
        return sorted(str(c.name) for c in found)

    def _sweep_leftovers(self) -> list[str]:
        """Remove the projects of earlier runs of the same suite (a run killed before its teardown)."""
        client = self._connection.client()
        containers = [
            c
            for c in client.containers.list(all=True, filters={"label": f"{LABEL_OWNER}={self._owner}"})
            if c.labels.get(LABEL_ENV) != self.spec.project
        ]
        projects = {str(c.labels[PROJECT_LABEL]) for c in containers}
        for project in sorted(projects):
            old = ComposeRunner(replace(self._runner.project, name=project), timeout=self.spec.ready_timeout_seconds)
            old.down(volumes=True)
        self._remove(projects)
        return sorted(str(c.name) for c in containers)

    def _remove(self, projects: set[str]) -> list[str]:
        from docker.errors import NotFound

        client = self._connection.client()
        removed = []
        for project in sorted(projects):
            for container in client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"}):
                with contextlib.suppress(NotFound):
                    container.remove(force=True)
                removed.append(str(container.name))
        return removed


def wait_service_healthy(container: Any, service: ComposeService, deadline: float) -> str | None:
    """Run the service's healthcheck ourselves until it passes (engine-side health checks need systemd
    timers on Podman); None when healthy (or running, without a healthcheck), else the last problem."""
    healthcheck = service.healthcheck
    argv = service.health_argv
    interval = min(duration_seconds((healthcheck or {}).get("interval"), 1.0), 5.0) if healthcheck else 0.2
    retries = int((healthcheck or {}).get("retries", 0) or 0) if healthcheck else 0
    start_period = duration_seconds((healthcheck or {}).get("start_period"), 0.0) if healthcheck else 0.0
    started = time.monotonic()
    failures = 0
    problem = "not checked"
    while True:
        container.reload()
        if container.status in ("exited", "dead"):
            logs = redact(container.logs(tail=10).decode(errors="replace"))
            return f"container exited: {logs.strip()[-300:]}"
        if container.status == "running":
            if argv is None:
                return None
            with waiting(SpanKind.SERVICE, f"healthcheck of {service.name}"):  # the answer streams until it ends
                exit_code, output = container.exec_run(argv)
            if exit_code == 0:
                return None
            problem = f"healthcheck exited {exit_code}: {redact(output.decode(errors='replace')).strip()[-200:]}"
            if time.monotonic() - started >= start_period:
                failures += 1
                if retries and failures >= retries and time.monotonic() - started > start_period:
                    return problem
        if time.monotonic() >= deadline:
            return problem if argv else f"container status {container.status}"
        _HEALTH_PAUSE(interval)


def wait_service_completed(container: Any, deadline: float) -> str | None:
    """For ``condition: service_completed_successfully``: the container exits 0 before the deadline."""
    while True:
        container.reload()
        if container.status in ("exited", "dead"):
            code = int(container.attrs.get("State", {}).get("ExitCode", -1))
            return None if code == 0 else f"exited with {code}"
        if time.monotonic() >= deadline:
            return f"still {container.status}"
        _COMPLETION_PAUSE(0.2)
