"""Watch streams: client-go's event framing, bookmarks, and 410 Gone for a compacted version."""

from __future__ import annotations

import json
import time

from tests.kube_apiserver.harness import StandIn


def test_get_watch_prints_changes(standin: StandIn) -> None:
    standin.kubectl("create", "configmap", "watched", "-n", "default")
    watcher = standin.popen_kubectl(
        "get", "configmap", "watched", "-n", "default", "-w", "-o", 'jsonpath={.data.n}{"\\n"}'
    )
    assert watcher.stdout is not None
    assert watcher.stdout.readline() == "\n"  # the object as listed, before the watch
    for n in range(3):
        patch = json.dumps({"data": {"n": str(n)}})
        standin.kubectl("patch", "configmap", "watched", "-n", "default", "--type=merge", "-p", patch)
    seen = [watcher.stdout.readline().strip() for _ in range(3)]
    watcher.terminate()
    watcher.communicate(timeout=5)
    assert seen == ["0", "1", "2"]


def test_a_compacted_version_answers_410_as_a_watch_error_event(standin: StandIn) -> None:
    listed = standin.request("GET", "/api/v1/namespaces/default/configmaps").body
    old = listed["metadata"]["resourceVersion"]
    standin.kubectl("create", "configmap", "after-list", "-n", "default")
    standin.control("POST", "compact")
    answer = standin.request(
        "GET", f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={old}&timeoutSeconds=1"
    )
    assert answer.status == 200
    event = answer.body
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    assert event["object"]["message"].startswith(f"too old resource version: {old} (")


def test_get_watch_across_a_compaction_ends_with_the_expired_status(standin: StandIn) -> None:
    # the watch kubectl opens after its list is held back while the history is compacted past the list's version
    standin.control("POST", "faults", {"rules": [{"kind": "slow", "path": "/configmaps\\?.*watch=", "delay": 1.0}]})
    try:
        watcher = standin.popen_kubectl("get", "configmaps", "-n", "default", "-w")
        assert standin.wait_for(lambda: standin.get("/_standin/faults")["rules"][0]["fired"] == 1)
        created = {"metadata": {"name": "during-the-gap"}}
        assert standin.request("POST", "/api/v1/namespaces/default/configmaps", created).status == 201
        standin.control("POST", "compact")
        out, err = watcher.communicate(timeout=20)
    finally:
        standin.control("DELETE", "faults")
    # kubectl get -w ends its watch on the ERROR event and prints the Status with its built-in Status
    # columns (the watch cache sends a Status, never a Table, in an ERROR event), exit code 0
    assert watcher.returncode == 0, err
    lines = out.splitlines()
    status_header = lines.index(next(line for line in lines if line.startswith("STATUS")))
    assert lines[status_header].split() == ["STATUS", "REASON", "MESSAGE"]
    assert lines[status_header + 1].split()[:5] == ["Failure", "Expired", "too", "old", "resource"]


def test_rollout_status_survives_a_compaction(standin: StandIn) -> None:
    from tests.kube_apiserver.manifests import deployment

    standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("relist", replicas=3, min_ready=100))
    status = standin.popen_kubectl("rollout", "status", "deploy/relist", "--timeout=30s")
    time.sleep(0.2)
    standin.control("POST", "compact")
    out, err = status.communicate(timeout=40)
    assert status.returncode == 0, err
    assert out.endswith('deployment "relist" successfully rolled out\n')


def test_bookmarks_carry_the_current_version(standin: StandIn) -> None:
    listed = standin.request("GET", "/api/v1/namespaces/default/configmaps").body
    rv = listed["metadata"]["resourceVersion"]
    answer = standin.request(
        "GET",
        f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    lines = answer.body.splitlines() if isinstance(answer.body, str) else [json.dumps(answer.body)]
    events = [json.loads(line) for line in lines if line]
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks and int(bookmarks[-1]["object"]["metadata"]["resourceVersion"]) >= int(rv)
