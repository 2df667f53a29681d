"""``bmad run``, the four phase commands and ``bmad resume``: run a release through the engine.

Exit codes: 0 passed, 1 a gate failed (or the phase was aborted with Ctrl-C), 2 usage or
configuration error, 3 an external system could not be reached, 4 internal error.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bmad.cli.options import DEFAULT_CONFIG, ConfigOpt, EnvOpt, JsonTablesOpt, pick_env

if TYPE_CHECKING:
    from bmad.config.models import BmadConfig
    from bmad.engine.outcomes import RunOutcome

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
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table | json | junit | sarif")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")]
NoSuppressionsOpt = Annotated[bool, typer.Option("--no-suppressions", help="Ignore every suppression (strict CI).")]

_PREVIOUS_PHASE = {"build": None, "measure": "BUILD", "analyze": "MEASURE", "deploy": "ANALYZE"}


def register(app: typer.Typer) -> None:
    run_doc = "Run BUILD, MEASURE, ANALYZE and DEPLOY in order; stop at the first phase that does not pass."
    app.command(name="run")(_release_command(resume=False, doc=run_doc))
    for name in ("build", "measure"):
        app.command(name=name)(_phase_command(name))
    app.command(name="analyze")(analyze_command)
    app.command(name="deploy")(_phase_command("deploy"))
    resume_doc = "Continue the release at HEAD from the first phase that did not pass (failed, aborted, interrupted)."
    app.command(name="resume")(_release_command(resume=True, doc=resume_doc))


def _release_command(*, resume: bool, doc: str) -> Callable[..., None]:
    """``bmad run`` (every phase in order) or ``bmad resume`` (from the first that did not pass)."""

    def command(
        config: ConfigOpt = DEFAULT_CONFIG,
        env: EnvOpt = None,
        json_out: JsonTablesOpt = False,
        wait: WaitOpt = False,
        sets: SetOpt = None,
        no_rollback: NoRollbackOpt = False,
    ) -> None:
        all_sets = _with_no_rollback(sets, no_rollback)
        _execute(config, env, json_out=json_out, phases=None, resume=resume, wait=wait, sets=all_sets)

    command.__doc__ = doc
    return command


def _phase_command(phase: str) -> Callable[..., None]:
    def command(
        config: ConfigOpt = DEFAULT_CONFIG,
        env: EnvOpt = None,
        json_out: JsonTablesOpt = False,
        force: ForceOpt = False,
        reason: ReasonOpt = None,
        wait: WaitOpt = False,
        sets: SetOpt = None,
        no_rollback: NoRollbackOpt = False,
    ) -> None:
        all_sets = _with_no_rollback(sets, no_rollback)
        _execute(config, env, json_out=json_out, phases=[phase], force=force, reason=reason, wait=wait, sets=all_sets)

    previous = _PREVIOUS_PHASE[phase]
    gate = f" Refused unless {previous} passed for this release (or --force --reason)." if previous else ""
    command.__doc__ = f"Run the {phase.upper()} phase of the release at HEAD.{gate}"
    return command


def analyze_command(
    config: ConfigOpt = DEFAULT_CONFIG,
    env: EnvOpt = None,
    json_out: JsonTablesOpt = False,
    force: ForceOpt = False,
    reason: ReasonOpt = None,
    wait: WaitOpt = False,
    sets: SetOpt = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
    no_suppressions: NoSuppressionsOpt = False,
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


def _with_no_rollback(sets: list[str] | None, no_rollback: bool) -> list[str]:
    return [*(sets or []), *(["no_rollback=true"] if no_rollback else [])]


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
    from bmad.config.loader import load_config

    cfg = load_config(config_path)
    environment = pick_env(cfg, env)
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
        outcome = _run_quietly(cfg, environment, kwargs, report=report, config_file=config_path.name)
    else:
        outcome = _run_with_progress(cfg, environment, kwargs)
    _exit(outcome)


def _run_quietly(
    cfg: BmadConfig,
    environment: str,
    kwargs: dict[str, Any],
    *,
    report: tuple[str, Path | None] | None,
    config_file: str,
) -> RunOutcome:
    """Run, then print the outcome as JSON (or ANALYZE's report in the format asked for)."""
    from bmad.cli._render import print_json
    from bmad.engine.runner import run_release

    outcome = run_release(cfg, environment, **kwargs)
    if report is None:
        print_json(outcome.to_dict())
        return outcome
    from bmad.cli.analyze import render_analyze

    for phase_outcome in outcome.phases:
        if phase_outcome.result.phase.value == "analyze":
            typer.echo(render_analyze(phase_outcome.result, fmt=report[0], output=report[1], config_file=config_file))
    return outcome


def _run_with_progress(cfg: BmadConfig, environment: str, kwargs: dict[str, Any]) -> RunOutcome:
    """Run with a live progress display on stderr and each phase's checks printed as it ends."""
    from bmad.cli._render import RichProgress, console, esc, render_phase, styled
    from bmad.engine.runner import run_release

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
    return outcome


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
