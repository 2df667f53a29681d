"""A phase imports what it uses: heavy modules of transports and parsers load only where they run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT


def _loaded_after(imports: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    probe = f"{imports}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return set(json.loads(proc.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    ("module", "not_loaded"),
    [
        # e-mail transport (smtplib, ssl, email): only for a channel of type email
        ("bmad.adapters.notify", {"smtplib", "ssl", "bmad.adapters.notify.email"}),
        # the DCGM text parser (prometheus_client, ~50 ms) and nvidia-smi's XML: only on a GPU host
        ("bmad.adapters.gpu_host", {"prometheus_client", "xml.etree.ElementTree", "tomllib"}),
        # the documents escape HTML themselves: html's entity table is not needed to write them
        ("bmad.reports.outputs", {"html", "html.entities"}),
        # a lock owner's random part comes from os.urandom (uuid loads platform, ~4 ms), the host
        # name from os.uname (socket, ~2 ms)
        ("bmad.ledger.lease", {"uuid", "platform", "socket"}),
    ],
)
def test_a_module_on_the_phase_path_leaves_heavy_modules_unloaded(module: str, not_loaded: set[str]) -> None:
    """Guards the fixed cost of a phase: each of these was imported by every ANALYZE or MEASURE."""
    assert not (_loaded_after(f"import {module}") & not_loaded)


def test_the_host_name_of_a_lock_owner_is_the_sockets_host_name() -> None:
    """Guards the lock owner's host (a stale lock is taken over only on its own host): read from
    os.uname without importing socket, it is what ``socket.gethostname()`` says."""
    import socket

    from bmad.ledger.procs import this_host

    assert this_host() == socket.gethostname()
