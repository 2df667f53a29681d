"""Read a bundle of Kubernetes manifests with line tracking, and the relations between objects.

Each object keeps its root YAML node, so the line of any field path is found on demand
(:meth:`ManifestObject.line_of`) instead of being stored for every value; an object parsed in
another process keeps its lines instead (a :data:`LineTree`: nodes do not travel). Reading files is in
``manifest_files`` (problems become :class:`ParseFinding` entries with file and line, never
errors), the YAML machinery in ``manifest_yaml``.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import field
from typing import Any, Generic, Self, TypeVar, overload

import yaml

from bmad.core.datatypes import datatype

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOAD_KINDS = tuple(POD_TEMPLATE_PATHS)
CONTAINER_LISTS = ("initContainers", "containers")
NOT_CLUSTER_OBJECTS = frozenset({"Kustomization", "Component"})
NOT_CLUSTER_API_GROUPS = frozenset({"kustomize.config.k8s.io", "config.kubernetes.io", "kpt.dev", "skaffold"})
NOT_CLUSTER_FILES = frozenset({"Chart.yaml", "Chart.lock", "skaffold.yaml", "Kptfile"})
# Custom resources that configure something but never make an operator create pods.
CONFIG_ONLY_CUSTOM_KINDS = frozenset(
    {
        "PrometheusRule", "ServiceMonitor", "PodMonitor", "Probe", "ScrapeConfig", "AlertmanagerConfig",
        "Certificate", "CertificateRequest", "Issuer", "ClusterIssuer",
        "VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "PeerAuthentication", "AuthorizationPolicy",
        "GrafanaDashboard", "GrafanaDatasource", "SealedSecret", "ExternalSecret", "SecretStore", "IngressRoute",
    }
)  # fmt: skip

# The lines of a node's keys and items without the node: a mapping is {key: (line, tree)} (its first
# key of each text, as a lookup in the node finds), a sequence [(line, tree)], a scalar None. Lines
# count from 0, as YAML marks do.
LineTree = dict[str, tuple[int, "LineTree"]] | list[tuple[int, "LineTree"]] | None

_T = TypeVar("_T")


class cached_value(Generic[_T]):  # noqa: N801 - used as a decorator, like functools.cached_property
    """``functools.cached_property`` without its lock (Python 3.11 takes an RLock on every first
    read, a third of the cost of reading a thousand objects' fields once): computed on the first
    read, then kept in the instance's ``__dict__``. Threads reading it first at once each compute
    it, and get equal values (the computations only read the object)."""

    def __init__(self, compute: Callable[[Any], _T]) -> None:
        self.compute = compute
        self.name = compute.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> _T | Self:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


@datatype(frozen=True)
class ParseFinding:
    """A problem reading a file: not YAML, duplicate key, not an object, too large ..."""

    file: str
    message: str
    code: str  # yaml | duplicate_key | not_mapping | missing_field | too_large | not_text | unreadable
    line: int | None = None
    column: int | None = None
    object: str | None = None  # Kind/name when known

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "object": self.object,
        }


@datatype
class ManifestObject:
    """One Kubernetes object of the bundle, with where it came from."""

    data: dict[str, Any]
    file: str
    line: int
    node: yaml.Node | None = None
    default_namespace: str | None = None
    lines: LineTree = None  # where there is no node: the object was parsed in another process

    @cached_value
    def kind(self) -> str:
        value = self.data.get("kind")
        return value if isinstance(value, str) else ""

    @cached_value
    def api_version(self) -> str:
        value = self.data.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def group(self) -> str:
        api = self.api_version
        return api.split("/", 1)[0] if "/" in api else ""

    @cached_value
    def metadata(self) -> dict[str, Any]:
        value = self.data.get("metadata")
        return value if isinstance(value, dict) else {}

    @cached_value
    def name(self) -> str:
        value = self.metadata.get("name") or self.metadata.get("generateName")
        return str(value) if value is not None else ""

    @cached_value
    def declared_namespace(self) -> str | None:
        value = self.metadata.get("namespace")
        return str(value) if value else None

    @cached_value
    def namespace(self) -> str | None:
        return self.declared_namespace or self.default_namespace

    @cached_value
    def labels(self) -> dict[str, Any]:
        value = self.metadata.get("labels")
        return value if isinstance(value, dict) else {}

    @cached_value
    def annotations(self) -> dict[str, Any]:
        value = self.metadata.get("annotations")
        return value if isinstance(value, dict) else {}

    @cached_value
    def key(self) -> tuple[str, str, str]:
        return (self.namespace or "", self.kind, self.name)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    def get(self, *path: str | int, default: Any = None) -> Any:
        return dig(self.data, path, default)

    def spec(self) -> dict[str, Any]:
        return self._spec

    @cached_value
    def _spec(self) -> dict[str, Any]:
        value = self.data.get("spec")
        return value if isinstance(value, dict) else {}

    # -- pod templates ------------------------------------------------------------------
    @property
    def pod_spec_path(self) -> tuple[str, ...] | None:
        return POD_TEMPLATE_PATHS.get(self.kind)

    @cached_value
    def pod_spec(self) -> dict[str, Any] | None:
        path = self.pod_spec_path
        if path is None:
            return None
        value = dig(self.data, path)
        return value if isinstance(value, dict) else None

    @cached_value
    def pod_metadata(self) -> dict[str, Any]:
        path = self.pod_spec_path
        if path is None:
            return {}
        if self.kind == "Pod":
            return self.metadata
        value = dig(self.data, (*path[:-1], "metadata"))
        return value if isinstance(value, dict) else {}

    @cached_value
    def pod_labels(self) -> dict[str, Any]:
        value = self.pod_metadata.get("labels")
        return value if isinstance(value, dict) else {}

    @cached_value
    def pod_annotations(self) -> dict[str, Any]:
        value = self.pod_metadata.get("annotations")
        return value if isinstance(value, dict) else {}

    def containers(self, *, init: bool = True) -> list[tuple[dict[str, Any], tuple[str | int, ...]]]:
        """(container, path) of each container of the pod template; init containers first."""
        return self._all_containers if init else self._main_containers

    @cached_value
    def _all_containers(self) -> list[tuple[dict[str, Any], tuple[str | int, ...]]]:
        return self._collect_containers(CONTAINER_LISTS)

    @cached_value
    def _main_containers(self) -> list[tuple[dict[str, Any], tuple[str | int, ...]]]:
        return self._collect_containers(("containers",))

    def _collect_containers(self, lists: Sequence[str]) -> list[tuple[dict[str, Any], tuple[str | int, ...]]]:
        spec = self.pod_spec
        base = self.pod_spec_path
        if spec is None or base is None:
            return []
        found: list[tuple[dict[str, Any], tuple[str | int, ...]]] = []
        for list_name in lists:
            items = spec.get(list_name)
            if isinstance(items, list):
                for index, item in enumerate(items):
                    if isinstance(item, dict):
                        found.append((item, (*base, list_name, index)))
        return found

    @property
    def replicas(self) -> int | None:
        value = self.spec().get("replicas")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    # -- lines --------------------------------------------------------------------------
    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of the deepest existing node along ``path`` (the object's line if none)."""
        key = tuple(path)
        cache = self._lines
        found = cache.get(key)
        if found is None:
            found = cache[key] = self._walk(key)
        return found

    @cached_value
    def _lines(self) -> dict[tuple[str | int, ...], int]:
        return {}

    def _walk(self, path: tuple[str | int, ...]) -> int:
        node = self.node
        if node is None:
            return _walk_tree(self.lines, path, self.line)
        line = self.line
        for part in path:
            nxt: yaml.Node | None = None
            if node.__class__ is yaml.MappingNode:
                wanted = str(part)
                for key_node, value_node in node.value:
                    if key_node.__class__ is yaml.ScalarNode and key_node.value == wanted:
                        nxt = value_node
                        line = key_node.start_mark.line + 1
                        break
            elif node.__class__ is yaml.SequenceNode and isinstance(part, int) and 0 <= part < len(node.value):
                nxt = node.value[part]
                line = nxt.start_mark.line + 1
            if nxt is None:
                break
            node = nxt
        return line


def line_tree(node: yaml.Node) -> LineTree:
    """The lines :meth:`ManifestObject.line_of` reads from ``node``, as plain data (to send elsewhere)."""
    if node.__class__ is yaml.MappingNode:
        keys: dict[str, tuple[int, LineTree]] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is yaml.ScalarNode and key_node.value not in keys:
                keys[key_node.value] = (key_node.start_mark.line, line_tree(value_node))
        return keys
    if node.__class__ is yaml.SequenceNode:
        return [(item.start_mark.line, line_tree(item)) for item in node.value]
    return None


def _walk_tree(tree: LineTree, path: tuple[str | int, ...], line: int) -> int:
    """:meth:`ManifestObject._walk` over a :func:`line_tree`."""
    for part in path:
        if isinstance(tree, dict):
            found = tree.get(str(part))
        elif isinstance(tree, list) and isinstance(part, int) and 0 <= part < len(tree):
            found = tree[part]
        else:
            break
        if found is None:
            break
        line, tree = found[0] + 1, found[1]
    return line


def dig(data: Any, path: Iterable[str | int], default: Any = None) -> Any:
    current = data
    for part in path:
        if isinstance(current, dict):
            if part not in current:
                return default
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int):
            if not -len(current) <= part < len(current):
                return default
            current = current[part]
        else:
            return default
    return current


