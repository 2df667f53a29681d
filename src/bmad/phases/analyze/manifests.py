"""Read a bundle of Kubernetes manifests with line tracking, and the relations between objects.

Files are composed into YAML nodes by libyaml (C) when available, then turned into plain data
by a small constructor that detects duplicate keys. Each object keeps its root node, so the
line of any field path is found on demand (:meth:`ManifestObject.line_of`) instead of being
stored for every value. Problems never raise: they become :class:`ParseFinding` entries with
file and line.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOLS = frozenset(
    [
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
    ]
)  # YAML 1.1, as PyYAML resolves them
_NULLS = frozenset({"null", "Null", "NULL"})
# First characters that may start a non-string plain scalar in YAML 1.1 (bool, int, float,
# null, timestamp, merge, value). Anything else is a string: no regex needed.
_MAYBE_TYPED = frozenset("yYnNtTfFoO-+0123456789.<~=")


class _FastResolver(yaml.resolver.Resolver):
    """PyYAML's resolver with a fast path for the common case (plain strings, quoted scalars)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR_TAG
            if not value:
                return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            first = value[0]
            if first not in _MAYBE_TYPED:
                return _STR_TAG
            if first.isalpha():  # only the YAML 1.1 bool and null words start with a letter
                return _BOOL_TAG if value in _BOOLS else (_NULL_TAG if value in _NULLS else _STR_TAG)
            if value.isdigit() and (value[0] != "0" or len(value) == 1):
                return _INT_TAG
            last = value[-1]
            if value[0].isdigit() and last.isalpha() and last not in "zZ" and value[1:2] not in ("x", "o", "b"):
                return _STR_TAG  # quantities and versions: 100m, 128Mi, 1.2.3-rc1
            if value in _BOOLS:
                return _BOOL_TAG
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is yaml.SequenceNode:
            return _SEQ_TAG
        return _MAP_TAG


_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)

