"""Test suites and the environments they need.

* :class:`SuiteCommandRunner` runs a suite's command (argv list, timeout, evidence).
* :class:`ComposeEnvironment` is a minimal compose runner over the Docker Engine API, for
  ``services: {image | build, ports, environment, command, healthcheck}``: no compose binary is
  needed, and the containers run on the same engine as the build. Every container carries the
  labels ``bmad.env`` (this run) and ``bmad.env.owner`` (service/suite), so ``down`` finds them
  all, and leftovers of a run that was killed are removed by the next ``up`` of the same suite.
* :class:`CommandsEnvironment` runs ``up`` commands, waits for URLs/ports, and runs ``down`` commands.

Both tear down from an ``atexit`` hook as well, in case bmad is interrupted mid-suite.
"""

from __future__ import annotations

import atexit
import contextlib
import shlex
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bmad.adapters._http import HttpClient
from bmad.adapters._process import run_command
from bmad.adapters.containers import EngineConnection
from bmad.core.errors import AdapterError, BmadError
from bmad.core.redact import redact
from bmad.ports.evidence import EvidenceSink
from bmad.ports.images import LineSink
from bmad.ports.tests_runner import CommandRun, EnvironmentReport, EnvironmentSpec, TestEnvironment, Wait

LABEL_ENV = "bmad.env"
LABEL_OWNER = "bmad.env.owner"
LABEL_SERVICE = "bmad.env.service"

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
            result = run_command(argv, cwd=cwd, env=env, timeout=timeout, evidence=self._evidence, label=label)
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
            return ComposeEnvironment(self._connection, spec)
        return CommandsEnvironment(spec, evidence=self._evidence)


# ---------------------------------------------------------------- commands + waits


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
                    with socket.create_connection((host or "127.0.0.1", int(port)), timeout=2.0):
                        return None
                except OSError as exc:
                    problem = f"{wait.tcp}: {exc.strerror or exc}"
            if time.monotonic() >= end:
                return problem
            time.sleep(0.1)
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


# ---------------------------------------------------------------- compose over the Engine API


def parse_compose(data: Any, *, source: str) -> dict[str, dict[str, Any]]:
    """Validate the subset of a compose file bmad runs; returns ``{service: definition}``."""
    from bmad.core.errors import ConfigError

    if not isinstance(data, dict) or not isinstance(data.get("services"), dict) or not data["services"]:
        raise ConfigError("a compose file needs a non-empty 'services' mapping", file=source)
    supported = {"image", "build", "ports", "environment", "command", "healthcheck", "entrypoint", "depends_on"}
    services: dict[str, dict[str, Any]] = {}
    for name, definition in data["services"].items():
        if not isinstance(definition, dict):
            raise ConfigError(f"service {name!r} must be a mapping", file=source)
        unknown = sorted(set(definition) - supported)
        if unknown:
            raise ConfigError(
                f"service {name!r}: {', '.join(unknown)} not supported by bmad's compose runner",
                file=source,
                hint=f"supported keys: {', '.join(sorted(supported))}",
            )
        if "image" not in definition and "build" not in definition:
            raise ConfigError(f"service {name!r} needs 'image' or 'build'", file=source)
        services[str(name)] = definition
    return services


def parse_port(value: Any) -> tuple[str, int | None, str]:
    """``"8080"``, ``"18080:8080"``, ``"127.0.0.1:18080:8080/tcp"`` -> (host ip, host port or None, container port)."""
    text = str(value)
    proto = "tcp"
    if "/" in text:
        text, proto = text.split("/", 1)
    parts = text.split(":")
    if len(parts) == 1:
        return "127.0.0.1", None, f"{parts[0]}/{proto}"
    if len(parts) == 2:
        return "127.0.0.1", int(parts[0]), f"{parts[1]}/{proto}"
    ip = parts[0] if parts[0] not in ("", "0.0.0.0") else "127.0.0.1"  # noqa: S104 - never bind all interfaces
    return ip, int(parts[1]) if parts[1] else None, f"{parts[2]}/{proto}"


def _environment(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list):
        return dict(str(item).partition("=")[::2] for item in value)
    return {}


