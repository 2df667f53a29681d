"""The local stack of real components bmad's tests and demo run against.

Podman's Docker-compatible API service, a docker-registry, Prometheus, Pushgateway and
Alertmanager (and, on request, a throw-away PostgreSQL), each on 127.0.0.1 with a
configurable port, configured and logged under one directory, stopped by recorded pid.

    from bmad.stack import up, StackPorts
    stack = up(".stack", ports=StackPorts(registry=5000))
    stack.docker_host, stack.registry, stack.prometheus_url
    stack.set_scrape_targets({"hello": ["127.0.0.1:18080"]})
    stack.down()

See ``docs/stack.md``.
"""

from bmad.stack.components import (
    ALL_COMPONENTS,
    DEFAULT_COMPONENTS,
    EXAMPLE_RULES_DIR,
    EXAMPLE_SCRAPE_TARGETS,
    FILE_SD_DIR,
    FILE_SD_JOB,
    StackPorts,
    StackSettings,
)
from bmad.stack.stack import ComponentStatus, StackInfo, down, load, missing_programs, status, up

__all__ = [
    "ALL_COMPONENTS",
    "DEFAULT_COMPONENTS",
    "EXAMPLE_RULES_DIR",
    "EXAMPLE_SCRAPE_TARGETS",
    "FILE_SD_DIR",
    "FILE_SD_JOB",
    "ComponentStatus",
    "StackInfo",
    "StackPorts",
    "StackSettings",
    "down",
    "load",
    "missing_programs",
    "status",
    "up",
]
