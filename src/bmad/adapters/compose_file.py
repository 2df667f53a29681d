"""A user's compose file, read and checked before a Compose implementation runs it.

The file is run by a real Compose implementation (see :mod:`bmad.adapters.compose_cli`); bmad reads
it only to refuse what would fail later with one clear error at ``file:line`` (bad YAML, keys the
Compose specification does not have, keys the implementation ignores, dependencies on unknown
services, dependency cycles) and to know the order and conditions of ``depends_on``, which bmad
enforces itself because Podman before 4.6 cannot wait for a container's health.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bmad.core.datatypes import datatype
from bmad.core.errors import ConfigError
from bmad.core.files import read_text_file
from bmad.core.yaml_limits import check_node_graph, safe_load_limited, yaml_error

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|h|m|s|)")

TOP_LEVEL_KEYS = frozenset({"version", "name", "services", "networks", "volumes", "configs", "secrets", "include"})

# The Compose specification's service keys (compose-spec/compose-spec, spec.md, "Services top-level element").
SERVICE_KEYS = frozenset(
    {
        "annotations",
        "attach",
        "blkio_config",
        "build",
        "cap_add",
        "cap_drop",
        "cgroup",
        "cgroup_parent",
        "command",
        "configs",
        "container_name",
        "cpu_count",
        "cpu_percent",
        "cpu_period",
        "cpu_quota",
        "cpu_rt_period",
        "cpu_rt_runtime",
        "cpu_shares",
        "cpus",
        "cpuset",
        "credential_spec",
        "depends_on",
        "deploy",
        "develop",
        "device_cgroup_rules",
        "devices",
        "dns",
        "dns_opt",
        "dns_search",
        "domainname",
        "driver_opts",
        "entrypoint",
        "env_file",
        "environment",
        "expose",
        "extends",
        "external_links",
        "extra_hosts",
        "gpus",
        "group_add",
        "healthcheck",
        "hostname",
        "image",
        "init",
        "ipc",
        "isolation",
        "labels",
        "label_file",
        "links",
        "logging",
        "mac_address",
        "mem_limit",
        "mem_reservation",
        "mem_swappiness",
        "memswap_limit",
        "models",
        "network_mode",
        "networks",
        "oom_kill_disable",
        "oom_score_adj",
        "pid",
        "pids_limit",
        "platform",
        "ports",
        "post_start",
        "pre_stop",
        "privileged",
        "profiles",
        "provider",
        "pull_policy",
        "read_only",
        "restart",
        "runtime",
        "scale",
        "secrets",
        "security_opt",
        "shm_size",
        "stdin_open",
        "stop_grace_period",
        "stop_signal",
        "storage_opt",
        "sysctls",
        "tmpfs",
        "tty",
        "ulimits",
        "use_api_socket",
        "user",
        "userns_mode",
        "uts",
        "volumes",
        "volumes_from",
        "working_dir",
    }
)

# Specification keys podman-compose 1.6 does not act on: a file that uses them would run differently.
UNSUPPORTED_SERVICE_KEYS = frozenset(
    {"develop", "provider", "models", "use_api_socket", "post_start", "pre_stop", "credential_spec", "isolation"}
)

CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


@datatype(frozen=True)
class ComposeDependency:
    """One ``depends_on`` entry: the service waited for and the condition it must reach first."""

    service: str
    condition: str = "service_started"


@datatype(frozen=True)
class HealthBudget:
    """A healthcheck's timing, with the engines' defaults (interval 30s, retries 3, start_period 0)."""

    interval: float = 30.0
    retries: int = 3
    start_period: float = 0.0

    @property
    def seconds(self) -> float:
        """How long a container may fail its healthcheck before an engine marks it ``unhealthy``."""
        return self.start_period + self.interval * self.retries


@datatype(frozen=True)
class ComposeService:
    """One service of a compose file, with its line for errors and its definition as written."""

    name: str
    line: int
    image: str | None
    builds: bool
    depends_on: tuple[ComposeDependency, ...]
    profiles: tuple[str, ...]
    definition: Mapping[str, Any]

    @property
    def healthcheck(self) -> Mapping[str, Any] | None:
        value = self.definition.get("healthcheck")
        return value if isinstance(value, Mapping) and not value.get("disable") else None

    @property
    def health_argv(self) -> list[str] | None:
        """The healthcheck's ``test`` as the argv to exec in the container; None without one (or NONE)."""
        test = (self.healthcheck or {}).get("test")
        if isinstance(test, str):
            return ["/bin/sh", "-c", test]
        if isinstance(test, list) and test and test[0] == "CMD-SHELL":
            return ["/bin/sh", "-c", " ".join(str(t) for t in test[1:])]
        if isinstance(test, list) and test and test[0] == "CMD":
            return [str(t) for t in test[1:]]
        return None

    @property
    def health_budget(self) -> HealthBudget:
        """When the engine would call this service ``unhealthy`` (Compose's healthcheck keys)."""
        check = self.healthcheck or {}
        default = HealthBudget()
        return HealthBudget(
            interval=duration_seconds(check.get("interval"), default.interval),
            retries=int(check.get("retries") or default.retries),
            start_period=duration_seconds(check.get("start_period"), default.start_period),
        )


