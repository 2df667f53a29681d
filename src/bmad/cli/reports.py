"""`bmad metrics`, `bmad report`, `bmad runbook` and `bmad demo` (the reports area).

Thin: open the ledger, call :mod:`bmad.reports` / :mod:`bmad.demo`, render. Heavy
imports happen inside the commands so ``bmad --help`` stays fast.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bmad.cli.options import DEFAULT_CONFIG, AnyEnvOpt, JsonDocumentOpt, LedgerConfigOpt, guard

if TYPE_CHECKING:
    from bmad.config.models import BmadConfig
    from bmad.engine.runner import Ledger
    from bmad.reports.metrics import FrameworkMetrics
    from bmad.reports.model import ReleaseView
    from bmad.reports.outputs import ReleaseOutputs

OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Folder for the documents (default: reports.output_dir of bmad.yaml).")
]
ReleaseArg = Annotated[
    str | None, typer.Argument(help="Ledger id (#42), version or version prefix; default: the latest release.")
]


class Format(StrEnum):
    table = "table"
    json = "json"
    prometheus = "prometheus"


def _open(config_path: Path) -> tuple[BmadConfig | None, Ledger]:
    """The config (when the file exists) and its ledger; without a bmad.yaml, BMAD_LEDGER_URL or ./.bmad."""
    from bmad.config.loader import load_config

    if config_path.exists():
        from bmad.engine.runner import open_ledger

        config = load_config(config_path)
        return config, open_ledger(config)
    if config_path != DEFAULT_CONFIG:
        load_config(config_path)  # raises the ConfigError naming the missing file
    if not os.environ.get("BMAD_LEDGER_URL") and not Path(".bmad/ledger.db").exists():
        from bmad.core.errors import UsageError

        raise UsageError(
            "no ledger here: no bmad.yaml, no .bmad/ledger.db and BMAD_LEDGER_URL is not set",
            hint="run in the service's folder, pass --config path/to/bmad.yaml, or set BMAD_LEDGER_URL",
        )
    from bmad.engine.runner import open_ledger_at

    return None, open_ledger_at(None, Path(".bmad"))


def _out_dir(config: BmadConfig | None, out: Path | None) -> Path:
    if out is not None:
        return out
    if config is not None:
        return config.resolve_path(config.reports.output_dir)
    return Path(".bmad/reports")


def _state(config: BmadConfig | None) -> Path:
    return config.state_path if config is not None else Path(".bmad")


ServiceOpt = Annotated[
    str | None, typer.Option("--service", "-s", help="Service (default: the one in bmad.yaml; 'all' for all).")
]
SinceOpt = Annotated[str | None, typer.Option("--since", help="From: 2026-01-31, 2026-01-31T12:00 or 7d / 12h ago.")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Until (exclusive), same forms.")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, json or prometheus.")]
ChecklistOpt = Annotated[bool, typer.Option("--checklist", help="Print the pre-deployment checklist.")]
DemoDirOpt = Annotated[
    Path, typer.Option("--dir", help="Work folder (copy of the example as a git repository, state, reports).")
]
StackDirOpt = Annotated[Path, typer.Option("--stack-dir", envvar="BMAD_STACK_DIR", help="The local stack's folder.")]
DemoEnvOpt = Annotated[
    str, typer.Option("--env", "-e", help="Environment name the example runs as (containers are labelled with it).")
]


def register(app: typer.Typer) -> None:
    app.command()(metrics)
    app.command()(report)
    app.command()(runbook)
    app.command()(demo)


def metrics(
    config: LedgerConfigOpt = DEFAULT_CONFIG,
    service: ServiceOpt = None,
    env: AnyEnvOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    json_out: JsonDocumentOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Framework metrics (the guide's table: target vs achieved) and the DORA four keys, from the ledger."""
    as_json = json_out or fmt is Format.json

    def action() -> None:
        result = _framework_metrics(config, service, env, since, until)
        if as_json:
            from bmad.cli._render import print_json

            print_json(result.to_dict())
        elif fmt is Format.prometheus:
            from bmad.reports.exposition import render_prometheus

            typer.echo(render_prometheus(result), nl=False)
        else:
            print_metrics_table(result)

    guard(action, as_json=as_json)


def _framework_metrics(
    config: Path, service: str | None, env: str | None, since: str | None, until: str | None
) -> FrameworkMetrics:
    from bmad.core.models import utcnow
    from bmad.reports.metrics import parse_when
    from bmad.reports.outputs import framework_metrics

    cfg, ledger = _open(config)
    try:
        now = utcnow()
        chosen = service if service is not None else (cfg.service.name if cfg is not None else None)
        return framework_metrics(
            ledger,
            service=None if chosen == "all" else chosen,
            environment=env,
            since=parse_when(since, now=now) if since else None,
            until=parse_when(until, now=now) if until else None,
            now=now,
        )
    finally:
        ledger.close()


