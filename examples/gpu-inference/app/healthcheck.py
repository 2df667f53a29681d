"""Exit 0 when http://127.0.0.1:<port><path> answers 200 (argv: port [path])."""

import sys
import urllib.request

port, path = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "/healthz"
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
