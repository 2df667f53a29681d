"""`bmad metrics`, `bmad report`, `bmad runbook` and `bmad demo` (the reports area).

Thin: open the ledger, call :mod:`bmad.reports` / :mod:`bmad.demo`, render. Heavy
imports happen inside the commands so ``bmad --help`` stays fast.
"""

from __future__ import annotations

import os

from bmad.cli.options import add_config, add_json, config_named, config_of, folder_path, guard

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from bmad.config.models import BmadConfig
    from bmad.engine.runner import Ledger
    from bmad.reports.metrics import FrameworkMetrics
    from bmad.reports.outputs import ReleaseOutputs
    from bmad.reports.views import ReleaseView

FORMATS = ("table", "json", "prometheus")
LEDGER_CONFIG_HELP = (
    "bmad.yaml of the service, for the ledger and output folder (default: $BMAD_CONFIG, else ./bmad.yaml; "
    "without one: $BMAD_LEDGER_URL or ./.bmad)."
)
RELEASE_HELP = "Ledger id (#42), version or version prefix; default: the latest release."


def _open(args: argparse.Namespace) -> tuple[BmadConfig | None, Ledger]:
    """The config (when the file exists) and its ledger; without a bmad.yaml, BMAD_LEDGER_URL or ./.bmad."""
    from pathlib import Path

    from bmad.config.loader import load_config

    config_path = config_of(args)
    if config_path.exists():
        from bmad.engine.opening import open_ledger

        config = load_config(config_path)
        return config, open_ledger(config)
    if config_named(args):
        load_config(config_path)  # raises the ConfigError naming the missing file
    if not os.environ.get("BMAD_LEDGER_URL") and not Path(".bmad/ledger.db").exists():
        from bmad.core.errors import UsageError

        raise UsageError(
            "no ledger here: no bmad.yaml, no .bmad/ledger.db and BMAD_LEDGER_URL is not set",
            hint="run in the service's folder, pass --config path/to/bmad.yaml, or set BMAD_LEDGER_URL",
        )
    from bmad.engine.opening import open_ledger_at

    return None, open_ledger_at(None, Path(".bmad"))


def _out_dir(config: BmadConfig | None, out: Path | None) -> Path:
    if out is not None:
        return out
    if config is not None:
        return config.resolve_path(config.reports.output_dir)
    from pathlib import Path

    return Path(".bmad/reports")


def _state(config: BmadConfig | None) -> Path:
    from pathlib import Path

    return config.state_path if config is not None else Path(".bmad")


def _ledger_options(parser: argparse.ArgumentParser, description: str, *, release: bool) -> None:
    parser.description = description
    if release:
        parser.add_argument("release", nargs="?", metavar="RELEASE", help=RELEASE_HELP)
    add_config(parser, LEDGER_CONFIG_HELP)
    parser.add_argument("-e", "--env", metavar="NAME", help="Environment (default: every environment).")


def metrics_command(parser: argparse.ArgumentParser) -> None:
    _ledger_options(
        parser,
        "Framework metrics (the guide's table: target vs achieved) and the DORA four keys, from the ledger.",
        release=False,
    )
    parser.add_argument(
        "-s", "--service", metavar="NAME", help="Service (default: the one in bmad.yaml; 'all' for all)."
    )
    parser.add_argument("--since", metavar="WHEN", help="From: 2026-01-31, 2026-01-31T12:00 or 7d / 12h ago.")
    parser.add_argument("--until", metavar="WHEN", help="Until (exclusive), same forms.")
    add_json(parser, "Print one JSON document.")
    parser.add_argument("-f", "--format", choices=FORMATS, default="table", help="Output format (default: table).")
    parser.set_defaults(handler=metrics)


