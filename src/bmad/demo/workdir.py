"""The demo's work folder: the example found, copied into a fresh git repository; free host ports."""

from __future__ import annotations

import os
import random
import shutil
import socket
from pathlib import Path

from bmad.core.errors import UsageError

MARKER = ".bmad-demo"
SERVICE = "hello"
ENVIRONMENT = "dev"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bmad demo",
    "GIT_AUTHOR_EMAIL": "bmad-demo@example.invalid",
    "GIT_COMMITTER_NAME": "bmad demo",
    "GIT_COMMITTER_EMAIL": "bmad-demo@example.invalid",
}
COPY_IGNORE = shutil.ignore_patterns("__pycache__", ".pytest_cache", "reports", ".bmad", "*.pyc")


def find_examples(explicit: Path | None = None) -> Path:
    """The ``examples`` folder of a bmad checkout: explicit, BMAD_EXAMPLES_DIR, ./examples, or next to the package."""
    candidates = [explicit] if explicit else []
    if os.environ.get("BMAD_EXAMPLES_DIR"):
        candidates.append(Path(os.environ["BMAD_EXAMPLES_DIR"]))
    candidates += [Path.cwd() / "examples", Path(__file__).resolve().parents[3] / "examples"]
    for candidate in candidates:
        if candidate is not None and (candidate / "hello" / "bmad.yaml").is_file():
            return candidate.resolve()
    raise UsageError(
        "the example service (examples/hello) was not found",
        hint="run 'bmad demo' from a bmad checkout, or set BMAD_EXAMPLES_DIR to its examples folder",
    )


def ephemeral_port_floor(default: int = 32768) -> int:
    """The lowest port the kernel hands to outgoing connections (Linux: ip_local_port_range)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def free_port_block(count: int, *, start: int = 20000, end: int = 40000) -> int:
    """The first port of ``count`` consecutive ports that are free on 127.0.0.1 right now.

    Chosen below the kernel's ephemeral range when it can be: the local target restarts the previous
    release on its old ports to roll back, and a port in that range can meanwhile be taken by any
    outgoing connection (seen: a rollback failing with "address already in use").
    """
    end = min(end, max(start + count + 1, ephemeral_port_floor()))
    for _ in range(200):
        base = random.randrange(start, end - count)
        if _block_free(base, count):
            return base
    raise UsageError(f"no block of {count} free ports found on 127.0.0.1")


def _block_free(base: int, count: int) -> bool:
    sockets: list[socket.socket] = []
    try:
        for port in range(base, base + count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    finally:
        for sock in sockets:
            sock.close()
    return True


def prepare_workdir(directory: Path) -> Path:
    """An empty work folder; one left by an earlier demo (it has the marker file) is wiped."""
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise UsageError(
                f"{directory} exists and was not made by 'bmad demo'",
                hint="choose another folder with --dir, or remove it",
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by 'bmad demo'; removed by the next run\n", encoding="utf-8")
    return directory


def copy_example(examples: Path, workdir: Path) -> Path:
    """``examples/hello`` copied into ``workdir``, its reports and state folders git-ignored."""
    repo = workdir / SERVICE
    shutil.copytree(examples / "hello", repo, ignore=COPY_IGNORE)
    ignore = repo / ".gitignore"
    existing = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    ignore.write_text(existing + "".join(f"{p}\n" for p in ("reports/", ".bmad/") if p not in existing), "utf-8")
    return repo


def git(repo: Path, *args: str) -> str:
    """Run git in the copy with the demo's own identity (no user or system git config)."""
    from bmad.adapters._process import run_command

    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, **GIT_IDENTITY}
    result = run_command(["git", *args], cwd=repo, env=env, timeout=60, check=True)
    return result.stdout.strip()
