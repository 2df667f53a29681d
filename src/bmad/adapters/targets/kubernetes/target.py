"""The Kubernetes target: apply a release's bundle, wait for its workloads, roll back, diagnose."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import threading
from collections.abc import Callable, Iterator
from typing import Any

from bmad.config.deploy import KubernetesTargetConfig
from bmad.core.errors import AdapterError
from bmad.core.spans import SpanKind, sleeper
from bmad.ports.progress import Progress
from bmad.ports.target import AutoscalerStatus, DeploySpec, Diagnosis, HttpProbe, RolloutState, TargetSnapshot

from .access import missing_rights, required_rights
from .applier import BundleApplier, conflict_error
from .autoscalers import HPA_KIND, autoscaler_status, bundle_autoscalers
from .bundle import (
    WORKLOAD_KINDS,
    ObjectRef,
    crd_scopes,
    hpa_targets,
    images_of,
    pin_workload,
    release_of,
    secret_references,
    selector_string,
    sort_bundle,
    template_without_hash,
)
from .client import SYSTEM, KubeApi, NotFound
from .diagnose import PodDiagnoser, high_latency, missing_deployment, replicaset_findings, slow_rollout
from .helm_owner import refuse_helm_owner
from .hooks import HookRunner, split_hooks
from .inventory import Inventory, ReleaseEntry, prunable, removable
from .kubeconfig import locate_cluster
from .lease import TargetLease, keep_renewed, lease_name
from .rollback import REVISION, plan_rollback, template_to_restore
from .rollout import EarlyStop, RolloutWatch, Workload, workloads_of
from .viewers import VIEWERS, pod_problem, pod_ready, pod_restarts, rollout_status

_CLUSTER_PAUSE = sleeper(SpanKind.KUBERNETES, "waiting on the cluster")


class KubernetesTarget:
    """Implements :class:`bmad.ports.target.Target` on a cluster chosen as kubectl chooses it.

    ``kubeconfig``, ``context`` and ``namespace`` override ``target.kubernetes`` (the CLI's
    ``--kubeconfig``/``--context``/``--namespace``); ``default_namespace`` is the manifests'
    namespace, used when neither bmad.yaml nor the kubeconfig context names one.
    """

    kind = "kubernetes"

    def __init__(
        self,
        config: KubernetesTargetConfig,
        *,
        probe: HttpProbe,
        health_path: str = "/health",
        base_dir: str | None = None,
        api: KubeApi | None = None,
        namespace: str | None = None,
        poll_interval: float = 0.5,
        sleep: Callable[[float], None] = _CLUSTER_PAUSE,
        rollback_timeout: float = 120.0,
        kubeconfig: str | None = None,
        context: str | None = None,
        default_namespace: str | None = None,
        helm_release: str | None = None,
    ) -> None:
        if kubeconfig or context:
            config = dataclasses.replace(
                config, kubeconfig=kubeconfig or config.kubeconfig, context=context or config.context
            )
        self.config = config
        self.probe = probe
        self.health_path = health_path
        self._base_dir = base_dir
        self._api = api
        self._namespace = namespace
        self._default_namespace = default_namespace
        self.helm_release = helm_release  # the chart's release name when the bundle is a rendered chart
        self.where = ""
        self._poll = poll_interval
        self._sleep = sleep
        self.rollback_timeout = rollback_timeout
        self._lock = threading.Lock()
        self._bundle: list[dict[str, Any]] | None = None
        self._post_hooks: list[dict[str, Any]] = []
        self._entries: tuple[list[ReleaseEntry], ReleaseEntry] | None = None  # (earlier releases, applied)

    # -- connection ----------------------------------------------------------------------------
    @property
    def api(self) -> KubeApi:
        with self._lock:
            if self._api is None:
                cluster = locate_cluster(self.config, base_dir=self._base_dir)
                self._api = cluster.api
                self._namespace = self._namespace or cluster.namespace or self._default_namespace
                self.where = cluster.where
            return self._api

    @property
    def namespace(self) -> str:
        _ = self.api
        return self._namespace or self._default_namespace or "default"

    @property
    def rules(self) -> EarlyStop:
        return EarlyStop(self.config.image_pull_backoff_seconds, self.config.crash_loop_restarts)

    def deployment_name(self, service: str) -> str:
        return self.config.deployment or service

    def _deployment(self, service: str) -> dict[str, Any] | None:
        return self.api.get("apps/v1", "Deployment", self.deployment_name(service), self.namespace)

    def _workload(self, service: str) -> dict[str, Any] | None:
        """The release's workload: its Deployment, else a StatefulSet or DaemonSet of that name."""
        for kind in WORKLOAD_KINDS:
            found = self.api.get("apps/v1", kind, self.deployment_name(service), self.namespace)
            if found is not None:
                found.setdefault("kind", kind)
                return found
        return None

    def _inventory(self, service: str) -> Inventory:
        return Inventory(self.api, self.namespace, service)

    def _applier(self, progress: Progress) -> BundleApplier:
        return BundleApplier(
            self.api,
            self.namespace,
            force=self.config.force_conflicts,
            progress=progress,
            sleep=self._sleep,
            gitops_allowed_kinds=tuple(self.config.gitops_allowed_kinds),
        )

    # -- bundle --------------------------------------------------------------------------------
    def prepare_bundle(self, spec: DeploySpec) -> list[dict[str, Any]]:
        """The objects to apply, in order: namespaced, the image pinned, the release annotated."""
        namespace = self.namespace
        objects = [copy.deepcopy(o) for o in spec.manifests]
        if self.config.create_namespace and not any(
            o.get("kind") == "Namespace" and o.get("metadata", {}).get("name") == namespace for o in objects
        ):
            objects.insert(0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        target = self._target_workload(objects, spec.service)
        scopes = crd_scopes(objects)
        for obj in objects:
            meta = obj.setdefault("metadata", {})
            if obj.get("kind") == "Namespace":
                continue
            key = (str(obj.get("apiVersion")), str(obj.get("kind")))
            namespaced = scopes[key] if key in scopes else self.api.resource(*key)[2]
            if namespaced:
                meta["namespace"] = namespace
        if not (target.get("spec", {}).get("template", {}).get("spec", {}).get("containers")):
            raise AdapterError(
                SYSTEM, "preparing the bundle", f"{target['kind']} {target['metadata']['name']} has no containers"
            )
        pin_workload(target, container=self.config.container, image=spec.pinned_image, release=spec.version)
        self._pin_same_repository(objects, spec)
        if spec.replicas:
            target["spec"]["replicas"] = spec.replicas
        return sort_bundle(objects)

    def _target_workload(self, objects: list[dict[str, Any]], service: str) -> dict[str, Any]:
        name = self.deployment_name(service)
        workloads = [o for o in objects if o.get("kind") in WORKLOAD_KINDS]
        target = next((o for o in workloads if o.get("metadata", {}).get("name") == name), None)
        if target is None and len(workloads) == 1 and not self.config.deployment:
            target = workloads[0]
            self.config = dataclasses.replace(self.config, deployment=target["metadata"]["name"])
        if target is None:
            raise AdapterError(
                SYSTEM,
                "preparing the bundle",
                f"no Deployment named {name!r} in the manifests",
                hint="set target.kubernetes.deployment to the Deployment's name",
            )
        return target

    @staticmethod
    def _pin_same_repository(objects: list[dict[str, Any]], spec: DeploySpec) -> None:
        """Every other container of the bundle running the release's repository gets the same digest."""
        for obj in objects:
            if obj.get("kind") not in WORKLOAD_KINDS:
                continue
            for container in obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []:
                image = str(container.get("image") or "")
                repository = image.split("@")[0].rsplit(":", 1)[0] if "/" in image else image.split("@")[0]
                if repository == spec.image and spec.digest:
                    container["image"] = spec.pinned_image

    def missing_secrets(self, bundle: list[dict[str, Any]]) -> list[str]:
        missing: list[str] = []
        bundled = {
            o["metadata"]["name"]: set((o.get("data") or {}) | (o.get("stringData") or {}))
            for o in bundle
            if o.get("kind") == "Secret"
        }
        for obj in bundle:
            if obj.get("kind") not in WORKLOAD_KINDS:
                continue
            pod_spec = obj.get("spec", {}).get("template", {}).get("spec", {})
            for name, key in secret_references(pod_spec):
                keys = bundled.get(name)
                if keys is None:
                    keys = self.secret_keys(name, namespace=self.namespace)
                if keys is None:
                    missing.append(f"secret/{name}")
                elif key is not None and key not in keys:
                    missing.append(f"secret/{name} key {key}")
        return list(dict.fromkeys(missing))

    def _leave_replicas_to_hpas(self, bundle: list[dict[str, Any]], applier: BundleApplier) -> list[str]:
        """``spec.replicas`` only creates a workload an HPA scales; afterwards the HPA's count stays."""
        scaled = hpa_targets(bundle)
        kept = []
        for obj in bundle:
            ref = ObjectRef.of(obj)
            if (ref.kind, ref.name) not in scaled or "replicas" not in (obj.get("spec") or {}):
                continue
            live = self.api.get(ref.api_version, ref.kind, ref.name, ref.namespace)
            if live is None:
                continue
            applier.hand_replicas_to_hpa(obj, live)
            obj["spec"].pop("replicas")
            kept.append(ref.label)
        return kept

    def dry_run_bundle(self, spec: DeploySpec) -> list[dict[str, Any]]:
        """What DEPLOY will apply, as a server dry-run sends it: without ``spec.replicas`` on workloads an
        HPA scales (DEPLOY leaves that field to the HPA; sending it conflicts with the HPA's manager)."""
        bundle = self.prepare_bundle(spec)
        scaled = hpa_targets(bundle)
        for obj in bundle:
            ref = ObjectRef.of(obj)
            if (ref.kind, ref.name) in scaled:
                (obj.get("spec") or {}).pop("replicas", None)
        return bundle

    def prune_preview(self, spec: DeploySpec) -> list[str]:
        """What ``prune: true`` would delete after this release (for ANALYZE to list)."""
        earlier = [e for e in self._inventory(spec.service).entries() if e.release != spec.version]
        return [ref.label for ref in prunable(earlier, ReleaseEntry.of(spec.version, self.prepare_bundle(spec)))]

    def missing_rights(self, spec: DeploySpec) -> list[str]:
        """The access pre-flight: each right DEPLOY needs and lacks, as ``kubectl auth can-i`` asks it."""
        rights = required_rights(self.api, self.prepare_bundle(spec), self.namespace, prune=self.config.prune)
        return [right.question for right in missing_rights(self.api, rights)]

    # -- lock ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def hold_lock(
        self, service: str, environment: str, *, identity: str, lease_seconds: float
    ) -> Iterator[TargetLease | None]:
        """Hold the release's Lease while the block runs (see :mod:`.lease`); LockHeld names the holder.

        In a namespace that does not exist yet there is nothing to protect: with ``create_namespace``
        the namespace is created first, otherwise DEPLOY reports it and no lock is taken."""
        lease = TargetLease(
            self.api,
            self.namespace,
            lease_name(service, environment),
            identity=identity,
            duration_seconds=int(lease_seconds),
        )
        what = f"the Kubernetes target of {service}/{environment}"
        try:
            lease.acquire(what)
        except NotFound:
            if not self.config.create_namespace:
                yield None
                return
            self.api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}})
            lease.acquire(what)
        with keep_renewed(lease):
            yield lease

    # -- apply ---------------------------------------------------------------------------------
    def apply(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        bundle = self.prepare_bundle(spec)
        missing = self.missing_secrets(bundle)
        if missing:
            return {"applied": [], "missing_secrets": missing, "namespace": self.namespace}
        if self.helm_release:
            unchecked = refuse_helm_owner(self.api, self.namespace, self.helm_release)
            if unchecked:
                progress.log(unchecked)
        applier = self._applier(progress)
        namespace_note = applier.check_namespace(bundle)
        before = self._deployment(spec.service)
        plan = split_hooks(bundle)
        hpa_owned = self._leave_replicas_to_hpas(plan.main, applier)
        conflicts = applier.conflicts(plan.main)
        if conflicts:
            raise conflict_error(conflicts)
        applied, hooks = self._apply_all(plan.main, spec.service, spec.version, applier, progress, plan.pre)
        self._bundle, self._post_hooks = plan.main, plan.post
        after = self._deployment(spec.service) or {}
        return {
            "applied": applied,
            "hooks": hooks,
            "namespace": self.namespace,
            "namespace_check": namespace_note,
            "replicas_left_to_hpa": hpa_owned,
            "cluster": self.where or self.api.host,
            "deployment": self.deployment_name(spec.service),
            "generation": after.get("metadata", {}).get("generation"),
            "previous_revision": (before or {}).get("metadata", {}).get("annotations", {}).get(REVISION),
            "image": spec.pinned_image,
            "force_conflicts": self.config.force_conflicts,
            "summary": f"{len(applied)} object(s) applied with server-side apply",
        }

    def _apply_all(
        self,
        bundle: list[dict[str, Any]],
        service: str,
        release: str,
        applier: BundleApplier,
        progress: Progress,
        pre_hooks: list[dict[str, Any]],
    ) -> tuple[list[str], list[str]]:
        """Apply in order; the inventory is written before the first namespaced object; the pre-deploy
        hooks run after the Namespaces. What was applied, and each hook's outcome."""
        inventory = self._inventory(service)
        entry = ReleaseEntry.of(release, bundle)
        applied: list[str] = []
        hook_outcomes: list[str] = []
        recorded = False
        hooks = pre_hooks
        task = progress.task(f"applying {len(bundle)} object(s) to {self.namespace}", total=len(bundle))
        try:
            for obj in bundle:
                meta = obj["metadata"]
                if hooks and obj.get("kind") != "Namespace":
                    hook_outcomes += self._run_hooks(hooks, applier, progress, self.config.hook_timeout_seconds)
                    hooks = []
                if not recorded and meta.get("namespace") == self.namespace:
                    self._entries = (inventory.record(entry), entry)
                    recorded = True
                result = applier.apply(obj)
                if obj.get("kind") == "CustomResourceDefinition":
                    applier.wait_established(obj)
                applied.append(f"{obj['kind']}/{meta['name']}")
                task.advance()
                generation = result.get("metadata", {}).get("generation", "-")
                progress.log(f"applied {obj['kind']}/{meta['name']} (generation {generation})")
            if not recorded:
                self._entries = (inventory.record(entry), entry)
            if hooks:
                hook_outcomes += self._run_hooks(hooks, applier, progress, self.config.hook_timeout_seconds)
        finally:
            task.done()
        return applied, hook_outcomes

    def _run_hooks(
        self, jobs: list[dict[str, Any]], applier: BundleApplier, progress: Progress, timeout: float
    ) -> list[str]:
        runner = HookRunner(self.api, applier.apply, self._poll, self._sleep)
        return runner.run(jobs, timeout=timeout, progress=progress)

    # -- rollout -------------------------------------------------------------------------------
    def _watch(self, workloads: list[Workload]) -> RolloutWatch:
        return RolloutWatch(self.api, self.namespace, workloads, rules=self.rules, poll=self._poll, sleep=self._sleep)

    def wait_ready(
        self, spec: DeploySpec, *, timeout: float, progress: Progress, cancel: threading.Event | None = None
    ) -> RolloutState:
        if self._bundle is None:  # resumed: this process did not apply the release
            plan = split_hooks(self.prepare_bundle(spec))
            self._bundle, self._post_hooks = plan.main, plan.post
        state = self._watch(workloads_of(self._bundle)).wait(timeout=timeout, progress=progress, cancel=cancel)
        if state.ready and self._post_hooks:
            state = self._post_deploy(state, timeout, progress)
        if state.ready and self.config.prune and self._entries is not None:
            self._prune(*self._entries, progress=progress)
        return state

    def _post_deploy(self, state: RolloutState, timeout: float, progress: Progress) -> RolloutState:
        """Post-deploy hooks, within what is left of the rollout's time; a failure fails the rollout."""
        left = max(timeout - state.seconds, self._poll)
        try:
            outcomes = self._run_hooks(self._post_hooks, self._applier(progress), progress, left)
        except AdapterError as exc:
            return dataclasses.replace(state, ready=False, failed=True, reason="HookFailed", message=exc.message)
        return dataclasses.replace(state, message=f"{state.message}; post-deploy hooks: {', '.join(outcomes)}")

    def _prune(self, earlier: list[ReleaseEntry], applied: ReleaseEntry, *, progress: Progress) -> list[str]:
        """Delete what earlier releases applied and this one no longer has."""
        return self._delete(prunable(earlier, applied), progress=progress, why="pruned")

    def _delete(self, refs: list[ObjectRef], *, progress: Progress, why: str) -> list[str]:
        done = []
        for ref in refs:
            try:
                existed = self.api.delete(ref.api_version, ref.kind, ref.name, ref.namespace)
            except AdapterError as exc:
                progress.log(f"could not delete {ref.label}: {exc.message}")
                continue
            if existed:
                progress.log(f"{why} {ref.label}")
                done.append(ref.label)
        return done

    def endpoints(self, spec: DeploySpec) -> list[str]:
        return [self.config.url.rstrip("/")] if self.config.url else []

    def serving_endpoints(self, service: str, environment: str) -> list[str]:
        return [self.config.url.rstrip("/")] if self.config.url else []

    def cut_over(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        return {"note": "the rolling update already replaced the old pods; old ReplicaSets are kept for undo"}

    # -- state ---------------------------------------------------------------------------------
    def _pods(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        selector = selector_string(deployment.get("spec", {}).get("selector") or {})
        return self.api.list_objects("v1", "Pod", self.namespace, selector=selector or None)

    def _replicasets(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        if deployment.get("kind", "Deployment") != "Deployment":
            return []
        selector = selector_string(deployment.get("spec", {}).get("selector") or {})
        uid = deployment.get("metadata", {}).get("uid")
        sets = self.api.list_objects("apps/v1", "ReplicaSet", self.namespace, selector=selector or None)
        owned = [
            rs
            for rs in sets
            if not uid or any(o.get("uid") == uid for o in rs.get("metadata", {}).get("ownerReferences") or [])
        ]
        return sorted(owned, key=lambda rs: int(rs["metadata"].get("annotations", {}).get(REVISION, "0")))

    def status(self, service: str, environment: str) -> dict[str, Any]:
        deployment = self._workload(service)
        if deployment is None:
            return {"kind": self.kind, "namespace": self.namespace, "deployment": None}
        done, failed, message = VIEWERS[str(deployment["kind"])](deployment)
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "deployment": self.deployment_name(service),
            "revision": deployment["metadata"].get("annotations", {}).get(REVISION),
            "release": release_of(deployment),
            "images": images_of(deployment),
            "rollout": {"done": done, "failed": failed, "message": message},
            "pods": [_pod_summary(p) for p in self._pods(deployment)],
            "revisions": [
                {
                    "revision": rs["metadata"].get("annotations", {}).get(REVISION),
                    "release": release_of(rs),
                    "replicas": rs.get("status", {}).get("replicas", 0),
                }
                for rs in self._replicasets(deployment)
            ],
        }

    def snapshot(self, service: str, environment: str) -> TargetSnapshot:
        deployment = self._workload(service)
        base = {
            "kind": self.kind,
            "service": service,
            "environment": environment,
            "namespace": self.namespace,
            "deployment": self.deployment_name(service),
        }
        if deployment is None:
            return TargetSnapshot.from_dict({**base, "exists": False})
        return TargetSnapshot.from_dict(
            {
                **base,
                "exists": True,
                "revision": deployment["metadata"].get("annotations", {}).get(REVISION),
                "release": release_of(deployment),
                "replicas": deployment.get("spec", {}).get("replicas"),
                "images": images_of(deployment),
                "template": template_without_hash(deployment.get("spec", {}).get("template") or {}),
            }
        )

    # -- rollback ------------------------------------------------------------------------------
    def rollback(
        self, service: str, environment: str, *, to: dict[str, Any] | None, progress: Progress
    ) -> RolloutState:
        try:
            plan = plan_rollback(self._inventory(service).entries(), to)
        except AdapterError as exc:
            if exc.temporary:
                raise
            progress.log(f"the release inventory could not be read ({exc.message})")
            plan = None
        if plan is not None:
            return self._rollback_release(service, plan.entry, plan.failed, progress=progress)
        wanted = str((to or {}).get("release") or "the previous release")[:12]
        progress.log(
            f"no stored bundle for {wanted}: restoring the Deployment's pod template only "
            "(ConfigMaps and other objects stay as the failed release left them)"
        )
        return self._rollback_template(service, to, progress=progress)

    def _rollback_release(
        self, service: str, entry: ReleaseEntry, failed: ReleaseEntry | None, *, progress: Progress
    ) -> RolloutState:
        bundle = [copy.deepcopy(o) for o in entry.bundle]
        progress.log(f"rolling back to release {entry.release[:12]}: re-applying its {len(bundle)} stored object(s)")
        applier = self._applier(progress)
        self._leave_replicas_to_hpas(bundle, applier)
        for obj in bundle:
            applier.apply(obj)
        for obj in bundle:
            if obj.get("kind") == "StatefulSet":
                self._replace_broken_pods(obj, progress=progress)
        if failed is not None:
            self._delete(removable(failed, entry), progress=progress, why="deleted (added by the failed release)")
        self._inventory(service).restore(entry)
        return self._watch(workloads_of(bundle)).wait(timeout=self.rollback_timeout, progress=progress)

    def _replace_broken_pods(self, statefulset: dict[str, Any], *, progress: Progress) -> None:
        """A StatefulSet does not replace a pod that never became Ready with the bad template: after
        reverting the template its broken pods must be deleted (the StatefulSet docs' "Forced rollback")."""
        selector = selector_string(statefulset.get("spec", {}).get("selector") or {})
        for pod in self.api.list_objects("v1", "Pod", self.namespace, selector=selector or None):
            if pod_problem(pod) is not None:
                self._delete(
                    [ObjectRef.of({**pod, "apiVersion": "v1", "kind": "Pod"})], progress=progress, why="deleted broken"
                )

    def _rollback_template(self, service: str, to: dict[str, Any] | None, *, progress: Progress) -> RolloutState:
        deployment = self._deployment(service)
        name = self.deployment_name(service)
        if deployment is None:
            raise AdapterError(SYSTEM, "rolling back", f"deployment {name} not found in {self.namespace}")
        template, where = template_to_restore(deployment, self._replicasets(deployment), to)
        progress.log(f"rolling back deployment/{name} to {where}")
        operations: list[dict[str, Any]] = [{"op": "replace", "path": "/spec/template", "value": template}]
        if to and to.get("replicas") and not self._hpa_scales(name):
            operations.append({"op": "replace", "path": "/spec/replicas", "value": int(to["replicas"])})
        self.api.json_patch("apps/v1", "Deployment", name, self.namespace, operations)
        return self._watch([Workload("Deployment", name)]).wait(timeout=self.rollback_timeout, progress=progress)

    def autoscalers(self, spec: DeploySpec) -> list[AutoscalerStatus]:
        """The bundle's HPAs as the cluster reports them now (those not applied yet are left out)."""
        found = []
        for name, namespace in bundle_autoscalers(spec.manifests):
            live = self.api.get("autoscaling/v2", HPA_KIND, name, namespace or self.namespace)
            if live is not None:
                found.append(autoscaler_status(live))
        return found

    def _hpa_scales(self, name: str) -> bool:
        hpas = self.api.list_objects("autoscaling/v2", "HorizontalPodAutoscaler", self.namespace)
        return ("Deployment", name) in hpa_targets([{**h, "kind": "HorizontalPodAutoscaler"} for h in hpas])

    # -- diagnose ------------------------------------------------------------------------------
    def diagnose(self, service: str, environment: str) -> list[Diagnosis]:
        ns = self.namespace
        deployment = self._deployment(service)
        name = self.deployment_name(service)
        if deployment is None:
            return [missing_deployment(name, ns)]
        findings: list[Diagnosis] = []
        pods = PodDiagnoser(self.api, ns)
        _done, failed, message = rollout_status(deployment)
        if failed:
            findings.append(slow_rollout(deployment, name, ns, message, pods.events(name)))
        findings.extend(replicaset_findings(self._replicasets(deployment), ns))
        for pod in self._pods(deployment):
            findings.extend(pods.diagnose(pod))
        if self.config.url:
            answer = self.probe.get(self.config.url.rstrip("/") + self.health_path, timeout=5.0)
            if answer.ok and answer.seconds > 0.5:
                hpas = self.api.list_objects("autoscaling/v2", "HorizontalPodAutoscaler", ns)
                findings.append(high_latency(name, ns, self.health_path, answer.seconds, hpas))
        return findings

    def secret_keys(self, name: str, *, namespace: str | None = None) -> set[str] | None:
        secret = self.api.get("v1", "Secret", name, namespace or self.namespace)
        if secret is None:
            return None
        return set(secret.get("data") or {}) | set(secret.get("stringData") or {})


def _pod_summary(pod: dict[str, Any]) -> dict[str, Any]:
    problem = pod_problem(pod)
    return {
        "name": pod["metadata"]["name"],
        "phase": (pod.get("status") or {}).get("phase"),
        "ready": pod_ready(pod),
        "restarts": pod_restarts(pod),
        "problem": problem[0] if problem else None,
    }
