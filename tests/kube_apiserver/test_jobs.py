"""Jobs run their pods to completion: ``kubectl wait`` sees Complete or Failed as on a cluster."""

from __future__ import annotations

import json

from tests.kube_apiserver.harness import StandIn

JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {{name: {name}, namespace: default}}
spec:
  backoffLimit: {limit}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: task, image: "{image}"}}]
"""


def test_a_job_whose_pod_exits_zero_completes(standin: StandIn) -> None:
    standin.control("POST", "images", {"image": "task:done", "behaviour": "complete"})
    applied = standin.kubectl(
        "apply", "--server-side", "-f", "-", stdin=JOB.format(name="j-ok", limit=2, image="task:done")
    )
    assert applied.returncode == 0, applied.stderr
    waited = standin.kubectl("wait", "--for=condition=complete", "job/j-ok", "--timeout=20s", timeout=30)
    assert waited.returncode == 0, waited.stderr
    job = json.loads(standin.kubectl("get", "job", "j-ok", "-o", "json").stdout)
    assert job["status"]["succeeded"] == 1 and job["status"]["active"] == 0
    assert {c["type"] for c in job["status"]["conditions"]} == {"SuccessCriteriaMet", "Complete"}
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}  # generated
    assert job["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "j-ok"
    pods = standin.kubectl(
        "get", "pods", "-l", "batch.kubernetes.io/job-name=j-ok", "-o", "jsonpath={.items[*].status.phase}"
    )
    assert pods.stdout == "Succeeded"
    assert standin.kubectl("logs", "job/j-ok").stdout.strip().endswith("done: exiting with status 0")


def test_a_job_over_its_backoff_limit_fails(standin: StandIn) -> None:
    standin.control("POST", "images", {"image": "task:broken", "behaviour": "crash"})
    applied = standin.kubectl(
        "apply", "--server-side", "-f", "-", stdin=JOB.format(name="j-bad", limit=1, image="task:broken")
    )
    assert applied.returncode == 0, applied.stderr
    waited = standin.kubectl("wait", "--for=condition=failed", "job/j-bad", "--timeout=30s", timeout=40)
    assert waited.returncode == 0, waited.stderr
    job = json.loads(standin.kubectl("get", "job", "j-bad", "-o", "json").stdout)
    assert job["status"]["failed"] == 2
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    phases = standin.kubectl(
        "get", "pods", "-l", "batch.kubernetes.io/job-name=j-bad", "-o", "jsonpath={.items[*].status.phase}"
    )
    assert phases.stdout.split() == ["Failed", "Failed"]
