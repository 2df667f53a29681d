"""Read manifest files into a :class:`Bundle`: find the files, parse each (multi-document) text
into objects with their lines, and turn every problem into a :class:`ParseFinding`, never an error."""

from __future__ import annotations

import os
import pickle
import stat
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from bmad.core import aside
from bmad.core.errors import ConfigError
from bmad.core.escapes import encodable
from bmad.core.yaml_limits import MAX_DEPTH, check_flow_depth, check_node_graph, may_have_aliases, yaml_problem
from bmad.phases.analyze.manifest_yaml import (
    DuplicateKey,
    FastLoader,
    construct_lenient,
    construct_plain,
    yaml_type_name,
)
from bmad.phases.analyze.manifests import (
    MANIFEST_SUFFIXES,
    NOT_CLUSTER_API_GROUPS,
    NOT_CLUSTER_FILES,
    NOT_CLUSTER_OBJECTS,
    Bundle,
    LineTree,
    ManifestObject,
    ParseFinding,
    line_tree,
    paused_gc,
)

# From this many bytes of manifests (about 450 objects) a forked child parses the last files while this
# process parses the first ones (bmad.core.aside). It saved ~48 ms of the 1.1 MB corpus; a child costs a
# fork (~2 ms) and the pages this process writes after it (each copied once): below half a megabyte
# the saving shrinks toward that cost (not measured there), so a smaller bundle is parsed here alone.
ASIDE_BYTES = 512 * 1024
# The child's share of the bytes: it also turns its objects' nodes into line trees and pickles them,
# and this process unpickles them, so an even split would leave this one waiting.
CHILD_SHARE = 0.42
# How long this process waits for the child's objects, at least and as a multiple of its own parse
# time; past it the child is killed and its files parsed here (a hung child costs time, not results).
CHILD_WAIT_MIN_S = 10.0
CHILD_WAIT_FACTOR = 5.0


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
        found = path.stat()
    except OSError as exc:
        return [], [ParseFinding(name, f"cannot read the file: {exc.strerror or exc}", "unreadable")]
    if not stat.S_ISREG(found.st_mode):  # a FIFO would block the read, /dev/zero never end it
        return [], [ParseFinding(name, "not a regular file (a FIFO, device or socket): not read", "unreadable")]
    size = found.st_size
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
    try:
        check_flow_depth(text, source=file)
    except ConfigError as refused:
        return [], [ParseFinding(file, f"not valid YAML: {refused.reason}", "yaml", refused.line)]
    loader = FastLoader(text)
    aliases = may_have_aliases(text)
    after_last = 0  # where the text of the document before this one ends (a character index)
    try:
        while True:
            node, problem = _next_node(loader, file)
            if problem is not None:
                findings.append(problem)
            if node is _END:
                break
            if node is None:
                continue
            line = node.start_mark.line + 1
            # Anchors belong to their document (an alias names one of its own document's): only a
            # document whose text holds an anchor is walked, not every document of a file with one.
            document_start, after_last = after_last, node.end_mark.index
            if aliases and text.find("&", document_start, after_last) != -1:
                try:
                    check_node_graph(node, source=file)  # an alias bomb is refused before it expands
                except ConfigError as refused:
                    findings.append(ParseFinding(file, f"not valid YAML: {refused.reason}", "yaml", refused.line))
                    continue
            try:
                data = construct_plain(loader, node)
            except DuplicateKey as dup:
                findings.append(_duplicate_key_finding(file, dup))
                # Keep going with the last value so the rest of the object is still checked.
                try:
                    lenient = construct_lenient(loader, node)
                except yaml.YAMLError as exc:  # something else is wrong with it too: said, and it is left out
                    findings.append(_yaml_finding(file, exc, line))
                    lenient = None
                data = lenient if isinstance(lenient, dict) else None
            except (yaml.YAMLError, ValueError, TypeError) as exc:
                findings.append(_yaml_finding(file, exc, line))
                continue
            except RecursionError:
                findings.append(
                    ParseFinding(file, f"not valid YAML: nests deeper than {MAX_DEPTH} levels", "yaml", line)
                )
                continue
            if data is None:
                continue
            _collect(data, node, file, line, objects, findings, default_namespace)
    finally:
        loader.dispose()
    return objects, findings


_END = object()  # no further document (or one that does not parse: the rest of the file is lost)


def _next_node(loader: Any, file: str) -> tuple[Any, ParseFinding | None]:
    """The next document's node (None for an empty one), or ``_END`` with the reason it stopped."""
    try:
        return (loader.get_node() if loader.check_node() else _END), None
    except yaml.YAMLError as exc:
        return _END, _yaml_finding(file, exc, None)
    except RecursionError:
        return _END, ParseFinding(file, f"not valid YAML: nests deeper than {MAX_DEPTH} levels", "yaml")


def _yaml_finding(file: str, exc: Exception, line: int | None) -> ParseFinding:
    """A YAML error as a finding: at the problem's line and column when PyYAML marked it (a scalar its
    tag does not fit, a merge of a non-mapping), else at ``line`` (the document's start)."""
    if isinstance(exc, yaml.MarkedYAMLError) and (mark := exc.problem_mark or exc.context_mark) is not None:
        return ParseFinding(file, f"not valid YAML: {yaml_problem(exc)}", "yaml", mark.line + 1, mark.column + 1)
    return ParseFinding(file, f"not valid YAML: {exc}", "yaml", line)


