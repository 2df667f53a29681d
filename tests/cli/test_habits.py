"""What a new user expects of a command line (issue 14's "CLI habits") and arguments checked before
any work (issue 19): each test names the defect it guards."""

from __future__ import annotations

import io
import json
import re
import subprocess
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from bmad import __version__
from bmad.cli.main import COMMANDS
from tests.cli.invoke import invoke
from tests.engine.support import bmad, make_service

GOOD = "version: 1\nservice:\n  name: hello\nenvironments:\n  dev: {}\n"


@pytest.fixture
def service(tmp_path: Path) -> Path:
    return make_service(tmp_path / "svc")


def test_version_option_and_short_help() -> None:
    """``bmad --version`` and ``bmad -h`` failed with "No such option"."""
    shown = invoke(["--version"])
    assert shown.exit_code == 0 and shown.stdout.strip() == f"bmad {__version__}"
    assert invoke(["-h"]).exit_code == 0 and "verify-ledger" in invoke(["-h"]).stdout
    assert "--limit" in invoke(["history", "-h"]).stdout


def _every_help() -> list[list[str]]:
    argvs = [[name, "--help"] for name, _, _ in COMMANDS]
    argvs += [["config", "check", "--help"], ["dashboards", "install", "--help"]]
    argvs += [["stack", sub, "--help"] for sub in ("up", "down", "status", "env")]
    return argvs


@pytest.mark.parametrize("argv", _every_help(), ids=lambda argv: "-".join(argv[:-1]))
def test_help_metavars_are_readable(argv: list[str]) -> None:
    """Metavars printed as ``<list[str]>``; every help page now names its values in words."""
    shown = invoke(argv)
    assert shown.exit_code == 0, shown.output
    assert not re.search(r"<\w", shown.stdout) and "[str]" not in shown.stdout and "Path" not in shown.stdout


def test_no_rollback_only_where_it_acts() -> None:
    """``--no-rollback`` was listed on build, measure and analyze, where it does nothing."""
    for command in ("run", "deploy", "resume"):
        assert "--no-rollback" in invoke([command, "--help"]).stdout
    for command in ("build", "measure", "analyze"):
        assert "--no-rollback" not in invoke([command, "--help"]).stdout
        refused = invoke([command, "--no-rollback"])
        assert refused.exit_code == 2 and "unrecognized arguments: --no-rollback" in refused.stderr


def test_history_limit_is_spelled_out() -> None:
    """``bmad history -n`` meant "limit" (a kubectl user reads namespace)."""
    refused = invoke(["history", "-n", "3"])
    assert refused.exit_code == 2 and "unrecognized arguments" in refused.stderr
    zero = invoke(["history", "--limit", "0"])
    assert zero.exit_code == 2 and "0 is not >= 1" in zero.stderr


