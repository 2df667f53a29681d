"""The ``bmad`` command. Thin: parse, call the library, render, exit with a documented code.

The command line is argparse (standard library) with commands loaded lazily: :data:`COMMANDS`
names each command's module and one-line help, so ``bmad --help`` imports no command module and
``bmad X --help`` imports only the module that defines X. Each module maps its command names to
a ``configure(parser)`` function (``COMMANDS`` there) that adds the options and sets ``handler``,
a function of the parsed arguments returning the exit code.

Errors: a :class:`~bmad.core.errors.BmadError` prints its one-line ``render()`` on stderr and
exits with its code; anything else prints "internal error, details in <log>" (exit 4) and the
traceback goes to that log file, and to the terminal too with ``--debug``. Usage errors exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys

from bmad.core.deferred_imports import defer

defer()  # before anything imports dataclasses (see bmad.core.deferred_imports)

from bmad.cli.options import add_debug  # noqa: E402

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~10 ms on the help path
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

DESCRIPTION = "Take a service to production through BUILD -> MEASURE -> ANALYZE -> DEPLOY."

# (command, module under bmad.cli, one-line help), in the order ``bmad --help`` lists them.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("version", "core", "Print bmad's version."),
    ("init", "core", "Write a commented starter bmad.yaml from what is found in the folder."),
    ("config", "core", "Check bmad.yaml."),
    ("run", "release_run", "Run BUILD, MEASURE, ANALYZE and DEPLOY in order; stop at the first that fails."),
    ("build", "release_run", "Run the BUILD phase of the release at HEAD."),
    ("measure", "release_run", "Run the MEASURE phase of the release at HEAD."),
    ("analyze", "release_run", "Run the ANALYZE phase of the release at HEAD."),
    ("deploy", "release_run", "Run the DEPLOY phase of the release at HEAD."),
    ("resume", "release_run", "Continue the release at HEAD from the first phase that did not pass."),
    ("status", "release_records", "Where the release at HEAD stands."),
    ("history", "release_records", "Releases of the service, newest first, with their phases and timings."),
    ("verify-ledger", "release_records", "Recompute the ledger's hash chain; report edited or deleted records."),
    ("checklist", "analyze", "List the readiness catalog: id, severity, title and how to fix."),
    ("assess", "analyze", "Risk assessment with the guide's decision matrix."),
    ("rollback", "deploy", "Roll back to the last good release in the ledger."),
    ("target", "deploy", "What runs in the environment's target now, read back from it."),
    ("diagnose", "deploy", "The guide's troubleshooting, automated: CrashLoopBackOff, slow rollout, latency."),
    ("metrics", "reports", "Framework metrics and the DORA four keys, from the ledger."),
    ("report", "reports", "Write the HTML report, runbook, checklist and rollback plan of a release."),
    ("runbook", "reports", "Print the deployment runbook (or --checklist) of a release as Markdown."),
    ("demo", "reports", "Take the example service through B-M-A-D twice on the local stack."),
    (
        "stack",
        "stack",
        "Start, stop and inspect the local stack (Podman API, registry, Prometheus, Pushgateway, Alertmanager).",
    ),
    ("dashboards", "measure", "Grafana dashboards bmad ships (the guide's four, and reports')."),
    ("serve", "serve", "Serve a live, read-only web dashboard of every service, environment and release."),
    ("completion", "completion", "Print a shell completion script: bash, zsh or fish."),
)

EPILOG = "exit codes: 0 passed, 1 a gate failed, 2 usage or configuration error, 3 unreachable, 4 internal error"


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help at the terminal's width, read without importing shutil (and bz2, lzma...)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)


def _columns() -> int:
    import os

    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 80


class Parser(argparse.ArgumentParser):
    """argparse with bmad's help width and error line (control characters in the message escaped)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        from bmad.cli._render import terminal_safe

        self.print_usage(sys.stderr)
        sys.stderr.write(terminal_safe(f"error: {self.prog}: {message}") + "\n")
        raise SystemExit(2)


