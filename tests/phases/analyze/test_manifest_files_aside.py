"""A large bundle is parsed by two processes (issue 13): a forked child parses the last files while
bmad parses the first ones. What the checks see must not depend on it: the same objects, findings,
files in the same order, and the same line for every field path, as when one process reads them all
(``BMAD_NO_FORK=1``). Real files, real forks."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bmad.core import aside
from bmad.phases.analyze import manifest_files
from bmad.phases.analyze.manifest_files import ASIDE_BYTES, load_bundle
from bmad.phases.analyze.manifests import Bundle
from tests.engine.support import bmad
from tests.helpers import places
from tests.phases.analyze.test_phase import make_project

pytestmark = pytest.mark.skipif(not aside.enabled(), reason="work is done aside on Linux only")

# Files with a problem or a shape of their own: each is written twice, near the start (parsed here)
# and at the end (in the child's share).
ODD_FILES = {
    "broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata: {a: [1, 2\n",
    "dup.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\n  name: again\ndata:\n  k: v\n",
    "list.yaml": (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: in-list-1\n  data:\n    k: v\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: in-list-2\n"
    ),
    "scalar.yaml": "just a string\n---\n- a\n- list\n",
    "missing.yaml": "kind: ConfigMap\nmetadata: {}\n",
    "anchors.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: anchored\n  labels: &l {app: web, tier: front}\n"
        "  annotations: *l\ndata:\n  a: '1'\n"
    ),
    "binary.yaml": "apiVersion: v1\nkind: ConfigMap\n\x00\n",
    "Chart.yaml": "apiVersion: v2\nname: chart\nversion: 1.0.0\n",
    "values.yaml": "replicas: 3\n",
    "empty.yaml": "",
    "typed.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typed\n  annotations:\n    when: 2026-12-07\n"
        "data:\n  on: yes\n  n: 0x1F\n  f: 1.5e3\n  nothing: ~\n"
    ),
}


def _deployment(index: int) -> str:
    """A Deployment of about 3.5 KB with nested lists (containers, env, ports, volumes)."""
    containers = [
        {
            "name": f"c{c}",
            "image": f"registry.example.org/app{index}:{c}.0",
            "env": [{"name": f"VAR_{e}", "value": f"value-{index}-{c}-{e}"} for e in range(12)],
            "ports": [{"containerPort": 8000 + p, "name": f"p{p}"} for p in range(3)],
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
        }
        for c in range(3)
    ]
    return yaml.safe_dump_all(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": f"app{index}", "namespace": "shop", "labels": {"app": f"app{index}"}},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": f"app{index}"}},
                    "template": {
                        "metadata": {"labels": {"app": f"app{index}"}},
                        "spec": {"containers": containers, "volumes": [{"name": "v", "emptyDir": {}}]},
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"app{index}"},  # no namespace: the default one
                "spec": {"selector": {"app": f"app{index}"}, "ports": [{"port": 80}]},
            },
        ],
        sort_keys=False,
    )


def write_large_bundle(folder: Path, *, min_bytes: int = ASIDE_BYTES + 64 * 1024) -> dict[str, str]:
    """Files of at least ``min_bytes`` (odd ones first and last), by relative path."""
    files: dict[str, str] = {f"00-{name}": text for name, text in ODD_FILES.items()}
    written = sum(len(t) for t in files.values())
    index = 0
    while written < min_bytes:
        text = _deployment(index)
        files[f"apps/{index:04d}.yaml"] = text
        written += len(text)
        index += 1
    files.update({f"zz/{name}": text for name, text in ODD_FILES.items()})
    for rel, text in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return files


def _load(folder: Path, monkeypatch: pytest.MonkeyPatch, *, fork: bool) -> Bundle:
    with monkeypatch.context() as env:
        env.setenv("BMAD_NO_FORK", "0" if fork else "1")
        return load_bundle([folder], default_namespace="shop", relative_to=folder.parent)


def assert_same_bundle(forked: Bundle, here: Bundle) -> int:
    """Equal for every check: objects, findings, files and every line. The number of paths compared."""
    assert forked.files == here.files
    assert forked.findings == here.findings
    assert len(forked.objects) == len(here.objects)
    compared = 0
    for mine, theirs in zip(forked.objects, here.objects, strict=True):
        assert (mine.data, mine.file, mine.line, mine.namespace) == (
            theirs.data,
            theirs.file,
            theirs.line,
            theirs.namespace,
        )
        for path in places(theirs.data):
            for asked in (path, (*path, "absent"), (*path, 99), (*path, 0, "x")):
                assert mine.line_of(asked) == theirs.line_of(asked), (theirs.file, asked)
            compared += 1
    return compared


def test_a_large_bundle_parsed_by_two_processes_is_the_bundle_one_process_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "k8s"
    write_large_bundle(folder)
    forked = _load(folder, monkeypatch, fork=True)
    here = _load(folder, monkeypatch, fork=False)
    from_child = [o for o in forked.objects if o.node is None]
    assert from_child and from_child[0].lines is not None  # the child did parse a share: this test compares something
    assert len(from_child) < len(forked.objects)  # and so did this process
    assert any(o.file.startswith("k8s/zz/") for o in from_child)  # the odd files at the end
    assert {f.file for f in here.findings} >= {"k8s/zz/broken.yaml", "k8s/zz/dup.yaml", "k8s/zz/binary.yaml"}
    assert assert_same_bundle(forked, here) > 10_000


def test_a_small_bundle_is_parsed_here_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "k8s"
    for index in range(20):
        (folder / f"{index}.yaml").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{index}.yaml").write_text(_deployment(index))
    bundle = _load(folder, monkeypatch, fork=True)
    assert all(o.node is not None for o in bundle.objects)


def test_the_childs_files_are_parsed_here_when_it_hands_nothing_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that failed, hung (killed at the time limit) or died hands back nothing: the files it
    took are then read here, in their place."""
    folder = tmp_path / "k8s"
    write_large_bundle(folder)
    pid = manifest_files.start_early([folder], default_namespace="shop", relative_to=tmp_path)
    assert pid is not None
    time.sleep(0.5)  # it took every file and waits to hand them back (more than a pipe holds)
    os.kill(pid, signal.SIGKILL)
    bundle = load_bundle([folder], default_namespace="shop", relative_to=tmp_path)
    assert all(o.node is not None for o in bundle.objects)  # every file was parsed here
    assert_same_bundle(bundle, _load(folder, monkeypatch, fork=False))
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_a_parse_started_early_is_claimed_by_the_read_of_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "k8s"
    write_large_bundle(folder)
    pid = manifest_files.start_early([folder], default_namespace="shop", relative_to=tmp_path)
    assert pid is not None
    time.sleep(0.2)  # the child takes files before this process comes to them
    early = load_bundle([folder], default_namespace="shop", relative_to=tmp_path)
    assert any(o.node is None for o in early.objects)  # the child's files
    assert assert_same_bundle(early, _load(folder, monkeypatch, fork=False)) > 10_000
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@pytest.mark.parametrize("change", ["edited", "added", "other settings"])
def test_a_parse_started_early_is_not_used_for_other_files(
    change: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file written after the early start (same name, new text), a new file, or a read with other
    settings: the early child is stopped and the bundle is the one on disk now."""
    folder = tmp_path / "k8s"
    write_large_bundle(folder)
    pid = manifest_files.start_early([folder], default_namespace="shop", relative_to=tmp_path)
    assert pid is not None
    time.sleep(0.2)
    namespace = "shop"
    if change == "edited":
        (folder / "apps" / "0000.yaml").write_text(_deployment(9999))
    elif change == "added":
        (folder / "apps" / "0000b.yaml").write_text(_deployment(8888))
    else:
        namespace = "other"
    bundle = load_bundle([folder], default_namespace=namespace, relative_to=tmp_path)
    with monkeypatch.context() as env:
        env.setenv("BMAD_NO_FORK", "1")
        now = load_bundle([folder], default_namespace=namespace, relative_to=tmp_path)
    assert_same_bundle(bundle, now)
    assert {"edited": "app9999", "added": "app8888"}.get(change, "app0") in {o.name for o in bundle.objects}
    assert (namespace == "other") == any(o.namespace == "other" for o in bundle.objects)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # the early child was stopped and reaped


def test_an_unclaimed_early_parse_is_stopped(tmp_path: Path) -> None:
    folder = tmp_path / "k8s"
    write_large_bundle(folder)
    pid = manifest_files.start_early([folder], relative_to=tmp_path)
    assert pid is not None
    manifest_files.stop_early()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    assert manifest_files.start_early([tmp_path / "missing"]) is None  # nothing to parse: no child


def test_analyze_of_a_large_bundle_reports_the_same_lines_with_or_without_the_child(
    tmp_path: Path, git_repo: Callable[..., Path]
) -> None:
    """The whole readiness report (every finding with its file and line) of the real `bmad analyze`."""
    repo = make_project(tmp_path, git_repo, objects=[])
    write_large_bundle(repo / "k8s")
    git_repo("svc", files={"k8s/all.yaml": ""}, message="a large bundle")

    def report(**env: str) -> dict[str, Any]:
        done = bmad(
            "analyze", "-c", "bmad.yaml", "--force", "--reason", "test", "--json", cwd=repo, env=env, timeout=180
        )
        assert done.returncode in (1, 3), done.stderr
        (evidence,) = sorted(repo.rglob("analyze/readiness.json"), key=lambda p: p.stat().st_mtime)[-1:]
        return dict(json.loads(evidence.read_text()))

    here = report(BMAD_NO_FORK="1")
    forked = report()
    lines = [f.get("line") for item in forked["items"] for f in item["findings"]]
    assert sum(1 for line in lines if line and line > 1) > 100  # findings point into the files
    assert forked["items"] == here["items"]
