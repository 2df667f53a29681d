"""Which database the ledger is: ``BMAD_LEDGER_URL``, bmad.yaml's ``ledger.url`` or SQLite in the state folder."""

from __future__ import annotations

import os
from pathlib import Path

LEDGER_URL_ENV = "BMAD_LEDGER_URL"


def resolve_url(url: str | None, *, state_dir: str | Path | None) -> str:
    """``BMAD_LEDGER_URL`` wins over ``url`` (from bmad.yaml), which wins over ``<state_dir>/ledger.db``."""
    chosen = os.environ.get(LEDGER_URL_ENV) or url
    if not chosen:
        base = Path(state_dir) if state_dir is not None else Path(".bmad")
        base.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(base / 'ledger.db').resolve()}"
    for prefix in ("postgresql://", "postgres://"):
        if chosen.startswith(prefix):
            return "postgresql+psycopg://" + chosen[len(prefix) :]
    return chosen
