"""Rollback time on the local target: seconds from a failed verification to the previous version healthy.

    .venv/bin/python bench/rollback.py [--rounds 5] [--replicas 2]

Starts its own stack (Podman API, registry, Prometheus) in a temp dir on free ports, builds the
example service on the local base image, pushes it to the stack's registry, deploys a good
release, then per round deploys a release whose verification fails at its first evaluation
(a criterion that cannot hold). DEPLOY rolls back automatically; the time measured is DEPLOY's
own ``mttr_seconds``: from the failure's detection to the previous version answering its health
check again (the previous replicas are restarted, not recreated). Goal: <= 10 s (the guide's
average MTTR is 4.5 min). Prints every round, the median and the max.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import statistics
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import free_port, free_port_block  # noqa: E402  (ports below the ephemeral range)

GOAL_SECONDS = 10.0


def _module(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NoHistory:
    def previous_releases(self, *, limit: int = 20) -> list[Any]:
        return []

    def last_deployed(self) -> Any:
        return None


def config_text(environment: str, port_base: int, stack: Any, replicas: int, *, failing: bool) -> str:
    criterion = (
        "{name: cannot_hold, query: 'vector(1)', max: 0}" if failing else "{name: ok, query: 'vector(1)', max: 2}"
    )
    return textwrap.dedent(
        f"""\
        version: 1
        service: {{name: hello}}
        environments:
          {environment}:
            monitoring: {{prometheus_url: "{stack.prometheus_url}"}}
            target:
              kind: local
              local:
                prometheus_file_sd: "{stack.file_sd_dir}"
                replicas: {replicas}
                host_port_base: {port_base}
                docker_host: "{stack.docker_host}"
                stop_timeout_seconds: 5
                env: {{HELLO_VERSION: "{"2.0.0-bad" if failing else "1.0.0"}"}}
        deploy:
          rollout_timeout_seconds: 60
          verification:
            window_seconds: 0.5
            interval_seconds: 0.5
            criteria: [{criterion}]
        """
    )


def deploy(tmp: Path, stack: Any, image: tuple[str, str], environment: str, version: str, text: str) -> Any:
    from bmad.config.loader import load_config_text
    from bmad.core.models import Release
    from bmad.engine.scheduler import run_checks
    from bmad.engine.wiring.deploy import make_plugin
    from bmad.ledger.evidence import EvidenceFolder
    from bmad.ports.phase import PhaseContext

    folder = tmp / version[:12]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bmad.yaml").write_text(text)
    config = load_config_text(text, source=str(folder / "bmad.yaml"))
    config = dataclasses.replace(config, source_path=str(folder / "bmad.yaml"))
    ctx = PhaseContext(
        config=config,
        environment_name=environment,
        release=Release("hello", environment, version),
        evidence=EvidenceFolder(folder / "evidence"),
        history=NoHistory(),
        options={"image": image[0], "digest": image[1]},
    )
    plugin = make_plugin(ctx)
    results = list(run_checks(list(plugin.checks(ctx)), ctx, warnings_fail=False).results)
    results += list(plugin.finish(ctx, results))
    return plugin.metrics(ctx, results), results


def push(engine: Any, registry: str, tag: str) -> tuple[str, str]:
    repository = f"{registry}/bench/hello"
    engine.images.get(tag).tag(repository, "bench")
    for item in engine.images.push(repository, tag="bench", stream=True, decode=True):
        if "error" in item:
            raise RuntimeError(item["error"])
    request = urllib.request.Request(
        f"http://{registry}/v2/bench/hello/manifests/bench",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return repository, response.headers["Docker-Content-Digest"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()

    import docker

    from bmad.stack import DEFAULT_COMPONENTS, StackPorts, up

    with tempfile.TemporaryDirectory(prefix="bmad-bench-rollback-") as raw:
        tmp = Path(raw)
        ports = StackPorts(
            registry=free_port(), prometheus=free_port(), pushgateway=free_port(), alertmanager=free_port()
        )
        stack = up(tmp / "stack", ports=ports, components=DEFAULT_COMPONENTS, scrape_targets={}, rule_files=[])
        engine = docker.DockerClient(base_url=stack.docker_host, timeout=300)
        environment = "bench-rollback"
        try:
            base = _module("build_base", ROOT / "examples" / "base" / "build_base.py").build_base_image(engine)
            builder = _module("build_image", ROOT / "examples" / "hello" / "build_image.py")
            tag = f"localhost/bmad-hello:test-{builder.context_digest(str(base), '1.0.0-test')}"
            try:
                engine.images.get(tag)
            except docker.errors.ImageNotFound:
                builder.build_example_image(engine, base=str(base), tag=tag, version="1.0.0-test")
            image = push(engine, stack.registry, tag)
            port_base = free_port_block(2 * args.replicas)
            metrics, _results = deploy(
                tmp,
                stack,
                image,
                environment,
                "a" * 40,
                config_text(environment, port_base, stack, args.replicas, failing=False),
            )
            if not metrics["rollout_successful"]:
                print("first deploy failed:", [(r.id, r.status.value, r.summary) for r in _results])
                return 1
            seconds = []
            for number in range(1, args.rounds + 1):
                version = f"{number:040d}"
                metrics, results = deploy(
                    tmp,
                    stack,
                    image,
                    environment,
                    version,
                    config_text(environment, port_base, stack, args.replicas, failing=True),
                )
                if not metrics["rolled_back"]:
                    print(f"round {number}: no rollback happened: {[(r.id, r.status.value) for r in results]}")
                    return 1
                seconds.append(float(metrics["mttr_seconds"]))
                print(f"round {number}: verification failed -> previous version healthy in {seconds[-1]:.2f} s")
            median, worst = statistics.median(seconds), max(seconds)
            verdict = "ok" if worst <= GOAL_SECONDS else "over goal"
            print(
                f"rollback (local target, {args.replicas} replicas, {args.rounds} rounds): "
                f"median {median:.2f} s, max {worst:.2f} s (goal <= {GOAL_SECONDS:.0f} s: {verdict})"
            )
            return 0 if worst <= GOAL_SECONDS else 1
        finally:
            for container in engine.containers.list(all=True, filters={"label": f"bmad.environment={environment}"}):
                container.remove(force=True)
            for network in engine.networks.list(names=[f"bmad-hello-{environment}"]):
                network.remove()
            # The discovery file the local target registered: a stale one would be scraped as "hello" targets down.
            (stack.file_sd_dir / f"hello-{environment}.json").unlink(missing_ok=True)
            engine.close()
            stack.down(purge=True)


if __name__ == "__main__":
    sys.exit(main())
