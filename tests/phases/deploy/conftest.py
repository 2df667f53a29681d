"""Helpers for DEPLOY tests: a pushed example image and a phase runner with the engine's scheduler."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bmad.core.models import PhaseName, PhaseResult, PhaseStatus
from bmad.ports.phase import PhaseContext
from tests.phase_harness import PhaseRun, context_from_yaml


def make_ctx(
    tmp_path: Path,
    yaml_text: str,
    environment: str,
    *,
    version: str,
    previous: dict[PhaseName, PhaseResult] | None = None,
    options: dict[str, Any] | None = None,
) -> PhaseContext:
    return context_from_yaml(
        tmp_path, yaml_text, environment=environment, version=version, previous=previous, options=options
    )


def measured(baseline: dict[str, Any]) -> dict[PhaseName, PhaseResult]:
    """A passed MEASURE result carrying ``baseline`` (the shape the MEASURE phase stores)."""
    return {PhaseName.MEASURE: PhaseResult(PhaseName.MEASURE, PhaseStatus.PASSED, artifacts={"baseline": baseline})}


@dataclass(frozen=True)
class PushedImage:
    repository: str
    digest: str
    tag: str


def push_image(engine: Any, registry: str, source: str, name: str, tag: str) -> PushedImage:
    repository = f"{registry}/{name}"
    engine.images.get(source).tag(repository, tag)
    for item in engine.images.push(repository, tag=tag, stream=True, decode=True):
        if "error" in item:
            raise RuntimeError(f"push failed: {item['error']}")
    request = urllib.request.Request(
        f"http://{registry}/v2/{name}/manifests/{tag}",
        method="HEAD",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        digest = response.headers["Docker-Content-Digest"]
    return PushedImage(repository, digest, tag)


@pytest.fixture(scope="session")
def pushed_hello(engine: Any, stack: Any, example_image: str) -> PushedImage:
    """The example image pushed to the stack's registry: deploys pin it by digest like BUILD's output."""
    return push_image(engine, stack.registry, example_image, "deploy-tests/hello", "t1")


@pytest.fixture
def cleanup_service(engine: Any, stack: Any) -> Iterator[Callable[[str, str], None]]:
    """Register (service, environment) pairs whose containers, network and discovery file are removed after the test."""
    pairs: list[tuple[str, str]] = []

    def register(service: str, environment: str) -> None:
        pairs.append((service, environment))

    yield register
    for service, environment in pairs:
        for container in engine.containers.list(
            all=True, filters={"label": [f"bmad.service={service}", f"bmad.environment={environment}"]}
        ):
            container.remove(force=True)
        for network in engine.networks.list(names=[f"bmad-{service}-{environment}"]):
            network.remove()
        (stack.file_sd_dir / f"{service}-{environment}.json").unlink(missing_ok=True)


def dump(run: PhaseRun) -> str:
    """Readable results for assertion messages."""
    return json.dumps(
        [{"id": r.id, "status": r.status.value, "summary": r.summary} for r in run.results] + [run.metrics],
        indent=1,
        default=str,
    )