def test_config_check_takes_config_option_and_bmad_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``config check`` took its file only positionally; ``BMAD_CONFIG`` (set by the workflows) was ignored."""
    path = tmp_path / "service.yaml"
    path.write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BMAD_CONFIG", raising=False)
    for argv in (["config", "check", "-c", str(path)], ["config", "check", "--config", str(path)]):
        shown = invoke(argv)
        assert shown.exit_code == 0 and shown.stdout.startswith(f"ok: {path}: service hello"), shown.output
    assert invoke(["config", "check", str(path)]).exit_code == 0  # positional still accepted
    assert invoke(["config", "check"]).exit_code == 2  # no ./bmad.yaml here
    monkeypatch.setenv("BMAD_CONFIG", str(path))
    from_env = invoke(["config", "check", "--json"])
    assert from_env.exit_code == 0 and json.loads(from_env.stdout)["path"] == str(path)


def test_bmad_config_is_the_default_of_every_command(service: Path, tmp_path: Path) -> None:
    """``BMAD_CONFIG`` is read as the default config path by the release commands too."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"BMAD_CONFIG": str(service / "bmad.yaml")}
    shown = bmad("status", "-e", "dev", "--json", cwd=elsewhere, env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["phases"]["build"] == "pending"
    missing = bmad("status", "-e", "dev", cwd=elsewhere, env={"BMAD_CONFIG": str(tmp_path / "nope.yaml")})
    assert missing.returncode == 2 and "nope.yaml: config file not found" in missing.stderr


def test_bash_completion_from_the_command_table(tmp_path: Path) -> None:
    """There was no shell completion; the script completes commands, sub-commands and options."""
    script = tmp_path / "bmad.bash"
    script.write_text(invoke(["completion", "bash"]).stdout)

    def complete(*words: str) -> list[str]:
        quoted = " ".join(f"'{w}'" for w in ("bmad", *words))
        program = (
            f"source {script}; complete -p bmad; COMP_WORDS=({quoted}); COMP_CWORD={len(words)}; "
            '_bmad_complete; echo "${COMPREPLY[@]}"'
        )
        done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
        registered, replies = done.stdout.splitlines()
        assert registered == "complete -o default -F _bmad_complete bmad"
        return replies.split()

    assert complete("verify-l") == ["verify-ledger"]
    assert set(complete("")) >= {name for name, _, _ in COMMANDS}
    assert complete("stack", "u") == ["up"]
    assert complete("history", "--li") == ["--limit"]
    assert complete("run", "-c", "x.yaml", "--no-r") == ["--no-rollback"]
    assert "--no-rollback" not in complete("build", "--")
    zsh, fish = invoke(["completion", "zsh"]).stdout, invoke(["completion", "fish"]).stdout
    assert zsh.startswith("#compdef bmad") and "_bmad_complete" in zsh
    assert "complete -c bmad -n __fish_use_subcommand -a verify-ledger" in fish
    assert invoke(["completion", "tcsh"]).exit_code == 2


def test_history_table_is_not_cut_at_80_columns(service: Path) -> None:
    """The history table truncated every cell at 80 columns (ellipses instead of versions)."""
    assert bmad("build", "-e", "dev", cwd=service).returncode == 0
    shown = bmad("history", "-e", "dev", cwd=service, env={"COLUMNS": "80"})
    assert shown.returncode == 0, shown.stderr
    header, row = shown.stdout.splitlines()
    assert header.split() == [
        *("created", "env", "version", "BUILD", "MEASURE", "ANALYZE", "DEPLOY", "time", "rollbacks", "deployer")
    ]
    version = json.loads(bmad("history", "-e", "dev", "--json", cwd=service).stdout)["releases"][0]["version"]
    assert version[:12] in row.split() and "…" not in shown.stdout
    assert row.split()[4:8] == ["passed", "pending", "pending", "pending"]  # created is a date and a time


def test_debug_prints_the_traceback_and_still_logs_it(service: Path, tmp_path: Path) -> None:
    """There was no ``--debug`` to see a traceback on the terminal."""
    logs = tmp_path / "logs"
    argv = ("build", "-e", "dev", "--set", "x_build_make_raise=1")
    quiet = bmad(*argv, cwd=service, env={"BMAD_LOG_DIR": str(logs)})
    assert quiet.returncode == 4 and "Traceback" not in quiet.stderr
    loud = bmad("--debug", *argv, cwd=service, env={"BMAD_LOG_DIR": str(logs)})
    assert loud.returncode == 4
    assert loud.stderr.startswith("Traceback (most recent call last):")
    assert "RuntimeError: scripted bug while building the phase" in loud.stderr
    log = Path(loud.stderr.strip().splitlines()[-1].rsplit(" ", 1)[-1])
    assert log.parent == logs and "RuntimeError: scripted bug" in log.read_text()
    assert bmad(*argv, "--debug", cwd=service).stderr.startswith("Traceback")  # after the command too


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["no_suppressions=maybe"], "--set no_suppressions=maybe: expected true or false"),
        (["no_rollbak=true"], "--set no_rollbak: unknown option"),
        (["build_status=warn"], "--set build_status: unknown option"),
        (["load_test"], "--set expects KEY=VALUE, got 'load_test'"),
    ],
    ids=["bad-bool", "typo", "custom-without-prefix", "no-value"],
)
def test_set_is_typed_and_checked_before_any_work(service: Path, sets: list[str], message: str) -> None:
    """``--set`` accepted any key (a typo silently ignored) and read ``maybe`` as true (issue 19)."""
    argv = [arg for item in sets for arg in ("--set", item)]
    refused = bmad("build", "-e", "dev", *argv, cwd=service)
    assert refused.returncode == 2, refused.stderr
    assert message in refused.stderr and "Traceback" not in refused.stderr
    if "unknown" in message or "expected true" in message:
        assert "hint: valid keys: change_type, context, digest" in refused.stderr and "x_<name>" in refused.stderr
    assert not (service / ".bmad" / "ledger.db").exists()  # nothing was recorded


