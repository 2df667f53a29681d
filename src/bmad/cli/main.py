"""The ``bmad`` command. Thin: parse, call the library, render, exit with a documented code.

Sub-command groups live in sibling modules, each with ``register(app)``; they import heavy
libraries inside the command functions only, so ``bmad --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="bmad",
    help="Take a service to production through BUILD -> MEASURE -> ANALYZE -> DEPLOY.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module registers its commands on ``app``. Owned by: core (engine), stack, measure,
# analyze, deploy, reports.
_COMMAND_MODULES = ("core", "stack", "measure", "analyze", "deploy", "reports")


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"bmad.cli.{name}")
        module.register(app)


def run() -> None:
    _register_all()
    app()
