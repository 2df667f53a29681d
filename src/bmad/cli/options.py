"""What every ``bmad`` command shares: its options, the choice of environment, the error guard.

Only Typer is imported here (``bmad --help`` must stay fast); the rest is imported on use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from bmad.config.models import BmadConfig

DEFAULT_CONFIG = Path("bmad.yaml")

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="bmad.yaml of the service.", show_default=True, dir_okay=False)
]
# Commands that read the ledger also run without a bmad.yaml (BMAD_LEDGER_URL or ./.bmad).
LedgerConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="bmad.yaml of the service (for the ledger and output folder).")
]
EnvOpt = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment (default: BMAD_ENV, or the only one defined).", show_default=False),
]
AnyEnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Environment (default: every environment).")]

JsonTablesOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
JsonTextOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]
JsonDocumentOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
JsonTableOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def pick_env(config: BmadConfig, env: str | None, *, required: bool = True) -> str:
    """``--env``, else ``BMAD_ENV``, else the only environment defined ("" when none and not ``required``)."""
    return config.pick_environment(env, required=required)


def guard(action: Callable[[], int | None], *, as_json: bool) -> None:
    """Run a command's body: an error becomes one line (and a JSON document with ``as_json``) and its
    exit code; a returned non-zero code is the command's exit code."""
    from bmad.cli._render import fail

    try:
        code = action()
    except typer.Exit:
        raise
    except Exception as exc:
        fail(exc, as_json=as_json)
    if code:
        raise typer.Exit(code)
