"""Read manifest files into a :class:`Bundle`: find the files, parse each (multi-document) text
into objects with their lines, and turn every problem into a :class:`ParseFinding`, never an error."""

from __future__ import annotations

import io
import logging
import os
import pickle
import stat
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypedDict

import yaml

from bmad.config.models import BmadConfig
from bmad.core import aside
from bmad.core.datatypes import datatype
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

# From this many bytes of manifests (about 450 objects) a forked child parses files too, both taking
# the next file from one queue (bmad.core.aside.share). A child costs a fork (~2 ms) and the pages this
# process writes after it (each copied once): below half a megabyte the saving shrinks toward that cost
# (not measured there), so a smaller bundle is parsed here alone.
ASIDE_BYTES = 512 * 1024


log = logging.getLogger("bmad.analyze")

MANIFEST_CANDIDATES = ("k8s", "kubernetes", "deploy/k8s", "manifests")  # looked for when none is configured


def manifests_folder(config: BmadConfig, environment: str) -> Path | None:
    """The folder of manifests ANALYZE reads for ``environment``: configured (``analyze.manifests``, or the
    Kubernetes target's ``manifests``), else the first of :data:`MANIFEST_CANDIDATES` there is."""
    target = config.environment(environment).target
    configured = config.analyze.manifests or getattr(target.kubernetes, "manifests", None)
    if configured:
        return config.resolve_path(configured)
    for name in MANIFEST_CANDIDATES:
        candidate = config.resolve_path(name)
        if candidate.is_dir():
            return candidate
    return None


class ReadOptions(TypedDict):
    """How ANALYZE reads its manifests folder (:func:`load_bundle`, :func:`start_early`): one place, so
    an early read and the phase's read always agree (else the early one is never claimed)."""

    max_file_mb: float
    default_namespace: str | None
    relative_to: Path | None


def read_options(config: BmadConfig) -> ReadOptions:
    settings = config.analyze
    return ReadOptions(
        max_file_mb=settings.max_file_mb, default_namespace=settings.default_namespace, relative_to=config.base_dir
    )


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
    listing = _Listing.of(paths, max_file_mb=max_file_mb, default_namespace=default_namespace, relative_to=relative_to)
    with paused_gc():
        _read_into(bundle, listing)
    return bundle


@datatype(frozen=True)
class _Listing:
    """What a bundle's read covers: its files (path, name shown, size and change time) and how each is read."""

    files: tuple[tuple[Path, str, int, int], ...]
    max_bytes: int
    default_namespace: str | None

    @classmethod
    def of(
        cls, paths: Iterable[str | Path], *, max_file_mb: float, default_namespace: str | None, relative_to: Path | None
    ) -> _Listing:
        base = relative_to.resolve() if relative_to is not None else None
        files = []
        for path in find_manifest_files(paths):
            try:
                found = path.stat()
                size, changed = found.st_size, found.st_mtime_ns
            except OSError:
                size = changed = -1  # read_manifest_file says why, in whichever process reads it
            files.append((path, _display(path, base), size, changed))
        return cls(tuple(files), int(max_file_mb * 1024 * 1024), default_namespace)

    def shared_reading(self) -> aside.Sharing | None:
        """A child that parses files too, from :data:`ASIDE_BYTES` of manifests (else None)."""
        if len(self.files) < 2 or sum(max(size, 0) for _, _, size, _ in self.files) < ASIDE_BYTES:
            return None
        return aside.share(range(len(self.files)), self._parsed_there)

    def read(self, number: int) -> tuple[list[ManifestObject], list[ParseFinding]]:
        path, display, _, _ = self.files[number]
        return read_manifest_file(
            path, display=display, max_bytes=self.max_bytes, default_namespace=self.default_namespace
        )

    def _parsed_there(self, numbers: Iterable[int]) -> bytes:
        """In the child: the objects and findings of each file it takes, pickled as it goes (one pickler,
        so a text repeated in many files is sent once; the last file's pickle is all that is left to do
        when the queue is empty): a stream of :data:`_Parsed` (a node tree does not travel; its lines do)."""
        stream = io.BytesIO()
        pickler = pickle.Pickler(stream, protocol=pickle.HIGHEST_PROTOCOL)
        with paused_gc():
            for number in numbers:
                objects, findings = self.read(number)
                sent = [(o.data, o.file, o.line, line_tree(o.node) if o.node is not None else None, o.default_namespace)
                        for o in objects]  # fmt: skip
                parsed: _Parsed = (number, sent, findings)
                pickler.dump(parsed)
        return stream.getvalue()


