"""File-based service discovery on the real Prometheus (2.42): the file the local target writes is
discovered, and the target group's ``job`` label overrides the scrape config's name in every series.

The replicas are the example service run as local processes; the engine state handed to
``LocalTarget.publish_targets`` is plain data naming their ports (what ``read_state`` returns for
containers publishing those ports).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.targets.local import EngineState, Generation, LocalTarget, Replica
from bmad.config.deploy import LocalTargetConfig
from bmad.stack import FILE_SD_JOB
from tests.helpers import http_get, run_hello, wait_for

pytestmark = pytest.mark.stack


def _replica(port: int, index: int, release: str) -> Replica:
    return Replica(
        id=f"c{index}",
        name=f"hello-r{index}",
        generation=1,
        slot=1,
        index=index,
        release=release,
        digest="sha256:" + "0" * 64,
        image="localhost/hello",
        status="running",
        restarts=0,
        exit_code=None,
        health="healthy",
        host_port=port,
    )


def _query(stack: Any, expr: str) -> list[dict[str, Any]]:
    status, body = http_get(f"{stack.prometheus_url}/api/v1/query?query={expr}")
    return json.loads(body)["data"]["result"] if status == 200 else []


@contextlib.contextmanager
def _two_replicas() -> Iterator[list[int]]:
    with (
        run_hello(env={"HELLO_VERSION": "9.9.9"}) as (one, _p1),
        run_hello(env={"HELLO_VERSION": "9.9.9"}) as (two, _p2),
    ):
        yield [int(one.rsplit(":", 1)[1]), int(two.rsplit(":", 1)[1])]


def test_the_target_file_is_discovered_with_its_job_and_labels(stack: Any, tmp_path: Path) -> None:
    job = f"fsd-{uuid.uuid4().hex[:6]}"
    environment = f"env-{uuid.uuid4().hex[:6]}"
    release = "abcdef1234567890"
    target = LocalTarget(
        LocalTargetConfig(),
        probe=None,
        file_sd_dir=str(stack.file_sd_dir),
        scrape_job=job,  # type: ignore[arg-type]
    )
    path = stack.file_sd_dir / f"hello-{environment}.json"
    try:
        with _two_replicas() as ports:
            replicas = [_replica(port, i, release) for i, port in enumerate(ports)]
            state = EngineState([Generation(1, 1, release, "sha256:0", "localhost/hello", "c", replicas, "active")])
            written = target.publish_targets("hello", environment, state=state)
            assert written is not None and written["path"] == str(path)
            groups = json.loads(path.read_text())
            labels = {"job": job, "environment": environment, "release": release[:12]}
            assert groups == [{"targets": [f"127.0.0.1:{p}" for p in ports], "labels": labels}]
            assert not [p for p in stack.file_sd_dir.iterdir() if p.name.endswith(".tmp")]  # renamed, not left

            # Both replicas scraped, under the file's job label (not the scrape config's name).
            selector = f'{{job="{job}",environment="{environment}",release="{release[:12]}"}}'
            wait_for(lambda: len(_query(stack, f"up{selector}==1")) == 2, timeout=20, interval=0.2, what="both scraped")
            instances = {r["metric"]["instance"] for r in _query(stack, f"up{selector}")}
            assert instances == {f"127.0.0.1:{p}" for p in ports}
            assert not _query(stack, f'up{{job="{FILE_SD_JOB}",environment="{environment}"}}')
            build = _query(stack, f'hello_build_info{{job="{job}",version="9.9.9"}}')
            assert build and build[0]["metric"]["release"] == release[:12]
            # The targets API still names the scrape config as the pool; the labels carry the job.
            _status, body = http_get(f"{stack.prometheus_url}/api/v1/targets?state=active")
            mine = [
                t for t in json.loads(body)["data"]["activeTargets"] if t["labels"].get("environment") == environment
            ]
            assert {t["scrapePool"] for t in mine} == {FILE_SD_JOB}
            assert {t["labels"]["job"] for t in mine} == {job}

            # MEASURE's scrape-job check finds them by the job label.
            from bmad.adapters.prometheus import PrometheusClient
            from bmad.phases.measure.checks.scrape_job import discovered_targets

            prometheus = PrometheusClient(stack.prometheus_url)
            found = discovered_targets(prometheus, job, prometheus.targets())
            assert sorted(t.instance for t in found) == sorted(f"127.0.0.1:{p}" for p in ports)
            assert all(t.job == job and t.health == "up" for t in found)
            assert len(discovered_targets(prometheus, job, prometheus.targets(), environment)) == 2
            assert discovered_targets(prometheus, job, prometheus.targets(), "another-environment") == []

        # Nothing serves any more: an empty file, and the targets disappear.
        target.publish_targets("hello", environment, state=EngineState([]))
        assert json.loads(path.read_text()) == []
        wait_for(lambda: not _query(stack, f'up{{job="{job}"}}'), timeout=20, interval=0.2, what="targets gone")
    finally:
        path.unlink(missing_ok=True)


def test_static_targets_still_work_beside_file_sd(stack: Any) -> None:
    """``set_scrape_targets`` waits for its own jobs only: file_sd targets of other tests do not disturb it."""
    environment = f"env-{uuid.uuid4().hex[:6]}"
    path = stack.file_sd_dir / f"other-{environment}.json"
    previous = dict(stack.settings.scrape_targets)
    try:
        path.write_text(json.dumps([{"targets": ["127.0.0.1:9"], "labels": {"job": "someone-else"}}]))
        with run_hello(env={"HELLO_VERSION": "8.8.8"}) as (url, _proc):
            stack.set_scrape_targets({**previous, "static-job": [url.removeprefix("http://")]})
            wait_for(lambda: _query(stack, 'up{job="static-job"}==1'), timeout=15, interval=0.2, what="static up")
    finally:
        path.unlink(missing_ok=True)
        stack.set_scrape_targets(previous)


def test_stack_env_exports_the_file_sd_dir(stack: Any) -> None:
    env = stack.env()
    assert env["BMAD_PROMETHEUS_FILE_SD_DIR"] == str(stack.file_sd_dir)
    assert stack.file_sd_dir == stack.root / "file_sd" and stack.file_sd_dir.is_dir()
    config = (stack.root / "prometheus.yml").read_text()
    assert f"{stack.file_sd_dir}/*.json" in config
