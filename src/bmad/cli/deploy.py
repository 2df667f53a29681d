"""`bmad` commands owned by the deploy area: ``rollback``, ``target`` and ``diagnose``.

Exit codes: 0 done / nothing found, 1 the rollback failed or ``diagnose`` found problems,
2 usage or configuration error, 3 the target could not be reached, 4 internal error.
"""

from __future__ import annotations

from bmad.cli.options import add_config, add_env, add_json, add_kubernetes, config_of, kubernetes_sets, pick_env

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

    from bmad.cli._text import Printer


def rollback_command(parser: argparse.ArgumentParser) -> None:
    parser.description = "Roll back to the last good release in the ledger; the rollback and its MTTR are recorded."
    parser.add_argument("service", nargs="?", metavar="SERVICE", help="Service name (checked against bmad.yaml).")
    add_env(parser)
    parser.add_argument(
        "--to", metavar="VERSION", help="Version (commit prefix) to return to; default: the last good one."
    )
    parser.add_argument(
        "--reason",
        metavar="TEXT",
        default="manual rollback",
        help="Why (recorded in the ledger; default: %(default)s).",
    )
    parser.add_argument("--wait", action="store_true", help="Wait for a running deploy of this environment.")
    add_config(parser)
    add_json(parser, "Print one JSON document instead of text.")
    add_kubernetes(parser, force_conflicts=True)
    parser.set_defaults(handler=rollback)


def rollback(args: argparse.Namespace) -> int:
    """Roll back to the last good release in the ledger; the rollback and its MTTR are recorded."""
    import math

    from bmad.cli._progress import progress_display
    from bmad.cli._render import print_json, printer
    from bmad.config.loader import load_config
    from bmad.core.errors import UsageError
    from bmad.engine.wiring.deploy_rollback import manual_rollback

    config = config_of(args)
    cfg = load_config(config)
    if args.service is not None and args.service != cfg.service.name:
        raise UsageError(f"{config} describes service {cfg.service.name!r}, not {args.service!r}")
    environment = pick_env(cfg, args.env)
    with progress_display(printer(), printer(stderr=True)) as progress:
        outcome = manual_rollback(
            cfg,
            environment,
            target=_target(cfg, environment, args),
            to_version=args.to,
            reason=args.reason,
            progress=progress,
            wait_seconds=math.inf if args.wait else 0.0,
        )
    if args.json:
        print_json(outcome.to_dict())
    else:
        _print_rollback(outcome)
    return 0 if outcome.ok else 1


def _print_rollback(outcome: Any) -> None:
    from bmad.cli._render import printer
    from bmad.cli._text import Piece

    out = printer()
    result = outcome.result
    if outcome.ok:
        mttr = result.metrics.get("mttr_seconds")
        out.print(
            Piece("rolled back", "green"),
            f" {outcome.service} in {outcome.environment}: "
            f"{(outcome.from_version or '?')[:12]} -> {(outcome.to_version or '?')[:12]} "
            f"(healthy after {mttr}s)",
        )
    else:
        out.print(Piece("rollback failed", "red"), f": {result.summary}")
        if result.fix:
            out.print(f"fix: {result.fix}")
    for sent in outcome.notifications:
        told = Piece("notified") if sent.delivered else Piece("warning: not delivered to", "yellow")
        out.print(told, f" {sent.channel} ({sent.event})" + (f": {sent.reason}" if sent.reason else ""))


def _env_config_json(parser: argparse.ArgumentParser, description: str, handler: Any) -> None:
    parser.description = description
    add_env(parser)
    add_config(parser)
    add_json(parser, "Print one JSON document instead of text.")
    add_kubernetes(parser)
    parser.set_defaults(handler=handler)


def _target(cfg: Any, environment: str, args: argparse.Namespace) -> Any:
    """The environment's target, with the command line's Kubernetes options (they win over bmad.yaml)."""
    from bmad.engine.wiring.deploy import make_target
    from bmad.ports.phase import RunOptions

    return make_target(cfg, environment, options=RunOptions.from_sets(kubernetes_sets(args)))


def target_command(parser: argparse.ArgumentParser) -> None:
    _env_config_json(
        parser, "What runs in the environment's target now, read back from it (not from the ledger).", target_status
    )


def target_status(args: argparse.Namespace) -> None:
    """What runs in the environment's target now, read back from it (not from the ledger)."""
    from bmad.cli._render import print_json, printer
    from bmad.cli._text import Piece
    from bmad.config.loader import load_config

    cfg = load_config(config_of(args))
    environment = pick_env(cfg, args.env)
    status = _target(cfg, environment, args).status(cfg.service.name, environment)
    if args.json:
        print_json(status)
        return
    out = printer()
    out.print(Piece(cfg.service.name, "bold"), f" in {environment} ({status.get('kind')})")
    if status.get("kind") == "local":
        _print_local_target(out, status)
    else:
        _print_kubernetes_target(out, status)


def _print_local_target(out: Printer, status: dict[str, Any]) -> None:
    for gen in status.get("generations") or []:
        replicas = ", ".join(f"{r['name']} {r['status']} {r['url'] or ''}".strip() for r in gen["replicas"])
        line = f"  {gen['role']:<9} {gen['release'][:12]}  generation {gen['generation']}: {replicas}"
        out.print(line)
    if not status.get("generations"):
        out.print("  nothing deployed")


def _print_kubernetes_target(out: Printer, status: dict[str, Any]) -> None:
    rollout = status.get("rollout") or {}
    out.print(
        f"  deployment {status.get('deployment')} revision {status.get('revision')} "
        f"release {str(status.get('release') or '?')[:12]}: {rollout.get('message', '')}"
    )
    for pod in status.get("pods") or []:
        problem = f" {pod['problem']}" if pod.get("problem") else ""
        out.print(f"  pod {pod['name']} {pod['phase']} ready={pod['ready']} restarts={pod['restarts']}{problem}")


def diagnose_command(parser: argparse.ArgumentParser) -> None:
    _env_config_json(
        parser, "The guide's troubleshooting, automated: CrashLoopBackOff, slow rollout, high latency.", diagnose
    )


def diagnose(args: argparse.Namespace) -> int:
    """The guide's troubleshooting, automated: CrashLoopBackOff, slow rollout, high latency."""
    from bmad.cli._render import print_json
    from bmad.config.loader import load_config
    from bmad.engine.wiring.deploy_diagnose import diagnose_environment

    cfg = load_config(config_of(args))
    environment = pick_env(cfg, args.env)
    report = diagnose_environment(cfg, environment, target=_target(cfg, environment, args))
    if args.json:
        print_json(report.to_dict())
    else:
        _print_diagnosis(report)
    return 1 if report.findings else 0


def _print_diagnosis(report: Any) -> None:
    from bmad.cli._render import printer
    from bmad.cli._text import Piece

    out = printer()
    out.print(Piece(report.service, "bold"), f" in {report.environment} ({report.target})")
    if not report.findings:
        out.print(Piece("no problem found", "green"))
    for finding in report.findings:
        out.print("\n", Piece(finding.symptom, "red"), f"  {finding.object}")
        for line in finding.evidence:
            out.print(f"  {line}")
        out.print("  likely causes:")
        for cause in finding.causes:
            out.print(f"    - {cause}")
        out.print("  fixes:")
        for fix in finding.fixes:
            out.print(f"    - {fix}")


COMMANDS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "rollback": rollback_command,
    "target": target_command,
    "diagnose": diagnose_command,
}
