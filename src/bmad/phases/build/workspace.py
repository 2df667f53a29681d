"""What BUILD's checks share while the phase runs: a scratch folder, the exported image, the build log."""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import field
from pathlib import Path

from bmad.core.datatypes import datatype
from bmad.ports.images import ImageEngine


@datatype
class BuildWorkspace:
    """One per phase run; :meth:`clear` removes the scratch folder once every check has finished."""

    # The image build's output lines, written again after the layer scan registered secrets for redaction.
    build_log: list[str] = field(default_factory=list)
    # Held by a test suite while it runs, unless build.parallel_suites.
    suite_lock: threading.Lock = field(default_factory=threading.Lock)
    _folder: Path | None = None
    _archive: Path | None = None
    _archive_lock: threading.Lock = field(default_factory=threading.Lock)

    def exported_image(self, images: ImageEngine, image_id: str) -> Path:
        """The built image as a docker-archive, exported once and shared by the scanners."""
        with self._archive_lock:
            if self._archive is None:
                self._archive = images.export(image_id, self._scratch() / "image.tar")
            return self._archive

    def clear(self) -> threading.Thread | None:
        """Remove the scratch folder in a thread of its own, returned: unlinking the exported image takes
        tens of ms that the phase need not wait for (the thread is not a daemon: bmad exits after it)."""
        if self._folder is None:
            return None
        folder, self._folder, self._archive = self._folder, None, None
        cleanup = threading.Thread(
            target=shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True}, name="bmad-build-cleanup"
        )
        cleanup.start()
        return cleanup

    def _scratch(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="bmad-build-"))
        return self._folder
