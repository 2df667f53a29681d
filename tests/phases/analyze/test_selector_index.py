"""The bundle's selector indexes (issue 13): the Services, PDBs and NetworkPolicies that select a
workload, and the workloads a selector picks, are those a comparison with every object of the
namespace finds, in the same order, for selectors of every shape; and only a few are compared."""

from __future__ import annotations

import random
from typing import Any

from bmad.phases.analyze.manifests import Bundle, ManifestObject, selector_matches

KEYS = ["app", "tier", "team", 1]  # a YAML int key as well
VALUES: list[Any] = ["a", "b", "c", 1, True, None, "1"]


def _labels(rng: random.Random) -> dict[Any, Any]:
    return {rng.choice(KEYS): rng.choice(VALUES) for _ in range(rng.randint(0, 3))}


def _selector(rng: random.Random, *, plain: bool) -> Any:
    shape = rng.randint(0, 9)
    if shape == 0:
        return None
    if shape == 1:
        return {}
    if shape == 2:
        return "app=a"  # not a mapping: matches nothing
    if plain or shape < 6:
        return _labels(rng) if plain else {"matchLabels": _labels(rng)}
    expressions = [
        {"key": rng.choice(KEYS), "operator": rng.choice(["In", "NotIn", "Exists", "DoesNotExist"]), "values": ["a"]}
    ]
    return {"matchExpressions": expressions, **({"matchLabels": _labels(rng)} if shape > 7 else {})}


def _object(kind: str, name: str, namespace: str, spec: dict[str, Any]) -> ManifestObject:
    return ManifestObject(
        {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec},
        "x.yaml",
        1,
    )


def _random_bundle(rng: random.Random) -> Bundle:
    objects = []
    for i in range(rng.randint(5, 40)):
        namespace = rng.choice(["a", "b"])
        kind = rng.choice(["Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"])
        if kind == "Deployment":
            spec = {"template": {"metadata": {"labels": _labels(rng)}, "spec": {"containers": [{"name": "c"}]}}}
        elif kind == "Service":
            spec = {"selector": _selector(rng, plain=True)}
        elif kind == "PodDisruptionBudget":
            spec = {"selector": _selector(rng, plain=False)}
        else:
            spec = {"podSelector": _selector(rng, plain=False)} if rng.random() < 0.8 else {}
            if rng.random() < 0.5:
                spec["policyTypes"] = rng.choice([["Ingress"], ["Egress"], ["Ingress", "Egress"]])
        objects.append(_object(kind, f"o{i}", namespace, spec))
    return Bundle(objects=objects)


def _in_namespace(bundle: Bundle, kind: str, workload: ManifestObject) -> list[ManifestObject]:
    return [o for o in bundle.of_kind(kind) if o.namespace == workload.namespace]


def test_indexed_lookups_find_what_comparing_with_every_object_finds() -> None:
    rng = random.Random(13)
    for _ in range(300):
        bundle = _random_bundle(rng)
        for workload in bundle.workloads:
            labels = workload.pod_labels
            services = [
                s
                for s in _in_namespace(bundle, "Service", workload)
                if s.spec().get("selector") and selector_matches(s.spec().get("selector"), labels)
            ]
            assert bundle.services_selecting(workload) == services
            pdbs = [
                p
                for p in _in_namespace(bundle, "PodDisruptionBudget", workload)
                if selector_matches(p.spec().get("selector"), labels)
            ]
            assert bundle.pdbs_covering(workload) == pdbs
            policies = [
                p
                for p in _in_namespace(bundle, "NetworkPolicy", workload)
                if "podSelector" in p.spec() and selector_matches(p.spec()["podSelector"], labels)
            ]
            covering = bundle.network_policies_covering(workload, "Ingress") + bundle.network_policies_covering(
                workload, "Egress"
            )
            assert {id(p) for p in covering} <= {id(p) for p in policies}
            assert all(p in covering for p in policies if "policyTypes" not in p.spec())
        for selector in [_selector(rng, plain=rng.random() < 0.5) for _ in range(5)]:
            for namespace in ("a", "b"):
                every = [w for w in bundle.workloads if w.namespace == namespace]
                assert bundle.pods_selected(selector, namespace) == [
                    w for w in every if selector_matches(selector, w.pod_labels)
                ]


def test_a_workload_is_compared_with_the_services_that_may_select_it_not_the_whole_namespace() -> None:
    objects = [_object("Service", f"s{i}", "big", {"selector": {"app": f"app{i}"}}) for i in range(500)]
    objects += [
        _object("Deployment", f"app{i}", "big", {"template": {"metadata": {"labels": {"app": f"app{i}"}}, "spec": {}}})
        for i in range(500)
    ]
    bundle = Bundle(objects=objects)
    for workload in bundle.workloads:
        assert bundle._selecting("Service", "big", workload.pod_labels) == [
            bundle.find("Service", f"s{workload.name[3:]}", "big")
        ]
        assert [s.name for s in bundle.services_selecting(workload)] == [f"s{workload.name[3:]}"]