def metrics(args: argparse.Namespace) -> int:
    """Framework metrics (the guide's table: target vs achieved) and the DORA four keys, from the ledger."""
    as_json = args.json or args.format == "json"

    def action() -> None:
        result = _framework_metrics(args)
        if as_json:
            from bmad.cli._render import print_json

            print_json(result.to_dict())
        elif args.format == "prometheus":
            from bmad.cli._render import echo
            from bmad.reports.exposition import render_prometheus

            echo(render_prometheus(result), end="")
        else:
            print_metrics_table(result)

    return guard(action, as_json=as_json, debug=getattr(args, "debug", False))


def _framework_metrics(args: argparse.Namespace) -> FrameworkMetrics:
    from bmad.core.models import utcnow
    from bmad.reports.metrics import framework_metrics, parse_when

    cfg, ledger = _open(args)
    try:
        now = utcnow()
        chosen = args.service if args.service is not None else (cfg.service.name if cfg is not None else None)
        return framework_metrics(
            ledger,
            service=None if chosen == "all" else chosen,
            environment=args.env,
            since=parse_when(args.since, now=now) if args.since else None,
            until=parse_when(args.until, now=now) if args.until else None,
            now=now,
        )
    finally:
        ledger.close()


def _out_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=folder_path,
        metavar="DIR",
        help="Folder for the documents (default: reports.output_dir of bmad.yaml).",
    )


def report_command(parser: argparse.ArgumentParser) -> None:
    _ledger_options(
        parser, "Write the HTML report, runbook (MD + HTML), checklist and rollback plan of a release.", release=True
    )
    _out_option(parser)
    add_json(parser, "Print one JSON document.")
    parser.set_defaults(handler=report)


def report(args: argparse.Namespace) -> None:
    """Write the HTML report, runbook (MD + HTML), checklist and rollback plan of a release."""
    from bmad.cli._render import echo, print_json

    view, outputs = _write_documents(args)
    if args.json:
        print_json({"release": view.release_id, "outcome": view.outcome.value, **outputs.to_dict()})
        return
    echo(f"{view.service}/{view.environment}@{view.release.short_version}: {view.outcome.value}")
    for name, where in outputs.files.items():
        echo(f"  {name.replace('_', ' ')}: {where}")


def runbook_command(parser: argparse.ArgumentParser) -> None:
    _ledger_options(
        parser,
        "Print the deployment runbook (or --checklist) of a release as Markdown; the files are written too.",
        release=True,
    )
    _out_option(parser)
    parser.add_argument("--checklist", action="store_true", help="Print the pre-deployment checklist.")
    add_json(parser, "Print one JSON document.")
    parser.set_defaults(handler=runbook)


def runbook(args: argparse.Namespace) -> None:
    """Print the deployment runbook (or --checklist) of a release as Markdown; the files are written too."""
    from bmad.cli._render import echo, print_json

    _, outputs = _write_documents(args)
    key = "checklist_md" if args.checklist else "runbook_md"
    if args.json:
        print_json({"markdown": outputs.files[key].read_text(encoding="utf-8"), **outputs.to_dict()})
        return
    echo(outputs.files[key].read_text(encoding="utf-8"))


def _write_documents(args: argparse.Namespace) -> tuple[ReleaseView, ReleaseOutputs]:
    """Find the release in the ledger and write its documents."""
    from bmad.reports.outputs import release_figures, write_figures_outputs
    from bmad.reports.source import find_release

    cfg, ledger = _open(args)
    try:
        release = find_release(ledger, args.release, service=cfg.service.name if cfg else None, environment=args.env)
        figures = release_figures(ledger, release)
    finally:
        ledger.close()
    return figures.view, write_figures_outputs(figures, _out_dir(cfg, args.out), state_dir=_state(cfg))