# -- selectors ------------------------------------------------------------------------------
def describe_selector(selector: Any) -> str:
    """A selector as a person writes it: ``app=hello, tier in (web, api)``."""
    if not isinstance(selector, dict):
        return str(selector)
    if "matchLabels" in selector or "matchExpressions" in selector:
        labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
    else:
        labels, expressions = selector, []
    parts = [f"{k}={v}" for k, v in labels.items()] if isinstance(labels, dict) else []
    for expr in expressions if isinstance(expressions, list) else []:
        if isinstance(expr, dict):
            values = ", ".join(str(v) for v in expr.get("values") or [])
            operator = str(expr.get("operator", "")).lower()
            parts.append(f"{expr.get('key')} {operator} ({values})" if values else f"{expr.get('key')} {operator}")
    return ", ".join(parts) or "(empty: every pod)"


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """A LabelSelector (matchLabels/matchExpressions) or a plain map (Service) against labels.

    An empty selector matches everything; ``None`` matches nothing.
    """
    if selector is None or not isinstance(selector, dict):
        return False
    if "matchLabels" in selector or "matchExpressions" in selector:
        match_labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
    else:
        match_labels, expressions = selector, []
    if not isinstance(match_labels, dict) or not isinstance(expressions, list):
        return False
    for key, value in match_labels.items():
        if str(labels.get(key)) != str(value) or key not in labels:
            return False
    for expr in expressions:
        if not isinstance(expr, dict):
            return False
        key = str(expr.get("key"))
        operator = expr.get("operator")
        values = [str(v) for v in (expr.get("values") or [])]
        present = key in labels
        if operator == "In" and not (present and str(labels[key]) in values):
            return False
        if operator == "NotIn" and present and str(labels[key]) in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def required_pair(selector: Any) -> tuple[Any, str] | None:
    """A label (key, value as text) that every match of ``selector`` has (as :func:`selector_matches`
    compares them), or None when it requires none: empty, only ``matchExpressions``, or not a selector.
    The bundle's selector indexes file a selector under it."""
    if not isinstance(selector, dict):
        return None
    labels = selector.get("matchLabels") if "matchLabels" in selector or "matchExpressions" in selector else selector
    if not isinstance(labels, dict) or not labels:
        return None
    key, value = next(iter(labels.items()))
    return key, str(value)


