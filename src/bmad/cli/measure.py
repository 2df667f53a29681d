"""`bmad` commands owned by the measure area: ``bmad dashboards install``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from bmad.ports.monitoring import DashboardRef

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="bmad.yaml of the service.", show_default=True, dir_okay=False)
]
EnvOpt = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment (default: BMAD_ENV, or the only one defined).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]


def register(app: typer.Typer) -> None:
    dashboards_app = typer.Typer(
        help="Grafana dashboards bmad ships (the guide's four, and reports').", no_args_is_help=True
    )
    app.add_typer(dashboards_app, name="dashboards")

    @dashboards_app.command("install")
    def install(
        config: ConfigOpt = Path("bmad.yaml"),
        env: EnvOpt = None,
        url: Annotated[
            str | None, typer.Option("--url", help="Grafana URL (default: the environment's monitoring.grafana.url).")
        ] = None,
        token_env: Annotated[
            str | None,
            typer.Option("--token-env", help="Env var holding the Grafana token (default: monitoring.grafana.token)."),
        ] = None,
        folder: Annotated[
            Path | None,
            typer.Option(
                "--dir", help="Folder of dashboard JSON files (default: the ones bmad ships).", file_okay=False
            ),
        ] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Install every dashboard JSON through Grafana's API (create, or overwrite by uid)."""
        from bmad.cli._render import fail, print_json
        from bmad.core.errors import BmadError

        try:
            installed, grafana_url = _install(config, env, url=url, token_env=token_env, folder=folder)
        except BmadError as exc:
            fail(exc, as_json=json_out)
        if json_out:
            print_json(
                {
                    "grafana": grafana_url,
                    "installed": [
                        {"file": name, "uid": ref.uid, "title": ref.title, "url": ref.url} for name, ref in installed
                    ],
                }
            )
            return
        for name, ref in installed:
            typer.echo(f"installed {ref.title!r} (uid {ref.uid}) from {name}: {grafana_url}{ref.url}")
        typer.echo(f"{len(installed)} dashboards installed in {grafana_url}")


def _install(
    config_path: Path, env: str | None, *, url: str | None, token_env: str | None, folder: Path | None
) -> tuple[list[tuple[str, DashboardRef]], str]:
    import os

    from bmad.adapters.grafana import GrafanaClient, install_dashboards
    from bmad.config.base import SecretRef
    from bmad.core.errors import UsageError

    grafana_conf = None
    base_dir = None
    environment = env
    # With --url, bmad.yaml is only read for the token (and not needed when there is none).
    if url is None or (token_env is None and config_path.exists()):
        from bmad.config.loader import load_config

        cfg = load_config(config_path)
        base_dir = cfg.base_dir
        environment = env or os.environ.get("BMAD_ENV")
        if environment is None:
            if len(cfg.environments) != 1:
                raise UsageError(
                    "several environments are defined: say which with --env",
                    hint="defined environments: " + ", ".join(sorted(cfg.environments)),
                )
            environment = next(iter(cfg.environments))
        grafana_conf = cfg.environment(environment).monitoring.grafana
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
