"""Per catalog id: how to make the baseline fail the check, and (when the baseline does not
exercise it) how to make it pass. ``VALIDATE`` lists the ids that need schema validation."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from bmad.phases.analyze.model import Location
from tests.phases.analyze.fixtures import (
    IMAGE,
    NS,
    Knobs,
    Objects,
    cronjob,
    find,
    job,
    pvc,
    statefulset,
    web,
    web_container,
    web_pod,
)

Mutation = Callable[[Objects, Knobs], None]


def seq(*ops: Callable[[Objects, Knobs], Any]) -> Mutation:
    def run(objects: Objects, knobs: Knobs) -> None:
        for op in ops:
            op(objects, knobs)

    return run


def c_set(key: str, value: Any) -> Mutation:
    return lambda o, k: web_container(o).__setitem__(key, value)


def c_del(key: str) -> Mutation:
    return lambda o, k: web_container(o).pop(key)


def sc_set(key: str, value: Any) -> Mutation:
    return lambda o, k: web_container(o)["securityContext"].__setitem__(key, value)


def pod_set(key: str, value: Any) -> Mutation:
    return lambda o, k: web_pod(o).__setitem__(key, value)


def pod_del(key: str) -> Mutation:
    return lambda o, k: web_pod(o).pop(key)


def pod_sc_set(key: str, value: Any) -> Mutation:
    return lambda o, k: web_pod(o)["securityContext"].__setitem__(key, value)


def add(*objs: dict[str, Any] | list[dict[str, Any]]) -> Mutation:
    def run(o: Objects, k: Knobs) -> None:
        for obj in objs:
            o.extend(copy.deepcopy(obj) if isinstance(obj, list) else [copy.deepcopy(obj)])

    return run


def remove(kind: str) -> Mutation:
    return lambda o, k: o.__setitem__(slice(None), [x for x in o if x["kind"] != kind])


def unattest(item: str) -> Mutation:
    return lambda o, k: k.attested.pop(item)


def build_metric(key: str, value: Any) -> Mutation:
    return lambda o, k: k.build_metrics.__setitem__(key, value)  # type: ignore[union-attr]


def measure_metric(key: str, value: Any) -> Mutation:
    return lambda o, k: k.measure_metrics.__setitem__(key, value)  # type: ignore[union-attr]


def setting(key: str, value: Any) -> Mutation:
    return lambda o, k: k.settings.__setitem__(key, value)


def of(kind: str, name: str | None = None) -> Callable[[Objects], dict[str, Any]]:
    return lambda o: find(o, kind, name)


def obj_set(kind: str, path: tuple[Any, ...], value: Any, name: str | None = None) -> Mutation:
    def run(o: Objects, k: Knobs) -> None:
        target = find(o, kind, name)
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return run


def obj_del(kind: str, path: tuple[Any, ...], name: str | None = None) -> Mutation:
    def run(o: Objects, k: Knobs) -> None:
        target = find(o, kind, name)
        for part in path[:-1]:
            target = target[part]
        target.pop(path[-1])

    return run


def rule_set(key: str, value: Any) -> Mutation:
    return lambda o, k: find(o, "Role")["rules"][0].__setitem__(key, value)


def alert(o: Objects) -> dict[str, Any]:
    rule: dict[str, Any] = find(o, "PrometheusRule")["spec"]["groups"][0]["rules"][0]
    return rule


def volume(spec: dict[str, Any]) -> Mutation:
    return lambda o, k: web_pod(o)["volumes"].append({"name": "extra", **spec})


def sts_with(mut: Callable[[list[dict[str, Any]]], None]) -> Mutation:
    def run(o: Objects, k: Knobs) -> None:
        objs = statefulset()
        mut(objs)
        o.extend(objs)

    return run


def cron_with(mut: Callable[[dict[str, Any]], None]) -> Mutation:
    def run(o: Objects, k: Knobs) -> None:
        obj = cronjob()
        mut(obj)
        o.append(obj)

    return run


def job_with(key: str) -> Mutation:
    def run(o: Objects, k: Knobs) -> None:
        obj = job()
        obj["spec"].pop(key)
        o.append(obj)

    return run


def pvc_with(mut: Callable[[dict[str, Any]], None] | None = None) -> Mutation:
    def run(o: Objects, k: Knobs) -> None:
        claim = pvc()
        if mut:
            mut(claim)
        o.append(claim)
        web_pod(o)["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": "data"}})

    return run


def second_ingress(o: Objects, k: Knobs) -> None:
    other = copy.deepcopy(find(o, "Ingress"))
    other["metadata"]["name"] = "web-2"
    o.append(other)


def no_scrape(o: Objects, k: Knobs) -> None:
    web(o)["spec"]["template"]["metadata"]["annotations"] = {}
    web_container(o)["ports"][1]["name"] = "admin"


def no_service_scrape(o: Objects, k: Knobs) -> None:
    find(o, "Service", "web")["metadata"]["annotations"] = {}
    web(o)["spec"]["template"]["metadata"]["annotations"] = {}


def no_otel(o: Objects, k: Knobs) -> None:
    web_container(o)["env"] = [e for e in web_container(o)["env"] if not e["name"].startswith("OTEL")]
    k.attested.pop("MO-014")


def config_set(path: tuple[str, ...], value: Any) -> Mutation:
    def run(o: Objects, k: Knobs) -> None:
        target = k.config
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return run


def res_del(kind: str, resource: str, *, init: bool = False) -> Mutation:
    def run(o: Objects, k: Knobs) -> None:
        c = web_pod(o)["initContainers"][0] if init else web_container(o)
        c["resources"][kind].pop(resource)

    return run


def env_add(item: dict[str, Any]) -> Mutation:
    return lambda o, k: web_container(o)["env"].append(item)


def caps_add(*caps: str) -> Mutation:
    return lambda o, k: web_container(o)["securityContext"]["capabilities"].__setitem__("add", list(caps))


def image(ref: str) -> Mutation:
    def run(o: Objects, k: Knobs) -> None:
        web_container(o)["image"] = ref
        web_pod(o)["initContainers"][0]["image"] = ref

    return run


def dry_run(failures: list[tuple[Location, str]]) -> Mutation:
    return lambda o, k: setattr(k, "dry_run", failures)


WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": NS}, "spec": {}}
FLOWSCHEMA = {
    "apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3",
    "kind": "FlowSchema",
    "metadata": {"name": "fs"},
    "spec": {"priorityLevelConfiguration": {"name": "global-default"}},
}
EMPTY_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "external-ref", "namespace": NS},
    "type": "Opaque",
}
SECRET_WITH_DATA = {**EMPTY_SECRET, "stringData": {"password": "x"}}
PASS_ONLY = "passes in the baseline"

# id -> (pass mutation or None, fail mutation)
CASES: dict[str, tuple[Mutation | None, Mutation]] = {
    # Testing & QA
    "TQ-001": (None, lambda o, k: setattr(k, "extra_yaml", "---\nkey: [unclosed\n")),
    "TQ-002": (
        None,
        lambda o, k: setattr(
            k, "extra_yaml", "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"
        ),
    ),
    "TQ-003": (None, lambda o, k: setattr(k, "extra_yaml", "---\n- just\n- a list\n")),
    "TQ-004": (None, c_set("imagePullPolicyy", "Always")),
    "TQ-005": (None, add({"apiVersion": "apps/v1", "kind": "Deploymnt", "metadata": {"name": "x", "namespace": NS}})),
    "TQ-006": (None, seq(add(WIDGET), setting("reject_missing_schemas", True))),
    "TQ-007": (None, obj_set("HorizontalPodAutoscaler", ("apiVersion",), "autoscaling/v2beta2")),
    "TQ-008": (None, add(FLOWSCHEMA)),
    "TQ-009": (None, lambda o, k: web(o)["spec"]["selector"]["matchLabels"].__setitem__("app", "other")),
    "TQ-010": (None, obj_set("Service", ("spec", "selector"), {"app": "ghost"}, "web")),
    "TQ-011": (None, lambda o, k: find(o, "Service", "web")["spec"]["ports"][0].__setitem__("targetPort", "nope")),
    "TQ-012": (
        None,
        lambda o, k: find(o, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].__setitem__(
            "name", "ghost"
        ),
    ),
    "TQ-013": (
        None,
        lambda o, k: find(o, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].__setitem__(
            "port", {"name": "nope"}
        ),
    ),
    "TQ-014": (
        None,
        lambda o, k: find(o, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].__setitem__("name", "x"),
    ),
    "TQ-015": (None, obj_set("NetworkPolicy", ("spec", "podSelector"), {"matchLabels": {"app": "ghost"}})),
    "TQ-016": (None, obj_set("PodDisruptionBudget", ("spec", "selector"), {"matchLabels": {"app": "ghost"}})),
    "TQ-017": (add(statefulset()), sts_with(lambda objs: objs[1]["spec"].pop("clusterIP"))),
    "TQ-018": (None, env_add({"name": "LOG_LEVEL", "value": "debug"})),
    "TQ-019": (None, lambda o, k: web_container(o)["ports"][0].__setitem__("name", "a-very-long-port-name")),
    "TQ-020": (None, lambda o, k: web_container(o)["readinessProbe"]["httpGet"].__setitem__("port", "ghost")),
    "TQ-021": (
        add(cronjob()),
        cron_with(
            lambda c: c["spec"]["jobTemplate"]["spec"]["template"]["spec"].__setitem__("restartPolicy", "Always")
        ),
    ),
    "TQ-022": (None, lambda o, k: web_container(o)["env"][0]["valueFrom"]["configMapKeyRef"].__setitem__("name", "x")),
    "TQ-023": (None, pod_set("serviceAccountName", "ghost")),
    "TQ-024": (None, lambda o, k: find(o, "ConfigMap")["metadata"].pop("namespace")),
    "TQ-025": (None, lambda o, k: find(o, "ConfigMap")["metadata"]["labels"].__setitem__("bad key!", "x")),
    "TQ-026": (None, remove("Deployment")),
    "TQ-027": (None, lambda o, k: o.append(copy.deepcopy(find(o, "ConfigMap")))),
    "TQ-028": (None, second_ingress),
    "TQ-029": (None, build_metric("test_pass_rate", 97.2)),
    "TQ-030": (None, build_metric("e2e_pass_rate", 90)),
    "TQ-031": (None, lambda o, k: k.measure_artifacts["load_test"].__setitem__("target_rps", 200)),
    "TQ-032": (None, build_metric("vulnerabilities_critical", 1)),
    "TQ-033": (None, measure_metric("sla_met", False)),
    "TQ-034": (None, lambda o, k: k.build_artifacts.__setitem__("image_digest", "")),
    "TQ-035": (None, image("127.0.0.1:5000/other:1.0@sha256:" + "cd" * 32)),
    "TQ-036": (None, obj_del("Service", ("spec", "ports"), "web")),
    "TQ-037": (None, config_set(("deploy", "health_path"), "/healthz")),
    "TQ-038": (pvc_with(), volume({"persistentVolumeClaim": {"claimName": "ghost"}})),
    "TQ-039": (
        dry_run([]),
        dry_run(
            [(Location(NS, "Deployment", "web", None, "k8s/all.yaml", 30), "admission webhook denied the request")]
        ),
    ),
    # Security & Compliance
    "SC-001": (None, pod_set("hostNetwork", True)),
    "SC-002": (None, pod_set("hostPID", True)),
    "SC-003": (None, pod_set("hostIPC", True)),
    "SC-004": (None, lambda o, k: web_container(o)["ports"][0].__setitem__("hostPort", 8080)),
    "SC-005": (None, volume({"hostPath": {"path": "/data"}})),
    "SC-006": (None, volume({"hostPath": {"path": "/var/run/docker.sock"}})),
    "SC-007": (None, volume({"hostPath": {"path": "/etc"}})),
    "SC-008": (None, sc_set("windowsOptions", {"hostProcess": True})),
    "SC-009": (None, sc_set("procMount", "Unmasked")),
    "SC-010": (None, pod_sc_set("sysctls", [{"name": "kernel.msgmax", "value": "65536"}])),
    "SC-011": (None, sc_set("seLinuxOptions", {"user": "system_u"})),
    "SC-012": (None, sc_set("privileged", True)),
    "SC-013": (None, sc_set("allowPrivilegeEscalation", True)),
    "SC-014": (None, seq(pod_sc_set("runAsNonRoot", False), pod_sc_set("runAsUser", 0))),
    "SC-015": (None, pod_sc_set("runAsUser", 1001)),
    "SC-016": (None, pod_sc_set("fsGroup", 0)),
    "SC-017": (None, sc_set("readOnlyRootFilesystem", False)),
    "SC-018": (None, lambda o, k: web_container(o)["securityContext"]["capabilities"].__setitem__("drop", [])),
    "SC-019": (None, caps_add("SYS_ADMIN")),
    "SC-020": (None, caps_add("NET_RAW")),
    "SC-021": (None, caps_add("CHOWN")),
    "SC-022": (None, pod_sc_set("seccompProfile", {"type": "Unconfined"})),
    "SC-023": (None, sc_set("appArmorProfile", {"type": "Unconfined"})),
    "SC-024": (None, pod_del("securityContext")),
    "SC-025": (None, c_del("securityContext")),
    "SC-026": (None, pod_set("automountServiceAccountToken", True)),
    "SC-027": (None, pod_set("serviceAccountName", "default")),
    "SC-028": (
        None,
        obj_set(
            "RoleBinding",
            ("roleRef",),
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        ),
    ),
    "SC-029": (None, rule_set("verbs", ["*"])),
    "SC-030": (None, seq(rule_set("resources", ["pods/exec"]), rule_set("verbs", ["create"]))),
    "SC-031": (None, rule_set("resources", ["secrets"])),
    "SC-032": (None, rule_set("verbs", ["impersonate"])),
    "SC-033": (None, rule_set("verbs", ["bind"])),
    "SC-034": (None, seq(rule_set("resources", ["validatingwebhookconfigurations"]), rule_set("verbs", ["update"]))),
    "SC-035": (None, obj_set("RoleBinding", ("subjects",), [{"kind": "Group", "name": "system:anonymous"}])),
    "SC-036": (None, env_add({"name": "DB_PASSWORD", "value": "hunter2"})),
    "SC-037": (
        None,
        env_add({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": "db-password"}}}),
    ),
    "SC-038": (None, lambda o, k: find(o, "ConfigMap")["data"].__setitem__("api_token", "abc123")),
    "SC-039": (add(EMPTY_SECRET), add(SECRET_WITH_DATA)),
    "SC-040": (None, image("127.0.0.1:5000/hello:latest")),
    "SC-041": (None, image("127.0.0.1:5000/hello:1.2.3")),
    "SC-042": (None, c_set("imagePullPolicy", "Always")),
    "SC-043": (None, image("docker.io/library/hello:1.2.3@sha256:" + "ab" * 32)),
    "SC-044": (None, build_metric("vulnerabilities_high", 2)),
    "SC-045": (None, build_metric("vulnerabilities_critical", 1)),
    "SC-046": (None, build_metric("secrets_in_image", 1)),
    "SC-047": (None, obj_set("NetworkPolicy", ("spec", "policyTypes"), ["Egress"])),
    "SC-048": (
        None,
        seq(
            obj_set("NetworkPolicy", ("spec", "policyTypes"), ["Ingress"]), obj_del("NetworkPolicy", ("spec", "egress"))
        ),
    ),
    "SC-049": (None, obj_del("Ingress", ("spec", "tls"))),
    "SC-050": (None, seq(obj_set("Ingress", ("metadata", "annotations"), {}), unattest("SC-050"))),
    "SC-051": (None, obj_set("Service", ("spec", "type"), "NodePort", "web")),
    "SC-052": (
        None,
        obj_set(
            "Ingress",
            ("metadata", "annotations"),
            {"nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers x"},
        ),
    ),
    "SC-053": (None, obj_set("ConfigMap", ("metadata", "namespace"), "kube-system")),
    "SC-054": (None, lambda o, k: web_container(o)["ports"][0].__setitem__("containerPort", 80)),
    "SC-055": (None, unattest("SC-055")),
    "SC-056": (None, unattest("SC-056")),
    "SC-057": (None, unattest("SC-057")),
    "SC-058": (None, unattest("SC-058")),
    "SC-059": (None, unattest("SC-059")),
    "SC-060": (None, setting("required_secrets", [])),
    "SC-061": (None, pod_set("shareProcessNamespace", True)),
    "SC-062": (None, pod_set("hostAliases", [{"ip": "10.0.0.1", "hostnames": ["db"]}])),
    # Monitoring & Observability
    "MO-001": (None, no_scrape),
    "MO-002": (None, no_service_scrape),
    "MO-003": (None, measure_metric("alert_rules_loaded", 0)),
    "MO-004": (None, measure_metric("grafana_dashboards_count", 2)),
    "MO-005": (None, measure_metric("baseline_captured", False)),
    "MO-006": (None, measure_metric("scrape_targets_up", False)),
    "MO-007": (None, measure_metric("test_metric_verified", False)),
    "MO-008": (None, measure_metric("prometheus_uptime_seconds", 0)),
    "MO-009": (None, lambda o, k: alert(o).__setitem__("labels", {})),
    "MO-010": (None, lambda o, k: alert(o)["annotations"].pop("summary")),
    "MO-011": (None, lambda o, k: alert(o)["annotations"].pop("runbook_url")),
    "MO-012": (None, lambda o, k: alert(o).pop("for")),
    "MO-013": (None, unattest("MO-013")),
    "MO-014": (None, no_otel),
    "MO-015": (None, lambda o, k: web(o)["metadata"]["labels"].pop("app.kubernetes.io/version")),
    "MO-016": (None, lambda o, k: web(o)["spec"]["template"]["metadata"].__setitem__("labels", {"tier": "web"})),
    "MO-017": (None, config_set(("service", "owner"), None)),
    "MO-018": (None, config_set(("environments", "production", "monitoring", "alertmanager_url"), None)),
    "MO-019": (None, config_set(("environments", "production", "monitoring", "grafana"), None)),
    "MO-020": (None, unattest("MO-020")),
    "MO-021": (None, unattest("MO-021")),
    "MO-022": (None, unattest("MO-022")),
    # Infrastructure & Scaling
    "IS-001": (None, res_del("requests", "cpu")),
    "IS-002": (None, res_del("requests", "memory")),
    "IS-003": (None, res_del("limits", "memory")),
    "IS-004": (None, res_del("limits", "cpu")),
    "IS-005": (None, lambda o, k: web_container(o)["resources"]["limits"].__setitem__("memory", "256Mi")),
    "IS-006": (None, res_del("limits", "ephemeral-storage")),
    "IS-007": (None, lambda o, k: web_container(o)["resources"]["limits"].__setitem__("cpu", "8")),
    "IS-008": (None, res_del("requests", "memory", init=True)),
    "IS-009": (None, remove("HorizontalPodAutoscaler")),
    "IS-010": (None, obj_set("HorizontalPodAutoscaler", ("spec", "minReplicas"), 1)),
    "IS-011": (None, obj_set("HorizontalPodAutoscaler", ("spec", "maxReplicas"), 3)),
    "IS-012": (None, lambda o, k: web(o)["spec"].__setitem__("replicas", 3)),
    "IS-013": (None, res_del("requests", "cpu")),
    "IS-014": (None, pod_del("priorityClassName")),
    "IS-015": (None, pod_del("topologySpreadConstraints")),
    "IS-016": (None, pod_del("affinity")),
    "IS-017": (None, remove("LimitRange")),
    "IS-018": (None, remove("ResourceQuota")),
    "IS-019": (None, lambda o, k: web(o)["spec"].__setitem__("revisionHistoryLimit", 50)),
    "IS-020": (add(cronjob()), cron_with(lambda c: c["spec"].pop("startingDeadlineSeconds"))),
    "IS-021": (add(cronjob()), cron_with(lambda c: c["spec"].pop("concurrencyPolicy"))),
    "IS-022": (add(job()), job_with("backoffLimit")),
    "IS-023": (add(job()), job_with("activeDeadlineSeconds")),
    "IS-024": (add(job()), job_with("ttlSecondsAfterFinished")),
    "IS-025": (
        add(statefulset()),
        sts_with(lambda objs: objs[0]["spec"]["volumeClaimTemplates"][0]["spec"].pop("storageClassName")),
    ),
    "IS-026": (pvc_with(), pvc_with(lambda claim: claim["spec"].pop("storageClassName"))),
    "IS-027": (None, unattest("IS-027")),
    "IS-028": (None, build_metric("image_size_mb", 900)),
    "IS-029": (None, unattest("IS-029")),
    "IS-030": (None, lambda o, k: web(o)["spec"].pop("progressDeadlineSeconds")),
    # Reliability
    "RE-001": (None, c_del("readinessProbe")),
    "RE-002": (None, c_del("livenessProbe")),
    "RE-003": (
        None,
        lambda o, k: web_container(o).__setitem__("livenessProbe", copy.deepcopy(web_container(o)["readinessProbe"])),
    ),
    "RE-004": (None, lambda o, k: web_container(o)["livenessProbe"].__setitem__("initialDelaySeconds", 120)),
    "RE-005": (None, lambda o, k: web_container(o)["readinessProbe"].__setitem__("timeoutSeconds", 30)),
    "RE-006": (None, remove("PodDisruptionBudget")),
    "RE-007": (None, obj_del("PodDisruptionBudget", ("spec", "minAvailable"))),
    "RE-008": (None, obj_set("PodDisruptionBudget", ("spec", "minAvailable"), 3)),
    "RE-009": (None, obj_set("PodDisruptionBudget", ("spec", "minAvailable"), 3)),
    "RE-010": (None, obj_set("HorizontalPodAutoscaler", ("spec", "minReplicas"), 1)),
    "RE-011": (None, lambda o, k: web(o)["spec"].__setitem__("strategy", {"type": "Recreate"})),
    "RE-012": (None, lambda o, k: web(o)["spec"]["strategy"]["rollingUpdate"].__setitem__("maxUnavailable", "50%")),
    "RE-013": (None, lambda o, k: web(o)["spec"].pop("minReadySeconds")),
    "RE-014": (None, c_del("lifecycle")),
    "RE-015": (None, c_del("terminationMessagePolicy")),
    "RE-016": (None, lambda o, k: web(o)["spec"].__setitem__("paused", True)),
    "RE-017": (add(statefulset()), seq(add(statefulset()), unattest("RE-017"))),
    "RE-018": (None, unattest("RE-018")),
    "RE-019": (None, unattest("RE-019")),
    "RE-020": (None, unattest("RE-020")),
    "RE-021": (None, config_set(("deploy", "rollout_timeout_seconds"), 3600)),
    "RE-022": (
        add(statefulset()),
        sts_with(lambda objs: objs[0]["spec"].__setitem__("updateStrategy", {"type": "OnDelete"})),
    ),
}

VALIDATE = {"TQ-004", "TQ-005", "TQ-006"}
assert IMAGE  # imported for readers: the baseline image every container uses


def annotate_for_tests(ids: str, reason: str) -> Mutation:
    """Suppress ``ids`` on the web Deployment with an annotation and a reason."""

    def run(objects: Objects, knobs: Knobs) -> None:
        web(objects)["metadata"].setdefault("annotations", {}).update(
            {"bmad.dev/ignore": ids, "bmad.dev/ignore-reason": reason}
        )

    return run
