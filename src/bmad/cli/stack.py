"""`bmad stack up|down|status|env`: the local stack of real components (see docs/stack.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bmad.cli.options import JsonTableOpt, guard

if TYPE_CHECKING:
    from bmad.engine.local_stack import ComponentStatus, StackInfo

DEFAULT_DIR = ".stack"

DirOption = Annotated[
    Path, typer.Option("--dir", envvar="BMAD_STACK_DIR", help="Directory of the stack's config, data, logs and state.")
]
OnlyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        help="Only this component (repeatable): podman, registry, pushgateway, alertmanager, prometheus, postgres.",
    ),
]


RegistryPortOpt = Annotated[int | None, typer.Option(help="default 5000")]
PrometheusPortOpt = Annotated[int | None, typer.Option(help="default 9090")]
PushgatewayPortOpt = Annotated[int | None, typer.Option(help="default 9091")]
AlertmanagerPortOpt = Annotated[int | None, typer.Option(help="default 9093")]
PostgresPortOpt = Annotated[int | None, typer.Option(help="default 5432 (with --only postgres)")]
ScrapeOpt = Annotated[
    list[str] | None,
    typer.Option(
        help="JOB=HOST:PORT[,HOST:PORT] for Prometheus to scrape statically (repeatable; default: none, "
        "the local target's serving replicas are found through file_sd, see 'bmad stack env')."
    ),
]
RulesOpt = Annotated[
    list[Path] | None,
    typer.Option(help="Prometheus rule file (repeatable; default: examples/hello/monitoring/*.yml if present)."),
]
TimeoutOpt = Annotated[float, typer.Option(help="Seconds to wait for each component to be ready.")]
PurgeOpt = Annotated[bool, typer.Option(help="Also delete the data (registry, TSDB, PostgreSQL).")]


def register(app: typer.Typer) -> None:
    stack_app = typer.Typer(
        name="stack",
        help="Start, stop and inspect the local stack (Podman API, registry, Prometheus, Pushgateway, Alertmanager).",
        no_args_is_help=True,
    )
    app.add_typer(stack_app, name="stack")
    stack_app.command("up")(up_command)
    stack_app.command("down")(down_command)
    stack_app.command("status")(status_command)
    stack_app.command("env")(env_command)


def up_command(
    directory: DirOption = Path(DEFAULT_DIR),
    only: OnlyOption = None,
    as_json: JsonTableOpt = False,
    registry_port: RegistryPortOpt = None,
    prometheus_port: PrometheusPortOpt = None,
    pushgateway_port: PushgatewayPortOpt = None,
    alertmanager_port: AlertmanagerPortOpt = None,
    postgres_port: PostgresPortOpt = None,
    scrape: ScrapeOpt = None,
    rules: RulesOpt = None,
    timeout: TimeoutOpt = 30.0,
) -> None:
    """Start every component that is not running (idempotent) and wait until each is ready."""
    ports = {
        "registry": registry_port,
        "prometheus": prometheus_port,
        "pushgateway": pushgateway_port,
        "alertmanager": alertmanager_port,
        "postgres": postgres_port,
    }

    def action() -> None:
        info = _up(directory, only, ports, scrape, rules, timeout)
        _render(info, info.status(only or None), as_json)

    guard(action, as_json=False)


def _up(
    directory: Path,
    only: list[str] | None,
    port_overrides: dict[str, int | None],
    scrape: list[str] | None,
    rules: list[Path] | None,
    timeout: float,
) -> StackInfo:
    """Start the stack; what is not given on the command line comes from its last start, or the defaults."""
    from dataclasses import replace

    from bmad.engine.local_stack import EXAMPLE_SCRAPE_TARGETS, StackPorts, saved_settings
    from bmad.engine.local_stack import up as stack_up

    saved = saved_settings(directory.resolve())
    ports = saved.ports if saved else StackPorts()
    ports = replace(ports, **{k: v for k, v in port_overrides.items() if v is not None})
    targets = _parse_scrape(scrape) if scrape else (None if saved else dict(EXAMPLE_SCRAPE_TARGETS))
    rule_files = list(rules) if rules else (None if saved else _default_rules())
    return stack_up(
        directory,
        ports=ports,
        components=only or None,
        scrape_targets=targets,
        rule_files=rule_files,
        ready_timeout=timeout,
    )


def down_command(
    directory: DirOption = Path(DEFAULT_DIR),
    only: OnlyOption = None,
    as_json: JsonTableOpt = False,
    purge: PurgeOpt = False,
) -> None:
    """Stop the recorded components by pid (process group). Nothing recorded: nothing to do."""

    def action() -> None:
        from bmad.engine.local_stack import down as stack_down

        stopped = stack_down(directory, only=only or None, purge=purge)
        if as_json:
            typer.echo(json.dumps({"dir": str(directory.resolve()), "stopped": stopped}))
        else:
            typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")

    guard(action, as_json=False)


def status_command(directory: DirOption = Path(DEFAULT_DIR), as_json: JsonTableOpt = False) -> None:
    """Show each component's state (from the state file, probed now). Exit 3 when one is not running."""

    def action() -> int:
        from bmad.engine.local_stack import load

        info = load(directory)
        items = info.status()
        _render(info, items, as_json)
        wanted = [i for i in items if i.name in info.components]
        return 0 if all(i.state == "running" for i in wanted) else 3

    guard(action, as_json=False)


