"""BUILD's scratch folder: removed once the checks have finished, without the phase waiting for it."""

from __future__ import annotations

from bmad.phases.build.workspace import BuildWorkspace


def test_clearing_the_workspace_removes_the_exported_image_in_a_thread_of_its_own() -> None:
    """Guards the own share of BUILD: the phase unlinked the exported image (tens of MB, tens of ms)
    itself before it could be recorded; a non-daemon thread does it now, and bmad exits after it."""
    work = BuildWorkspace()
    folder = work._scratch()
    (folder / "image.tar").write_bytes(b"\0" * (4 << 20))
    cleanup = work.clear()
    assert cleanup is not None and not cleanup.daemon
    cleanup.join(10)
    assert not folder.exists()
    assert work.clear() is None  # nothing left to remove