class _SelectorIndex:
    """Objects of one kind in one namespace filed by the label pair their selector requires: those that
    may match a set of labels are the ones filed under one of its pairs, and those requiring none.
    Without it, each workload was compared with every Service, PDB and NetworkPolicy of its namespace
    (a million comparisons for 1,000 of each in one namespace)."""

    def __init__(self, objects: Sequence[ManifestObject], selector_of: Callable[[ManifestObject], Any]) -> None:
        self.position = {id(obj): at for at, obj in enumerate(objects)}
        self.by_pair: dict[tuple[Any, str], list[ManifestObject]] = {}
        self.unfiled: list[ManifestObject] = []  # selectors requiring no label pair: always candidates
        for obj in objects:
            pair = required_pair(selector_of(obj))
            if pair is None:
                self.unfiled.append(obj)
            else:
                self.by_pair.setdefault(pair, []).append(obj)

    def candidates(self, labels: Mapping[Any, Any]) -> list[ManifestObject]:
        """The objects whose selector may match ``labels``, in the bundle's order."""
        found = list(self.unfiled)
        for key, value in labels.items():
            filed = self.by_pair.get((key, str(value)))
            if filed:
                found += filed
        if len(found) > 1:
            found.sort(key=lambda obj: self.position[id(obj)])
        return found


