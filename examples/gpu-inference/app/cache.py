"""A small caching reverse proxy in front of the inference API (GET only, TTL in seconds)."""

import os
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:8080")
TTL = float(os.environ.get("CACHE_TTL_SECONDS", "30"))
# A fault to inject (a bad release of the cache): any non-empty value answers 503 to everything.
FAULT = os.environ.get("CACHE_FAULT", "")
cache: dict[str, tuple[float, int, bytes]] = {}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if FAULT:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        hit = cache.get(self.path)
        state = "HIT"
        if hit is None or time.monotonic() - hit[0] > TTL:
            state = "MISS"
            try:
                with urllib.request.urlopen(UPSTREAM + self.path, timeout=5) as response:
                    hit = (time.monotonic(), response.status, response.read())
            except urllib.error.HTTPError as exc:
                hit = (time.monotonic(), exc.code, exc.read())
            except OSError as exc:
                hit = (0.0, 502, f"upstream unavailable: {exc}".encode())
            if hit[1] == 200 and self.path.startswith("/predict"):
                cache[self.path] = hit
        self.send_response(hit[1])
        self.send_header("X-Cache", state)
        self.send_header("Content-Length", str(len(hit[2])))
        self.end_headers()
        self.wfile.write(hit[2])

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8081"))), Handler).serve_forever()
