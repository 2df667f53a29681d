"""The ``bmad`` command. Thin: parse, call the library, render, exit with a documented code.

Sub-command groups live in sibling modules, each with ``register(app)``; they import heavy
libraries inside the command functions only, so ``bmad --help`` stays fast.

Help fast path: Typer and Rich alone take ~0.1 s to import, several times Python's start-up.
``bmad [group...] --help`` output is therefore cached (``$XDG_CACHE_HOME/bmad/``, keyed by the
bmad version, the size and mtime of every CLI module, the argv and the terminal width) and
printed without importing Typer when the cache is fresh. ``BMAD_NO_HELP_CACHE=1`` turns it off.

Errors: a :class:`~bmad.core.errors.BmadError` prints its one-line ``render()`` on stderr and
exits with its code; anything else prints "internal error, details in <log>" (exit 4) and the
traceback goes to that log file, never to the screen.
"""

# os.path instead of pathlib on purpose: the help fast path must not pay for importing pathlib.
# ruff: noqa: PTH100, PTH110, PTH111, PTH118, PTH120

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~10 ms on the help fast path
if TYPE_CHECKING:
    from typing import Any

    import typer

# Each module registers its commands on ``app``. Owned by: core (engine), stack, measure,
# analyze, deploy, reports.
_COMMAND_MODULES = ("core", "stack", "measure", "analyze", "deploy", "reports")

_app: typer.Typer | None = None
_registered = False


def _make_app() -> typer.Typer:
    import typer

    return typer.Typer(
        name="bmad",
        help="Take a service to production through BUILD -> MEASURE -> ANALYZE -> DEPLOY.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        # Plain help and usage errors: Typer's Rich formatter alone (rich.markdown, markdown_it)
        # costs more than Python's whole start-up.
        rich_markup_mode=None,
    )


def __getattr__(name: str) -> Any:
    # ``bmad.cli.main.app`` is created on first use, so importing this module does not load Typer.
    if name == "app":
        global _app
        if _app is None:
            _app = _make_app()
        return _app
    raise AttributeError(name)


def get_app() -> typer.Typer:
    app: typer.Typer = __getattr__("app")
    return app


def _register_all() -> None:
    global _registered
    if _registered:
        return
    import importlib

    app = get_app()
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"bmad.cli.{name}")
        module.register(app)
    _registered = True


# ---------------------------------------------------------------------- help cache


def _help_request(argv: list[str]) -> bool:
    if not argv or argv[-1] != "--help" or len(argv) > 4:
        return False
    return all(arg.replace("-", "").replace("_", "").isalnum() and not arg.startswith("-") for arg in argv[:-1])


def _help_cache_path() -> str | None:
    if os.environ.get("BMAD_NO_HELP_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "bmad", "help.cache")


def _help_key(argv: list[str]) -> str:
    from bmad import __version__

    here = os.path.dirname(os.path.abspath(__file__))
    parts = [__version__, sys.version.split()[0], " ".join(argv), _terminal_columns()]
    with os.scandir(here) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".py"):
                stat = entry.stat()
                parts.append(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def _terminal_columns() -> str:
    if os.environ.get("COLUMNS"):
        return os.environ["COLUMNS"]
    try:
        return str(os.get_terminal_size(sys.stdout.fileno()).columns)
    except (OSError, ValueError):
        return "80"


def _cached_help(argv: list[str]) -> str | None:
    path = _help_cache_path()
    if path is None:
        return None
    key = _help_key(argv)
    try:
        with open(path, encoding="utf-8") as handle:
            for record in handle.read().split("\x1e"):
                head, sep, body = record.partition("\n")
                if sep and head == key:
                    return body
    except OSError:
        return None
    return None


def _store_help(argv: list[str], text: str) -> None:
    path = _help_cache_path()
    if path is None:
        return
    from pathlib import Path

    from bmad.core.files import write_atomic

    key = _help_key(argv)
    try:
        records: list[str] = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                records = [r for r in handle.read().split("\x1e") if r and not r.startswith(key + "\n")]
        # keep the cache small: entries for other versions/mtimes are dropped
        prefix = key.split("|", 3)
        records = [r for r in records if r.split("|", 3)[:2] == prefix[:2]][-30:]
        records.append(f"{key}\n{text}")
        write_atomic(Path(path), "\x1e".join(records))
    except OSError:
        return


def _render_help(argv: list[str]) -> tuple[int, str]:
    """Run Typer's help with stdout captured (plain text, the terminal's width)."""
    import io

    _register_all()
    buffer = io.StringIO()
    saved = sys.stdout
    saved_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = _terminal_columns()
    sys.stdout = buffer
    code = 0
    try:
        get_app()(args=argv, prog_name="bmad", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        sys.stdout = saved
        if saved_columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved_columns
    return code, buffer.getvalue()


# ---------------------------------------------------------------------- entry point


def run() -> None:
    argv = sys.argv[1:]
    if _help_request(argv):
        code = 0
        text = _cached_help(argv)
        if text is None:
            code, text = _render_help(argv)
            if code == 0:
                _store_help(argv, text)
        sys.stdout.write(text)
        sys.stdout.flush()
        if code:
            raise SystemExit(code)
        return
    _setup_logging()
    as_json = "--json" in argv
    try:
        _register_all()
        get_app()(prog_name="bmad")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        raise SystemExit(1) from None
    except BaseException as exc:
        from bmad.cli._render import fail

        fail(exc, as_json=as_json)


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