def _spec_selector(obj: ManifestObject) -> Any:
    """A Service's or a PodDisruptionBudget's selector."""
    return obj.spec().get("selector")


def _policy_selector(obj: ManifestObject) -> Any:
    """A NetworkPolicy's pod selector; without ``podSelector`` it selects nothing (None)."""
    spec = obj.spec()
    return spec.get("podSelector", {}) if "podSelector" in spec else None


_SELECTORS: dict[str, Callable[[ManifestObject], Any]] = {
    "Service": _spec_selector,
    "PodDisruptionBudget": _spec_selector,
    "NetworkPolicy": _policy_selector,
}


@datatype
class Bundle:
    """Every object of the release's manifests, the parse findings, and lookups across objects."""

    objects: list[ManifestObject] = field(default_factory=list)
    findings: list[ParseFinding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    source: str | None = None  # the folder (or files) read

    @cached_value
    def by_kind(self) -> dict[str, list[ManifestObject]]:
        index: dict[str, list[ManifestObject]] = {}
        for obj in self.objects:
            index.setdefault(obj.kind, []).append(obj)
        return index

    def of_kind(self, *kinds: str) -> list[ManifestObject]:
        if len(kinds) == 1:
            return self.by_kind.get(kinds[0], [])
        return [obj for kind in kinds for obj in self.by_kind.get(kind, [])]

    @cached_value
    def workloads(self) -> list[ManifestObject]:
        return [obj for obj in self.objects if obj.kind in POD_TEMPLATE_PATHS and obj.pod_spec is not None]

    @cached_value
    def _index(self) -> dict[tuple[str, str | None, str], ManifestObject]:
        index: dict[tuple[str, str | None, str], ManifestObject] = {}
        for obj in self.objects:
            index.setdefault((obj.kind, obj.namespace or None, obj.name), obj)
        return index

    def _in_namespace(self, kind: str) -> dict[str | None, list[ManifestObject]]:
        cache = self._ns_cache
        found = cache.get(kind)
        if found is None:
            found = {}
            source = self.workloads if kind == "*workloads" else self.by_kind.get(kind, [])
            for obj in source:
                found.setdefault(obj.namespace or None, []).append(obj)
            cache[kind] = found
        return found

    @cached_value
    def _ns_cache(self) -> dict[str, dict[str | None, list[ManifestObject]]]:
        return {}

    def _selecting(self, kind: str, namespace: str | None, labels: Mapping[Any, Any]) -> list[ManifestObject]:
        """Objects of ``kind`` (a key of ``_SELECTORS``) in ``namespace`` whose selector may match ``labels``."""
        key = (kind, namespace or None)
        index = self._selector_indexes.get(key)
        if index is None:
            objects = self._in_namespace(kind).get(namespace or None, [])
            index = self._selector_indexes[key] = _SelectorIndex(objects, _SELECTORS[kind])
        return index.candidates(labels)

    @cached_value
    def _selector_indexes(self) -> dict[tuple[str, str | None], _SelectorIndex]:
        return {}

    @cached_value
    def _workload_pairs(self) -> dict[str | None, dict[tuple[Any, str], list[ManifestObject]]]:
        """The workloads of each namespace filed by each label pair of their pod template."""
        index: dict[str | None, dict[tuple[Any, str], list[ManifestObject]]] = {}
        for namespace, workloads in self._in_namespace("*workloads").items():
            filed = index[namespace] = {}
            for workload in workloads:
                for key, value in workload.pod_labels.items():
                    filed.setdefault((key, str(value)), []).append(workload)
        return index

    @cached_value
    def _memo(self) -> dict[tuple[Any, ...], list[ManifestObject]]:
        return {}

    def find(self, kind: str, name: str, namespace: str | None) -> ManifestObject | None:
        return self._index.get((kind, namespace or None, name))

    def custom_resources(self, namespace: str | None) -> list[ManifestObject]:
        """Objects of API groups outside Kubernetes itself in ``namespace``: an operator may create pods for them."""
        return [
            o
            for o in self.objects
            if "." in o.group
            and not o.group.endswith(".k8s.io")
            and o.kind not in CONFIG_ONLY_CUSTOM_KINDS
            and (o.namespace or None) == (namespace or None)
        ]

    def pods_selected(self, selector: Any, namespace: str | None) -> list[ManifestObject]:
        """Workloads in ``namespace`` whose pod template labels match ``selector``."""
        key = ("sel", id(selector), namespace or None)
        cached = self._selected.get(key)
        if cached is not None and cached[0] is selector:
            return cached[1]
        pair = required_pair(selector)
        candidates = (
            self._in_namespace("*workloads").get(namespace or None, [])
            if pair is None
            else self._workload_pairs.get(namespace or None, {}).get(pair, [])
        )
        found = [w for w in candidates if selector_matches(selector, w.pod_labels)]
        # The selector itself is kept with the result, so a recycled id() can never alias another one.
        self._selected[key] = (selector, found)
        return found

    @cached_value
    def _selected(self) -> dict[tuple[Any, ...], tuple[Any, list[ManifestObject]]]:
        return {}

    def services_selecting(self, workload: ManifestObject) -> list[ManifestObject]:
        key = ("svc", id(workload))
        found = self._memo.get(key)
        if found is None:
            found = []
            for svc in self._selecting("Service", workload.namespace, workload.pod_labels):
                selector = _spec_selector(svc)
                if selector and selector_matches(selector, workload.pod_labels):
                    found.append(svc)
            self._memo[key] = found
        return found

    @cached_value
    def _hpa_targets(self) -> dict[tuple[str | None, str, str], list[ManifestObject]]:
        index: dict[tuple[str | None, str, str], list[ManifestObject]] = {}
        for hpa in self.of_kind("HorizontalPodAutoscaler"):
            ref = hpa.spec().get("scaleTargetRef")
            if isinstance(ref, dict):
                index.setdefault((hpa.namespace or None, str(ref.get("kind")), str(ref.get("name"))), []).append(hpa)
        return index

    def hpas_targeting(self, workload: ManifestObject) -> list[ManifestObject]:
        return self._hpa_targets.get((workload.namespace or None, workload.kind, workload.name), [])

    def pdbs_covering(self, workload: ManifestObject) -> list[ManifestObject]:
        key = ("pdb", id(workload))
        found = self._memo.get(key)
        if found is None:
            found = [
                pdb
                for pdb in self._selecting("PodDisruptionBudget", workload.namespace, workload.pod_labels)
                if selector_matches(_spec_selector(pdb), workload.pod_labels)
            ]
            self._memo[key] = found
        return found

    def network_policies_covering(self, workload: ManifestObject, policy_type: str) -> list[ManifestObject]:
        """NetworkPolicies of the workload's namespace that select its pods for ``Ingress``/``Egress``."""
        key = ("netpol", id(workload), policy_type)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        result = []
        for policy in self._selecting("NetworkPolicy", workload.namespace, workload.pod_labels):
            if not selector_matches(_policy_selector(policy), workload.pod_labels):
                continue
            spec = policy.spec()
            types = spec.get("policyTypes")
            if not isinstance(types, list) or not types:
                # Without policyTypes, Ingress always applies and Egress when egress rules are given.
                types = ["Ingress", *(["Egress"] if "egress" in spec else [])]
            if policy_type in types:
                result.append(policy)
        self._memo[key] = result
        return result

    def namespaces(self) -> set[str]:
        return {obj.namespace for obj in self.objects if obj.namespace}


def iter_pod_objects(bundle: Bundle, kinds: Sequence[str] = ()) -> Iterator[ManifestObject]:
    for obj in bundle.workloads:
        if not kinds or obj.kind in kinds:
            yield obj


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects that all stay alive
    (YAML nodes, dicts): otherwise it rescans them again and again (about 2/3 of parse time).

    On the way out the survivors are moved to the permanent generation (``gc.freeze``) so the
    deferred collection does not rescan them either. They are still freed by reference counting
    when the bundle goes away; parsed manifests hold no reference cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
