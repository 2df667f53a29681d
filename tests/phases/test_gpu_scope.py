"""Which Compose services ask for a GPU (bmad.phases.gpu_scope), read from a compose file ANALYZE does
not validate: a misshapen part asks for nothing instead of stopping the phase."""

from __future__ import annotations

from typing import Any

import pytest

from bmad.phases.gpu_scope import active_services, gpu_requests_by_service

GPU = {"image": "x", "deploy": {"resources": {"reservations": {"devices": [{"driver": "nvidia", "count": 1}]}}}}


@pytest.mark.parametrize(
    "odd",
    [
        {"image": "y", "deploy": []},
        {"image": "y", "deploy": {"resources": {"reservations": "x"}}},
        {"image": "y", "deploy": {"resources": {"reservations": {"devices": [3, None]}}}},
        {"image": "y", "deploy": {"resources": {"reservations": {"devices": [{"capabilities": 3}]}}}},
        {"image": "y", "devices": [3, {"source": 1}]},
        {"image": "y", "profiles": [{"a": 1}]},
        {"image": "y", "profiles": 3},
    ],
)
def test_a_misshapen_service_asks_for_nothing_and_the_others_are_still_read(odd: dict[str, Any]) -> None:
    """Each of these raised AttributeError or TypeError (ANALYZE stopped with an internal error)."""
    document = {"services": {"odd": odd, "gpu": GPU}}
    assert gpu_requests_by_service(active_services(document, ["debug"])) == {
        "gpu": ("device reservation (nvidia, count 1)",)
    }


def test_profiles_select_services_as_compose_does() -> None:
    document = {"services": {"a": {"image": "x"}, "b": {"image": "x", "profiles": ["debug"]}, "c": {"profiles": []}}}
    assert list(active_services(document, [])) == ["a", "c"]
    assert list(active_services(document, ["debug"])) == ["a", "b", "c"]
