"""The local stack as the CLI reaches it: ``bmad stack up|down|status|env`` go through the engine,
which re-exports :mod:`bmad.stack` (the CLI never imports the lower layers itself)."""

from __future__ import annotations

from bmad.stack import (
    EXAMPLE_RULES_DIR,
    EXAMPLE_SCRAPE_TARGETS,
    ComponentStatus,
    StackInfo,
    StackPorts,
    down,
    load,
    up,
)
from bmad.stack.stack import saved_settings

__all__ = [
    "EXAMPLE_RULES_DIR",
    "EXAMPLE_SCRAPE_TARGETS",
    "ComponentStatus",
    "StackInfo",
    "StackPorts",
    "down",
    "load",
    "saved_settings",
    "up",
]