def test_bad_format_is_rejected_before_the_phase_is_recorded(service: Path) -> None:
    """``bmad analyze -f xml`` recorded an ANALYZE run before rejecting the format (issue 19)."""
    refused = bmad("analyze", "-e", "dev", "--force", "--reason", "r", "-f", "xml", cwd=service)
    assert refused.returncode == 2
    assert "argument -f/--format: invalid choice: 'xml'" in refused.stderr
    assert not (service / ".bmad" / "ledger.db").exists()


def test_control_characters_never_reach_the_terminal(service: Path) -> None:
    """A ``--reason`` with terminal escapes (clear screen, window title) was printed raw (issue 19)."""
    hostile = "\x1b[2J\x1b]0;x\x07"
    runs = [
        bmad("analyze", "-e", "dev", "--force", "--reason", hostile, cwd=service),
        bmad("status", "-e", "dev", cwd=service),
        bmad("analyze", "-e", "dev", "--force", "--reason", hostile, "--json", cwd=service),
        bmad("analyze", "-e", "dev", "--force", "--reason", hostile, "-f", hostile, cwd=service),
    ]
    for proc in runs:
        for stream in (proc.stdout, proc.stderr):
            assert "\x1b" not in stream and "\x07" not in stream, stream
    assert runs[0].returncode == 0 and "forced: \\x1b[2J\\x1b]0;x\\x07" in runs[0].stdout
    assert "forced: \\x1b[2J\\x1b]0;x\\x07" in runs[1].stdout
    assert runs[3].returncode == 2


def test_terminal_safe_escapes_c0_c1_and_del_but_not_newline_or_tab() -> None:
    from bmad.cli._render import esc, terminal_safe

    assert terminal_safe("a\tb\nc") == "a\tb\nc"
    assert terminal_safe("\x1b[31m\x07\x00\x7f\x9b\r") == "\\x1b[31m\\x07\\x00\\x7f\\x9b\\x0d"
    assert esc("[bold]\x1b") == "\\[bold]\\x1b"


def test_the_example_alert_rules_name_commands_that_exist() -> None:
    """The example's alert rules told the on-call to run ``bmad deploy --rollback``, which does not exist."""
    import yaml

    from bmad.cli.main import build_parser

    rules = Path(__file__).resolve().parents[2] / "examples" / "hello" / "monitoring"
    commands = []
    for path in sorted(rules.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                text = " ".join(str(v) for v in (rule.get("annotations") or {}).values())
                commands += [m.split(" if ")[0].split() for m in re.findall(r"\bbmad ([^;.]*)", text)]
    assert ["rollback", "hello", "-e", "ENVIRONMENT"] in commands
    for words in commands:
        errors = io.StringIO()
        with redirect_stderr(errors):
            try:
                parsed = build_parser(words[0]).parse_args(words)
            except SystemExit:
                pytest.fail(f"bmad {' '.join(words)}: {errors.getvalue()}")
        assert parsed.handler is not None


def test_docs_cli_md_lists_every_option() -> None:
    """docs/cli.md names every command and each of its options (its reference is true to the code)."""
    from bmad.cli._completion_scripts import command_words

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    sections = {part.split("\n", 1)[0]: part for part in text.split("\n### bmad ")[1:]}
    for item in command_words():
        if not item.path:
            continue
        section = sections[" ".join(item.path)]
        for option in item.options:
            if option not in ("-h", "--help", "--debug"):
                assert f"`{option}`" in section, (item.path, option)
