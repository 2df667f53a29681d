"""The local target's user-defined network, on the real Podman API."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bmad.adapters.targets.local import LocalTarget
from bmad.config.deploy import LocalTargetConfig

pytestmark = pytest.mark.engine


def test_a_network_whose_name_only_starts_alike_is_not_taken_for_ours(engine: Any) -> None:
    # Podman's name filter matches by pattern: "bmad-x-dev" also lists "bmad-x-dev-2". A target that
    # trusted the filter skipped creating its network and then failed to start any replica.
    name = f"bmad-net{uuid.uuid4().hex[:6]}-dev"
    lookalike = engine.networks.create(f"{name}-2", driver="bridge")
    try:
        target = LocalTarget(LocalTargetConfig(), probe=None, client=engine)  # type: ignore[arg-type]
        target.containers.ensure_network(name, "svc", "dev")
        assert name in {n.name for n in engine.networks.list()}
        target.containers.ensure_network(name, "svc", "dev")  # idempotent
        assert [n.name for n in engine.networks.list()].count(name) == 1
    finally:
        for network in engine.networks.list():
            if network.name in (name, f"{name}-2"):
                network.remove()
        del lookalike