if _CParser is not None:

    class _FastLoader(_CParser, yaml.constructor.SafeConstructor, _FastResolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            _FastResolver.__init__(self)

    _Loader: Any = _FastLoader
else:  # pragma: no cover - PyYAML without libyaml

    class _PyFastLoader(
        yaml.reader.Reader,
        yaml.scanner.Scanner,
        yaml.parser.Parser,
        yaml.composer.Composer,
        yaml.constructor.SafeConstructor,
        _FastResolver,
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            _FastResolver.__init__(self)

    _Loader = _PyFastLoader

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


@dataclass(frozen=True)
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


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, column: int, first_line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line
        self.column = column
        self.first_line = first_line


_MERGE_TAG = "tag:yaml.org,2002:merge"
_ScalarNode = yaml.ScalarNode
_MappingNode = yaml.MappingNode
_SequenceNode = yaml.SequenceNode


def _scalar(loader: Any, node: Any) -> Any:
    tag = node.tag
    if tag == _STR_TAG:
        return node.value
    if tag == _INT_TAG:
        value = node.value
        if value.isdigit() and (value[0] != "0" or len(value) == 1):
            return int(value)
    constructor = loader.yaml_constructors.get(tag)
    if constructor is None:
        return loader.construct_object(node, deep=True)
    return constructor(loader, node)


def _first_line(loader: Any, pairs: list[tuple[Any, Any]], key: Any) -> int:
    for key_node, _ in pairs:
        if key_node.__class__ is _ScalarNode and _scalar(loader, key_node) == key:
            return int(key_node.start_mark.line) + 1
    return 0


def _construct(loader: Any, node: Any) -> Any:
    """Plain data from a node tree; duplicate keys raise. Written for speed: scalars are handled
    inline, only collections recurse."""
    cls = node.__class__
    if cls is _MappingNode:
        pairs = node.value
        for key_node, _ in pairs:
            if key_node.tag == _MERGE_TAG:
                loader.flatten_mapping(node)
                pairs = node.value
                break
        result: dict[Any, Any] = {}
        for key_node, value_node in pairs:
            if key_node.__class__ is _ScalarNode:
                key = key_node.value if key_node.tag == _STR_TAG else _scalar(loader, key_node)
            else:
                key = str(_construct(loader, key_node))
            if key in result:
                raise _DuplicateKey(
                    str(key),
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                    _first_line(loader, pairs, key),
                )
            if value_node.__class__ is _ScalarNode:
                result[key] = value_node.value if value_node.tag == _STR_TAG else _scalar(loader, value_node)
            else:
                result[key] = _construct(loader, value_node)
        return result
    if cls is _SequenceNode:
        items: list[Any] = []
        append = items.append
        for item in node.value:
            if item.__class__ is _ScalarNode:
                append(item.value if item.tag == _STR_TAG else _scalar(loader, item))
            else:
                append(_construct(loader, item))
        return items
    return _scalar(loader, node)


@dataclass
class ManifestObject:
    """One Kubernetes object of the bundle, with where it came from."""

    data: dict[str, Any]
    file: str
    line: int
    node: yaml.Node | None = None
    default_namespace: str | None = None

    @cached_property
    def kind(self) -> str:
        value = self.data.get("kind")
        return value if isinstance(value, str) else ""

    @cached_property
    def api_version(self) -> str:
        value = self.data.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def group(self) -> str:
        api = self.api_version
        return api.split("/", 1)[0] if "/" in api else ""

    @cached_property
    def metadata(self) -> dict[str, Any]:
        value = self.data.get("metadata")
        return value if isinstance(value, dict) else {}

    @cached_property
    def name(self) -> str:
        value = self.metadata.get("name") or self.metadata.get("generateName")
        return str(value) if value is not None else ""

    @cached_property
    def declared_namespace(self) -> str | None:
        value = self.metadata.get("namespace")
        return str(value) if value else None

    @cached_property
    def namespace(self) -> str | None:
        return self.declared_namespace or self.default_namespace

    @cached_property
    def labels(self) -> dict[str, Any]:
        value = self.metadata.get("labels")
        return value if isinstance(value, dict) else {}

    @cached_property
    def annotations(self) -> dict[str, Any]:
        value = self.metadata.get("annotations")
        return value if isinstance(value, dict) else {}

    @cached_property
    def key(self) -> tuple[str, str, str]:
        return (self.namespace or "", self.kind, self.name)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    def get(self, *path: str | int, default: Any = None) -> Any:
        return dig(self.data, path, default)

    def spec(self) -> dict[str, Any]:
        return self._spec

    @cached_property
    def _spec(self) -> dict[str, Any]:
        value = self.data.get("spec")
        return value if isinstance(value, dict) else {}

    # -- pod templates ------------------------------------------------------------------
    @property
    def pod_spec_path(self) -> tuple[str, ...] | None:
        return POD_TEMPLATE_PATHS.get(self.kind)

    @cached_property
    def pod_spec(self) -> dict[str, Any] | None:
        path = self.pod_spec_path
        if path is None:
            return None
        value = dig(self.data, path)
        return value if isinstance(value, dict) else None

    @cached_property
    def pod_metadata(self) -> dict[str, Any]:
        path = self.pod_spec_path
        if path is None:
            return {}
        if self.kind == "Pod":
            return self.metadata
        value = dig(self.data, (*path[:-1], "metadata"))
        return value if isinstance(value, dict) else {}

    @cached_property
    def pod_labels(self) -> dict[str, Any]:
        value = self.pod_metadata.get("labels")
        return value if isinstance(value, dict) else {}

    @cached_property
    def pod_annotations(self) -> dict[str, Any]:
        value = self.pod_metadata.get("annotations")
        return value if isinstance(value, dict) else {}

    def containers(self, *, init: bool = True) -> list[tuple[dict[str, Any], tuple[str | int, ...]]]:
        """(container, path) of each container of the pod template; init containers first."""
        return self._all_containers if init else self._main_containers

    @cached_property
    def _all_containers(self) -> list[tuple[dict[str, Any], tuple[str | int, ...]]]:
        return self._collect_containers(CONTAINER_LISTS)

    @cached_property
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

    @cached_property
    def _lines(self) -> dict[tuple[str | int, ...], int]:
        return {}

    def _walk(self, path: tuple[str | int, ...]) -> int:
        node = self.node
        line = self.line
        if node is None:
            return line
        for part in path:
            nxt: yaml.Node | None = None
            if node.__class__ is _MappingNode:
                wanted = str(part)
                for key_node, value_node in node.value:
                    if key_node.__class__ is _ScalarNode and key_node.value == wanted:
                        nxt = value_node
                        line = key_node.start_mark.line + 1
                        break
            elif node.__class__ is _SequenceNode and isinstance(part, int) and 0 <= part < len(node.value):
                nxt = node.value[part]
                line = nxt.start_mark.line + 1
            if nxt is None:
                break
            node = nxt
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


# -- reading files --------------------------------------------------------------------------
def find_manifest_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files.extend(Path(root) / n for n in sorted(names) if n.endswith(MANIFEST_SUFFIXES))
        else:
            files.append(path)
    return files


def read_manifest_file(
    path: Path, *, display: str | None = None, max_bytes: int, default_namespace: str | None = None
) -> tuple[list[ManifestObject], list[ParseFinding]]:
    name = display or str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return [], [ParseFinding(name, f"cannot read the file: {exc.strerror or exc}", "unreadable")]
    if size > max_bytes:
        return [], [
            ParseFinding(
                name,
                f"file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB (analyze.max_file_mb): not read",
                "too_large",
            )
        ]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [ParseFinding(name, f"cannot read the file: {exc.strerror or exc}", "unreadable")]
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        return [], [ParseFinding(name, f"not a text file (binary content at byte {nul})", "not_text", line)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return [], [ParseFinding(name, f"not valid UTF-8 text (byte {exc.start})", "not_text", line)]
    return parse_manifest_text(text, file=name, default_namespace=default_namespace)


def parse_manifest_text(
    text: str, *, file: str, default_namespace: str | None = None
) -> tuple[list[ManifestObject], list[ParseFinding]]:
    """Parse a (multi-document) YAML text into objects and findings. Never raises."""
    objects: list[ManifestObject] = []
    findings: list[ParseFinding] = []
    loader = _Loader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    break
                node = loader.get_node()
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                problem = exc.problem or exc.context or "invalid YAML"
                findings.append(
                    ParseFinding(
                        file,
                        f"not valid YAML: {problem}",
                        "yaml",
                        mark.line + 1 if mark else None,
                        mark.column + 1 if mark else None,
                    )
                )
                break
            except yaml.YAMLError as exc:
                findings.append(ParseFinding(file, f"not valid YAML: {exc}", "yaml"))
                break
            if node is None:
                continue
            line = node.start_mark.line + 1
            try:
                data = _construct(loader, node)
            except _DuplicateKey as dup:
                findings.append(
                    ParseFinding(
                        file,
                        f"duplicate key {dup.key!r} (first at line {dup.first_line}); "
                        "the API server would keep only one of them",
                        "duplicate_key",
                        dup.line,
                        dup.column,
                    )
                )
                data = None
                # Keep going with the last value so the rest of the object is still checked.
                loader_data = _construct_lenient(loader, node)
                if isinstance(loader_data, dict):
                    data = loader_data
            except (yaml.YAMLError, ValueError, TypeError) as exc:
                findings.append(ParseFinding(file, f"not valid YAML: {exc}", "yaml", line))
                continue
            if data is None:
                continue
            _collect(data, node, file, line, objects, findings, default_namespace)
    finally:
        loader.dispose()
    return objects, findings


def _construct_lenient(loader: Any, node: yaml.Node) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        return None


def _yaml_type(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _collect(
    data: Any,
    node: yaml.Node,
    file: str,
    line: int,
    objects: list[ManifestObject],
    findings: list[ParseFinding],
    default_namespace: str | None,
) -> None:
    if not isinstance(data, dict):
        findings.append(
            ParseFinding(
                file,
                f"expected a Kubernetes object (a mapping with apiVersion, kind, metadata), found {_yaml_type(data)}",
                "not_mapping",
                line,
            )
        )
        return
    kind = data.get("kind")
    items = data.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        items_node = _child(node, "items")
        for index, item in enumerate(items):
            item_node = items_node.value[index] if isinstance(items_node, yaml.SequenceNode) else None
            item_line = item_node.start_mark.line + 1 if item_node is not None else line
            _collect(item, item_node or node, file, item_line, objects, findings, default_namespace)
        return
    missing = [
        f
        for f, ok in (
            ("apiVersion", isinstance(data.get("apiVersion"), str) and data.get("apiVersion")),
            ("kind", isinstance(kind, str) and kind),
            (
                "metadata.name",
                isinstance(data.get("metadata"), dict)
                and (data["metadata"].get("name") or data["metadata"].get("generateName")),
            ),
        )
        if not ok
    ]
    obj = ManifestObject(data=data, file=file, line=line, node=node, default_namespace=default_namespace)
    if missing:
        findings.append(
            ParseFinding(
                file,
                "missing required field(s): " + ", ".join(missing),
                "missing_field",
                line,
                object=f"{kind or '?'}/{obj.name or '?'}",
            )
        )
    if isinstance(kind, str) and kind in NOT_CLUSTER_OBJECTS:
        return
    objects.append(obj)


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found: yaml.Node = value_node
                return found
    return None


# -- selectors ------------------------------------------------------------------------------
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


@dataclass
class Bundle:
    """Every object of the release's manifests, the parse findings, and lookups across objects."""

    objects: list[ManifestObject] = field(default_factory=list)
    findings: list[ParseFinding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    source: str | None = None  # the folder (or files) read

    @cached_property
    def by_kind(self) -> dict[str, list[ManifestObject]]:
        index: dict[str, list[ManifestObject]] = {}
        for obj in self.objects:
            index.setdefault(obj.kind, []).append(obj)
        return index

    def of_kind(self, *kinds: str) -> list[ManifestObject]:
        if len(kinds) == 1:
            return self.by_kind.get(kinds[0], [])
        return [obj for kind in kinds for obj in self.by_kind.get(kind, [])]

    @cached_property
    def workloads(self) -> list[ManifestObject]:
        return [obj for obj in self.objects if obj.kind in POD_TEMPLATE_PATHS and obj.pod_spec is not None]

    @cached_property
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

    @cached_property
    def _ns_cache(self) -> dict[str, dict[str | None, list[ManifestObject]]]:
        return {}

    @cached_property
    def _memo(self) -> dict[tuple[Any, ...], list[ManifestObject]]:
        return {}

    def find(self, kind: str, name: str, namespace: str | None) -> ManifestObject | None:
        return self._index.get((kind, namespace or None, name))

    def pods_selected(self, selector: Any, namespace: str | None) -> list[ManifestObject]:
        """Workloads in ``namespace`` whose pod template labels match ``selector``."""
        key = ("sel", id(selector), namespace or None)
        cached = self._selected.get(key)
        if cached is not None and cached[0] is selector:
            return cached[1]
        found = [
            w
            for w in self._in_namespace("*workloads").get(namespace or None, [])
            if selector_matches(selector, w.pod_labels)
        ]
        # The selector itself is kept with the result, so a recycled id() can never alias another one.
        self._selected[key] = (selector, found)
        return found

    @cached_property
    def _selected(self) -> dict[tuple[Any, ...], tuple[Any, list[ManifestObject]]]:
        return {}

    def services_selecting(self, workload: ManifestObject) -> list[ManifestObject]:
        key = ("svc", id(workload))
        found = self._memo.get(key)
        if found is None:
            found = []
            for svc in self._in_namespace("Service").get(workload.namespace or None, []):
                selector = svc.spec().get("selector")
                if selector and selector_matches(selector, workload.pod_labels):
                    found.append(svc)
            self._memo[key] = found
        return found

    @cached_property
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
                for pdb in self._in_namespace("PodDisruptionBudget").get(workload.namespace or None, [])
                if selector_matches(pdb.spec().get("selector"), workload.pod_labels)
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
        for policy in self._in_namespace("NetworkPolicy").get(workload.namespace or None, []):
            spec = policy.spec()
            if not selector_matches(
                spec.get("podSelector", {}) if "podSelector" in spec else None, workload.pod_labels
            ):
                continue
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


def load_bundle(
    paths: Iterable[str | Path],
    *,
    max_file_mb: float = 10.0,
    default_namespace: str | None = None,
    relative_to: Path | None = None,
) -> Bundle:
    """Read every manifest file under ``paths`` into a :class:`Bundle` (never raises on bad input)."""
    bundle = Bundle()
    paths = list(paths)
    bundle.source = ", ".join(str(p) for p in paths)
    max_bytes = int(max_file_mb * 1024 * 1024)
    with paused_gc():
        _read_into(bundle, paths, max_bytes=max_bytes, default_namespace=default_namespace, relative_to=relative_to)
    return bundle


def _read_into(
    bundle: Bundle,
    paths: Sequence[str | Path],
    *,
    max_bytes: int,
    default_namespace: str | None,
    relative_to: Path | None,
) -> None:
    for path in find_manifest_files(paths):
        display = str(path)
        if relative_to is not None:
            try:
                display = str(path.resolve().relative_to(relative_to.resolve()))
            except ValueError:
                display = str(path)
        bundle.files.append(display)
        objects, findings = read_manifest_file(
            path, display=display, max_bytes=max_bytes, default_namespace=default_namespace
        )
        bundle.objects.extend(objects)
        bundle.findings.extend(findings)
