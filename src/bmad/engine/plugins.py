"""Which implementation runs a phase.

By default :func:`bmad.engine.wiring.plugin_for` (bmad's own phases). A service may plug in its
own implementation of a phase — a custom phase — by naming an importable module that defines
``make_plugin(ctx) -> PhasePlugin``:

* in ``bmad.yaml``: ``plugins: {build: mycompany.bmad_build}``
* or in the environment (wins): ``BMAD_PLUGIN_BUILD=mycompany.bmad_build``
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence

from bmad.config.models import BmadConfig
from bmad.core.errors import ConfigError
from bmad.core.models import PhaseName
from bmad.engine.wiring import plugin_for
from bmad.ports.phase import PhaseContext, PhasePlugin


def plugin_module_for(phase: PhaseName, ctx: PhaseContext) -> str | None:
    return custom_module(phase, ctx.config)


def custom_module(phase: PhaseName, config: BmadConfig) -> str | None:
    return os.environ.get(f"BMAD_PLUGIN_{phase.value.upper()}") or config.plugins.get(phase.value)


def check_plugins(config: BmadConfig, phases: Sequence[PhaseName]) -> None:
    """Fail early (exit 2, nothing recorded) when a custom phase module cannot be found."""
    import importlib.util

    for phase in phases:
        name = custom_module(phase, config)
        if not name:
            continue
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise ConfigError(
                f"plugin module {name!r} for the {phase.label} phase cannot be found",
                field=f"plugins.{phase.value}",
                file=config.source_path,
                hint="check the module name and that it is on PYTHONPATH "
                f"(or the BMAD_PLUGIN_{phase.value.upper()} variable)",
            )


def resolve_plugin(phase: PhaseName, ctx: PhaseContext) -> PhasePlugin:
    name = plugin_module_for(phase, ctx)
    if not name:
        return plugin_for(phase, ctx)
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(
            f"plugin module {name!r} for the {phase.label} phase cannot be imported ({exc})",
            field=f"plugins.{phase.value}",
            file=ctx.config.source_path,
            hint="check the module name and that it is on PYTHONPATH",
        ) from None
    make = getattr(module, "make_plugin", None)
    if make is None:
        raise ConfigError(
            f"plugin module {name!r} has no make_plugin(ctx) function",
            field=f"plugins.{phase.value}",
            file=ctx.config.source_path,
        )
    plugin: PhasePlugin = make(ctx)
    return plugin
