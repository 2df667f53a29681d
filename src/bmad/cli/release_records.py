"""``bmad status``, ``bmad history`` and ``bmad verify-ledger``: what the ledger says about releases."""

from __future__ import annotations

from bmad.cli.options import add_config, add_env, add_json, config_of, pick_env, positive_int

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

    from bmad.cli._text import Part, Printer
    from bmad.engine.queries import StatusReport


def status_command(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Where the release at HEAD stands (a phase left running by a dead process shows as interrupted)."
    )
    add_config(parser)
    add_env(parser)
    add_json(parser, "Print one JSON document instead of tables.")
    parser.set_defaults(handler=status)


def status(args: argparse.Namespace) -> None:
    """Where the release at HEAD stands (a phase left running by a dead process shows as interrupted)."""
    from bmad.cli._render import print_json, printer
    from bmad.config.loader import load_config
    from bmad.engine.queries import release_status

    cfg = load_config(config_of(args))
    report = release_status(cfg, pick_env(cfg, args.env), with_checks=args.json)
    if args.json:
        print_json(report.to_dict())
        return
    _print_status(printer(), report)


def _print_status(out: Printer, report: StatusReport) -> None:
    from bmad.cli._render import styled
    from bmad.cli._text import Piece
    from bmad.core.models import PhaseName

    release = report.release
    out.print(Piece(release.key, "bold"), Piece(" (dirty tree)", "yellow") if release.dirty else "")
    for phase in PhaseName.ordered():
        run = report.history.latest(phase) if report.history is not None else None
        line: list[Part] = [f"  {phase.label:<8} ", styled(report.phase_status(phase).value)]
        if run is not None:
            line.append(f"  attempt {run.attempt}, started {run.started_at:%Y-%m-%d %H:%M:%S}Z")
            if run.duration_seconds is not None:
                line.append(f", {run.duration_seconds:.1f}s")
            if run.forced_reason:
                line += [", ", Piece(f"forced: {run.forced_reason}", "yellow")]
            if run.message and run.status.value != "passed":
                line += ["\n           ", Piece(run.message, "dim")]
        out.print(*line)
    deployer = _deployer_line(report)
    if deployer:
        out.print(deployer)
    for record in report.interrupted:
        out.print(Piece(f"{record.phase.label} was interrupted: {record.message}", "magenta"))
    if report.lock is not None:
        out.print(f"locked by pid {report.lock.pid} on {report.lock.host} until {report.lock.lease_until:%H:%M:%S}Z")
    nxt = report.next_phase
    if report.history is None:
        out.print("no phase ran yet for this release: start with 'bmad run'")
    elif nxt is None:
        out.print(Piece("every phase passed", "green"))
    else:
        out.print(f"next: {nxt.label} ('bmad resume' continues from there)")


def _deployer_line(report: StatusReport) -> str | None:
    """Who ran the latest DEPLOY (else the newest phase run), with the trigger and the CI run's URL."""
    from bmad.core.models import PhaseName

    history = report.history
    if history is None or not history.deployer.actor:
        return None
    who = history.deployer
    ran = "DEPLOY" if history.latest(PhaseName.DEPLOY) is not None else "last phase"
    details = ", ".join(part for part in (who.trigger, who.run_url) if part)
    return f"{ran} run by {who.actor or ''}" + (f" ({details})" if details else "")


def history_command(parser: argparse.ArgumentParser) -> None:
    parser.description = "Releases of the service, newest first, with their phases, timings and rollbacks."
    add_config(parser)
    add_env(parser)
    add_json(parser, "Print one JSON document instead of tables.")
    parser.add_argument(
        "--limit", type=positive_int, default=20, metavar="N", help="How many releases (default: %(default)s)."
    )
    parser.add_argument("--all", dest="all_envs", action="store_true", help="Every environment.")
    parser.set_defaults(handler=history)


def history(args: argparse.Namespace) -> None:
    """Releases of the service, newest first, with their phases, timings and rollbacks."""
    from bmad.cli._render import echo, print_json
    from bmad.config.loader import load_config
    from bmad.core.models import PhaseName
    from bmad.engine.queries import release_deliveries, release_history

    cfg = load_config(config_of(args))
    environment = None if args.all_envs else (pick_env(cfg, args.env, required=False) or None)
    releases = release_history(cfg, environment, limit=args.limit, with_checks=args.json)
    if args.json:
        sent = release_deliveries(cfg, releases)
        documents = [{**r.to_dict(), "notifications": [d.to_dict() for d in sent[r.id]]} for r in releases]
        print_json({"service": cfg.service.name, "environment": environment, "releases": documents})
        return
    if not releases:
        echo("no releases recorded yet")
        return
    rows = [["created", "env", "version", *(p.label for p in PhaseName.ordered()), "time", "rollbacks", "deployer"]]
    for item in releases:
        total = sum(run.duration_seconds or 0.0 for run in item.runs)
        rows.append(
            [
                f"{item.created_at:%Y-%m-%d %H:%M}",
                item.release.environment,
                item.release.short_version + ("*" if item.release.dirty else ""),
                *(item.phase_status(p).value for p in PhaseName.ordered()),
                f"{total:.1f}s",
                str(len(item.rollbacks)) if item.rollbacks else "",
                item.deployer.actor or "",
            ]
        )
    for line in plain_table(rows):
        echo(line)


def plain_table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as aligned text columns, every cell whole (a long line wraps on the terminal, never cut)."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def verify_ledger_command(parser: argparse.ArgumentParser) -> None:
    parser.description = "Recompute the ledger's hash chain and report any edited or deleted record (exit 1)."
    add_config(parser)
    add_json(parser, "Print one JSON document instead of tables.")
    parser.set_defaults(handler=verify_ledger)


def verify_ledger(args: argparse.Namespace) -> int:
    """Recompute the ledger's hash chain and report any edited or deleted record (exit 1)."""
    from bmad.cli._render import print_json, printer
    from bmad.cli._text import Piece
    from bmad.config.loader import load_config
    from bmad.engine.queries import verify_ledger as verify

    report = verify(load_config(config_of(args)))
    if args.json:
        print_json(report.to_dict())
    else:
        out = printer()
        if report.ok:
            out.print(Piece("ledger verified", "green"), f": {report.checked} record(s), hash chain intact")
        else:
            out.print(Piece("ledger verification failed", "red"), f": {len(report.problems)} problem(s)")
            for problem in report.problems:
                out.print(f"  {problem}")
    return 0 if report.ok else 1


COMMANDS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "status": status_command,
    "history": history_command,
    "verify-ledger": verify_ledger_command,
}
