"""What each component of the local stack is: its program, config files, command line and probe.

Every server listens on the stack's host (127.0.0.1) on a configurable port; its files live
under the stack's root directory. Commands and flags follow the measured notes in
``docs/stack.md`` (e.g. Alertmanager with gossip disabled, Pushgateway without persistence).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
from dataclasses import field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.core.files import write_atomic
from bmad.stack import _probe
from bmad.stack._proc import run_short

#: Every component, in start order. ``postgres`` is started only when asked for.
ALL_COMPONENTS = ("podman", "registry", "pushgateway", "alertmanager", "prometheus", "postgres")
DEFAULT_COMPONENTS = ("podman", "registry", "pushgateway", "alertmanager", "prometheus")
#: Static scrape targets ``bmad stack up`` adds by default: none. The example's local replicas are
#: found through file-based service discovery instead (:data:`FILE_SD_DIR`): the local target writes
#: the serving release's replicas there at each cut-over and rollback, so only live replicas are
#: scraped, whichever of its two port slots they use.
EXAMPLE_SCRAPE_TARGETS: dict[str, list[str]] = {}
#: Folder (under the stack root) Prometheus reads file_sd target groups from (``*.json``).
FILE_SD_DIR = "file_sd"
#: The scrape config reading those files. A target group's own ``job`` label overrides this name
#: in every series (SD labels win over the config's defaults); the Prometheus API still reports
#: this name as the target's ``scrapePool``.
FILE_SD_JOB = "file_sd"
#: How often Prometheus re-reads the files (it also watches them with inotify).
FILE_SD_REFRESH = "5s"
#: Where the example's alert and recording rules live, relative to the repository root.
EXAMPLE_RULES_DIR = "examples/hello/monitoring"


@datatype(frozen=True)
class StackPorts:
    """The port each server of the local stack listens on."""

    registry: int = 5000
    prometheus: int = 9090
    pushgateway: int = 9091
    alertmanager: int = 9093
    postgres: int = 5432

    def of(self, component: str) -> int | None:
        value = getattr(self, component, None)
        return value if isinstance(value, int) else None


@datatype
class StackSettings:
    """Everything needed to (re)start the stack; persisted in ``<root>/state.json``."""

    root: Path
    ports: StackPorts = field(default_factory=StackPorts)
    host: str = "127.0.0.1"
    components: tuple[str, ...] = DEFAULT_COMPONENTS
    scrape_targets: dict[str, list[str]] = field(default_factory=dict)
    rule_files: list[str] = field(default_factory=list)
    alert_webhook: str | None = None
    scrape_interval: str = "1s"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "ports": vars(self.ports),
            "host": self.host,
            "components": list(self.components),
            "scrape_targets": self.scrape_targets,
            "rule_files": self.rule_files,
            "alert_webhook": self.alert_webhook,
            "scrape_interval": self.scrape_interval,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StackSettings:
        return cls(
            root=Path(data["root"]),
            ports=StackPorts(**data.get("ports", {})),
            host=data.get("host", "127.0.0.1"),
            components=tuple(data.get("components", DEFAULT_COMPONENTS)),
            scrape_targets={str(k): [str(t) for t in v] for k, v in data.get("scrape_targets", {}).items()},
            rule_files=[str(p) for p in data.get("rule_files", [])],
            alert_webhook=data.get("alert_webhook"),
            scrape_interval=data.get("scrape_interval", "1s"),
        )


class Component:
    """One server of the stack. Subclasses say how to configure, start and probe it."""

    name: str = ""
    program: str = ""
    package: str = ""  # the Debian package that provides ``program``
    stop_signal: int = signal.SIGTERM

    def executable(self) -> str | None:
        return shutil.which(self.program)

    def prepare(self, s: StackSettings, state: dict[str, Any]) -> None:
        """Write config files and directories before a start. ``state`` is this component's record."""

    def argv(self, s: StackSettings, state: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def env(self, s: StackSettings) -> dict[str, str]:
        return {}

    def endpoint(self, s: StackSettings) -> str:
        port = s.ports.of(self.name)
        return f"http://{s.host}:{port}"

    def port(self, s: StackSettings) -> int | None:
        return s.ports.of(self.name)

    def ready(self, s: StackSettings, state: dict[str, Any]) -> bool:
        raise NotImplementedError

    def after_ready(self, s: StackSettings, state: dict[str, Any]) -> None:
        """One-time work once the server answers (e.g. create a database)."""

    def missing(self) -> str | None:
        """The program that is missing, or None when the component can run here."""
        return None if self.executable() else self.program


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    write_atomic(path, text, mode, dir_mode=0o755)


class Podman(Component):
    name = "podman"
    program = "podman"
    package = "podman"

    @staticmethod
    def socket_path(s: StackSettings) -> Path:
        return s.root / "podman.sock"

    def prepare(self, s: StackSettings, state: dict[str, Any]) -> None:
        conf = resources.files("bmad.stack").joinpath("files/containers.conf").read_text(encoding="utf-8")
        _write(s.root / "containers.conf", conf)
        registry = f"{s.host}:{s.ports.registry}"
        registries = (
            "# Written by bmad stack: the local registry speaks plain HTTP.\n"
            "unqualified-search-registries = []\n\n"
            f'[[registry]]\nlocation = "{registry}"\ninsecure = true\n\n'
            f'[[registry]]\nlocation = "localhost:{s.ports.registry}"\ninsecure = true\n'
        )
        _write(s.root / "registries.conf", registries)
        self.socket_path(s).unlink(missing_ok=True)

    def env(self, s: StackSettings) -> dict[str, str]:
        return {
            "CONTAINERS_CONF": str(s.root / "containers.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(s.root / "registries.conf"),
        }

    def argv(self, s: StackSettings, state: dict[str, Any]) -> list[str]:
        return ["podman", "system", "service", "--time=0", f"unix://{self.socket_path(s)}"]

    def endpoint(self, s: StackSettings) -> str:
        return f"unix://{self.socket_path(s)}"

    def port(self, s: StackSettings) -> int | None:
        return None

    def ready(self, s: StackSettings, state: dict[str, Any]) -> bool:
        return _probe.unix_http_ok(str(self.socket_path(s)), "/_ping")


class Registry(Component):
    name = "registry"
    program = "docker-registry"
    package = "docker-registry"

    def prepare(self, s: StackSettings, state: dict[str, Any]) -> None:
        data = s.root / "registry-data"
        data.mkdir(parents=True, exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(data)}, "delete": {"enabled": True}},
            "http": {"addr": f"{s.host}:{s.ports.registry}", "secret": secrets.token_hex(16)},
        }
        _write(s.root / "registry.yml", yaml.safe_dump(config, sort_keys=False), 0o600)

    def argv(self, s: StackSettings, state: dict[str, Any]) -> list[str]:
        return ["docker-registry", "serve", str(s.root / "registry.yml")]

    def ready(self, s: StackSettings, state: dict[str, Any]) -> bool:
        return _probe.http_ok(f"{self.endpoint(s)}/v2/")