def _duration(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    for ch in text:
        if ch.isdigit() or ch == ".":
            number += ch
        elif ch in units and number:
            total += float(number) * units[ch]
            number = ""
    if number:
        total += float(number)
    return total or default


class ComposeEnvironment:
    def __init__(self, connection: EngineConnection, spec: EnvironmentSpec) -> None:
        assert spec.compose_file is not None
        self.spec = spec
        self._connection = connection
        self._containers: list[Any] = []
        self._downed = False

    @property
    def _owner(self) -> str:
        return self.spec.project.rsplit("-", 1)[0]

    def up(self, *, on_line: LineSink) -> EnvironmentReport:
        import yaml

        report = EnvironmentReport()
        _track(self, True)
        try:
            compose_file = self.spec.compose_file
            assert compose_file is not None
            services = parse_compose(yaml.safe_load(compose_file.read_text(encoding="utf-8")), source=str(compose_file))
            client = self._connection.client()
            swept = self._remove(client, {LABEL_OWNER: self._owner})
            if swept:
                report.steps.append({"removed_leftovers": swept})
            deadline = time.monotonic() + self.spec.ready_timeout_seconds
            for name, definition in services.items():
                image = self._image(client, name, definition, compose_file.parent, on_line)
                container = self._start(client, name, definition, image)
                self._containers.append(container)
                report.steps.append({"service": name, "container": container.name, "image": image})
                on_line(f"started {name} ({container.name})")
            for name, definition in services.items():
                container = next(c for c in self._containers if c.labels.get(LABEL_SERVICE) == name)
                started = time.monotonic()
                problem = self._wait_healthy(container, definition.get("healthcheck"), deadline)
                report.steps.append(
                    {"healthy": name, "ok": problem is None, "seconds": round(time.monotonic() - started, 3)}
                )
                if problem is not None:
                    report.ok, report.error = False, f"service {name} not healthy: {problem}"
                    return report
            for wait in self.spec.waits:
                problem = wait_for(wait, deadline=deadline)
                report.steps.append({"wait": wait.url or wait.tcp, "ready": problem is None})
                if problem is not None:
                    report.ok, report.error = False, f"{wait.url or wait.tcp} not ready: {problem}"
                    return report
        except BmadError as exc:
            report.ok, report.error = False, exc.message
        except Exception as exc:  # docker SDK errors, bad YAML: report, the caller tears down
            report.ok, report.error = False, redact(f"{type(exc).__name__}: {exc}")[:500]
        return report

    def down(self) -> EnvironmentReport:
        report = EnvironmentReport()
        if self._downed:
            return report
        try:
            client = self._connection.client()
            removed = self._remove(client, {LABEL_ENV: self.spec.project})
            report.steps.append({"removed": removed})
            self._downed = True
            _track(self, False)
        except Exception as exc:
            report.ok, report.error = False, redact(f"{type(exc).__name__}: {exc}")[:500]
        return report

    def leftovers(self) -> list[str]:
        client = self._connection.client()
        found = client.containers.list(all=True, filters={"label": f"{LABEL_ENV}={self.spec.project}"})
        return [str(c.name) for c in found]

    def _remove(self, client: Any, labels: Mapping[str, str]) -> list[str]:
        from docker.errors import NotFound

        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        removed = []
        for container in client.containers.list(all=True, filters=filters):
            with contextlib.suppress(NotFound):
                container.remove(force=True)
            removed.append(str(container.name))
        return removed

    def _image(self, client: Any, name: str, definition: Mapping[str, Any], base: Path, on_line: LineSink) -> str:
        build = definition.get("build")
        if build is None:
            return str(definition["image"])
        if isinstance(build, str):
            build = {"context": build}
        context = (base / str(build.get("context", "."))).resolve()
        tag = str(definition.get("image") or f"localhost/bmad-env-{self._owner}-{name}:latest".lower())
        dockerfile = build.get("dockerfile") or next(
            (n for n in ("Containerfile", "Dockerfile") if (context / n).is_file()), "Dockerfile"
        )
        for item in client.api.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            buildargs=_environment(build.get("args")) or None,
            target=build.get("target"),
            rm=True,
            decode=True,
        ):
            if isinstance(item, dict) and item.get("error"):
                raise AdapterError("container engine", f"building service {name}", redact(str(item["error"])))
            if isinstance(item, dict) and item.get("stream"):
                for line in str(item["stream"]).splitlines():
                    if line.strip():
                        on_line(redact(f"{name}: {line}"))
        return tag

    def _start(self, client: Any, name: str, definition: Mapping[str, Any], image: str) -> Any:
        ports: dict[str, tuple[str, int | None]] = {}
        for value in definition.get("ports") or []:
            ip, host_port, container_port = parse_port(value)
            ports[container_port] = (ip, host_port)
        command = definition.get("command")
        entrypoint = definition.get("entrypoint")
        return client.containers.run(
            image,
            command=shlex.split(command) if isinstance(command, str) else command,
            entrypoint=shlex.split(entrypoint) if isinstance(entrypoint, str) else entrypoint,
            name=f"{self.spec.project}-{name}",
            detach=True,
            environment=_environment(definition.get("environment")),
            ports=ports or None,
            labels={LABEL_ENV: self.spec.project, LABEL_OWNER: self._owner, LABEL_SERVICE: name},
            init=True,
        )

    def _wait_healthy(self, container: Any, healthcheck: Any, deadline: float) -> str | None:
        """Run the service's healthcheck ourselves (engine-side health checks need systemd timers on Podman)."""
        test = (healthcheck or {}).get("test") if isinstance(healthcheck, dict) else None
        if isinstance(test, str):
            argv: list[str] | None = ["/bin/sh", "-c", test]
        elif isinstance(test, list) and test and test[0] == "CMD-SHELL":
            argv = ["/bin/sh", "-c", " ".join(str(t) for t in test[1:])]
        elif isinstance(test, list) and test and test[0] == "CMD":
            argv = [str(t) for t in test[1:]]
        else:
            argv = None  # no healthcheck (or NONE): running is enough
        interval = min(_duration((healthcheck or {}).get("interval"), 1.0), 5.0) if healthcheck else 0.2
        retries = int((healthcheck or {}).get("retries", 0) or 0) if healthcheck else 0
        start_period = _duration((healthcheck or {}).get("start_period"), 0.0) if healthcheck else 0.0
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
            time.sleep(interval)
