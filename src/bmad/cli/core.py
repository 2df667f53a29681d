"""`bmad` commands owned by the core area: version, init, config check, then the release commands
(:mod:`bmad.cli.release_run`: run, the four phases, resume) and the ledger queries
(:mod:`bmad.cli.release_records`: status, history, verify-ledger). Thin: each calls
:mod:`bmad.engine` and renders the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bmad.cli import release_records, release_run
from bmad.cli.options import DEFAULT_CONFIG, JsonTablesOpt

DirectoryArg = Annotated[Path, typer.Argument(help="The service's folder.", file_okay=False)]
OverwriteOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing bmad.yaml.")]
ServiceOpt = Annotated[str | None, typer.Option("--service", help="Service name (default: folder name).")]
ConfigFileArg = Annotated[Path, typer.Argument(help="The bmad.yaml to check.", dir_okay=True)]


def register(app: typer.Typer) -> None:
    app.command()(version)
    app.command()(init)
    config_app = typer.Typer(help="Check bmad.yaml.", no_args_is_help=True)
    app.add_typer(config_app, name="config")
    config_app.command("check")(config_check)
    release_run.register(app)
    release_records.register(app)


def version() -> None:
    """Print bmad's version."""
    from bmad import __version__

    typer.echo(__version__)


def init(
    directory: DirectoryArg = Path(),
    force: OverwriteOpt = False,
    service: ServiceOpt = None,
    json_out: JsonTablesOpt = False,
) -> None:
    """Write a commented starter bmad.yaml from what is found in the folder."""
    from bmad.cli._render import print_json
    from bmad.engine.starter import write_starter

    written = write_starter(directory, force=force, service=service)
    if json_out:
        print_json({"path": str(written.path), "found": written.found})
        return
    typer.echo(f"wrote {written.path}")
    for what, where in written.found.items():
        typer.echo(f"  found {what}: {where}")
    typer.echo(f"next: bmad config check {written.path}")


def config_check(path: ConfigFileArg = DEFAULT_CONFIG, json_out: JsonTablesOpt = False) -> None:
    """Validate a bmad.yaml: every problem names file:line:column and the field."""
    from bmad.cli._render import print_json
    from bmad.config.loader import load_config

    config = load_config(path)
    envs = {
        name: {"risk": env.risk, "production": env.production, "warnings_fail": env.warnings_fail}
        for name, env in config.environments.items()
    }
    if json_out:
        print_json({"ok": True, "path": str(path), "service": config.service.name, "environments": envs})
        return
    typer.echo(f"ok: {path}: service {config.service.name}, environments: {', '.join(config.environments)}")
