"""``bmad run``, the four phase commands and ``bmad resume``: run a release through the engine.

Exit codes: 0 passed, 1 a gate failed (or the phase was aborted with Ctrl-C), 2 usage or
configuration error, 3 an external system could not be reached, 4 internal error.
"""

from __future__ import annotations

import math
import os
import sys

from bmad.cli.options import add_config, add_env, add_json, add_kubernetes, config_of, kubernetes_sets, path, pick_env

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from bmad.config.models import BmadConfig
    from bmad.engine.outcomes import RunOutcome
    from bmad.ports.phase import RunOptions

FORMATS = ("table", "json", "junit", "sarif")
_PREVIOUS_PHASE = {"build": None, "measure": "BUILD", "analyze": "MEASURE", "deploy": "ANALYZE"}
RUN_DOC = "Run BUILD, MEASURE, ANALYZE and DEPLOY in order; stop at the first phase that does not pass."
RESUME_DOC = "Continue the release at HEAD from the first phase that did not pass (failed, aborted, interrupted)."
SET_HELP = (
    "Run option KEY=VALUE (repeatable), e.g. --set load_test=false. Keys: the run options in docs/cli.md; "
    "custom phases take keys prefixed x_."
)


def _common(parser: argparse.ArgumentParser, doc: str) -> None:
    parser.description = doc
    add_config(parser)
    add_env(parser)
    add_json(parser, "Print one JSON document instead of tables.")
    parser.add_argument("--wait", action="store_true", help="Wait for another run of this environment to finish.")
    parser.add_argument("--set", action="append", dest="sets", metavar="KEY=VALUE", default=[], help=SET_HELP)
    add_kubernetes(parser, force_conflicts=True)


def _forcing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="Run even though the previous phase did not pass.")
    parser.add_argument("--reason", metavar="TEXT", help="Why --force is needed (recorded).")


def _no_rollback(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-rollback",
        action="store_true",
        help="Leave a release that fails DEPLOY in place (no automatic rollback).",
    )


def _release_command(*, resume: bool) -> Callable[[argparse.ArgumentParser], None]:
    """``bmad run`` (every phase in order) or ``bmad resume`` (from the first that did not pass)."""

    def configure(parser: argparse.ArgumentParser) -> None:
        _common(parser, RESUME_DOC if resume else RUN_DOC)
        _no_rollback(parser)
        parser.set_defaults(handler=lambda args: _execute(args, phases=None, resume=resume))

    return configure


def _phase_command(phase: str) -> Callable[[argparse.ArgumentParser], None]:
    previous = _PREVIOUS_PHASE[phase]
    gate = f" Refused unless {previous} passed for this release (or --force --reason)." if previous else ""

    def configure(parser: argparse.ArgumentParser) -> None:
        _common(parser, f"Run the {phase.upper()} phase of the release at HEAD.{gate}")
        _forcing(parser)
        if phase == "deploy":
            _no_rollback(parser)
        parser.set_defaults(handler=lambda args: _execute(args, phases=[phase]))

    return configure


def analyze_command(parser: argparse.ArgumentParser) -> None:
    _common(
        parser, "Run the ANALYZE phase of the release at HEAD. Refused unless MEASURE passed (or --force --reason)."
    )
    _forcing(parser)
    parser.add_argument("-f", "--format", choices=FORMATS, default="table", help="Output format (default: table).")
    parser.add_argument("-o", "--output", type=path, metavar="FILE", help="Write the report to this file.")
    parser.add_argument("--no-suppressions", action="store_true", help="Ignore every suppression (strict CI).")
    parser.set_defaults(handler=lambda args: _execute(args, phases=["analyze"]))


