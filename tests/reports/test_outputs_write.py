"""Documents are written only when their bytes change (a rename costs more than a read)."""

from __future__ import annotations

import os
from pathlib import Path

from bmad.reports.outputs import write_document


def test_the_same_bytes_leave_the_file_alone_and_other_bytes_or_modes_replace_it(tmp_path: Path) -> None:
    path = tmp_path / "docs" / "report.html"
    write_document(path, b"<p>one</p>")
    first = path.stat()
    assert (first.st_mode & 0o777, path.read_bytes()) == (0o600, b"<p>one</p>")
    write_document(path, b"<p>one</p>")
    assert path.stat().st_ino == first.st_ino  # not renamed over
    write_document(path, b"<p>one</p> and more")  # a longer text starting with the same bytes
    assert path.read_bytes() == b"<p>one</p> and more" and path.stat().st_ino != first.st_ino
    write_document(path, b"<p>one</p>")  # a shorter one
    assert path.read_bytes() == b"<p>one</p>"
    path.chmod(0o644)  # loosened by someone: written again, owner-only
    write_document(path, b"<p>one</p>")
    assert path.stat().st_mode & 0o777 == 0o600
    os.remove(path)
    path.symlink_to(tmp_path / "elsewhere")  # a dangling link: replaced by a file
    write_document(path, b"<p>two</p>")
    assert not path.is_symlink() and path.read_bytes() == b"<p>two</p>"
