"""BUILD overhead: bmad's BUILD of the example service (scanning disabled) vs plain podman build + push.

    .venv/bin/python bench/build.py [--rounds 5]

Starts its own Podman API service and registry (bmad.stack, free ports, temp dir), builds the local
Python base image, and copies examples/hello into a temp git repo. Each round commits a change to the
app (so both sides really rebuild the app layer), then, in alternating order:

* plain:  ``podman build --build-arg BASE=... --label <the same OCI labels> -t REG/hello-plain:SHA
          -t REG/hello-plain:latest`` + ``podman push`` of both tags (the same image bmad builds)
* bmad:   ``run_release(..., phases=["build"])`` with vulnerability and layer-secret scanning off and no
          test suite: build through the Engine API, size check, push both tags, read the manifest back,
          rollback git tag, ledger row and phase record. Also the phase alone (no ledger/record).

Prints the median of each and the ratios (goal: bmad <= 1.1x plain). ``--scan`` turns the layer-secret
scan on (own layers) to show its cost.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "hello"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONFIG = """\
version: 1
service:
  name: {name}
environments:
  dev: {{risk: low}}
build:
  context: .
  containerfile: Containerfile
  build_args: {{BASE: "{base}"}}
  registry: "{registry}"
  image: {name}
  vulnerabilities: {{enabled: false}}
  layer_secrets: {{enabled: {scan}}}
"""


def make_repo(tmp: Path, *, name: str, base: str, registry: str, scan: bool = False) -> Path:
    repo = tmp / name
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__", "reports", ".bmad"))
    (repo / "bmad.yaml").write_text(CONFIG.format(name=name, base=base, registry=registry, scan=str(scan).lower()))
    (repo / ".gitignore").write_text(".bmad/\nreports/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def touch_app(repo: Path, round_no: int) -> str:
    app = repo / "app" / "hello.py"
    app.write_text(app.read_text() + f"\n# bench round {round_no} {time.time_ns()}\n")
    git(repo, "commit", "-q", "-am", f"round {round_no}")
    return git(repo, "rev-parse", "HEAD")


def oci_labels(repo: Path, sha: str) -> list[str]:
    """The labels bmad puts on the image, so that both sides build the same image."""
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(git(repo, "show", "-s", "--format=%ct", sha))))
    labels = {
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.revision": sha,
        "org.opencontainers.image.title": "hello",
        "org.opencontainers.image.version": sha[:12],
    }
    return [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]


def plain(repo: Path, *, base: str, registry: str, sha: str, env: dict[str, str]) -> float:
    image = f"{registry}/hello-plain"
    started = time.perf_counter()
    subprocess.run(
        [
            "podman",
            "build",
            "-q",
            "-f",
            "Containerfile",
            "--build-arg",
            f"BASE={base}",
            *oci_labels(repo, sha),
            "-t",
            f"{image}:{sha[:12]}",
            "-t",
            f"{image}:latest",
            ".",
        ],
        cwd=repo,
        check=True,
        capture_output=True,
        env=env,
    )
    for tag in (sha[:12], "latest"):
        subprocess.run(
            ["podman", "push", "-q", "--tls-verify=false", f"{image}:{tag}"], check=True, capture_output=True, env=env
        )
    return time.perf_counter() - started


def bmad_run(repo: Path) -> float:
    from bmad.engine import run_release

    started = time.perf_counter()
    outcome = run_release(repo / "bmad.yaml", "dev", phases=["build"], force=True, reason="bench")
    elapsed = time.perf_counter() - started
    assert outcome.passed, outcome.message
    return elapsed


def bmad_phase(repo: Path) -> float:
    """The BUILD phase alone (scheduler + checks), without ledger, lock and record commit."""
    import threading

    from bmad.config import load_config
    from bmad.engine.release import release_from_git
    from bmad.engine.scheduler import run_checks
    from bmad.engine.wiring.build import make_plugin
    from bmad.ledger.evidence import EvidenceFolder
    from bmad.ports.phase import PhaseContext

    class NoHistory:
        def previous_releases(self, *, limit: int = 20) -> list[Any]:
            return []

        def last_deployed(self) -> None:
            return None

    config = load_config(repo / "bmad.yaml")
    started = time.perf_counter()
    release = release_from_git(config, "dev")
    with tempfile.TemporaryDirectory() as evidence:
        ctx = PhaseContext(
            config, "dev", release, EvidenceFolder(Path(evidence)), NoHistory(), cancel=threading.Event()
        )
        plugin = make_plugin(ctx)
        ran = run_checks(list(plugin.checks(ctx)), ctx, warnings_fail=False)
        plugin.finish(ctx, ran.results)
    elapsed = time.perf_counter() - started
    failed = [r.id for r in ran.results if r.status.value == "fail"]
    assert not failed, failed
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scan", action="store_true", help="also scan the image's own layers for secrets")
    args = parser.parse_args()

    from bmad.stack import StackPorts, up

    tmp = Path(tempfile.mkdtemp(prefix="bmad-bench-build-"))
    info = up(tmp / "stack", ports=StackPorts(registry=free_port()), components=("podman", "registry"))
    try:
        os.environ["DOCKER_HOST"] = info.docker_host
        env = {
            **os.environ,
            "CONTAINERS_CONF": str(tmp / "stack" / "containers.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(tmp / "stack" / "registries.conf"),
        }
        import docker

        client = docker.DockerClient(base_url=info.docker_host, timeout=300)
        base = str(load("bench_base", ROOT / "examples" / "base" / "build_base.py").build_base_image(client))
        repo = make_repo(tmp, name="hello", base=base, registry=info.registry, scan=args.scan)
        for warm in range(2):  # warm-up: imports, migrations, base layers in the registry
            sha = touch_app(repo, -1 - warm)
            plain(repo, base=base, registry=info.registry, sha=sha, env=env)
            bmad_run(repo)
        results: dict[str, list[float]] = {"plain": [], "bmad": [], "phase": []}
        for round_no in range(args.rounds):
            order = ["plain", "bmad", "phase"] if round_no % 2 == 0 else ["phase", "bmad", "plain"]
            for kind in order:
                sha = touch_app(repo, round_no * 3 + order.index(kind))
                if kind == "plain":
                    results[kind].append(plain(repo, base=base, registry=info.registry, sha=sha, env=env))
                elif kind == "bmad":
                    results[kind].append(bmad_run(repo))
                else:
                    results[kind].append(bmad_phase(repo))
        medians = {kind: statistics.median(values) for kind, values in results.items()}
        print(f"rounds: {args.rounds} (each a fresh commit: the app layer is rebuilt on both sides)")
        print(f"layer-secret scan: {'on (own layers)' if args.scan else 'off'}; vulnerability scan: off")
        for kind, label in (
            ("plain", "podman build + push x2        "),
            ("phase", "bmad BUILD phase (no ledger)  "),
            ("bmad", "bmad build (engine, ledger, record)"),
        ):
            values = ", ".join(f"{v:.2f}" for v in results[kind])
            print(f"{label}: median {medians[kind]:.3f} s  [{values}]")
        print(f"ratio phase/plain: {medians['phase'] / medians['plain']:.2f}x")
        print(f"ratio bmad/plain:  {medians['bmad'] / medians['plain']:.2f}x  (goal <= 1.1x)")
        client.close()
    finally:
        info.down()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
