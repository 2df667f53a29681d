"""The load-test sweep loads the release candidate: a temporary container of BUILD's image (pinned by
digest) on the local engine, removed afterwards whatever happens; the serving release only when asked
(issue 14)."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmad.core.models import PhaseName, PhaseResult, PhaseStatus
from bmad.engine.wiring.measure import make_plugin
from bmad.phases.measure.checks import load_test
from bmad.ports.phase import PhaseContext
from tests.phase_harness import context_from_yaml
from tests.phases.deploy.conftest import PushedImage, push_image
from tests.phases.measure.conftest import History, config_yaml

pytestmark = pytest.mark.stack

SWEEP = "{levels: [3], duration_seconds: 1, workers: 1%s}"


@pytest.fixture(scope="module")
def candidate(engine: Any, stack: Any, example_image: str) -> PushedImage:
    """The example image (version 1.0.0-test) pushed to the stack's registry, as BUILD hands it on."""
    return push_image(engine, stack.registry, example_image, "measure-tests/hello", "candidate")


def _ctx(tmp_path: Path, stack: Any, serving_url: str, image: PushedImage, *, sweep: str = "", extra: str = "") -> Any:
    text = config_yaml(stack, service_url=serving_url, load_test=SWEEP % sweep)
    target = f"    target: {{kind: local, local: {{docker_host: '{stack.docker_host}', port: 8080}}}}\n"
    text = text.replace("  staging:\n", "  staging:\n" + target, 1) + extra
    pinned = f"{image.repository}@{image.digest}"
    built = {"image": image.repository, "image_digest": image.digest, "image_pinned": pinned}
    return context_from_yaml(
        tmp_path,
        text,
        environment="staging",
        version="1" * 40,
        history=History(deployed=True),
        previous={PhaseName.BUILD: PhaseResult(PhaseName.BUILD, PhaseStatus.PASSED, artifacts=built)},
        evidence_dir=tmp_path / "evidence",
    )


def _root_requests(url: str) -> int:
    """Requests to "/" the hello process at ``url`` has answered (its own counter)."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(int(float(v)) for v in re.findall(r'http_requests_total\{[^}]*path="/"[^}]*\} (\S+)', text))


def _previews(engine: Any) -> list[Any]:
    return list(engine.containers.list(all=True, filters={"label": "bmad.preview"}))


def _run(ctx: PhaseContext) -> Any:
    return load_test.run(ctx, make_plugin(ctx).ports)  # type: ignore[attr-defined]


def test_the_candidate_is_loaded_not_the_serving_release(
    stack: Any, engine: Any, candidate: PushedImage, hello_service: Callable[..., str], tmp_path: Path
) -> None:
    """Guards: the sweep loaded whatever served the environment (the previous release), not the candidate.

    The serving release answers "/" with 500 half of the time: a clean sweep, with the serving
    process's own counter unchanged, proves the candidate answered."""
    serving = hello_service(fault="errors", version="0.9.0")
    before = _root_requests(serving)
    result = _run(_ctx(tmp_path, stack, serving, candidate))
    assert result.status.value == "pass", result.summary
    pinned = f"{candidate.repository}@{candidate.digest}"
    assert result.summary.endswith(f"loaded {pinned} (candidate preview)")
    assert result.evidence["loaded_version"] == "candidate" and result.evidence["loaded"].startswith(pinned)
    assert not result.evidence["url"].startswith(serving)
    assert result.artifacts["load_test"][0]["requests"] > 0 and result.artifacts["load_test"][0]["errors"] == {}
    assert _root_requests(serving) == before  # not one request reached the serving release
    assert _previews(engine) == []  # the preview was removed afterwards


def test_serving_is_loaded_when_configured(
    stack: Any, engine: Any, candidate: PushedImage, hello_service: Callable[..., str], tmp_path: Path
) -> None:
    """Guards: ``measure.load_test.environment_targets`` picks the serving release for one environment."""
    serving = hello_service(version="0.9.0")
    before = _root_requests(serving)
    result = _run(_ctx(tmp_path, stack, serving, candidate, sweep=", environment_targets: {staging: serving}"))
    assert result.status.value == "pass", result.summary
    assert result.evidence["loaded_version"] == "serving"
    assert "release 000000000000, serving 'staging' now" in result.summary
    assert _root_requests(serving) > before


