"""`bmad` commands owned by the deploy area: ``rollback`` and ``diagnose``.

Exit codes: 0 done / nothing found, 1 the rollback failed or ``diagnose`` found problems,
2 usage or configuration error, 3 the target could not be reached, 4 internal error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="bmad.yaml of the service.", dir_okay=False)]
EnvOpt = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment (default: BMAD_ENV, or the only one defined).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]


def _pick_env(config: object, env: str | None) -> str:
    import os

    from bmad.config.models import BmadConfig
    from bmad.core.errors import UsageError

    assert isinstance(config, BmadConfig)
    chosen = env or os.environ.get("BMAD_ENV")
    if chosen:
        config.environment(chosen)
        return chosen
    if len(config.environments) == 1:
        return next(iter(config.environments))
    raise UsageError(
        "several environments are defined: say which with --env",
        hint="defined environments: " + ", ".join(sorted(config.environments)),
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def rollback(
        service: Annotated[str | None, typer.Argument(help="Service name (checked against bmad.yaml).")] = None,
        env: EnvOpt = None,
        to: Annotated[
            str | None, typer.Option("--to", help="Version (commit prefix) to return to; default: the last good one.")
        ] = None,
        reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the ledger).")] = "manual rollback",
        wait: Annotated[bool, typer.Option("--wait", help="Wait for a running deploy of this environment.")] = False,
        config: ConfigOpt = Path("bmad.yaml"),
        json_out: JsonOpt = False,
    ) -> None:
        """Roll back to the last good release in the ledger; the rollback and its MTTR are recorded."""
        import math

        from bmad.cli._render import RichProgress, console, esc, print_json
        from bmad.config.loader import load_config
        from bmad.core.errors import UsageError
        from bmad.engine.plugins.deploy_rollback import manual_rollback

        cfg = load_config(config)
        if service is not None and service != cfg.service.name:
            raise UsageError(f"{config} describes service {cfg.service.name!r}, not {service!r}")
        environment = _pick_env(cfg, env)
        with RichProgress() as progress:
            outcome = manual_rollback(
                cfg,
                environment,
                to_version=to,
                reason=reason,
                progress=progress,
                wait_seconds=math.inf if wait else 0.0,
            )
        if json_out:
            print_json(outcome.to_dict())
        else:
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
        if not outcome.ok:
            raise typer.Exit(1)

    @app.command("target")
    def target_status(
        env: EnvOpt = None,
        config: ConfigOpt = Path("bmad.yaml"),
        json_out: JsonOpt = False,
    ) -> None:
        """What runs in the environment's target now, read back from it (not from the ledger)."""
        from bmad.cli._render import console, esc, print_json
        from bmad.config.loader import load_config
        from bmad.engine.plugins.deploy import make_target

        cfg = load_config(config)
        environment = _pick_env(cfg, env)
        status = make_target(cfg, environment).status(cfg.service.name, environment)
        if json_out:
            print_json(status)
            return
        out = console()
        out.print(f"[bold]{esc(cfg.service.name)}[/bold] in {esc(environment)} ({status.get('kind')})")
        if status.get("kind") == "local":
            for gen in status.get("generations") or []:
                replicas = ", ".join(f"{r['name']} {r['status']} {r['url'] or ''}".strip() for r in gen["replicas"])
                out.print(f"  {gen['role']:<9} {gen['release'][:12]}  generation {gen['generation']}: {esc(replicas)}")
            if not status.get("generations"):
                out.print("  nothing deployed")
        else:
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

    @app.command()
    def diagnose(
        env: EnvOpt = None,
        config: ConfigOpt = Path("bmad.yaml"),
        json_out: JsonOpt = False,
    ) -> None:
        """The guide's troubleshooting, automated: CrashLoopBackOff, slow rollout, high latency."""
        from bmad.cli._render import console, esc, print_json
        from bmad.config.loader import load_config
        from bmad.engine.plugins.deploy_diagnose import diagnose_environment

        cfg = load_config(config)
        report = diagnose_environment(cfg, _pick_env(cfg, env))
        if json_out:
            print_json(report.to_dict())
        else:
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
        if report.findings:
            raise typer.Exit(1)
