"""`bmad` commands owned by the measure area: ``bmad dashboards install``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bmad.cli.options import DEFAULT_CONFIG, ConfigOpt, EnvOpt, JsonTextOpt, guard

UrlOpt = Annotated[
    str | None, typer.Option("--url", help="Grafana URL (default: the environment's monitoring.grafana.url).")
]
TokenEnvOpt = Annotated[
    str | None,
    typer.Option("--token-env", help="Env var holding the Grafana token (default: monitoring.grafana.token)."),
]
DashboardDirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help="Folder of dashboard JSON files (default: the ones bmad ships).", file_okay=False),
]


def register(app: typer.Typer) -> None:
    dashboards_app = typer.Typer(
        help="Grafana dashboards bmad ships (the guide's four, and reports').", no_args_is_help=True
    )
    app.add_typer(dashboards_app, name="dashboards")
    dashboards_app.command("install")(install)


def install(
    config: ConfigOpt = DEFAULT_CONFIG,
    env: EnvOpt = None,
    url: UrlOpt = None,
    token_env: TokenEnvOpt = None,
    folder: DashboardDirOpt = None,
    json_out: JsonTextOpt = False,
) -> None:
    """Install every dashboard JSON through Grafana's API (create, or overwrite by uid)."""

    def action() -> None:
        from bmad.engine.dashboards import install_grafana_dashboards

        installed, grafana_url = install_grafana_dashboards(config, env, url=url, token_env=token_env, folder=folder)
        if json_out:
            from bmad.cli._render import print_json

            files = [{"file": name, "uid": ref.uid, "title": ref.title, "url": ref.url} for name, ref in installed]
            print_json({"grafana": grafana_url, "installed": files})
            return
        for name, ref in installed:
            typer.echo(f"installed {ref.title!r} (uid {ref.uid}) from {name}: {grafana_url}{ref.url}")
        typer.echo(f"{len(installed)} dashboards installed in {grafana_url}")

    guard(action, as_json=json_out)