def test_a_preview_that_never_answers_fails_the_check_and_is_removed(
    stack: Any, engine: Any, candidate: PushedImage, hello_service: Callable[..., str], tmp_path: Path
) -> None:
    """Guards: a candidate that does not come up must neither be swept nor left running."""
    serving = hello_service(version="0.9.0")
    before = _root_requests(serving)
    ctx = _ctx(
        tmp_path,
        stack,
        serving,
        candidate,
        sweep=", preview_ready_seconds: 2",
        extra="deploy: {health_path: /no-such-path}\n",
    )
    result = _run(ctx)
    assert result.status.value == "fail"
    assert result.summary.startswith(f"could not start a preview of {candidate.repository}@{candidate.digest}")
    assert "/no-such-path did not answer 200" in result.summary
    assert _previews(engine) == [] and _root_requests(serving) == before


def test_without_a_digest_the_serving_release_is_loaded_and_the_reason_kept(
    stack: Any, hello_service: Callable[..., str], tmp_path: Path
) -> None:
    """Guards: with no image to preview the record must say the serving release was loaded, and why."""
    serving = hello_service(version="0.9.0")
    text = config_yaml(stack, service_url=serving, load_test=SWEEP % "")
    ctx = context_from_yaml(tmp_path, text, environment="staging", version="1" * 40, history=History(deployed=True))
    result = _run(ctx)
    assert result.status.value == "pass", result.summary
    assert result.evidence["loaded_version"] == "serving"
    assert "no image digest of this release to preview" in result.evidence["candidate_not_loaded"]


def _kubernetes(text: str, *, preview_url: str | None = None, production: bool = False) -> str:
    lines = "    target: {kind: kubernetes}\n" + ("    production: true\n" if production else "")
    text = text.replace("  staging:\n", "  staging:\n" + lines, 1)
    if preview_url:
        text = text.replace("    monitoring:\n", f"    monitoring:\n      preview_url: {preview_url}\n", 1)
    return text


def test_kubernetes_loads_its_preview_url_even_in_production(
    stack: Any, candidate: PushedImage, hello_service: Callable[..., str], tmp_path: Path
) -> None:
    """Guards: a Kubernetes environment had no way to load the candidate; its ``preview_url`` is loaded,
    and production's default levels are then no threat to the serving release."""
    serving = hello_service(fault="errors", version="0.9.0")
    preview = hello_service(version="1.0.0-test")
    before = _root_requests(serving)
    sweep = SWEEP % ""
    text = _kubernetes(config_yaml(stack, service_url=serving, load_test=sweep), preview_url=preview, production=True)
    built = {"image": candidate.repository, "image_digest": candidate.digest}
    ctx = context_from_yaml(
        tmp_path,
        text,
        environment="staging",
        version="1" * 40,
        history=History(deployed=True),
        previous={PhaseName.BUILD: PhaseResult(PhaseName.BUILD, PhaseStatus.PASSED, artifacts=built)},
    )
    result = _run(ctx)
    assert result.status.value == "pass", result.summary
    assert result.summary.endswith(f"(candidate preview at {preview})")
    assert result.evidence["url"].startswith(preview) and result.evidence["loaded_version"] == "candidate"
    assert _root_requests(preview) > 0 and _root_requests(serving) == before


def test_kubernetes_without_preview_url_loads_serving_and_production_still_needs_levels(
    stack: Any, hello_service: Callable[..., str], tmp_path: Path
) -> None:
    """Guards: without a preview the serving production release must not get the default levels."""
    serving = hello_service(version="0.9.0")
    text = _kubernetes(config_yaml(stack, service_url=serving, load_test=SWEEP % ""), production=True)
    ctx = context_from_yaml(tmp_path, text, environment="staging", version="1" * 40, history=History(deployed=True))
    result = _run(ctx)
    assert result.status.value == "skip"
    assert "release 000000000000, serving 'staging' now" in result.summary
    assert "environments.staging.monitoring.preview_url" in result.summary
