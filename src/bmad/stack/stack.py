"""Start, stop and inspect the local stack; change Prometheus' targets and rules while it runs.

State lives in ``<root>/state.json`` (settings, and per component: pid, argv, log file,
start time). Changes are serialised by an exclusive lock on ``<root>/.lock``, so two
``up`` at once start each component once. A component is stopped only through its
recorded pid (its process group), never by name.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import yaml

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError, UsageError
from bmad.core.files import write_atomic
from bmad.core.yaml_nodes import safe_load
from bmad.stack import _probe
from bmad.stack._proc import is_running, log_excerpt, process_cmdline, program_of, start_service, stop_pid
from bmad.stack.components import (
    ALL_COMPONENTS,
    COMPONENT_TYPES,
    DEFAULT_COMPONENTS,
    FILE_SD_DIR,
    FILE_SD_JOB,
    Postgres,
    StackPorts,
    StackSettings,
    get_component,
    write_alertmanager_config,
    write_prometheus_config,
)

STATE_FILE = "state.json"
DEFAULT_READY_TIMEOUT = 30.0


@datatype(frozen=True)
class ComponentStatus:
    """How a local stack component is doing, as ``bmad stack status`` shows it."""

    name: str
    state: str  # running | starting | unhealthy | exited | stopped
    pid: int | None
    endpoint: str
    ready: bool
    log: str | None
    started_at: float | None
    uptime_seconds: float | None
    start_seconds: float | None = None  # how long the last start took until ready

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class StackInfo:
    """A local stack rooted at a directory (running or not).

    Build one with :func:`up` (starts it) or :func:`load` (reads the state of a running one).
    """

    def __init__(self, settings: StackSettings, *, ready_timeout: float = DEFAULT_READY_TIMEOUT) -> None:
        self.settings = settings
        self.ready_timeout = ready_timeout

    # ---- where things are -------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.settings.root

    @property
    def logs_dir(self) -> Path:
        return self.settings.logs_dir

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE

    @property
    def file_sd_dir(self) -> Path:
        """Where Prometheus reads file_sd target groups (``*.json``) from; see ``docs/stack.md``."""
        return self.root / FILE_SD_DIR

    @property
    def docker_host(self) -> str:
        return f"unix://{self.root / 'podman.sock'}"

    @property
    def registry(self) -> str:
        return f"{self.settings.host}:{self.settings.ports.registry}"

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.ports.prometheus}"

    @property
    def pushgateway_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.ports.pushgateway}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.ports.alertmanager}"

    @property
    def postgres_url(self) -> str:
        """``postgresql://bmad:<password>@127.0.0.1:PORT/bmad`` (contains a password: never log it)."""
        postgres = COMPONENT_TYPES["postgres"]
        assert isinstance(postgres, Postgres)
        return postgres.url(self.settings)

    @property
    def components(self) -> tuple[str, ...]:
        return self.settings.components

    def env(self) -> dict[str, str]:
        """Environment variables that point clients at this stack."""
        env = {
            "DOCKER_HOST": self.docker_host,
            "BMAD_REGISTRY": self.registry,
            "BMAD_PROMETHEUS_URL": self.prometheus_url,
            "BMAD_PUSHGATEWAY_URL": self.pushgateway_url,
            "BMAD_ALERTMANAGER_URL": self.alertmanager_url,
        }
        if "prometheus" in self.components:
            env["BMAD_PROMETHEUS_FILE_SD_DIR"] = str(self.file_sd_dir)
        if "postgres" in self.components:
            env["BMAD_STACK_POSTGRES_URL"] = self.postgres_url
        return env

    # ---- lifecycle ----------------------------------------------------------------------
    def up(self, only: Iterable[str] | None = None) -> list[ComponentStatus]:
        """Start every component that is not running (idempotent) and wait until all are ready."""
        names = self._select(only)
        with self._locked() as state:
            records = state.setdefault("components", {})
            started: dict[str, float] = {}
            for name in names:
                record = records.get(name, {})
                if self._alive(name, record):
                    continue
                self._start_locked(name, records)
                started[name] = time.monotonic()
                self._save(state)
            try:
                for name in names:
                    self._wait_ready(name, records[name])
                    if name in started:
                        records[name]["start_seconds"] = round(time.monotonic() - started[name], 3)
                    component = COMPONENT_TYPES[name]
                    component.after_ready(self.settings, records[name])
            finally:
                self._save(state)
        return self.status(names)

    def down(self, only: Iterable[str] | None = None, *, purge: bool = False) -> list[str]:
        """Stop the recorded components (reverse start order). Returns the names stopped."""
        with self._locked() as state:
            records = state.setdefault("components", {})
            wanted = self._select(only) if only is not None else [n for n in ALL_COMPONENTS if n in records]
            stopped = []
            for name in reversed(wanted):
                if self._stop_locked(name, records):
                    stopped.append(name)
                self._save(state)
            if purge and only is None:
                pg_data = records.get("postgres", {}).get("data_dir")
                for child in ("registry-data", "prometheus-data", "alertmanager-data", "postgres"):
                    shutil.rmtree(self.root / child, ignore_errors=True)
                if pg_data:
                    shutil.rmtree(Path(pg_data).parent, ignore_errors=True)
                    records.get("postgres", {}).pop("data_dir", None)
                    records.get("postgres", {}).pop("created", None)
                    self._save(state)
        return stopped

    def start(self, component: str) -> ComponentStatus:
        """Start one component (no-op when it runs) and wait until it is ready."""
        return self.up([component])[0]

    def stop(self, component: str) -> bool:
        """Stop one component by its recorded pid. True when it was running."""
        get_component(component)
        with self._locked() as state:
            result = self._stop_locked(component, state.setdefault("components", {}))
            self._save(state)
        return result

    def restart(self, component: str) -> ComponentStatus:
        self.stop(component)
        return self.start(component)

    def status(self, only: Iterable[str] | None = None) -> list[ComponentStatus]:
        state = self._read_state()
        records = state.get("components", {})
        names = (
            self._select(only)
            if only is not None
            else [n for n in ALL_COMPONENTS if n in self.components or n in records]
        )
        return [self._status_of(name, records.get(name, {})) for name in names]

    def is_up(self) -> bool:
        return all(item.ready for item in self.status(self.components))

    # ---- Prometheus / Alertmanager configuration -------------------------------------------
    def set_scrape_targets(self, targets: Mapping[str, Sequence[str]], *, timeout: float = 15.0) -> None:
        """Replace the scraped jobs (the Pushgateway job stays), reload Prometheus, wait until applied."""
        clean = {str(job): [str(t) for t in items] for job, items in targets.items()}
        for job in clean:
            if job == "pushgateway":
                raise UsageError("the job name 'pushgateway' is reserved for the stack's Pushgateway")
        self._reconfigure_prometheus(replace(self.settings, scrape_targets=clean), timeout)
        self._wait_targets(timeout)

    def set_rule_files(
        self, files: Sequence[str | Path], *, timeout: float = 15.0, wait_for_alertmanager: bool = False
    ) -> None:
        """Replace Prometheus' rule files (absolute paths), reload, wait until the groups are loaded.

        A reload makes Prometheus forget its Alertmanager until service discovery hands it back
        (up to ~5 s): alerts firing meanwhile are delivered late. With ``wait_for_alertmanager``
        this returns only once Prometheus can deliver alerts again.
        """
        paths = [str(Path(f).resolve()) for f in files]
        for path in paths:
            if not Path(path).is_file():
                raise UsageError(f"rule file not found: {path}")
        self._reconfigure_prometheus(replace(self.settings, rule_files=paths), timeout)
        self._wait_rules(timeout)
        if wait_for_alertmanager:
            self.wait_for_alertmanager(timeout=timeout)

    def wait_for_alertmanager(self, *, timeout: float = 15.0) -> None:
        """Wait until Prometheus lists the stack's Alertmanager as active (it can deliver alerts)."""
        if "alertmanager" not in self.components:
            raise UsageError("this stack has no Alertmanager")
        wanted = f"{self.settings.host}:{self.settings.ports.alertmanager}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = _probe.http_json(f"{self.prometheus_url}/api/v1/alertmanagers")
            if isinstance(data, dict):
                active = data.get("data", {}).get("activeAlertmanagers", [])
                if any(wanted in str(item.get("url", "")) for item in active):
                    return
            time.sleep(0.05)
        raise AdapterError("prometheus", "connecting to the Alertmanager", f"{wanted} not active after {timeout:.0f}s")

    def set_alert_webhook(self, url: str | None) -> None:
        """Send Alertmanager's notifications to ``url`` (None: nowhere), then reload it."""
        with self._locked() as state:
            self.settings = replace(self.settings, alert_webhook=url)
            state["settings"] = self.settings.to_json()
            write_alertmanager_config(self.settings)
            self._save(state)
        if self._running("alertmanager"):
            status, body = _probe.http_post(f"{self.alertmanager_url}/-/reload")
            if status != 200:
                raise AdapterError("alertmanager", "reloading its config", body[:300], status=status or None)

    # ---- internals ---------------------------------------------------------------------------
    def _select(self, only: Iterable[str] | None) -> list[str]:
        wanted = list(self.components) if only is None else [str(n) for n in only]
        for name in wanted:
            get_component(name)
        # start order, no duplicates
        names = [n for n in ALL_COMPONENTS if n in wanted]
        extra = [n for n in names if n not in self.components]
        if extra:
            self.settings = replace(
                self.settings, components=tuple(n for n in ALL_COMPONENTS if n in {*self.components, *extra})
            )
        return names

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                state = self._read_state()
                saved = state.get("settings")
                if saved:
                    merged = StackSettings.from_json(saved)
                    # A component added by this call stays recorded.
                    components = tuple(n for n in ALL_COMPONENTS if n in {*merged.components, *self.components})
                    if merged.ports != self.settings.ports and any(
                        is_running(r.get("pid")) for r in state.get("components", {}).values()
                    ):
                        raise UsageError(
                            f"the stack in {self.root} runs with other ports ({_ports_text(merged.ports)})",
                            hint="stop it first with 'bmad stack down', or use another --dir",
                        )
                    self.settings = replace(self.settings, components=components)
                state["settings"] = self.settings.to_json()
                yield state
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UsageError(f"stack state file {self.state_file} is unreadable: {exc}") from None
        return data if isinstance(data, dict) else {}

    def _save(self, state: dict[str, Any]) -> None:
        state["settings"] = self.settings.to_json()
        write_atomic(self.state_file, json.dumps(state, indent=2, sort_keys=True) + "\n", 0o644, dir_mode=0o755)

    def _alive(self, name: str, record: Mapping[str, Any]) -> bool:
        pid = record.get("pid")
        if not isinstance(pid, int) or not is_running(pid):
            return False
        # Guard against a recycled pid: the process must still be the program we started.
        program = Path(str(record.get("program", ""))).name
        cmdline = process_cmdline(pid)
        return bool(cmdline) and (not program or Path(cmdline[0]).name == program)

    def _running(self, name: str) -> bool:
        return self._alive(name, self._read_state().get("components", {}).get(name, {}))

    def _start_locked(self, name: str, records: dict[str, Any]) -> None:
        component = COMPONENT_TYPES[name]
        missing = component.missing()
        if missing:
            raise AdapterError(
                name,
                "starting",
                f"{missing} is not installed",
                hint=f"install the Debian package '{component.package}' (scripts/setup.sh does)",
            )
        port = component.port(self.settings)
        if port is not None and not _probe.port_free(self.settings.host, port):
            raise AdapterError(
                name,
                "starting",
                f"port {self.settings.host}:{port} is already in use by another program",
                hint=f"choose another port (--{name}-port) or stop what listens there",
            )
        record = dict(records.get(name, {}))
        record.pop("pid", None)
        component.prepare(self.settings, record)
        argv = component.argv(self.settings, record)
        log = self.logs_dir / f"{name}.log"
        pid = start_service(argv, system=name, log_file=log, env=component.env(self.settings), cwd=self.root)
        record.update(
            {
                "pid": pid,
                "argv": argv,
                "program": program_of(argv, component.executable()),
                "log": str(log),
                "started_at": time.time(),
                "endpoint": component.endpoint(self.settings),
            }
        )
        records[name] = record

    def _wait_ready(self, name: str, record: dict[str, Any]) -> None:
        component = COMPONENT_TYPES[name]
        deadline = time.monotonic() + self.ready_timeout
        pid = record.get("pid")
        log = record.get("log")
        while True:
            if component.ready(self.settings, record):
                return
            if not isinstance(pid, int) or not is_running(pid):
                raise AdapterError(
                    name,
                    "starting",
                    f"the process exited before it was ready; log {log}: {log_excerpt(log)}",
                )
            if time.monotonic() > deadline:
                raise AdapterError(
                    name,
                    "waiting until ready",
                    f"not ready after {self.ready_timeout:.0f}s; log {log}: {log_excerpt(log)}",
                    temporary=True,
                )
            time.sleep(0.02)

    def _stop_locked(self, name: str, records: dict[str, Any]) -> bool:
        record = records.get(name)
        if not record:
            return False
        pid = record.get("pid")
        was_running = isinstance(pid, int) and self._alive(name, record)
        if was_running:
            assert isinstance(pid, int)
            stop_pid(pid, sig=COMPONENT_TYPES[name].stop_signal, timeout=15.0)
            port = COMPONENT_TYPES[name].port(self.settings)
            deadline = time.monotonic() + 5.0
            while port is not None and _probe.tcp_open(self.settings.host, port) and time.monotonic() < deadline:
                time.sleep(0.02)
        record.pop("pid", None)
        record["stopped_at"] = time.time()
        if name == "podman":
            (self.root / "podman.sock").unlink(missing_ok=True)
        return was_running

    def _status_of(self, name: str, record: Mapping[str, Any]) -> ComponentStatus:
        component = COMPONENT_TYPES[name]
        endpoint = component.endpoint(self.settings)
        pid = record.get("pid") if isinstance(record.get("pid"), int) else None
        alive = self._alive(name, record)
        ready = alive and component.ready(self.settings, dict(record))
        if pid is None:
            state = "stopped"
        elif not alive:
            state = "exited"
        elif ready:
            state = "running"
        else:
            state = "unhealthy"
        started_at = record.get("started_at") if alive else None
        return ComponentStatus(
            name=name,
            state=state,
            pid=pid if alive else None,
            endpoint=endpoint,
            ready=ready,
            log=record.get("log"),
            started_at=started_at,
            uptime_seconds=round(time.time() - started_at, 1) if isinstance(started_at, float) else None,
            start_seconds=record.get("start_seconds"),
        )

    def _reconfigure_prometheus(self, new_settings: StackSettings, timeout: float) -> None:
        with self._locked() as state:
            previous = self.settings
            self.settings = replace(new_settings, components=self.settings.components)
            write_prometheus_config(self.settings)
            if not self._alive("prometheus", state.get("components", {}).get("prometheus", {})):
                self._save(state)
                return
            status, body = _probe.http_post(f"{self.prometheus_url}/-/reload", timeout=timeout)
            if status != 200:
                # Keep the stack usable: put the previous config back.
                self.settings = previous
                write_prometheus_config(previous)
                _probe.http_post(f"{self.prometheus_url}/-/reload", timeout=timeout)
                raise AdapterError("prometheus", "reloading its config", body.strip()[:400], status=status or None)
            self._save(state)

    def _wait_targets(self, timeout: float) -> None:
        expected = {(job, t) for job, items in self.settings.scrape_targets.items() for t in items}
        if "pushgateway" in self.components:
            expected.add(("pushgateway", f"{self.settings.host}:{self.settings.ports.pushgateway}"))
        deadline = time.monotonic() + timeout
        seen: set[tuple[str, str]] = set()
        while time.monotonic() < deadline:
            data = _probe.http_json(f"{self.prometheus_url}/api/v1/targets?state=active")
            if isinstance(data, dict):
                seen = {
                    (t.get("scrapePool", ""), t.get("discoveredLabels", {}).get("__address__", ""))
                    for t in data.get("data", {}).get("activeTargets", [])
                    if t.get("scrapePool") != FILE_SD_JOB  # discovered from files: not ours to wait for
                }
                if seen == expected:
                    return
            time.sleep(0.05)
        raise AdapterError(
            "prometheus", "applying scrape targets", f"expected {sorted(expected)}, active {sorted(seen)}"
        )

    def _wait_rules(self, timeout: float) -> None:
        expected: set[str] = set()
        for path in self.settings.rule_files:
            try:
                doc = safe_load(Path(path).read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(doc, dict) and doc.get("groups"):
                expected.add(path)
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while time.monotonic() < deadline:
            data = _probe.http_json(f"{self.prometheus_url}/api/v1/rules")
            if isinstance(data, dict):
                seen = {g.get("file", "") for g in data.get("data", {}).get("groups", [])}
                if seen == expected:
                    return
            time.sleep(0.05)
        raise AdapterError("prometheus", "loading rule files", f"expected {sorted(expected)}, loaded {sorted(seen)}")


def _ports_text(ports: StackPorts) -> str:
    return ", ".join(f"{k} {v}" for k, v in vars(ports).items())


# ---- module-level API ------------------------------------------------------------------------
def up(
    root: str | Path,
    *,
    ports: StackPorts | None = None,
    components: Sequence[str] | None = None,
    scrape_targets: Mapping[str, Sequence[str]] | None = None,
    rule_files: Sequence[str | Path] | None = None,
    host: str = "127.0.0.1",
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
) -> StackInfo:
    """Start the stack in ``root`` (idempotent) and return it once every component is ready.

    Settings not given are taken from a previous run in the same directory, else defaults.
    """
    root_path = Path(root).resolve()
    previous = saved_settings(root_path)
    settings = previous or StackSettings(root=root_path, host=host)
    settings = replace(settings, root=root_path)
    if ports is not None:
        settings = replace(settings, ports=ports)
    if components is not None:
        settings = replace(settings, components=tuple(n for n in ALL_COMPONENTS if n in set(components)))
        for name in components:
            get_component(name)
    if scrape_targets is not None:
        settings = replace(settings, scrape_targets={k: list(v) for k, v in scrape_targets.items()})
    if rule_files is not None:
        settings = replace(settings, rule_files=[str(Path(p).resolve()) for p in rule_files])
    info = StackInfo(settings, ready_timeout=ready_timeout)
    prometheus_was_running = (
        previous is not None and "prometheus" in info.components and info.status(["prometheus"])[0].ready
    )
    info.up(components)
    # A Prometheus that was already running still has its old config: apply the scrape targets and
    # rule files the caller gave (rewrite + reload; a no-op change costs one reload).
    if prometheus_was_running:
        if scrape_targets is not None:
            info.set_scrape_targets(settings.scrape_targets, timeout=ready_timeout)
        if rule_files is not None:
            info.set_rule_files(settings.rule_files, timeout=ready_timeout)
    return info


def load(root: str | Path) -> StackInfo:
    """The stack recorded in ``root`` (it may be stopped). Raises UsageError when there is none."""
    root_path = Path(root).resolve()
    settings = saved_settings(root_path)
    if settings is None:
        raise UsageError(f"no local stack in {root_path}", hint="start one with 'bmad stack up'")
    return StackInfo(settings)


def down(root: str | Path, *, only: Sequence[str] | None = None, purge: bool = False) -> list[str]:
    root_path = Path(root).resolve()
    if saved_settings(root_path) is None:
        return []
    return load(root_path).down(only, purge=purge)


def status(root: str | Path) -> list[ComponentStatus]:
    return load(root).status()


def missing_programs(components: Sequence[str] = DEFAULT_COMPONENTS) -> dict[str, str]:
    """Component -> missing program, for the components that cannot run on this machine."""
    result = {}
    for name in components:
        missing = get_component(name).missing()
        if missing:
            result[name] = missing
    return result


def saved_settings(root: Path) -> StackSettings | None:
    try:
        data = json.loads((root / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    saved = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(saved, dict):
        return None
    return replace(StackSettings.from_json(saved), root=root)
