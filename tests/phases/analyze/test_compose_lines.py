"""The lines of a compose file's GPU services come from one libyaml compose."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import yaml

from bmad.phases.gpu_compose_services import gpu_services_in_text

GPU = "    deploy:\n      resources:\n        reservations:\n          devices:\n            - capabilities: [gpu]\n"


def _compose(count: int) -> str:
    return "services:\n" + "".join(f"  svc{i}:\n    image: app:{i}\n{GPU}" for i in range(count))


def _best_of(repeats: int, action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def test_service_lines_cost_about_two_libyaml_parses() -> None:
    """Guards ANALYZE's fixed cost: the compose file was composed a second time by the pure-Python
    parser (~20x libyaml's time) to find each service's line."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        pytest.skip("PyYAML without libyaml")
    text = _compose(200)
    found = gpu_services_in_text(text, "compose.yaml")
    assert [service.line for service in found.services[:2]] == [2, 9]  # sorted by name: svc0, svc1
    ours = _best_of(5, lambda: gpu_services_in_text(text, "compose.yaml"))
    libyaml = _best_of(5, lambda: yaml.load(text, Loader=loader))
    assert ours < 6 * libyaml, (ours, libyaml)
