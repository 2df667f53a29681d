"""The load-test sweep says which version it loads, and a production environment's serving release is
loaded only with levels configured for it (issue 14)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmad.engine.wiring.measure import make_plugin
from bmad.phases.measure.checks import load_test
from tests.phases.measure.conftest import config_yaml, make_ctx

pytestmark = pytest.mark.stack


def _production(text: str) -> str:
    return text.replace("  staging:\n", "  staging:\n    production: true\n", 1)


def test_production_is_not_loaded_with_default_levels(
    stack: Any, hello_service: Callable[..., str], tmp_path: Path
) -> None:
    """Guards: the default 500/1,000/2,000 connections were sent at the release serving production."""
    url = hello_service()
    text = _production(config_yaml(stack, service_url=url, load_test="{duration_seconds: 1}"))
    ctx = make_ctx(tmp_path, text)
    result = load_test.run(ctx, make_plugin(ctx).ports)  # type: ignore[attr-defined]
    assert result.status.value == "skip"
    assert "release 000000000000, serving 'staging' now" in result.summary
    assert "environment_levels.staging" in result.summary


def test_levels_of_the_environment_are_used_and_the_loaded_version_is_said(
    stack: Any, hello_service: Callable[..., str], tmp_path: Path
) -> None:
    """Guards: the report did not say which version the sweep loaded (the previous release, not the candidate)."""
    url = hello_service()
    sweep = "{levels: [500], environment_levels: {staging: [3]}, duration_seconds: 1, workers: 1}"
    ctx = make_ctx(tmp_path, _production(config_yaml(stack, service_url=url, load_test=sweep)))
    result = load_test.run(ctx, make_plugin(ctx).ports)  # type: ignore[attr-defined]
    assert result.status.value == "pass", result.summary
    assert [level["concurrency"] for level in result.artifacts["load_test"]] == [3]
    assert result.summary.endswith(
        f"loaded release 000000000000, serving 'staging' now (this run's candidate {'1' * 12} is not deployed yet)"
    )
    assert result.evidence["loaded"].startswith("release 000000000000")