def run_options(args: argparse.Namespace) -> RunOptions:
    """``--set`` values and the flags that stand for them, typed: a bad key or value is a usage error."""
    from bmad.ports.phase import RunOptions

    values = parse_sets(args.sets)
    for flag in ("no_rollback", "no_suppressions"):
        if getattr(args, flag, False):
            values[flag] = True
    values.update(kubernetes_sets(args))
    return RunOptions.from_sets(values)


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings to a mapping; each VALUE is read as a YAML scalar (``true``, ``3``, ``[a, b]``)."""
    values: dict[str, Any] = {}
    if not items:
        return values  # PyYAML loads only for a --set (~15 ms a command)
    import yaml

    from bmad.core.errors import UsageError
    from bmad.core.yaml_nodes import safe_load

    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            values[key.strip()] = safe_load(raw) if raw else ""
        except yaml.YAMLError:
            values[key.strip()] = raw
    return values


def _execute(args: argparse.Namespace, *, phases: list[str] | None, resume: bool = False) -> int:
    from bmad.config.loader import load_config

    options = run_options(args)  # before anything is loaded or recorded
    config_path = config_of(args)
    cfg = load_config(config_path)
    environment = pick_env(cfg, args.env)
    fmt, output = getattr(args, "format", "table"), getattr(args, "output", None)
    report = (fmt, output) if (fmt != "table" or output is not None) else None
    _terminate_like_ctrl_c()
    kwargs: dict[str, Any] = {
        "phases": phases,
        "resume": resume,
        "force": getattr(args, "force", False),
        "reason": getattr(args, "reason", None),
        "options": options,
        "wait_seconds": math.inf if args.wait else 0.0,
    }
    if args.json or fmt != "table":
        outcome = _run_quietly(cfg, environment, kwargs, report=report, config_file=config_path.name)
    else:
        outcome = _run_with_progress(cfg, environment, kwargs)
    return _exit_code(outcome)


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
    from bmad.cli._render import echo
    from bmad.cli.analyze import render_analyze
    from bmad.engine.assessment import whole_report

    for phase_outcome in outcome.phases:
        if phase_outcome.result.phase.value == "analyze":
            whole = whole_report(cfg.state_path / phase_outcome.evidence_dir) if phase_outcome.evidence_dir else None
            text = render_analyze(
                phase_outcome.result, fmt=report[0], output=report[1], config_file=config_file, whole=whole
            )
            echo(text)
    return outcome


def _run_with_progress(cfg: BmadConfig, environment: str, kwargs: dict[str, Any]) -> RunOutcome:
    """Run with a live progress display on stderr and each phase's checks printed as it ends."""
    from bmad.cli._progress import progress_display
    from bmad.cli._render import printer, render_phase, styled
    from bmad.cli._text import Piece
    from bmad.engine.runner import run_release

    out = printer()
    err = printer(stderr=True)

    def waiting(holder: Any) -> None:
        err.print(f"waiting: {environment} is locked by pid {holder.pid} on {holder.host} ...")

    with progress_display(out, err) as progress:
        outcome = run_release(
            cfg,
            environment,
            progress=progress,
            on_phase=lambda phase: render_phase(out, phase),
            on_lock_wait=waiting,
            **kwargs,
        )
    for record in outcome.interrupted:
        out.print(Piece(f"found {record.phase.label} interrupted: {record.message}", "magenta"))
    verdict = "passed" if outcome.passed else "failed"
    out.print(styled(verdict), f": {outcome.message}")
    published = outcome.published
    if published is not None:
        if published.outputs is not None:
            out.print(f"runbook, checklist and report: {published.outputs.directory}")
        for problem in published.problems:
            err.print(Piece(f"warning: {problem}", "yellow"))
    for sent in outcome.notifications:
        if not sent.delivered:
            err.print(Piece(f"warning: {sent.event} not delivered to {sent.channel}: {sent.reason}", "yellow"))
    return outcome


def _terminate_like_ctrl_c() -> None:
    """SIGTERM (a CI job cancelled, a container stopped) aborts the running phase like Ctrl-C does."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _exit_code(outcome: RunOutcome) -> int:
    code = int(outcome.exit_code)
    if any(p.result.status.value == "aborted" for p in outcome.phases):
        # Checks that ignore the cancel flag may still be running in worker threads: the record is
        # written, so leave now instead of waiting for them.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


COMMANDS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "run": _release_command(resume=False),
    "build": _phase_command("build"),
    "measure": _phase_command("measure"),
    "analyze": analyze_command,
    "deploy": _phase_command("deploy"),
    "resume": _release_command(resume=True),
}
