"""What every ``bmad`` command shares: its options, the config file, the choice of environment, the
error guard.

Only argparse and the standard library are imported here (``bmad X --help`` must stay fast);
pathlib is imported when a path is parsed.
"""

from __future__ import annotations

import argparse
import os

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from bmad.config.models import BmadConfig

DEFAULT_CONFIG_NAME = "bmad.yaml"
CONFIG_HELP = "bmad.yaml of the service (default: $BMAD_CONFIG, else ./bmad.yaml)."
ENV_HELP = "Environment (default: $BMAD_ENV, or the only one defined)."


def path(text: str) -> Path:
    """An argparse ``type``: a path (pathlib only once a path is given)."""
    from pathlib import Path

    return Path(text)


def file_path(text: str) -> Path:
    """A path that must not be a folder (it may not exist yet)."""
    given = path(text)
    if given.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    return given


def folder_path(text: str) -> Path:
    """A path that must not be a file (it may not exist yet)."""
    given = path(text)
    if given.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    return given


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def add_debug(parser: argparse.ArgumentParser) -> None:
    """``--debug`` anywhere on the line (SUPPRESS: a sub-command's default does not undo the top's)."""
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="Print tracebacks on the terminal too."
    )


def add_config(parser: argparse.ArgumentParser, help_text: str = CONFIG_HELP) -> None:
    parser.add_argument("-c", "--config", type=file_path, metavar="FILE", help=help_text)


def add_env(parser: argparse.ArgumentParser, help_text: str = ENV_HELP) -> None:
    parser.add_argument("-e", "--env", metavar="NAME", help=help_text)


def add_json(parser: argparse.ArgumentParser, help_text: str = "Print JSON.") -> None:
    parser.add_argument("--json", action="store_true", help=help_text)


def config_of(args: argparse.Namespace) -> Path:
    """``--config``, else ``$BMAD_CONFIG``, else ``./bmad.yaml``."""
    given: Path | None = args.config
    if given is not None:
        return given
    return path(os.environ.get("BMAD_CONFIG") or DEFAULT_CONFIG_NAME)


def config_named(args: argparse.Namespace) -> bool:
    """Whether the config file was named (``--config`` or ``$BMAD_CONFIG``): then it must exist."""
    return args.config is not None or bool(os.environ.get("BMAD_CONFIG"))


def pick_env(config: BmadConfig, env: str | None, *, required: bool = True) -> str:
    """``--env``, else ``BMAD_ENV``, else the only environment defined ("" when none and not ``required``)."""
    return config.pick_environment(env, required=required)


def guard(action: Callable[[], int | None], *, as_json: bool, debug: bool = False) -> int:
    """Run a command's body and return its exit code: an error becomes one line on stderr (and a JSON
    document with ``as_json``) and its documented code; Ctrl-C is "interrupted" (exit 1)."""
    try:
        code = action()
    except KeyboardInterrupt:
        import sys

        sys.stderr.write("error: interrupted\n")
        return 1
    except Exception as exc:
        if isinstance(exc, BrokenPipeError) and output_closed():  # the output's reader left: nothing to say
            return EXIT_OUTPUT_CLOSED
        from bmad.cli._render import report_error  # a pipe to a program bmad runs is an error like any other

        return report_error(exc, as_json=as_json, debug=debug)
    return int(code or 0)


EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for `git log | head` under pipefail


def output_closed() -> bool:
    """Whether standard output is a pipe that nobody reads any more (``bmad history | head`` after
    head has its lines): the kernel flags a pipe's write end with an error once its last reader has
    closed it (``poll``'s ``POLLERR``). A command then ends with :data:`EXIT_OUTPUT_CLOSED` and says
    nothing on stderr, as ``git``, ``kubectl`` and the coreutils end when a pager or ``head`` stops
    reading; the console script points stdout at the null device before its last flush."""
    import select

    try:
        poller = select.poll()
        poller.register(1, select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no fd 1, or no poll() on this platform
        return False


def add_kubernetes(parser: argparse.ArgumentParser, *, force_conflicts: bool = False) -> None:
    """kubectl's options, for environments whose target is Kubernetes (they win over bmad.yaml)."""
    group = parser.add_argument_group("Kubernetes target (as kubectl takes them)")
    group.add_argument("--kubeconfig", metavar="FILE", help="Kubeconfig to use (default: KUBECONFIG, ~/.kube/config).")
    group.add_argument("--context", metavar="NAME", help="Kubeconfig context to use.")
    group.add_argument("-n", "--namespace", metavar="NAME", help="Namespace of the release.")
    if force_conflicts:
        group.add_argument(
            "--force-conflicts",
            action="store_true",
            help="Server-side apply takes fields that other field managers own (default: report a 409).",
        )


def kubernetes_sets(args: argparse.Namespace) -> dict[str, object]:
    """The Kubernetes options given on the command line, as run-option values."""
    values: dict[str, object] = {name: getattr(args, name) for name in ("kubeconfig", "context", "namespace")}
    values = {name: value for name, value in values.items() if value}
    if getattr(args, "force_conflicts", False):
        values["force_conflicts"] = True
    return values
