"""Opening what a command reads or writes: the validated config and the ledger.

Kept apart from :mod:`bmad.engine.runner` so that the read-only commands (``bmad status``,
``history``, ``metrics``) do not import the phase-running machinery.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bmad.core.errors import UsageError
from bmad.core.files import make_dirs, owner_only, write_atomic

if TYPE_CHECKING:
    from bmad.config.models import BmadConfig
    from bmad.ledger.store import Ledger


def as_config(config: BmadConfig | str | Path) -> BmadConfig:
    """``config`` itself, or the config loaded from the file at ``config``."""
    if not isinstance(config, (str, Path)):
        return config
    from bmad.config.loader import load_config

    return load_config(config)


def prepare_state_dir(config: BmadConfig) -> Path:
    """Create the state folder (owner-only) with a ``.gitignore`` of ``*`` so it never dirties the service's tree."""
    state = config.state_path
    try:
        make_dirs(state)
        state.chmod(0o700)
        ignore = state / ".gitignore"
        if not ignore.exists():
            write_atomic(ignore, "# bmad state (ledger, evidence): never committed\n*\n")
    except OSError as exc:  # a file where the folder goes, no permission, a full disk
        raise UsageError(
            f"bmad's state folder {state} cannot be used: {exc.strerror or exc}",
            hint="make it a folder bmad can write (or set state_dir in bmad.yaml to one)",
        ) from None
    return state


def open_ledger(config: BmadConfig) -> Ledger:
    key_ref = config.ledger.signing_key
    key = None
    if key_ref is not None:
        from bmad.config.secret_refs import resolve_at

        key = resolve_at(config, ("ledger", "signing_key"), key_ref)
    return open_ledger_at(config.ledger.url, prepare_state_dir(config), signing_key=key)


def open_ledger_at(url: str | None, state_dir: Path, *, signing_key: str | None = None) -> Ledger:
    """The ledger at ``url`` (``BMAD_LEDGER_URL`` when None, else SQLite in ``state_dir``)."""
    from bmad.ledger.store import Ledger

    with owner_only():  # ledger.db and SQLite's -wal/-shm files
        return Ledger.open(url, state_dir=state_dir, signing_key=signing_key)


@contextlib.contextmanager
def ledger_for(config: BmadConfig, ledger: Ledger | None) -> Iterator[Ledger]:
    """``ledger`` when the caller holds one, else the config's ledger, opened and closed here."""
    if ledger is not None:
        yield ledger
        return
    own = open_ledger(config)
    try:
        yield own
    finally:
        own.close()