def _duplicate_key_finding(file: str, dup: DuplicateKey) -> ParseFinding:
    return ParseFinding(
        file,
        f"duplicate key {dup.key!r} (first at line {dup.first_line}); the API server would keep only one of them",
        "duplicate_key",
        dup.line,
        dup.column,
    )


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
                "expected a Kubernetes object (a mapping with apiVersion, kind, metadata), "
                f"found {yaml_type_name(data)}",
                "not_mapping",
                line,
            )
        )
        return
    kind = data.get("kind")
    items = data.get("items")
    if isinstance(kind, str) and kind.endswith("List") and (items is None or isinstance(items, list)):
        items_node = _child(node, "items")
        for index, item in enumerate(items or []):  # an empty List (items: [] or no items) holds nothing
            item_node = items_node.value[index] if isinstance(items_node, yaml.SequenceNode) else None
            item_line = item_node.start_mark.line + 1 if item_node is not None else line
            _collect(item, item_node or node, file, item_line, objects, findings, default_namespace)
        return
    if not_cluster_object(data, file):
        return
    obj = ManifestObject(data=data, file=file, line=line, node=node, default_namespace=default_namespace)
    missing = _missing_fields(data)
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
    objects.append(obj)


def _missing_fields(data: dict[str, Any]) -> list[str]:
    metadata = data.get("metadata")
    present = (
        ("apiVersion", isinstance(data.get("apiVersion"), str) and bool(data.get("apiVersion"))),
        ("kind", isinstance(data.get("kind"), str) and bool(data.get("kind"))),
        ("metadata.name", isinstance(metadata, dict) and bool(metadata.get("name") or metadata.get("generateName"))),
    )
    return [name for name, ok in present if not ok]


def not_cluster_object(data: dict[str, Any], file: str) -> bool:
    """Files beside the manifests that never reach a cluster: kustomize's Kustomization/Component, KRM
    function configs, Helm's Chart.yaml and values files, skaffold.yaml."""
    kind, api = data.get("kind"), data.get("apiVersion")
    if isinstance(kind, str) and kind in NOT_CLUSTER_OBJECTS:
        return True
    if isinstance(api, str) and api.split("/", 1)[0] in NOT_CLUSTER_API_GROUPS:
        return True
    name = file.replace("\\", "/").rsplit("/", 1)[-1]
    return name in NOT_CLUSTER_FILES or (name.startswith("values") and kind is None)


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found: yaml.Node = value_node
                return found
    return None


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
    base = relative_to.resolve() if relative_to is not None else None
    files = [(path, _display(path, base)) for path in find_manifest_files(paths)]
    split = _child_share_starts(files)
    child = None
    if split < len(files):
        theirs = files[split:]
        child = aside.start_returning(lambda: _parsed_elsewhere(theirs, max_bytes, default_namespace))
    mine = files[:split] if child is not None else files
    started = time.monotonic()
    for path, display in mine:
        _read_one(bundle, path, display, max_bytes, default_namespace)
    if child is not None:
        waited = max(CHILD_WAIT_MIN_S, CHILD_WAIT_FACTOR * (time.monotonic() - started))
        _add_parsed_elsewhere(bundle, child.result(waited), files[split:], max_bytes, default_namespace)


def _read_one(bundle: Bundle, path: Path, display: str, max_bytes: int, default_namespace: str | None) -> None:
    bundle.files.append(display)
    objects, findings = read_manifest_file(
        path, display=display, max_bytes=max_bytes, default_namespace=default_namespace
    )
    bundle.objects.extend(objects)
    bundle.findings.extend(findings)


def _display(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return encodable(path.resolve().relative_to(base))
        except ValueError:
            pass
    return encodable(path)


def _child_share_starts(files: Sequence[tuple[Path, str]]) -> int:
    """Where the files a child parses begin: the last :data:`CHILD_SHARE` of the bytes, when the
    bundle holds :data:`ASIDE_BYTES` or more (else ``len(files)``: none)."""
    sizes = []
    for path, _ in files:
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            sizes.append(0)  # read_manifest_file says why, in whichever process reads it
    total = sum(sizes)
    if total < ASIDE_BYTES or len(files) < 2 or not aside.enabled():
        return len(files)
    left = total * CHILD_SHARE
    split = len(files)
    while split > 1 and left >= sizes[split - 1]:
        split -= 1
        left -= sizes[split]
    return split


# What a child hands back for each of its files, in order: objects as (data, file, line, line tree,
# default namespace), and the findings.
_Parsed = list[tuple[list[tuple[dict[str, Any], str, int, LineTree, str | None]], list[ParseFinding]]]


def _parsed_elsewhere(files: Sequence[tuple[Path, str]], max_bytes: int, default_namespace: str | None) -> bytes:
    """In the child: its files' objects and findings, pickled (a node tree does not travel; its lines do)."""
    parsed: _Parsed = []
    for path, display in files:
        objects, findings = read_manifest_file(
            path, display=display, max_bytes=max_bytes, default_namespace=default_namespace
        )
        sent = [(o.data, o.file, o.line, line_tree(o.node) if o.node is not None else None, o.default_namespace)
                for o in objects]  # fmt: skip
        parsed.append((sent, findings))
    return pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)


def _add_parsed_elsewhere(
    bundle: Bundle,
    sent: bytes | None,
    files: Sequence[tuple[Path, str]],
    max_bytes: int,
    default_namespace: str | None,
) -> None:
    """The child's files, in order: as it parsed them, or parsed here when it handed nothing back."""
    parsed: _Parsed | None = pickle.loads(sent) if sent is not None else None  # noqa: S301 - our own child's bytes
    for index, (path, display) in enumerate(files):
        if parsed is None:
            _read_one(bundle, path, display, max_bytes, default_namespace)
            continue
        bundle.files.append(display)
        sent_objects, findings = parsed[index]
        bundle.objects.extend(
            ManifestObject(data=data, file=file, line=line, lines=lines, default_namespace=namespace)
            for data, file, line, lines, namespace in sent_objects
        )
        bundle.findings.extend(findings)