class Pushgateway(Component):
    name = "pushgateway"
    program = "prometheus-pushgateway"
    package = "prometheus-pushgateway"

    def argv(self, s: StackSettings, state: dict[str, Any]) -> list[str]:
        # An empty persistence file keeps metrics in memory (Debian's default writes to /var/lib).
        return ["prometheus-pushgateway", f"--web.listen-address={s.host}:{s.ports.pushgateway}", "--persistence.file="]

    def ready(self, s: StackSettings, state: dict[str, Any]) -> bool:
        return _probe.http_ok(f"{self.endpoint(s)}/-/ready")


class Alertmanager(Component):
    name = "alertmanager"
    program = "prometheus-alertmanager"
    package = "prometheus-alertmanager"

    def prepare(self, s: StackSettings, state: dict[str, Any]) -> None:
        # A fresh notification log per start: otherwise an alert group notified before a
        # restart is not sent again within repeat_interval.
        storage = s.root / "alertmanager-data"
        shutil.rmtree(storage, ignore_errors=True)
        storage.mkdir(parents=True)
        write_alertmanager_config(s)

    def argv(self, s: StackSettings, state: dict[str, Any]) -> list[str]:
        return [
            "prometheus-alertmanager",
            f"--config.file={s.root / 'alertmanager.yml'}",
            f"--storage.path={s.root / 'alertmanager-data'}",
            f"--web.listen-address={s.host}:{s.ports.alertmanager}",
            "--cluster.listen-address=",  # no gossip: it would bind *:9094
        ]

    def ready(self, s: StackSettings, state: dict[str, Any]) -> bool:
        return _probe.http_ok(f"{self.endpoint(s)}/-/ready")