@datatype(frozen=True)
class ComposeFile:
    """A checked compose file: its services, and the order Compose would start them in."""

    path: Path
    services: tuple[ComposeService, ...]
    data: Mapping[str, Any]

    def active(self, profiles: tuple[str, ...] = ()) -> tuple[ComposeService, ...]:
        """The services Compose starts with these profiles: those with no profile or a named one."""
        return tuple(s for s in self.services if not s.profiles or set(s.profiles) & set(profiles))

    def waves(self, profiles: tuple[str, ...] = ()) -> tuple[tuple[ComposeService, ...], ...]:
        """Active services in start order: each wave depends only on services of earlier waves."""
        pending = {s.name: s for s in self.active(profiles)}
        done: set[str] = set()
        waves: list[tuple[ComposeService, ...]] = []
        while pending:
            ready = tuple(
                s for s in pending.values() if all(d.service in done or d.service not in pending for d in s.depends_on)
            )
            if not ready:
                first = min(pending.values(), key=lambda s: s.line)
                raise ConfigError(
                    f"depends_on forms a cycle among {', '.join(sorted(pending))}", file=str(self.path), line=first.line
                )
            waves.append(ready)
            done.update(s.name for s in ready)
            for s in ready:
                del pending[s.name]
        return tuple(waves)


def duration_seconds(value: Any, default: float) -> float:
    """A Compose duration in seconds (``1m30s``, ``500ms``; a bare number is seconds); ``default`` when unset."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001, "": 1.0}
    total = sum(float(number) * units[unit] for number, unit in _DURATION_PART.findall(str(value)))
    return total or default


def _key_lines(node: yaml.Node) -> dict[str, tuple[int, yaml.Node]]:
    """Each key of a mapping with its line; keys merged in by ``<<: *anchor`` count as the mapping's own."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    lines: dict[str, tuple[int, yaml.Node]] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.tag == "tag:yaml.org,2002:merge" or key.value == "<<":
            merged = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for item in merged:
                for name, where in _key_lines(item).items():
                    lines.setdefault(name, where)
        else:
            lines[str(key.value)] = (key.start_mark.line + 1, value)
    return lines


def _root_node(text: str, source: str) -> yaml.Node | None:
    loader_class: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source) from None
    finally:
        loader.dispose()
    if node is not None:
        check_node_graph(node, source=source)
    return node


def load_compose_file(path: Path) -> ComposeFile:
    """Read and check ``path``; a :class:`ConfigError` names the file and line of the first problem."""
    source = str(path)
    text = read_text_file(path, what="compose file")  # a FIFO, a device or a huge file: refused, not waited on
    root = _root_node(text, source)
    data = safe_load_limited(text, source=source)
    if root is None or not isinstance(data, dict) or not isinstance(data.get("services"), dict) or not data["services"]:
        raise ConfigError("a compose file needs a non-empty 'services' mapping", file=source, line=1)
    top = _key_lines(root)
    for key, (line, _node) in top.items():
        if key not in TOP_LEVEL_KEYS and not key.startswith("x-"):
            raise ConfigError(f"'{key}' is not a Compose top-level key", file=source, line=line)
    service_nodes = _key_lines(top["services"][1])
    services = tuple(
        _service(str(name), definition, service_nodes[str(name)], source)
        for name, definition in data["services"].items()
    )
    known = {s.name for s in services}
    for service in services:
        for dependency in service.depends_on:
            if dependency.service not in known:
                raise ConfigError(
                    f"service {service.name!r} depends on {dependency.service!r}, which is not a service of this file",
                    file=source,
                    line=service.line,
                )
    return ComposeFile(path=path, services=services, data=data)


def _service(name: str, definition: Any, where: tuple[int, yaml.Node], source: str) -> ComposeService:
    line, node = where
    if not isinstance(definition, dict):
        raise ConfigError(f"service {name!r} must be a mapping", file=source, line=line)
    for key, (key_line, _node) in _key_lines(node).items():
        if key.startswith("x-"):
            continue
        if key not in SERVICE_KEYS:
            raise ConfigError(f"service {name!r}: '{key}' is not a Compose service key", file=source, line=key_line)
        if key in UNSUPPORTED_SERVICE_KEYS:
            raise ConfigError(
                f"service {name!r}: '{key}' is not supported by the Compose implementation bmad runs",
                file=source,
                line=key_line,
            )
    if "image" not in definition and "build" not in definition and "extends" not in definition:
        raise ConfigError(f"service {name!r} needs 'image' or 'build'", file=source, line=line)
    profiles = definition.get("profiles") or []
    if not isinstance(profiles, list):  # a text would be read letter by letter; Compose takes a list only
        raise ConfigError(f"service {name!r}: profiles must be a list of names", file=source, line=line)
    return ComposeService(
        name=name,
        line=line,
        image=str(definition["image"]) if definition.get("image") else None,
        builds="build" in definition,
        depends_on=_dependencies(name, definition.get("depends_on"), source, line),
        profiles=tuple(str(p) for p in profiles),
        definition=definition,
    )


def _dependencies(name: str, value: Any, source: str, line: int) -> tuple[ComposeDependency, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(ComposeDependency(str(v)) for v in value)
    if not isinstance(value, dict):
        raise ConfigError(f"service {name!r}: depends_on must be a list or a mapping", file=source, line=line)
    dependencies = []
    for other, options in value.items():
        condition = str((options or {}).get("condition", "service_started")) if isinstance(options, dict) else ""
        if condition not in CONDITIONS:
            raise ConfigError(
                f"service {name!r}: depends_on {other!r} has condition {condition or options!r}",
                file=source,
                line=line,
                hint=f"conditions: {', '.join(CONDITIONS)}",
            )
        dependencies.append(ComposeDependency(str(other), condition))
    return tuple(dependencies)
