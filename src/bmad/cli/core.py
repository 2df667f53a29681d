"""`bmad` commands owned by the core area: init, config check, run, the four phases, resume,
status, history, verify-ledger. Thin: each calls :mod:`bmad.engine` and renders the result.

Exit codes: 0 passed, 1 a gate failed (or the phase was aborted with Ctrl-C), 2 usage or
configuration error, 3 an external system could not be reached, 4 internal error.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from bmad.config.models import BmadConfig
    from bmad.engine.outcomes import RunOutcome

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="bmad.yaml of the service.", show_default=True, dir_okay=False)
]
EnvOpt = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment (default: BMAD_ENV, or the only one defined).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Run even though the previous phase did not pass.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why --force is needed (recorded).")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="Wait for another run of this environment to finish.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Phase option KEY=VALUE (repeatable), e.g. --set no_rollback=true.", show_default=False),
]

NoRollbackOpt = Annotated[
    bool, typer.Option("--no-rollback", help="Leave a release that fails DEPLOY in place (no automatic rollback).")
]

DEFAULT_CONFIG = Path("bmad.yaml")


def _with_no_rollback(sets: list[str] | None, no_rollback: bool) -> list[str]:
    return [*(sets or []), *(["no_rollback=true"] if no_rollback else [])]


def register(app: typer.Typer) -> None:
    @app.command()
    def version() -> None:
        """Print bmad's version."""
        from bmad import __version__

        typer.echo(__version__)

    @app.command()
    def init(
        directory: Annotated[Path, typer.Argument(help="The service's folder.", file_okay=False)] = Path(),
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing bmad.yaml.")] = False,
        service: Annotated[str | None, typer.Option("--service", help="Service name (default: folder name).")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Write a commented starter bmad.yaml from what is found in the folder."""
        from bmad.cli._render import print_json
        from bmad.engine.starter import write_starter

        written = write_starter(directory, force=force, service=service)
        if json_out:
            print_json({"path": str(written.path), "found": written.found})
            return
        typer.echo(f"wrote {written.path}")
        for what, where in written.found.items():
            typer.echo(f"  found {what}: {where}")
        typer.echo(f"next: bmad config check {written.path}")

    config_app = typer.Typer(help="Check bmad.yaml.", no_args_is_help=True)
    app.add_typer(config_app, name="config")

    @config_app.command("check")
    def config_check(
        path: Annotated[Path, typer.Argument(help="The bmad.yaml to check.", dir_okay=True)] = DEFAULT_CONFIG,
        json_out: JsonOpt = False,
    ) -> None:
        """Validate a bmad.yaml: every problem names file:line:column and the field."""
        from bmad.cli._render import print_json
        from bmad.config.loader import load_config

        config = load_config(path)
        envs = {
            name: {"risk": env.risk, "production": env.production, "warnings_fail": env.warnings_fail}
            for name, env in config.environments.items()
        }
        if json_out:
            print_json({"ok": True, "path": str(path), "service": config.service.name, "environments": envs})
            return
        typer.echo(f"ok: {path}: service {config.service.name}, environments: {', '.join(config.environments)}")

    @app.command()
    def run(
        config: ConfigOpt = DEFAULT_CONFIG,
        env: EnvOpt = None,
        json_out: JsonOpt = False,
        wait: WaitOpt = False,
        sets: SetOpt = None,
        no_rollback: NoRollbackOpt = False,
    ) -> None:
        """Run BUILD, MEASURE, ANALYZE and DEPLOY in order; stop at the first phase that does not pass."""
        _execute(config, env, json_out=json_out, phases=None, wait=wait, sets=_with_no_rollback(sets, no_rollback))

    def phase_command(phase: str) -> None:
        def command(
            config: ConfigOpt = DEFAULT_CONFIG,
            env: EnvOpt = None,
            json_out: JsonOpt = False,
            force: ForceOpt = False,
            reason: ReasonOpt = None,
            wait: WaitOpt = False,
            sets: SetOpt = None,
            no_rollback: NoRollbackOpt = False,
        ) -> None:
            all_sets = _with_no_rollback(sets, no_rollback)
            _execute(
                config, env, json_out=json_out, phases=[phase], force=force, reason=reason, wait=wait, sets=all_sets
            )

        previous = {"build": None, "measure": "BUILD", "analyze": "MEASURE", "deploy": "ANALYZE"}[phase]
        gate = f" Refused unless {previous} passed for this release (or --force --reason)." if previous else ""
        command.__doc__ = f"Run the {phase.upper()} phase of the release at HEAD.{gate}"
        app.command(name=phase)(command)

    for name in ("build", "measure"):
        phase_command(name)

    @app.command(name="analyze")
    def analyze_command(
        config: ConfigOpt = DEFAULT_CONFIG,
        env: EnvOpt = None,
        json_out: JsonOpt = False,
        force: ForceOpt = False,
        reason: ReasonOpt = None,
        wait: WaitOpt = False,
        sets: SetOpt = None,
        fmt: Annotated[str, typer.Option("--format", "-f", help="table | json | junit | sarif")] = "table",
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
        no_suppressions: Annotated[
            bool, typer.Option("--no-suppressions", help="Ignore every suppression (strict CI).")
        ] = False,
    ) -> None:
        """Run the ANALYZE phase of the release at HEAD. Refused unless MEASURE passed (or --force --reason)."""
        all_sets = [*(sets or []), *(["no_suppressions=true"] if no_suppressions else [])]
        report = (fmt, output) if (fmt != "table" or output is not None) else None
        _execute(
            config,
            env,
            json_out=json_out or fmt != "table",
            phases=["analyze"],
            force=force,
            reason=reason,
            wait=wait,
            sets=all_sets,
            report=report,
        )

    phase_command("deploy")

    @app.command()
    def resume(
        config: ConfigOpt = DEFAULT_CONFIG,
        env: EnvOpt = None,
        json_out: JsonOpt = False,
        wait: WaitOpt = False,
        sets: SetOpt = None,
        no_rollback: NoRollbackOpt = False,
    ) -> None:
        """Continue the release at HEAD from the first phase that did not pass (failed, aborted, interrupted)."""
        all_sets = _with_no_rollback(sets, no_rollback)
        _execute(config, env, json_out=json_out, phases=None, resume=True, wait=wait, sets=all_sets)

    @app.command()
    def status(config: ConfigOpt = DEFAULT_CONFIG, env: EnvOpt = None, json_out: JsonOpt = False) -> None:
        """Where the release at HEAD stands (a phase left running by a dead process shows as interrupted)."""
        from bmad.cli._render import console, esc, print_json, styled
        from bmad.config.loader import load_config
        from bmad.core.models import PhaseName
        from bmad.engine.queries import release_status

        cfg = load_config(config)
        report = release_status(cfg, _pick_env(cfg, env))
        if json_out:
            print_json(report.to_dict())
            return
        out = console()
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

    @app.command()
    def history(
        config: ConfigOpt = DEFAULT_CONFIG,
        env: EnvOpt = None,
        json_out: JsonOpt = False,
        limit: Annotated[int, typer.Option("--limit", "-n", help="How many releases.", min=1)] = 20,
        all_envs: Annotated[bool, typer.Option("--all", help="Every environment.")] = False,
    ) -> None:
        """Releases of the service, newest first, with their phases, timings and rollbacks."""
        from bmad.cli._render import console, esc, print_json, styled
        from bmad.config.loader import load_config
        from bmad.core.models import PhaseName
        from bmad.engine.queries import release_history

        cfg = load_config(config)
        environment = None if all_envs else (_pick_env(cfg, env, required=False) or None)
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

    @app.command("verify-ledger")
    def verify_ledger_command(config: ConfigOpt = DEFAULT_CONFIG, json_out: JsonOpt = False) -> None:
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


# ---------------------------------------------------------------------- helpers


def _pick_env(config: BmadConfig, env: str | None, *, required: bool = True) -> str:
    from bmad.core.errors import UsageError

    chosen = env or os.environ.get("BMAD_ENV")
    if chosen:
        config.environment(chosen)  # UsageError listing the defined ones
        return chosen
    if len(config.environments) == 1:
        return next(iter(config.environments))
    if not required:
        return ""
    raise UsageError(
        "several environments are defined: say which with --env",
        hint="defined environments: " + ", ".join(sorted(config.environments)),
    )


def _parse_sets(values: list[str] | None) -> dict[str, Any]:
    import yaml

    from bmad.core.errors import UsageError

    options: dict[str, Any] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            options[key.strip()] = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            options[key.strip()] = raw
    return options


def _execute(
    config_path: Path,
    env: str | None,
    *,
    json_out: bool,
    phases: list[str] | None,
    resume: bool = False,
    force: bool = False,
    reason: str | None = None,
    wait: bool = False,
    sets: list[str] | None = None,
    report: tuple[str, Path | None] | None = None,
) -> None:
    from bmad.cli._render import RichProgress, console, esc, print_json, render_phase, styled
    from bmad.config.loader import load_config
    from bmad.engine.runner import run_release

    cfg = load_config(config_path)
    environment = _pick_env(cfg, env)
    options = _parse_sets(sets)
    _terminate_like_ctrl_c()
    kwargs: dict[str, Any] = {
        "phases": phases,
        "resume": resume,
        "force": force,
        "reason": reason,
        "options": options,
        "wait_seconds": math.inf if wait else 0.0,
    }
    if json_out:
        outcome = run_release(cfg, environment, **kwargs)
        if report is None:
            print_json(outcome.to_dict())
        else:
            from bmad.cli.analyze import render_analyze

            for phase_outcome in outcome.phases:
                if phase_outcome.result.phase.value == "analyze":
                    typer.echo(
                        render_analyze(
                            phase_outcome.result, fmt=report[0], output=report[1], config_file=config_path.name
                        )
                    )
    else:
        out = console()
        err = console(stderr=True)

        def waiting(holder: Any) -> None:
            err.print(f"waiting: {environment} is locked by pid {holder.pid} on {esc(holder.host)} ...")

        with RichProgress(err) as progress:
            outcome = run_release(
                cfg,
                environment,
                progress=progress,
                on_phase=lambda phase: render_phase(out, phase),
                on_lock_wait=waiting,
                **kwargs,
            )
        for record in outcome.interrupted:
            out.print(f"[magenta]found {record.phase.label} interrupted: {esc(record.message)}[/magenta]")
        verdict = "passed" if outcome.passed else "failed"
        out.print(f"{styled(verdict)}: {esc(outcome.message)}")
        published = outcome.published
        if published is not None:
            if published.outputs is not None:
                out.print(f"runbook, checklist and report: {esc(str(published.outputs.directory))}")
            for problem in published.problems:
                err.print(f"[yellow]warning: {esc(problem)}[/yellow]")
    _exit(outcome)


def _terminate_like_ctrl_c() -> None:
    """SIGTERM (a CI job cancelled, a container stopped) aborts the running phase like Ctrl-C does."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _exit(outcome: RunOutcome) -> None:
    code = int(outcome.exit_code)
    if any(p.result.status.value == "aborted" for p in outcome.phases):
        # Checks that ignore the cancel flag may still be running in worker threads: the record is
        # written, so leave now instead of waiting for them.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if code:
        raise typer.Exit(code)
