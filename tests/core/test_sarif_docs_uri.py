"""The docs URI of SARIF runs comes from bmad's installed metadata, read without importlib.metadata."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bmad.core.sarif import _header_values
from tests.helpers import REPO_ROOT

METADATA = (
    "Metadata-Version: 2.1\nName: bmad\nProject-URL: Homepage, https://example.org\n"
    "Project-URL:   Documentation, https://docs.example.org/bmad \n  folded\nSummary: s\n\n"
    "Project-URL: Documentation, https://in-the-body.example.org\n"
)


def test_project_urls_are_read_as_the_email_parser_reads_them() -> None:
    expected = tuple(email.message_from_string(METADATA).get_all("Project-URL") or ())
    assert _header_values(METADATA, "Project-URL") == expected
    assert _header_values("Name: bmad\n", "Project-URL") == ()


def test_docs_uri_does_not_import_importlib_metadata() -> None:
    """Guards ANALYZE's fixed cost: every SARIF file imported importlib.metadata (and its e-mail parser)."""
    if not any(next(Path(entry or ".").glob("bmad-*.dist-info"), None) for entry in sys.path):
        pytest.skip("bmad is not installed with a dist-info folder here")
    probe = (
        "import sys, json\nfrom bmad.core.sarif import docs_uri\n"
        "print(json.dumps([docs_uri('checks.md'), 'importlib.metadata' in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    uri, loaded = json.loads(proc.stdout.splitlines()[-1])
    assert uri.endswith("/checks.md") and uri.startswith("https://")
    assert not loaded