def write_alertmanager_config(s: StackSettings) -> Path:
    receiver: dict[str, Any] = {"name": "default"}
    if s.alert_webhook:
        receiver["webhook_configs"] = [{"url": s.alert_webhook, "send_resolved": True}]
    config = {
        "route": {
            "receiver": "default",
            "group_by": ["alertname"],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [receiver],
    }
    path = s.root / "alertmanager.yml"
    _write(path, yaml.safe_dump(config, sort_keys=False))
    return path


class Prometheus(Component):
    name = "prometheus"
    program = "prometheus"
    package = "prometheus"

    def prepare(self, s: StackSettings, state: dict[str, Any]) -> None:
        (s.root / "prometheus-data").mkdir(parents=True, exist_ok=True)
        (s.root / FILE_SD_DIR).mkdir(parents=True, exist_ok=True)
        write_prometheus_config(s)

    def argv(self, s: StackSettings, state: dict[str, Any]) -> list[str]:
        return [
            "prometheus",
            f"--config.file={s.root / 'prometheus.yml'}",
            f"--storage.tsdb.path={s.root / 'prometheus-data'}",
            f"--web.listen-address={s.host}:{s.ports.prometheus}",
            "--web.enable-lifecycle",
            "--rules.alert.resend-delay=1s",
            # Keep discovery providers whose config did not change across a reload: otherwise
            # every reload forgets the Alertmanager and the scrape targets for up to 5 s.
            "--enable-feature=new-service-discovery-manager",
        ]

    def ready(self, s: StackSettings, state: dict[str, Any]) -> bool:
        return _probe.http_ok(f"{self.endpoint(s)}/-/ready")


def prometheus_config(s: StackSettings) -> dict[str, Any]:
    scrape_configs: list[dict[str, Any]] = []
    if "pushgateway" in s.components:
        scrape_configs.append(
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [f"{s.host}:{s.ports.pushgateway}"]}],
            }
        )
    for job, targets in sorted(s.scrape_targets.items()):
        scrape_configs.append({"job_name": job, "static_configs": [{"targets": list(targets)}]})
    # File-based service discovery: deployers (bmad's local target) write ``<name>.json`` target
    # groups with their own ``job`` label; Prometheus picks up changes without a reload.
    scrape_configs.append(
        {
            "job_name": FILE_SD_JOB,
            "file_sd_configs": [{"files": [str(s.root / FILE_SD_DIR / "*.json")], "refresh_interval": FILE_SD_REFRESH}],
        }
    )
    config: dict[str, Any] = {
        "global": {"scrape_interval": s.scrape_interval, "evaluation_interval": s.scrape_interval},
        "rule_files": [str(Path(p).resolve()) for p in s.rule_files],
        "scrape_configs": scrape_configs,
    }
    if "alertmanager" in s.components:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [f"{s.host}:{s.ports.alertmanager}"]}]}]
        }
    return config


def write_prometheus_config(s: StackSettings) -> Path:
    path = s.root / "prometheus.yml"
    _write(path, "# Written by bmad stack; rewritten on every change.\n" + yaml.safe_dump(prometheus_config(s)))
    return path


