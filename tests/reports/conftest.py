"""Fixtures of the reports' tests: a ledger built with known data (see reports_data.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bmad.ledger import Ledger
from tests.reports.reports_data import NOW, SPECS, Spec, record


@pytest.fixture
def make_ledger(tmp_path: Path) -> Iterator[Callable[[list[Spec]], Ledger]]:
    opened: list[Ledger] = []

    def make(specs: list[Spec]) -> Ledger:
        ledger = Ledger.open(f"sqlite:///{tmp_path}/ledger-{len(opened)}.db", clock=lambda: NOW)
        opened.append(ledger)
        for spec in specs:
            record(ledger, spec)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(make_ledger: Callable[[list[Spec]], Ledger]) -> Ledger:
    return make_ledger(SPECS)
