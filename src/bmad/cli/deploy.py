"""`bmad` commands owned by the deploy area: ``rollback``, ``target`` and ``diagnose``.

Exit codes: 0 done / nothing found, 1 the rollback failed or ``diagnose`` found problems,
2 usage or configuration error, 3 the target could not be reached, 4 internal error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from bmad.cli.options import DEFAULT_CONFIG, ConfigOpt, EnvOpt, JsonTextOpt, pick_env

if TYPE_CHECKING:
    from rich.console import Console

ServiceArg = Annotated[str | None, typer.Argument(help="Service name (checked against bmad.yaml).")]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Version (commit prefix) to return to; default: the last good one.")
]
RollbackReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded in the ledger).")]
WaitDeployOpt = Annotated[bool, typer.Option("--wait", help="Wait for a running deploy of this environment.")]


def register(app: typer.Typer) -> None:
    app.command()(rollback)
    app.command("target")(target_status)
    app.command()(diagnose)


def rollback(
    service: ServiceArg = None,
    env: EnvOpt = None,
    to: ToOpt = None,
    reason: RollbackReasonOpt = "manual rollback",
    wait: WaitDeployOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
    json_out: JsonTextOpt = False,
) -> None:
    """Roll back to the last good release in the ledger; the rollback and its MTTR are recorded."""
    import math

    from bmad.cli._render import RichProgress, print_json
    from bmad.config.loader import load_config
    from bmad.core.errors import UsageError
    from bmad.engine.wiring.deploy_rollback import manual_rollback

    cfg = load_config(config)
    if service is not None and service != cfg.service.name:
        raise UsageError(f"{config} describes service {cfg.service.name!r}, not {service!r}")
    environment = pick_env(cfg, env)
    with RichProgress() as progress:
        outcome = manual_rollback(
            cfg, environment, to_version=to, reason=reason, progress=progress, wait_seconds=math.inf if wait else 0.0
        )
    if json_out:
        print_json(outcome.to_dict())
    else:
        _print_rollback(outcome)
    if not outcome.ok:
        raise typer.Exit(1)


def _print_rollback(outcome: Any) -> None:
    from bmad.cli._render import console, esc

    out = console()
    result = outcome.result
    if outcome.ok:
        mttr = result.metrics.get("mttr_seconds")
        out.print(
            f"[green]rolled back[/green] {esc(outcome.service)} in {esc(outcome.environment)}: "
            f"{(outcome.from_version or '?')[:12]} -> {(outcome.to_version or '?')[:12]} "
            f"(healthy after {mttr}s)"
        )
    else:
        out.print(f"[red]rollback failed[/red]: {esc(result.summary)}")
        if result.fix:
            out.print(f"fix: {esc(result.fix)}")


def target_status(env: EnvOpt = None, config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonTextOpt = False) -> None:
    """What runs in the environment's target now, read back from it (not from the ledger)."""
    from bmad.cli._render import console, esc, print_json
    from bmad.config.loader import load_config
    from bmad.engine.wiring.deploy import make_target

    cfg = load_config(config)
    environment = pick_env(cfg, env)
    status = make_target(cfg, environment).status(cfg.service.name, environment)
    if json_out:
        print_json(status)
        return
    out = console()
    out.print(f"[bold]{esc(cfg.service.name)}[/bold] in {esc(environment)} ({status.get('kind')})")
    if status.get("kind") == "local":
        _print_local_target(out, status)
    else:
        _print_kubernetes_target(out, status)


def _print_local_target(out: Console, status: dict[str, Any]) -> None:
    from bmad.cli._render import esc

    for gen in status.get("generations") or []:
        replicas = ", ".join(f"{r['name']} {r['status']} {r['url'] or ''}".strip() for r in gen["replicas"])
        out.print(f"  {gen['role']:<9} {gen['release'][:12]}  generation {gen['generation']}: {esc(replicas)}")
    if not status.get("generations"):
        out.print("  nothing deployed")


def _print_kubernetes_target(out: Console, status: dict[str, Any]) -> None:
    from bmad.cli._render import esc

    rollout = status.get("rollout") or {}
    out.print(
        f"  deployment {status.get('deployment')} revision {status.get('revision')} "
        f"release {str(status.get('release') or '?')[:12]}: {esc(str(rollout.get('message', '')))}"
    )
    for pod in status.get("pods") or []:
        out.print(
            f"  pod {esc(pod['name'])} {pod['phase']} ready={pod['ready']} restarts={pod['restarts']}"
            + (f" {pod['problem']}" if pod.get("problem") else "")
        )


def diagnose(env: EnvOpt = None, config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonTextOpt = False) -> None:
    """The guide's troubleshooting, automated: CrashLoopBackOff, slow rollout, high latency."""
    from bmad.cli._render import print_json
    from bmad.config.loader import load_config
    from bmad.engine.wiring.deploy_diagnose import diagnose_environment

    cfg = load_config(config)
    report = diagnose_environment(cfg, pick_env(cfg, env))
    if json_out:
        print_json(report.to_dict())
    else:
        _print_diagnosis(report)
    if report.findings:
        raise typer.Exit(1)


def _print_diagnosis(report: Any) -> None:
    from bmad.cli._render import console, esc

    out = console()
    out.print(f"[bold]{esc(report.service)}[/bold] in {esc(report.environment)} ({report.target})")
    if not report.findings:
        out.print("[green]no problem found[/green]")
    for finding in report.findings:
        out.print(f"\n[red]{esc(finding.symptom)}[/red]  {esc(finding.object)}")
        for line in finding.evidence:
            out.print(f"  {esc(line)}")
        out.print("  likely causes:")
        for cause in finding.causes:
            out.print(f"    - {esc(cause)}")
        out.print("  fixes:")
        for fix in finding.fixes:
            out.print(f"    - {esc(fix)}")
