"""The CI integrations call bmad commands that exist, with options that exist, and keep the outputs."""

from __future__ import annotations

import io
import re
import shlex
from contextlib import redirect_stderr
from pathlib import Path

import pytest
import yaml

from bmad.cli import main

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / ".github" / "workflows" / "bmad.yml"
GITLAB = ROOT / "ci-templates" / "gitlab-ci.yml"


def _bmad_lines(scripts: list[str]) -> list[list[str]]:
    found = []
    for script in scripts:
        for raw in script.splitlines():
            for part in re.split(r";|&&|\|\||\|", raw):
                words = part.strip()
                if words.startswith("bmad "):
                    words = re.split(r"\s[0-9]?>{1,2}\s?", words)[0]
                    found.append(shlex.split(words.replace('"$', '"X').replace("$", "X"))[1:])
    return found


def _parse(argv: list[str]) -> None:
    """Parse ``bmad <argv>`` with the real CLI's parser (an unknown command or option raises)."""
    errors = io.StringIO()
    with redirect_stderr(errors):
        try:
            parsed = main.build_parser(every=True).parse_args(argv)
        except SystemExit:
            raise ValueError(errors.getvalue()) from None
    assert getattr(parsed, "handler", None) is not None, argv


def test_github_workflow() -> None:
    flow = yaml.safe_load(GITHUB.read_text())
    steps = flow["jobs"]["bmad"]["steps"]
    uses = {step.get("uses", "").split("@")[0]: step for step in steps}
    assert uses["github/codeql-action/upload-sarif"]["with"]["sarif_file"] == "bmad-out/sarif"
    assert uses["actions/upload-artifact"]["with"]["path"] == "bmad-out/"
    assert uses["actions/upload-artifact"]["if"] == "always()"
    assert "mikepenz/action-junit-report" in uses
    commands = _bmad_lines([step.get("run", "") for step in steps])
    assert ["run", "--config", "X", "--env", "X", "--json"] in [
        [w if not w.startswith("X") else "X" for w in c] for c in commands
    ]
    assert {c[0] for c in commands} >= {"run", "report", "metrics", "stack"}
    for argv in commands:
        _parse(argv)


def test_gitlab_template() -> None:
    template = yaml.safe_load(GITLAB.read_text())
    job = template[".bmad"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["paths"] == ["bmad-out/"]
    assert job["artifacts"]["reports"]["junit"] == "bmad-out/junit/*.xml"
    commands = _bmad_lines(job["script"])
    assert {c[0] for c in commands} == {"run", "report", "metrics"}
    for argv in commands:
        _parse(argv)


def test_an_unknown_option_is_noticed() -> None:
    with pytest.raises(Exception, match="unrecognized arguments: --no-such-option"):
        _parse(["metrics", "--no-such-option"])
    with pytest.raises(Exception, match="invalid choice: 'no-such-command'"):
        _parse(["no-such-command"])
