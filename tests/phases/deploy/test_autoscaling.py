"""``deploy.autoscaling`` where it cannot run: the local target, and a release whose records must not change."""

from __future__ import annotations

from pathlib import Path

from bmad.engine.wiring.deploy import make_plugin
from tests.phases.deploy.conftest import make_ctx

CONFIG = """\
version: 1
service: {name: scaled, owner: team-a}
environments:
  dev: {target: {kind: local}}
deploy:
  autoscaling: {enabled: %s}
"""


def test_on_the_local_target_the_check_says_it_does_not_apply(tmp_path: Path) -> None:
    """Guards issue 17 item 4: the local container engine has no HPA, so nothing is loaded or watched."""
    ctx = make_ctx(tmp_path, CONFIG % "true", "dev", version="1", options={"image": "hello", "digest": ""})
    plugin = make_plugin(ctx)
    check = next(c for c in plugin.checks(ctx) if c.id == "deploy.autoscaling")
    assert check.needs == ("deploy.cutover",)
    result = check.run(ctx)
    assert (result.status.value, result.summary) == (
        "skip",
        "does not apply on the local target: it has no HorizontalPodAutoscaler",
    )


def test_while_disabled_the_check_is_not_listed(tmp_path: Path) -> None:
    """Records of a deploy without ``deploy.autoscaling.enabled`` keep exactly the checks they had."""
    ctx = make_ctx(tmp_path, CONFIG % "false", "dev", version="1", options={"image": "hello", "digest": ""})
    ids = [c.id for c in make_plugin(ctx).checks(ctx)]
    assert ids == ["deploy.apply", "deploy.rollout", "deploy.smoke", "deploy.cutover", "deploy.verify"]


def test_the_pause_between_two_polls_of_the_autoscalers_is_a_wait_on_the_cluster() -> None:
    """Guards the own share of a deploy: the watch slept between its HPA reads outside any span, so the
    pauses counted as bmad's own time though they wait on the cluster's HPA controller."""
    import threading
    import time

    from bmad.core.spans import SpanKind, SpanRecorder, covered_seconds, recording
    from bmad.phases.deploy.autoscaling_watch import WatchLimits, watch_autoscalers
    from bmad.ports.target import AutoscalerStatus

    status = AutoscalerStatus("web", "Deployment/web", 1, 4, 1, 1, "cpu", 10.0, 50.0)
    recorder = SpanRecorder()
    started = time.monotonic()
    with recording(recorder):
        samples = watch_autoscalers(
            lambda: [status], {"web": 3}, WatchLimits(60.0, 0.3, 0.1), started=started, cancel=threading.Event()
        )
    pauses = [span for span in recorder.spans() if span.kind is SpanKind.KUBERNETES]
    assert len(samples) == len(pauses) + 1 >= 3
    assert covered_seconds(pauses) >= 0.1 * len(pauses) * 0.9


def test_the_load_waits_for_each_hpa_to_reach_its_minimum() -> None:
    """Guards the figures of a fresh rollout: a Deployment without ``replicas`` starts at 1 and its HPA
    raises it to ``minReplicas`` (3) at the controller's next sync; load sent before counted 1 -> 3 as
    the response to the load (the 3 -> 10 end-to-end test read a start of 1 on a loaded host)."""
    import threading
    import time

    from bmad.phases.deploy.autoscaling_watch import WatchLimits, settle_floors
    from bmad.ports.target import AutoscalerStatus

    below = AutoscalerStatus("web", "Deployment/web", 3, 10, 1, 3, "cpu", 0.0, 50.0)
    at_floor = AutoscalerStatus("web", "Deployment/web", 3, 10, 3, 3, "cpu", 0.0, 50.0)
    reads = iter([[below], [below], [at_floor]])
    settled = settle_floors(lambda: next(reads), WatchLimits(15.0, 40.0, 0.01), cancel=threading.Event())
    assert settled == [at_floor]
    # a floor never reached: the load starts after the first-scale-up window, with what the HPA says
    started = time.monotonic()
    stuck = settle_floors(lambda: [below], WatchLimits(0.3, 40.0, 0.05), cancel=threading.Event())
    assert stuck == [below] and 0.3 <= time.monotonic() - started < 5
    # already at the floor: one read, no wait
    assert settle_floors(lambda: [at_floor], WatchLimits(15.0, 40.0, 5.0), cancel=threading.Event()) == [at_floor]
