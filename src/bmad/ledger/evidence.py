"""A phase run's evidence folder: ``<state_dir>/runs/<service>/<environment>/<version>/<phase>-<n>/``.

Implements :class:`bmad.ports.evidence.EvidenceSink`. Every file is redacted, written to a
temporary name in the same folder, made mode 0600 and renamed into place (a reader never
sees half a file). Command transcripts go to ``commands/NNN-<label>.json``.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bmad.core import aside
from bmad.core.datatypes import datatype
from bmad.core.errors import BmadError
from bmad.core.files import write_atomic
from bmad.core.indented_json import encode_indented
from bmad.core.models import PhaseName, Release
from bmad.core.redact import (
    masked_named,
    redact,
    redact_argv,
    redact_json_text,
    secret_named,
    secrets_generation,
)

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
# The evidence files this process wrote redacted: path -> (secrets generation, size, mtime in ns).
_REDACTED: dict[str, tuple[int, int, int]] = {}


# A child given more than this to write its files is killed, and they are written here (a hung child
# costs time, never the files); 1,000 objects' take it ~0.15 s.
ASIDE_TIMEOUT_SECONDS = 300.0


@datatype
class _AsideWrite:
    """Files a forked child is writing (:meth:`EvidenceFolder.write_aside`)."""

    folder: EvidenceFolder
    relatives: list[str]
    write: Callable[[EvidenceFolder], None]
    child: aside.Aside
    generation: int


_ASIDE: list[_AsideWrite] = []
_ASIDE_LOCK = threading.Lock()


def finish_writes(timeout: float = ASIDE_TIMEOUT_SECONDS) -> list[str]:
    """Wait for the evidence files being written aside; the problems, one line each (none: every file is
    in place). Files whose child failed or hung are written here instead. Called before anything reads
    them (publishing copies the SARIF and JUnit files) and before a run returns; never raises for a
    file it could not write."""
    problems: list[str] = []
    while True:
        with _ASIDE_LOCK:
            if not _ASIDE:
                return problems
            pending = _ASIDE.pop(0)
        if pending.child.wait(timeout):
            for relative in pending.relatives:
                pending.folder._redacted(relative, pending.generation)
            continue
        pending.folder._remove_partial(pending.relatives)  # a killed child's temporary files
        try:
            pending.write(pending.folder)
        except (OSError, BmadError) as exc:
            problems.append(f"could not write the evidence file(s) {', '.join(pending.relatives)}: {exc}")


def redacted_as_written(path: Path) -> bool:
    """Whether ``path`` is a text or JSON evidence file this process wrote (redacted), unchanged since,
    with no secret registered after its redaction: redacting it again would give the same bytes (the
    SARIF of a thousand objects, copied next to the documents for CI, is not scanned twice)."""
    noted = _REDACTED.get(str(path))
    if noted is None or noted[0] != secrets_generation():
        return False
    try:
        stat = path.stat()
    except OSError:
        return False
    return (stat.st_size, stat.st_mtime_ns) == noted[1:]


def evidence_dir_for(state_dir: Path, release: Release, phase: PhaseName, attempt: int) -> Path:
    return (
        state_dir / "runs" / release.service / release.environment / release.short_version / f"{phase.value}-{attempt}"
    )


class EvidenceFolder:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        return self._root

    def _target(self, name: str) -> tuple[Path, str]:
        parts = [_SAFE.sub("_", part) for part in Path(name).parts if part not in ("", ".", "..", "/")]
        if not parts:
            raise ValueError(f"not a usable evidence file name: {name!r}")
        relative = "/".join(parts)
        return self._root / relative, relative

    def write_bytes(self, name: str, content: bytes, *, durable: bool = True) -> str:
        path, relative = self._target(name)
        write_atomic(path, content, durable=durable)
        return relative

    def write_text(self, name: str, content: str) -> str:
        generation = secrets_generation()
        return self._redacted(self.write_bytes(name, redact(content).encode("utf-8")), generation)

    def write_json(self, name: str, data: Any, *, durable: bool = True) -> str:
        """``data`` as indented JSON, redacted. ``durable=False`` skips the flush to disk for a file made
        from what the ledger already holds (``phase.json``): a crash may lose it, never half of it."""
        # the text of json.dumps(redact_data(data), indent=2, sort_keys=True, default=str), in one walk,
        # then redact() of the whole text (a match may span a key and its value) from its tokens
        generation = secrets_generation()
        encoded = encode_indented(data, strings=redact, keyed=(secret_named, masked_named))
        text = redact_json_text(encoded.text, keys=encoded.keys, strings=encoded.strings)
        return self._redacted(self.write_bytes(name, (text + "\n").encode("utf-8"), durable=durable), generation)

    def write_aside(self, names: Sequence[str], write: Callable[[EvidenceFolder], None]) -> list[str]:
        """Have ``write(self)`` write the files ``names`` in a forked child (:mod:`bmad.core.aside`)
        while this process goes on; they are in place once :func:`finish_writes` returns. Where no
        child is forked, ``write`` runs here at once. The files' names, relative to the folder."""
        relatives = [self._target(name)[1] for name in names]
        generation = secrets_generation()  # the child redacts with the secrets known now
        child = aside.start(lambda: write(self))
        if child is None:
            write(self)
            return relatives
        with _ASIDE_LOCK:
            _ASIDE.append(_AsideWrite(self, relatives, write, child, generation))
        return relatives

    def _remove_partial(self, relatives: Sequence[str]) -> None:
        """Remove the temporary files a child killed while writing ``relatives`` left (``write_atomic``'s
        ``.<name>.<random>.tmp`` beside each)."""
        for relative in relatives:
            path = self._root / relative
            for temp in path.parent.glob(f".{path.name}.*.tmp"):
                temp.unlink(missing_ok=True)

    def _redacted(self, relative: str, generation: int) -> str:
        """Note that the file at ``relative`` was written redacted as of ``generation``."""
        path = self._root / relative
        stat = path.stat()
        _REDACTED[str(path)] = (generation, stat.st_size, stat.st_mtime_ns)
        return relative

    def record_command(
        self,
        argv: Sequence[str],
        *,
        exit_code: int | None,
        stdout: str,
        stderr: str,
        duration_seconds: float,
        label: str | None = None,
    ) -> str:
        with self._lock:
            number = next(self._counter)
        program = Path(argv[0]).name if argv else "command"
        name = f"commands/{number:03d}-{label or program}.json"
        return self.write_json(
            name,
            {
                "argv": redact_argv(list(argv)),
                "exit_code": exit_code,
                "timed_out": exit_code is None,
                "duration_seconds": round(duration_seconds, 6),
                "stdout": redact(stdout),
                "stderr": redact(stderr),
            },
        )
