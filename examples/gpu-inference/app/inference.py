"""A toy inference API: GET /predict?text=... scores the text; /healthz says which device it uses.

It uses a GPU when one is visible to the container (NVIDIA_VISIBLE_DEVICES names one and
/dev/nvidia0 exists), the CPU otherwise: the model here is arithmetic, the device is reported.
"""

import json
import os
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POSITIVE = {"good", "great", "fast", "fine", "ok"}
RELEASE = os.environ.get("RELEASE", "dev")
served = {"predict": 0}


def device() -> str:
    visible = os.environ.get("NVIDIA_VISIBLE_DEVICES", "")
    return "cuda:0" if visible not in ("", "void", "none") and os.path.exists("/dev/nvidia0") else "cpu"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/healthz":
            self._reply(200, {"status": "ok", "device": device(), "release": RELEASE})
        elif url.path == "/metrics":
            self._metrics()
        elif url.path == "/predict":
            served["predict"] += 1
            words = urllib.parse.parse_qs(url.query).get("text", [""])[0].lower().split()
            score = sum(w in POSITIVE for w in words) / len(words) if words else 0.0
            self._reply(200, {"score": round(score, 3), "device": device()})
        else:
            self._reply(404, {"error": "not found"})

    def _metrics(self) -> None:
        text = (
            "# TYPE inference_requests_total counter\n"
            f"inference_requests_total {served['predict']}\n"
            "# TYPE inference_build_info gauge\n"
            f'inference_build_info{{release="{RELEASE}",device="{device()}"}} 1\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