def demo_command(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Bring up the local stack, then take the example service through B-M-A-D twice: a good release and a "
        "bad one that post-deploy verification catches and rolls back; print the reports and the metrics table."
    )
    parser.add_argument(
        "--dir",
        dest="directory",
        type=folder_path,
        default=".bmad-demo",
        metavar="DIR",
        help="Work folder (copy of the example as a git repository, state, reports; default: %(default)s).",
    )
    parser.add_argument(
        "--stack-dir",
        type=folder_path,
        default=os.environ.get("BMAD_STACK_DIR") or ".stack",
        metavar="DIR",
        help="The local stack's folder (default: $BMAD_STACK_DIR, else .stack).",
    )
    parser.add_argument(
        "-e",
        "--env",
        default="dev",
        metavar="NAME",
        help="Environment name the example runs as (containers are labelled with it; default: %(default)s).",
    )
    parser.add_argument(
        "--notify-webhook",
        metavar="URL",
        help="Tell this webhook about each run (a signed JSON POST; see docs/notifications.md).",
    )
    parser.add_argument(
        "--down",
        action="store_true",
        help="Remove what an earlier demo left serving (the example's replicas for --env and the stack's "
        "discovery file for them) instead of running it; `bmad stack down` then stops the stack.",
    )
    add_json(parser, "Print one JSON document.")
    parser.set_defaults(handler=demo)


def demo(args: argparse.Namespace) -> int:
    """Take the example service through B-M-A-D twice and print the reports and the metrics table."""
    from bmad.cli._render import echo, print_json
    from bmad.demo import run_demo

    if args.down:
        return _demo_down(args)
    say = (lambda _m: None) if args.json else (lambda m: echo(m, err=True))
    result = run_demo(
        args.directory, stack_dir=args.stack_dir, environment=args.env, say=say, notify_webhook=args.notify_webhook
    )
    if args.json:
        print_json(result.to_dict())
    else:
        echo("")
        for line in result.summary_lines():
            echo(line)
        echo("")
        print_metrics_table(result.metrics)
    return 0 if result.ok else 1


def _demo_down(args: argparse.Namespace) -> int:
    """``bmad demo --down``: the example's replicas and discovery file removed; the stack keeps running."""
    from bmad.cli._render import echo, print_json
    from bmad.demo import remove_demo
    from bmad.engine.local_stack import load

    stack = load(args.stack_dir)
    removed = remove_demo(stack, args.env)
    if args.json:
        print_json({"environment": args.env, "removed_containers": removed})
    else:
        echo(f"bmad demo --down: removed {removed} container(s) of hello/{args.env}; `bmad stack down` stops the stack")
    return 0


def print_metrics_table(result: Any) -> None:
    """The guide's "Framework Metrics" table and the DORA keys, boxed on a terminal, else as Markdown."""
    from bmad.cli._render import printer
    from bmad.cli._text import Column, Piece, Table

    out = printer()
    if not out.is_terminal and os.environ.get("BMAD_RICH") != "1":
        from bmad.cli._render import echo
        from bmad.reports.metrics import render_table

        echo(render_table(result), end="")
        return
    scope = f"{result.service or 'all services'} / {result.environment or 'all environments'}"
    out.print(
        f"{scope}, {result.since:%Y-%m-%d %H:%M} to {result.until:%Y-%m-%d %H:%M} UTC: "
        f"{result.successful} success, {result.rolled_back} rolled back, {result.failed} failed, "
        f"{result.blocked} stopped at a gate"
    )
    title = f"Framework Metrics ({result.deployments} Deployment{'s' if result.deployments != 1 else ''})"
    for heading, rows in ((title, result.rows()), ("DORA four keys", result.dora_rows())):
        columns = [Column(name, wrap=True) for name in ("Metric", "Target", "Achieved", "Met")]
        table = Table(columns, heading, boxed=True)
        for row in rows:
            met = Piece("–") if row.met is None else (Piece("✓", "green") if row.met else Piece("✗", "red"))
            table.add_row(Piece(row.metric, "bold"), row.target, row.achieved, met)
        out.table(table)


COMMANDS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "metrics": metrics_command,
    "report": report_command,
    "runbook": runbook_command,
    "demo": demo_command,
}