class Postgres(Component):
    """A throw-away PostgreSQL cluster (for the ledger's PostgreSQL tests).

    As root, the server runs as the ``postgres`` user (PostgreSQL refuses to run as root)
    through ``setpriv``; its data directory must then be reachable by that user, so it
    lives in its own directory under the system temp dir when the stack root is not.
    """

    name = "postgres"
    program = "postgres"
    package = "postgresql"
    stop_signal = signal.SIGINT  # "fast" shutdown: SIGTERM would wait for clients to leave

    USER = "bmad"
    DATABASE = "bmad"

    def bindir(self) -> Path | None:
        override = os.environ.get("BMAD_PG_BINDIR")
        if override:
            return Path(override)
        versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin/postgres") if p.parts[4].isdigit()]
        if versions:
            return max(versions, key=lambda p: int(p.parts[4])).parent
        found = shutil.which("postgres")
        return Path(found).parent if found else None

    def executable(self) -> str | None:
        bindir = self.bindir()
        if bindir is None:
            return None
        exe = bindir / "postgres"
        return str(exe) if exe.exists() else None

    def missing(self) -> str | None:
        if self.executable() is None:
            return "postgres (/usr/lib/postgresql/*/bin)"
        if os.geteuid() == 0 and (shutil.which("setpriv") is None or not _has_user("postgres")):
            return "setpriv and a 'postgres' user (to run PostgreSQL as non-root)"
        return None

    @staticmethod
    def _as_postgres() -> list[str]:
        if os.geteuid() != 0:
            return []
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--reset-env"]

    def data_dir(self, s: StackSettings, state: dict[str, Any]) -> Path:
        recorded = state.get("data_dir")
        if recorded:
            return Path(recorded)
        base = s.root / "postgres"
        if os.geteuid() == 0 and not _traversable_by_others(s.root):
            import tempfile

            base = Path(tempfile.mkdtemp(prefix="bmad-pg-"))
            base.chmod(0o755)
        state["data_dir"] = str(base / "data")
        return base / "data"

    def password(self, s: StackSettings) -> str:
        path = s.root / "postgres.password"
        if not path.exists():
            _write(path, secrets.token_urlsafe(18), 0o600)
        return path.read_text(encoding="utf-8").strip()

    def url(self, s: StackSettings) -> str:
        return f"postgresql://{self.USER}:{self.password(s)}@{s.host}:{s.ports.postgres}/{self.DATABASE}"

    def endpoint(self, s: StackSettings) -> str:
        return f"postgresql://{self.USER}@{s.host}:{s.ports.postgres}/{self.DATABASE}"

    def prepare(self, s: StackSettings, state: dict[str, Any]) -> None:
        data = self.data_dir(s, state)
        bindir = self.bindir()
        if bindir is None:
            raise AdapterError(
                "postgres", "finding PostgreSQL", "no postgres binary", hint="apt-get install postgresql"
            )
        if (data / "PG_VERSION").exists():
            # Not running (prepare is only called before a start): a left-over pid file is stale.
            (data / "postmaster.pid").unlink(missing_ok=True)
            return
        data.parent.mkdir(parents=True, exist_ok=True)
        pwfile = data.parent / "initdb.pw"
        _write(pwfile, self.password(s) + "\n", 0o600)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(data.parent, user.pw_uid, user.pw_gid)
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        try:
            run_short(
                [
                    *self._as_postgres(),
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    self.USER,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--no-instructions",
                ],
                system="postgres",
                timeout=120,
                cwd=data.parent,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        state["created"] = False

    def argv(self, s: StackSettings, state: dict[str, Any]) -> list[str]:
        data = self.data_dir(s, state)
        exe = self.executable() or "postgres"
        return [
            *self._as_postgres(),
            exe,
            "-D",
            str(data),
            "-p",
            str(s.ports.postgres),
            "-k",
            str(data),
            "-c",
            f"listen_addresses={s.host}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ]

    def ready(self, s: StackSettings, state: dict[str, Any]) -> bool:
        pidfile = self.data_dir(s, state) / "postmaster.pid"
        try:
            lines = pidfile.read_text(encoding="utf-8").splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready" and _probe.tcp_open(s.host, s.ports.postgres)

    def after_ready(self, s: StackSettings, state: dict[str, Any]) -> None:
        if state.get("created"):
            return
        bindir = self.bindir()
        assert bindir is not None
        data = self.data_dir(s, state)
        result = run_short(
            [str(bindir / "createdb"), "-h", str(data), "-p", str(s.ports.postgres), "-U", self.USER, self.DATABASE],
            system="postgres",
            timeout=60,
            check=False,
        )
        if result.exit_code != 0 and "already exists" not in result.output:
            raise AdapterError("postgres", "creating the database", result.tail(3), status=result.exit_code)
        state["created"] = True


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _traversable_by_others(path: Path) -> bool:
    current = path.resolve()
    for part in [current, *current.parents]:
        try:
            if not part.exists():
                continue
            if not part.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


COMPONENT_TYPES: dict[str, Component] = {
    c.name: c for c in (Podman(), Registry(), Pushgateway(), Alertmanager(), Prometheus(), Postgres())
}


def get_component(name: str) -> Component:
    from bmad.core.errors import UsageError

    try:
        return COMPONENT_TYPES[name]
    except KeyError:
        raise UsageError(f"unknown stack component {name!r}", hint="components: " + ", ".join(ALL_COMPONENTS)) from None
