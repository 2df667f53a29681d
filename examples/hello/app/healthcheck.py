"""Container HEALTHCHECK: exit 0 when GET /health on the local port answers 200."""

import os
import sys
import urllib.request

port = os.environ.get("HELLO_PORT", "8080")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception:
    sys.exit(1)