# What a child hands back for each file it parsed: its number, its objects as (data, file, line, line
# tree, default namespace), and its findings.
_Parsed = tuple[int, list[tuple[dict[str, Any], str, int, LineTree, str | None]], list[ParseFinding]]


def _parsed_elsewhere(sent: bytes | None) -> dict[int, _Parsed]:
    """The files a child parsed, by number (none when it handed nothing back)."""
    parsed: dict[int, _Parsed] = {}
    if sent is None:
        return parsed
    stream = io.BytesIO(sent)
    unpickler = pickle.Unpickler(stream)  # noqa: S301 - our own child's bytes; one, as it had one pickler
    while stream.tell() < len(sent):
        one: _Parsed = unpickler.load()
        parsed[one[0]] = one
    return parsed


def _read_into(bundle: Bundle, listing: _Listing) -> None:
    """Each file's objects and findings, in order: parsed here, or by a child (started early for this
    very listing, :func:`start_early`, or now for a large bundle) that takes files from the same queue."""
    sharing = _claim_early(listing) or listing.shared_reading()
    here: dict[int, tuple[list[ManifestObject], list[ParseFinding]]] = {}
    theirs: dict[int, _Parsed] = {}
    if sharing is not None:
        started = time.monotonic()
        for number in sharing.taken_here():
            here[number] = listing.read(number)
        theirs = _parsed_elsewhere(sharing.result(aside.patience(time.monotonic() - started)))  # past it: here
    for number, (_, display, _, _) in enumerate(listing.files):
        bundle.files.append(display)
        if number in theirs:
            _, sent_objects, findings = theirs[number]
            bundle.objects.extend(
                ManifestObject(data=data, file=file, line=line, lines=lines, default_namespace=namespace)
                for data, file, line, lines, namespace in sent_objects
            )
        else:
            objects, findings = here[number] if number in here else listing.read(number)
            bundle.objects.extend(objects)
        bundle.findings.extend(findings)


# A bundle's parse begun early (start_early) and not yet claimed by the phase that reads it.
_early: tuple[_Listing, aside.Sharing] | None = None
_early_lock = threading.Lock()


def start_early(
    paths: Iterable[str | Path],
    *,
    max_file_mb: float = 10.0,
    default_namespace: str | None = None,
    relative_to: Path | None = None,
) -> int | None:
    """Begin parsing a large bundle in a forked child now, before ANALYZE reads it (:func:`load_bundle`
    with the same arguments): the child takes files while bmad opens the ledger, checks the gate and
    imports the phase, and the phase takes the files left. The child's process id, or None when none
    was started (a small bundle, or work is not done aside here). A read with
    other files (one changed, added or gone since: sizes and change times are compared) or other
    settings stops it and parses as usual; :func:`stop_early` stops one that was not claimed."""
    global _early
    listing = _Listing.of(paths, max_file_mb=max_file_mb, default_namespace=default_namespace, relative_to=relative_to)
    sharing = listing.shared_reading()
    with _early_lock:
        previous, _early = _early, (listing, sharing) if sharing is not None else None
    if previous is not None:
        previous[1].stop()
    if sharing is None:
        return None
    log.debug("parsing %d manifest files early, in child %d", len(listing.files), sharing.pid)
    return sharing.pid


def stop_early() -> None:
    """Kill and reap a child :func:`start_early` started that no read claimed (the gate refused the phase)."""
    global _early
    with _early_lock:
        previous, _early = _early, None
    if previous is not None:
        previous[1].stop()


def _claim_early(listing: _Listing) -> aside.Sharing | None:
    """The child parsing this very listing since :func:`start_early`, if any."""
    global _early
    with _early_lock:
        early, _early = _early, None
    if early is None:
        return None
    if early[0] != listing:
        log.debug("the files changed since the early parse began: child %d stopped", early[1].pid)
        early[1].stop()
        return None
    log.debug("the early parse of child %d claimed", early[1].pid)
    return early[1]


def _display(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return encodable(path.resolve().relative_to(base))
        except ValueError:
            pass
    return encodable(path)
