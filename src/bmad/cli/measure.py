"""`bmad` commands owned by the measure area: ``bmad dashboards install``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bmad.cli.options import DEFAULT_CONFIG, ConfigOpt, EnvOpt, JsonTextOpt, guard

if TYPE_CHECKING:
    from bmad.config.measure import GrafanaConfig
    from bmad.ports.monitoring import DashboardRef

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
        installed, grafana_url = _install(config, env, url=url, token_env=token_env, folder=folder)
        if json_out:
            from bmad.cli._render import print_json

            files = [{"file": name, "uid": ref.uid, "title": ref.title, "url": ref.url} for name, ref in installed]
            print_json({"grafana": grafana_url, "installed": files})
            return
        for name, ref in installed:
            typer.echo(f"installed {ref.title!r} (uid {ref.uid}) from {name}: {grafana_url}{ref.url}")
        typer.echo(f"{len(installed)} dashboards installed in {grafana_url}")

    guard(action, as_json=json_out)


def _install(
    config_path: Path, env: str | None, *, url: str | None, token_env: str | None, folder: Path | None
) -> tuple[list[tuple[str, DashboardRef]], str]:
    from bmad.adapters.grafana import GrafanaClient, install_dashboards
    from bmad.config.base import SecretRef
    from bmad.core.errors import UsageError

    grafana_conf, base_dir, environment = None, None, env
    # With --url, bmad.yaml is only read for the token (and not needed when there is none).
    if url is None or (token_env is None and config_path.exists()):
        grafana_conf, base_dir, environment = _grafana_of(config_path, env)
    grafana_url = url or (grafana_conf.url if grafana_conf is not None else None)
    if grafana_url is None:
        raise UsageError(
            f"no Grafana configured for environment {environment!r}",
            hint=f"set environments.{environment}.monitoring.grafana.url in bmad.yaml, or pass --url",
        )
    token = None
    if token_env is not None:
        token = SecretRef(env=token_env).resolve()
    elif grafana_conf is not None and grafana_conf.token is not None:
        token = grafana_conf.token.resolve(base_dir)
    client = GrafanaClient(grafana_url, token=token)
    try:
        installed = install_dashboards(client, folder)
    finally:
        client.close()
    return list(installed), grafana_url.rstrip("/")


def _grafana_of(config_path: Path, env: str | None) -> tuple[GrafanaConfig | None, Path, str]:
    """The environment's Grafana settings (if any), bmad.yaml's folder and the environment's name."""
    from bmad.cli.options import pick_env
    from bmad.config.loader import load_config

    cfg = load_config(config_path)
    environment = pick_env(cfg, env)
    return cfg.environment(environment).monitoring.grafana, cfg.base_dir, environment