def build_parser(command: str | None = None, *, every: bool = False) -> argparse.ArgumentParser:
    """The command line with ``command``'s options (its module imported), or every command's with ``every``."""
    from bmad import __version__

    parser = Parser(prog="bmad", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"bmad {__version__}")
    add_debug(parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command", parser_class=Parser)
    # ``bmad X ...`` needs only X; help and an unknown command list every name.
    list_all = every or command not in {name for name, _, _ in COMMANDS}
    for name, module, summary in COMMANDS:
        if not list_all and name != command:
            continue
        sub = commands.add_parser(name, help=summary, description=summary)
        if every or name == command:
            add_debug(sub)
            configure(name, module, sub)
    return parser


def configure(name: str, module: str, parser: argparse.ArgumentParser) -> None:
    import importlib

    configure_command: Callable[[argparse.ArgumentParser], None] = importlib.import_module(
        f"bmad.cli.{module}"
    ).COMMANDS[name]
    configure_command(parser)


def _command_named(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def main(argv: Sequence[str] | None = None, *, own_process: bool = False) -> int:
    """Parse ``argv`` (default: the process's), run the command, return its exit code.

    ``own_process`` (the console script): compiled regular expressions come from the user's cache
    (:mod:`bmad.core.regex_cache`), and the objects made while starting are moved out of the garbage
    collector's sight before the command runs (see :func:`_collect_less`)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_named(args_in))
    try:
        args = parser.parse_args(args_in)
    except SystemExit as exc:  # --help, --version, a usage error
        return exc.code if isinstance(exc.code, int) else 0
    handler = getattr(args, "handler", None)
    if handler is None:  # no command, or a group without its sub-command
        shown = getattr(args, "group_parser", parser)
        shown.print_help()
        return 2
    if own_process:  # a command, not --help: its patterns from the user's cache (bmad.core.regex_cache)
        from bmad.core import regex_cache

        regex_cache.install()
    _setup_logging()
    if own_process:
        gc.freeze()
    from bmad.cli.options import guard

    return guard(
        lambda: handler(args), as_json=bool(getattr(args, "json", False)), debug=bool(getattr(args, "debug", False))
    )


def run() -> None:
    """The console script: ``bmad``."""
    from bmad.core.leftovers import process_ends_with_exit

    _collect_less()
    process_ends_with_exit()  # _exit_now: a phase's leftovers are freed with the process
    _exit_now(main(own_process=True))


def _exit_now(code: int) -> NoReturn:
    """End the console script's process with ``code`` once what it wrote is out, skipping the
    interpreter's teardown (freeing every module, class and object one by one: ~10 ms of a command).

    What a normal exit does for bmad still happens, in the same order: the exit handlers run (the
    log file's handler flushes and closes it, :mod:`bmad.core.regex_cache` saves), then standard
    output and error are flushed. Output nobody reads any more (a closed pipe:
    :func:`~bmad.cli.options.output_closed`) is dropped and the exit code is
    :data:`~bmad.cli.options.EXIT_OUTPUT_CLOSED`. When a thread that is not a daemon still runs (a
    normal exit waits for it) or a flush fails otherwise, the normal exit is taken, so those cases end
    as they always did (``SystemExit``: the same message and exit status)."""
    import os
    import threading

    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()):
        raise SystemExit(code)
    import atexit

    atexit._run_exitfuncs()  # runs each handler once and unregisters it (a SystemExit below runs none twice)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except BrokenPipeError:
        from bmad.cli.options import EXIT_OUTPUT_CLOSED, output_closed

        if not output_closed():
            raise SystemExit(code) from None
        code = EXIT_OUTPUT_CLOSED
        _drop_stdout()
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
    except (OSError, ValueError):  # another failure: Python's own exit reports it
        raise SystemExit(code) from None
    os._exit(code)


def _drop_stdout() -> None:
    """Point file descriptor 1 at the null device: what is still buffered for a reader that left goes nowhere."""
    import os

    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)


def _collect_less() -> None:
    """A cyclic garbage collection every 10,000 new container objects, not 700 (CPython's default).

    A command imports ~200 modules and reads its ledger: at the default, CPython collected ~33 times
    in a phase of one no-op check, ~10 ms spent looking at modules and classes that live as long as
    the process; now ~5 times (``gc.callbacks`` counted both). The modules, classes and settings made
    before the command runs are then frozen (``gc.freeze``: never looked at again). Memory is still
    bounded: garbage cycles are found after at most 10,000 allocations. Only the console script does
    this (``python -m bmad`` too): a process that calls :func:`main` keeps its own settings."""
    gc.set_threshold(10_000, 10, 10)


def _setup_logging() -> None:
    """bmad's log records go to a file (``<log dir>/bmad.log``, created on first record), never to the screen."""
    import logging

    logger = logging.getLogger("bmad")
    if logger.handlers:
        return
    from bmad.cli._render import log_dir
    from bmad.core.redact import redact

    class _RedactingFormatter(logging.Formatter):
        def __init__(self) -> None:
            super().__init__("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")

        def format(self, record: logging.LogRecord) -> str:
            return redact(super().format(record))

    class _LazyFileHandler(logging.Handler):
        def __init__(self) -> None:
            super().__init__(level=logging.INFO)
            self._inner: logging.Handler | None = None

        def emit(self, record: logging.LogRecord) -> None:
            if self._inner is None:
                try:
                    directory = log_dir()
                    directory.mkdir(parents=True, exist_ok=True)
                    self._inner = logging.FileHandler(directory / "bmad.log", encoding="utf-8")
                    self._inner.setFormatter(_RedactingFormatter())
                except OSError:
                    self._inner = logging.NullHandler()
            self._inner.emit(record)

    logger.addHandler(_LazyFileHandler())
    logger.setLevel(logging.INFO)
    logger.propagate = False
