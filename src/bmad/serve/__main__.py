"""``python -m bmad.serve [--host 127.0.0.1] [--port 8765] [--config bmad.yaml] [--token-file F | --token-env VAR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bmad.core.errors import BmadError
from bmad.serve import DEFAULT_HOST, DEFAULT_PORT, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bmad.serve", description="A read-only web dashboard of the ledger."
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 8765)")
    parser.add_argument("--config", "-c", type=Path, default=None, help="bmad.yaml of the service (for its ledger)")
    parser.add_argument("--token-file", type=Path, default=None, help="file holding the token (needed off loopback)")
    parser.add_argument("--token-env", default=None, help="environment variable holding the token")
    args = parser.parse_args(argv)
    try:
        serve(args.config, args.host, args.port, token_file=args.token_file, token_env=args.token_env)
    except BmadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
