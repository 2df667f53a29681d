"""``bmad serve``: the live, read-only web dashboard over the ledger (see docs/serve.md)."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def serve_command(parser: argparse.ArgumentParser) -> None:
    from bmad.cli.options import add_config, path

    parser.description = (
        "Serve a live, read-only web dashboard of every service, environment and release in the ledger "
        "(board, release pages, framework metrics over time, ledger integrity). Ctrl-C stops it."
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="Address to bind (default: %(default)s).")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Port (default: %(default)s).")
    add_config(parser, "bmad.yaml whose ledger to serve (default: ./bmad.yaml, else BMAD_LEDGER_URL, else .bmad).")
    parser.add_argument("--token-file", type=path, metavar="FILE", help="File holding the access token.")
    parser.add_argument("--token-env", metavar="NAME", help="Environment variable holding the access token.")
    parser.set_defaults(handler=run_server)


def run_server(args: argparse.Namespace) -> int:
    """Serve until interrupted; a port that cannot be bound is a usage error (exit 2)."""
    from bmad.core.errors import UsageError
    from bmad.serve import serve

    try:
        serve(args.config, args.host, args.port, token_file=args.token_file, token_env=args.token_env)
    except OSError as exc:
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0


COMMANDS: dict[str, Callable[[argparse.ArgumentParser], None]] = {"serve": serve_command}
