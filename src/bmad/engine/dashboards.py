"""Installing the Grafana dashboards bmad ships (``bmad dashboards install``), for the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bmad.config.measure import GrafanaConfig
    from bmad.ports.monitoring import DashboardRef


def install_grafana_dashboards(
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
    from bmad.config.loader import load_config

    cfg = load_config(config_path)
    environment = cfg.pick_environment(env)
    return cfg.environment(environment).monitoring.grafana, cfg.base_dir, environment
