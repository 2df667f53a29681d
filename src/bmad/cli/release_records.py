"""``bmad status``, ``bmad history`` and ``bmad verify-ledger``: what the ledger says about releases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bmad.cli.options import DEFAULT_CONFIG, ConfigOpt, EnvOpt, JsonTablesOpt, pick_env

if TYPE_CHECKING:
    from rich.console import Console

    from bmad.engine.queries import StatusReport

LimitOpt = Annotated[int, typer.Option("--limit", "-n", help="How many releases.", min=1)]
AllEnvsOpt = Annotated[bool, typer.Option("--all", help="Every environment.")]


def register(app: typer.Typer) -> None:
    app.command()(status)
    app.command()(history)
    app.command("verify-ledger")(verify_ledger_command)


def status(config: ConfigOpt = DEFAULT_CONFIG, env: EnvOpt = None, json_out: JsonTablesOpt = False) -> None:
    """Where the release at HEAD stands (a phase left running by a dead process shows as interrupted)."""
    from bmad.cli._render import console, print_json
    from bmad.config.loader import load_config
    from bmad.engine.queries import release_status

    cfg = load_config(config)
    report = release_status(cfg, pick_env(cfg, env))
    if json_out:
        print_json(report.to_dict())
        return
    _print_status(console(), report)


def _print_status(out: Console, report: StatusReport) -> None:
    from bmad.cli._render import esc, styled
    from bmad.core.models import PhaseName

    release = report.release
    out.print(f"[bold]{esc(release.key)}[/bold]" + (" [yellow](dirty tree)[/yellow]" if release.dirty else ""))
    for phase in PhaseName.ordered():
        run = report.history.latest(phase) if report.history is not None else None
        line = f"  {phase.label:<8} {styled(report.phase_status(phase).value)}"
        if run is not None:
            line += f"  attempt {run.attempt}, started {run.started_at:%Y-%m-%d %H:%M:%S}Z"
            if run.duration_seconds is not None:
                line += f", {run.duration_seconds:.1f}s"
            if run.forced_reason:
                line += f", [yellow]forced: {esc(run.forced_reason)}[/yellow]"
            if run.message and run.status.value != "passed":
                line += f"\n           [dim]{esc(run.message)}[/dim]"
        out.print(line)
    for record in report.interrupted:
        out.print(f"[magenta]{record.phase.label} was interrupted: {esc(record.message)}[/magenta]")
    if report.lock is not None:
        out.print(
            f"locked by pid {report.lock.pid} on {esc(report.lock.host)} until {report.lock.lease_until:%H:%M:%S}Z"
        )
    nxt = report.next_phase
    if report.history is None:
        out.print("no phase ran yet for this release: start with 'bmad run'")
    elif nxt is None:
        out.print("[green]every phase passed[/green]")
    else:
        out.print(f"next: {nxt.label} ('bmad resume' continues from there)")


def history(
    config: ConfigOpt = DEFAULT_CONFIG,
    env: EnvOpt = None,
    json_out: JsonTablesOpt = False,
    limit: LimitOpt = 20,
    all_envs: AllEnvsOpt = False,
) -> None:
    """Releases of the service, newest first, with their phases, timings and rollbacks."""
    from bmad.cli._render import console, esc, print_json, styled
    from bmad.config.loader import load_config
    from bmad.core.models import PhaseName
    from bmad.engine.queries import release_history

    cfg = load_config(config)
    environment = None if all_envs else (pick_env(cfg, env, required=False) or None)
    releases = release_history(cfg, environment, limit=limit)
    if json_out:
        print_json(
            {"service": cfg.service.name, "environment": environment, "releases": [r.to_dict() for r in releases]}
        )
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("created", "env", "version", *(p.label for p in PhaseName.ordered()), "time", "rollbacks"):
        table.add_column(column, no_wrap=True)
    for item in releases:
        total = sum(run.duration_seconds or 0.0 for run in item.runs)
        table.add_row(
            f"{item.created_at:%Y-%m-%d %H:%M}",
            esc(item.release.environment),
            item.release.short_version + ("*" if item.release.dirty else ""),
            *(styled(item.phase_status(p).value) for p in PhaseName.ordered()),
            f"{total:.1f}s",
            str(len(item.rollbacks)) if item.rollbacks else "",
        )
    out = console()
    if not releases:
        out.print("no releases recorded yet")
        return
    out.print(table)


def verify_ledger_command(config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonTablesOpt = False) -> None:
    """Recompute the ledger's hash chain and report any edited or deleted record (exit 1)."""
    from bmad.cli._render import console, esc, print_json
    from bmad.config.loader import load_config
    from bmad.engine.queries import verify_ledger

    report = verify_ledger(load_config(config))
    if json_out:
        print_json(report.to_dict())
    else:
        out = console()
        if report.ok:
            out.print(f"[green]ledger verified[/green]: {report.checked} record(s), hash chain intact")
        else:
            out.print(f"[red]ledger verification failed[/red]: {len(report.problems)} problem(s)")
            for problem in report.problems:
                out.print(f"  {esc(problem)}")
    if not report.ok:
        raise typer.Exit(1)
