"""Kubernetes as a deployment target, over the API's HTTP interface.

* **Which cluster** (:mod:`.kubeconfig`) — as kubectl chooses it: ``target.kubernetes.kubeconfig``,
  else ``KUBECONFIG`` (a path list, merged), else ``~/.kube/config``; else the in-cluster service
  account. The context is ``target.kubernetes.context`` or the current-context; the namespace
  ``target.kubernetes.namespace``, else the context's, else the manifests', else ``default``.
* **Client** (:mod:`.client`) — JSON through bmad's HTTP seam, errors as classes by status,
  429/5xx/timeouts retried honouring ``Retry-After``.
* **Apply** (:mod:`.bundle`, :mod:`.applier`, :mod:`.inventory`) — CRDs first (waited for
  ``Established``), then the guide's order, with server-side apply (field manager ``bmad``,
  ``force`` only when asked); every release's objects and bundle kept in an inventory ConfigMap.
* **Wait** (:mod:`.viewers`, :mod:`.informer`, :mod:`.rollout`) — every Deployment, StatefulSet and
  DaemonSet, watched, read as kubectl's rollout status viewers read them; early stop only on
  persistent failures. **Access** (:mod:`.access`) — the rights a deploy needs, reviewed beforehand.
* **Rollback** (:mod:`.rollback`) — the previous release's whole bundle re-applied, what the failed
  release added deleted. **Diagnose** (:mod:`.diagnose`) — the guide's troubleshooting entries.
"""

from __future__ import annotations

from .bundle import APPLY_ORDER, RELEASE_ANNOTATION, secret_references, selector_string, sort_bundle
from .client import FIELD_MANAGER, SYSTEM, KubeApi
from .kubeconfig import connect, locate_cluster
from .target import KubernetesTarget
from .viewers import daemonset_status, pod_problem, pod_ready, rollout_status, statefulset_status

__all__ = [
    "APPLY_ORDER",
    "FIELD_MANAGER",
    "RELEASE_ANNOTATION",
    "SYSTEM",
    "KubeApi",
    "KubernetesTarget",
    "connect",
    "daemonset_status",
    "locate_cluster",
    "pod_problem",
    "pod_ready",
    "rollout_status",
    "secret_references",
    "selector_string",
    "sort_bundle",
    "statefulset_status",
]