def report(
    release: ReleaseArg = None,
    config: LedgerConfigOpt = DEFAULT_CONFIG,
    env: AnyEnvOpt = None,
    out: OutOpt = None,
    json_out: JsonDocumentOpt = False,
) -> None:
    """Write the HTML report, runbook (MD + HTML), checklist and rollback plan of a release."""

    def action() -> None:
        view, outputs = _write_documents(config, release, env, out)
        if json_out:
            from bmad.cli._render import print_json

            print_json({"release": view.release_id, "outcome": view.outcome.value, **outputs.to_dict()})
            return
        typer.echo(f"{view.service}/{view.environment}@{view.release.short_version}: {view.outcome.value}")
        for name, path in outputs.files.items():
            typer.echo(f"  {name.replace('_', ' ')}: {path}")

    guard(action, as_json=json_out)


def runbook(
    release: ReleaseArg = None,
    config: LedgerConfigOpt = DEFAULT_CONFIG,
    env: AnyEnvOpt = None,
    out: OutOpt = None,
    checklist: ChecklistOpt = False,
    json_out: JsonDocumentOpt = False,
) -> None:
    """Print the deployment runbook (or --checklist) of a release as Markdown; the files are written too."""

    def action() -> None:
        _, outputs = _write_documents(config, release, env, out)
        key = "checklist_md" if checklist else "runbook_md"
        if json_out:
            from bmad.cli._render import print_json

            print_json({"markdown": outputs.files[key].read_text(encoding="utf-8"), **outputs.to_dict()})
            return
        typer.echo(outputs.files[key].read_text(encoding="utf-8"))

    guard(action, as_json=json_out)


def _write_documents(
    config: Path, release: str | None, env: str | None, out: Path | None
) -> tuple[ReleaseView, ReleaseOutputs]:
    """Find the release in the ledger and write its documents."""
    from bmad.reports.outputs import write_release_outputs
    from bmad.reports.source import find_release

    cfg, ledger = _open(config)
    try:
        view = find_release(ledger, release, service=cfg.service.name if cfg else None, environment=env)
        outputs = write_release_outputs(ledger, view.release, _out_dir(cfg, out), state_dir=_state(cfg))
    finally:
        ledger.close()
    return view, outputs


def demo(
    directory: DemoDirOpt = Path(".bmad-demo"),
    stack_dir: StackDirOpt = Path(".stack"),
    env: DemoEnvOpt = "dev",
    json_out: JsonDocumentOpt = False,
) -> None:
    """Bring up the local stack, then take the example service through B-M-A-D twice: a good release and a
    bad one that post-deploy verification catches and rolls back; print the reports and the metrics table."""

    def action() -> None:
        from bmad.demo import run_demo

        say = (lambda _m: None) if json_out else (lambda m: typer.echo(m, err=True))
        result = run_demo(directory, stack_dir=stack_dir, environment=env, say=say)
        if json_out:
            from bmad.cli._render import print_json

            print_json(result.to_dict())
        else:
            typer.echo("")
            for line in result.summary_lines():
                typer.echo(line)
            typer.echo("")
            print_metrics_table(result.metrics)
        if not result.ok:
            raise typer.Exit(1)

    guard(action, as_json=json_out)


def print_metrics_table(result: Any) -> None:
    """The guide's "Framework Metrics" table and the DORA keys, with Rich when on a terminal."""
    from bmad.cli._render import console, esc

    out = console()
    if not out.is_terminal and os.environ.get("BMAD_RICH") != "1":
        from bmad.reports.metrics import render_table

        typer.echo(render_table(result), nl=False)
        return
    from rich.table import Table

    scope = f"{result.service or 'all services'} / {result.environment or 'all environments'}"
    out.print(
        f"{esc(scope)}, {result.since:%Y-%m-%d %H:%M} to {result.until:%Y-%m-%d %H:%M} UTC: "
        f"{result.successful} success, {result.rolled_back} rolled back, {result.failed} failed, "
        f"{result.blocked} stopped at a gate"
    )
    title = f"Framework Metrics ({result.deployments} Deployment{'s' if result.deployments != 1 else ''})"
    for heading, rows in ((title, result.rows()), ("DORA four keys", result.dora_rows())):
        table = Table(title=heading, title_justify="left")
        for column in ("Metric", "Target", "Achieved", "Met"):
            table.add_column(column)
        for row in rows:
            met = "–" if row.met is None else ("[green]✓[/green]" if row.met else "[red]✗[/red]")
            table.add_row(f"[bold]{esc(row.metric)}[/bold]", esc(row.target), esc(row.achieved), met)
        out.print(table)
