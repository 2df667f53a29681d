"""Bad bmad.yaml files: each is one clear error with file:line, exit 2, no traceback, fast."""

from __future__ import annotations

import pytest

from bmad.config.loader import load_config_text
from tests.hostile.corpus import Case, assert_refused, cases

HEAD = "version: 1\nservice:\n  name: hello\nenvironments:\n  dev:\n    risk: low\n"

CONFIGS: dict[str, tuple[str, str]] = {
    # the file's shape
    "empty": ("", "the file is empty"),
    "only a comment": ("# nothing\n", "the file is empty"),
    "a list at the top": ("- a # <-\n- b\n", "expected a mapping at the top level"),
    "a scalar at the top": ("hello # <-\n", "expected a mapping at the top level"),
    "tab indentation": ("version: 1\nservice:\n\tname: x # <-\n", "YAML"),
    "unclosed bracket": ("version: 1\nservice: {name: x\n", "invalid YAML"),
    "unclosed quote": ('version: 1\nservice:\n  name: "x\n', "invalid YAML"),
    "duplicate key": (HEAD + "version: 1 # <-\n", "duplicate key 'version'"),
    "complex key": (HEAD + "? [a, b] # <-\n: 1\n", "mapping keys must be plain scalars"),
    "missing service": ("version: 1\nenvironments:\n  dev: {}\n", "required field is missing"),
    "missing environments": ("version: 1\nservice:\n  name: x\n", "required field is missing"),
    "no environments": ("version: 1\nservice:\n  name: x\nenvironments: {} # <-\n", "at least 1 item"),
    "version 2": ("version: 2 # <-\nservice:\n  name: x\nenvironments:\n  dev: {}\n", "input should be 1"),
    "unknown top key": (HEAD + "servce: {} # <-\n", "unknown key 'servce'"),
    "unknown nested key": (HEAD + "build:\n  registy: x # <-\n", "unknown key 'registy'"),
    # service and environments
    "service name with capitals": ("version: 1\nservice:\n  name: Hello # <-\nenvironments:\n  dev: {}\n", "DNS label"),
    "service name too long": (
        "version: 1\nservice:\n  name: " + "a" * 70 + " # <-\nenvironments:\n  dev: {}\n",
        "DNS label",
    ),
    "service name a number": ("version: 1\nservice:\n  name: 42 # <-\nenvironments:\n  dev: {}\n", "string"),
    "environment name with underscore": (
        "version: 1\nservice:\n  name: x\nenvironments:\n  dev: {}\n  my_env: {} # <-\n",
        "DNS label",
    ),
    "unknown risk": (HEAD + "  qa:\n    risk: extreme # <-\n", "'low', 'medium' or 'high'"),
    "production not a boolean": (HEAD + "  prod:\n    production: perhaps # <-\n", "boolean"),
    "environment a list": (HEAD + "  qa: [1, 2] # <-\n", "valid dictionary"),
    # values that used to fail only later
    "port 70000": (HEAD + "    target:\n      local:\n        port: 70000 # <-\n", "a port is between 1 and 65535"),
    "port 0": (HEAD + "    target:\n      local:\n        port: 0 # <-\n", "a port is between 1 and 65535"),
    "negative suite timeout": (
        HEAD + "build:\n  suites:\n    - name: unit\n      command: [pytest]\n      timeout_seconds: -5 # <-\n",
        "a timeout is more than 0 seconds",
    ),
    "zero push timeout": (HEAD + "build:\n  push:\n    timeout_seconds: 0 # <-\n", "a timeout is more than 0"),
    "unknown tag placeholder": (HEAD + "build:\n  tags: ['{branch}'] # <-\n", "unknown placeholder {branch}"),
    "unknown git tag placeholder": (HEAD + "build:\n  git_tag:\n    name: 'r/{who}' # <-\n", "unknown placeholder"),
    "broken git tag template": (HEAD + "build:\n  git_tag:\n    name: 'r/{sha' # <-\n", "not a valid template"),
    "replicas 0": (HEAD + "    target:\n      local:\n        replicas: 0 # <-\n", "greater than or equal to 1"),
    "replicas a word": (HEAD + "    target:\n      local:\n        replicas: many # <-\n", "integer"),
    "push retries 99": (HEAD + "build:\n  push:\n    retries: 99 # <-\n", "less than or equal to 10"),
    "negative backoff": (HEAD + "build:\n  push:\n    backoff_seconds: -1 # <-\n", "greater than or equal to 0"),
    "duplicate suite names": (
        HEAD + "build:\n  suites:\n    - {name: u, command: [a]} # <-\n    - {name: u, command: [b]}\n",
        "suite names must be unique",
    ),
    "suite without command": (HEAD + "build:\n  suites:\n    - name: u # <-\n", "required field is missing"),
    "suites a mapping": (HEAD + "build:\n  suites: {u: 1} # <-\n", "valid list"),
    "monitoring url without scheme": (
        HEAD + "    monitoring:\n      prometheus_url: localhost:9090 # <-\n",
        "URL",
    ),
    "monitoring url ftp": (HEAD + "    monitoring:\n      prometheus_url: ftp://x # <-\n", "URL"),
    # secrets
    "literal secret": (HEAD + "secrets:\n  db: hunter2 # <-\n", "secret values are never written in bmad.yaml"),
    "secret with env and file": (HEAD + "secrets:\n  db: {env: A, file: b} # <-\n", "exactly one of"),
    "secret with neither": (HEAD + "secrets:\n  db: {} # <-\n", "exactly one of"),
    "secret with unknown key": (HEAD + "secrets:\n  db: {vault: x} # <-\n", "unknown key 'vault'"),
    "literal registry password": (HEAD + "build:\n  push:\n    password: s3cret # <-\n", "never written"),
    "literal signing key": (HEAD + "ledger:\n  signing_key: abc # <-\n", "never written"),
    # plugins and records
    "plugin for an unknown phase": (
        HEAD + "plugins:\n  release: x.y # <-\n",
        "'build', 'measure', 'analyze' or 'deploy'",
    ),
    "records enabled a string": (HEAD + "records:\n  enabled: sometimes # <-\n", "boolean"),
    "lock lease a word": (HEAD + "ledger:\n  lock_lease_seconds: long # <-\n", "number"),
    "state_dir a list": (HEAD + "state_dir: [a] # <-\n", "string"),
    # YAML features that are not plain data
    "recursive alias": (HEAD + "build: &a # <-\n  labels: *a\n", "recursive alias"),
    "python tag": (HEAD + "build: !!python/object:os.system {} # <-\n", "is not plain data"),
    "python tag on a scalar": (HEAD + "state_dir: !!python/name:os.system x # <-\n", "invalid YAML"),
    "binary content": ("version: 1\nservice:\n  name: x\x00\n", "invalid YAML"),
}


@pytest.mark.parametrize("case", cases(CONFIGS))
def test_bad_bmad_yaml_is_one_clear_error(case: Case) -> None:
    assert_refused(lambda: load_config_text(case.text, source="bmad.yaml"), case, file="bmad.yaml")