def env_command(directory: DirOption = Path(DEFAULT_DIR), as_json: JsonTableOpt = False) -> None:
    """Print shell exports pointing clients at the stack: eval "$(bmad stack env)"."""

    def action() -> None:
        from bmad.engine.local_stack import load

        env = load(directory).env()
        env.pop("BMAD_STACK_POSTGRES_URL", None)  # carries a password: ask the library for it
        if as_json:
            typer.echo(json.dumps(env, indent=2))
        else:
            for key, value in env.items():
                typer.echo(f"export {key}={value}")

    guard(action, as_json=False)


def _parse_scrape(values: list[str]) -> dict[str, list[str]]:
    from bmad.core.errors import UsageError

    targets: dict[str, list[str]] = {}
    for value in values:
        job, sep, rest = value.partition("=")
        items = [t.strip() for t in rest.split(",") if t.strip()]
        if not sep or not job.strip() or not items or any(":" not in t for t in items):
            raise UsageError(f"--scrape {value!r}: expected JOB=HOST:PORT[,HOST:PORT...]")
        targets.setdefault(job.strip(), []).extend(items)
    return targets


def _default_rules() -> list[Path]:
    from bmad.engine.local_stack import EXAMPLE_RULES_DIR

    rules_dir = Path(EXAMPLE_RULES_DIR)
    if not rules_dir.is_dir():
        return []
    return sorted(p for p in rules_dir.iterdir() if p.suffix in (".yml", ".yaml"))


def _render(info: StackInfo, items: list[ComponentStatus], as_json: bool) -> None:
    if as_json:
        payload = {
            "dir": str(info.root),
            "logs": str(info.logs_dir),
            "env": {k: v for k, v in info.env().items() if k != "BMAD_STACK_POSTGRES_URL"},
            "components": [item.to_json() for item in items],
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"local stack in {info.root}", title_justify="left")
    for column in ("component", "state", "pid", "endpoint", "ready in", "log"):
        table.add_column(column)
    colours = {"running": "green", "stopped": "dim", "exited": "red", "unhealthy": "yellow"}
    for item in items:
        table.add_row(
            item.name,
            f"[{colours.get(item.state, 'white')}]{item.state}[/]",
            str(item.pid or "-"),
            item.endpoint,
            f"{item.start_seconds:.2f}s" if item.start_seconds is not None else "-",
            item.log or "-",
        )
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200)
    console.print(table)
    console.print(f'clients: eval "$(bmad stack env --dir {info.root})"  # DOCKER_HOST={info.docker_host}')
