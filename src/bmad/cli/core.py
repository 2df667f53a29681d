"""`bmad` commands owned by the core area (engine, ledger, config)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def version() -> None:
        """Print bmad's version."""
        from bmad import __version__

        typer.echo(__version__)
