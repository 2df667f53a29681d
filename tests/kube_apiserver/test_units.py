"""The pure parts on their own: fieldsV1, strategic merge directives, selectors, apply removal rules."""

from __future__ import annotations

import pytest

from tests.kube_apiserver import apply, fields, patch, selection
from tests.kube_apiserver.errors import ApiError

POD_SPEC = {
    "containers": [
        {"name": "app", "image": "a:1", "ports": [{"containerPort": 80}], "env": [{"name": "X", "value": "1"}]}
    ]
}


def test_fields_v1_round_trip_marks_items_with_a_dot() -> None:
    owned = fields.fields_of({"spec": POD_SPEC})
    tree = fields.encode(owned)
    item = tree["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert item["."] == {} and item["f:image"] == {}
    assert 'k:{"containerPort":80,"protocol":"TCP"}' in item["f:ports"]
    assert fields.decode(tree) == owned


def test_strategic_merge_directives() -> None:
    live = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}], "finalizers": ["x"]}
    deleted = patch.strategic_merge(live, {"containers": [{"name": "b", "$patch": "delete"}]})
    assert [c["name"] for c in deleted["containers"]] == ["a"]
    replaced = patch.strategic_merge(live, {"containers": [{"name": "c", "image": "3"}, {"$patch": "replace"}]})
    assert replaced["containers"] == [{"name": "c", "image": "3"}]
    merged = patch.strategic_merge(live, {"finalizers": ["y"], "$deleteFromPrimitiveList/finalizers": ["x"]})
    assert merged["finalizers"] == ["y"]
    retained = patch.strategic_merge({"a": 1, "b": 2}, {"$retainKeys": ["b"], "b": 3})
    assert retained == {"b": 3}


def test_json_patch_failures_are_unprocessable() -> None:
    with pytest.raises(ApiError) as caught:
        patch.json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
    assert caught.value.code == 422


def test_label_selector_syntax() -> None:
    obj = {"metadata": {"labels": {"app": "web", "tier": "front"}}}
    assert selection.label_selector("app=web,tier in (front,back),!canary")(obj)
    assert not selection.label_selector("app!=web")(obj)
    assert selection.label_selector("tier notin (db)")(obj)
    assert selection.field_selector("metadata.name!=other")({"metadata": {"name": "x"}})


def test_shared_fields_stay_when_one_manager_drops_them() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}
    first = apply.apply(None, apply.ApplyRequest(config, "one", False, "", "configmaps"))
    both = apply.apply(first, apply.ApplyRequest(config, "two", False, "", "configmaps"))
    dropped = {**config, "data": {"a": "1"}}
    after = apply.apply(both, apply.ApplyRequest(dropped, "one", False, "", "configmaps"))
    assert after["data"] == {"a": "1", "b": "2"}  # "two" still owns data.b
    gone = apply.apply(after, apply.ApplyRequest(dropped, "two", False, "", "configmaps"))
    assert gone["data"] == {"a": "1"}


def test_hpa_default_scale_up_allows_the_larger_of_100_percent_and_4_pods_per_15_seconds() -> None:
    """The documented default scaleUp behaviour (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/
    "Default Behavior"): from 3, 4 pods beat 100 %; from 12, 100 % beats 4 pods; within the period, what was
    already added counts."""
    from tests.kube_apiserver.controllers.hpa import _scale_up_limit

    hpa = {"spec": {}}
    assert _scale_up_limit(hpa, 3, [], 100.0) == 7
    assert _scale_up_limit(hpa, 12, [], 100.0) == 24
    assert _scale_up_limit(hpa, 7, [(95.0, 4)], 100.0) == 7  # 3 at the period's start: 7 is the most
    assert _scale_up_limit(hpa, 7, [(80.0, 4)], 100.0) == 14  # that scale-up is older than 15 s
    assert _scale_up_limit({"spec": {"behavior": {"scaleUp": {"selectPolicy": "Disabled"}}}}, 3, [], 0.0) == 3
