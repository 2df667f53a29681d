"""Offline, strict schema validation of Kubernetes objects, fast.

Schemas are the JSON Schemas bundled in the ``kubernetes-validate`` wheel (one folder per
Kubernetes minor version, ``-strict`` variants with ``additionalProperties: false``). Calling
``kubernetes_validate.validate`` per object re-reads and re-resolves the schema each time
(≈ 6 ms per Deployment). Here each (apiVersion, kind) schema is turned once into a
self-contained document (only the definitions it reaches, descriptions dropped) and compiled
to Python code by ``fastjsonschema`` (≈ 40 µs per Deployment); the compiled code is cached
on disk as bytecode so later runs skip compilation. That cache is code: its files are owner-only
in an owner-only folder, and a file that is not (someone else could have written it) is never run.
A bundled schema's cache entry is keyed by its file's bytes and the definitions file it draws
from, so a cache hit neither reads the definitions (1.3 MB of JSON) nor builds the self-contained
document: that is built only when an object fails the fast check, for a ``jsonschema`` validator
that lists every error with its path.

Custom resources are validated against schemas registered with :meth:`add_custom_schema`
(from CRD objects in the bundle) or found in extra folders using kubeconform's layouts
``{kind}_{version}.json`` or ``{group}/{kind}_{version}.json``; otherwise they are
``skipped`` ("no schema"). An unknown kind of a built-in API group is ``unknown_kind``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import marshal
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bmad.core.digest import sha256
from bmad.core.errors import ConfigError
from bmad.core.files import read_owner_only, write_atomic
from bmad.ports.schemas import CustomSchema, SchemaError, SchemaOutcome

_REF_MARK = "#/$defs/"
# the version of the self-contained rewrite below: part of a bundled schema's cache key
_REWRITE = "self-contained/1"
_MAX_ERRORS = 20
# fastjsonschema names each nested value with ``"...[{data_x}]".format(**locals())``, computed on
# every call into a definition's function (one dict of locals each time); an f-string gives the
# same text from the same local names without building it. Part of the compiled code's cache key.
_NAMES_REWRITE = "f-string-names/1"
_FORMAT_LOCALS = re.compile(r'("(?:[^"\\\n]|\\.)*")\.format\(\*\*locals\(\)\)')
# The compiled code's one import of fastjsonschema is the exceptions it raises; the import is taken
# out and the names given from here (:class:`SchemaViolation`), so a cached validator runs without
# importing the package (its draft generators: ~5 ms of every ANALYZE). Part of the cache key.
_EXCEPTIONS_IMPORT = re.compile(
    r"^from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException$", re.M
)
# Its import of decimal (~1 ms) is taken out too: ``Decimal`` is given from here (:class:`_Decimal`).
_DECIMAL_IMPORT = re.compile(r"^from decimal import Decimal$", re.M)
_EXCEPTIONS_REWRITE = "own-exceptions/1;lazy-decimal/1"

FastFn = Callable[[Any], Any]


def bundled_schema_root() -> Path:
    """The schemas shipped with ``kubernetes_validate``, found without importing it (it loads jsonschema)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("No module named 'kubernetes_validate'", name="kubernetes_validate")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def bundled_versions() -> list[str]:
    """Kubernetes versions with bundled schemas, oldest first (e.g. ``1.30.0``)."""
    root = bundled_schema_root()
    found = set()
    for child in root.iterdir():
        match = re.match(r"^v(\d+\.\d+\.\d+)-local$", child.name)
        if match:
            found.add(match.group(1))
    return sorted(found, key=_version_key)


def resolve_version(requested: str) -> str:
    """The newest bundled schema version not newer than ``requested`` (``1.30`` -> ``1.30.0``)."""
    wanted = _version_key(requested.lstrip("v"))[:2]
    versions = bundled_versions()
    candidates = [v for v in versions if _version_key(v)[:2] <= wanted]
    if not versions or not candidates or wanted > _version_key(versions[-1])[:2]:
        raise ConfigError(
            f"no bundled Kubernetes schemas for version {requested}",
            field="analyze.kubernetes_version",
            hint=f"bundled: {versions[0]} ... {versions[-1]}" if versions else "install kubernetes-validate",
        )
    return candidates[-1]


def is_builtin_group(api_version: str) -> bool:
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    return "." not in group or group.endswith(".k8s.io")


def schema_file_name(api_version: str, kind: str) -> str:
    """kubernetes-validate's naming: ``rbac.authorization.k8s.io/v1`` + Role -> ``role-rbac-v1.json``."""
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{api}.json"


def _self_contained(schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    used: set[str] = set()
    queue: list[str] = []

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and _REF_MARK in value:
                    name = value.split(_REF_MARK, 1)[1]
                    if name not in used:
                        used.add(name)
                        queue.append(name)
                    out[key] = "#/definitions/" + name
                elif key in ("properties", "patternProperties") and isinstance(value, dict):
                    # Field names, not schema keywords: a field may be called "description" (PriorityClass).
                    out[key] = {field: rewrite(sub) for field, sub in value.items()}
                elif key in ("description", "$schema", "$id", "x-kubernetes-group-version-kind"):
                    continue
                else:
                    out[key] = rewrite(value)
            return out
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    root: dict[str, Any] = rewrite(schema)
    collected: dict[str, Any] = {}
    while queue:
        name = queue.pop()
        if name in definitions:
            collected[name] = rewrite(definitions[name])
    if collected:
        root["definitions"] = collected
    return root


class _Compiled:
    __slots__ = ("detail", "fast", "name", "schema_of")

    def __init__(self, name: str, schema_of: Callable[[], dict[str, Any]], fast: FastFn | None) -> None:
        self.name = name
        self.schema_of = schema_of  # the document, built when an error must be explained
        self.fast = fast
        self.detail: Any = None

    def errors(self, obj: Mapping[str, Any]) -> tuple[SchemaError, ...]:
        import jsonschema

        if self.detail is None:
            schema = self.schema_of()
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            self.detail = cls(schema)
        found = []
        for error in self.detail.iter_errors(obj):
            path = tuple(error.absolute_path)
            if error.validator == "additionalProperties":
                # Point at the unexpected key itself, not at the object holding it.
                extra = re.findall(r"'([^']+)' (?:was|were) unexpected", error.message) or re.findall(
                    r"\('([^']+)'", error.message
                )
                if extra:
                    path = (*path, extra[0])
            found.append(SchemaError(path, _short(error.message)))
            if len(found) >= _MAX_ERRORS:
                break
        found.sort(key=lambda e: [str(p) for p in e.path])
        return tuple(found)

    def validate(self, obj: Mapping[str, Any]) -> SchemaOutcome:
        if self.fast is not None:
            try:
                self.fast(obj)
                return SchemaOutcome("valid", schema=self.name)
            except Exception as exc:  # fastjsonschema's JsonSchemaValueException
                errors = self.errors(obj)
                if not errors:
                    errors = (SchemaError((), _short(str(exc))),)
                return SchemaOutcome("invalid", errors, schema=self.name)
        errors = self.errors(obj)
        return SchemaOutcome("invalid" if errors else "valid", errors, schema=self.name)


def _short(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."


class BundledSchemaValidator:
    """Implements :class:`bmad.ports.schemas.SchemaValidator` with the bundled schemas."""

    def __init__(
        self,
        kubernetes_version: str,
        *,
        strict: bool = True,
        extra_schema_dirs: Sequence[str | Path] = (),
        cache_dir: str | Path | None = None,
    ) -> None:
        self.requested_version = kubernetes_version
        self.kubernetes_version = resolve_version(kubernetes_version)
        self.strict = strict
        folder = f"v{self.kubernetes_version}-local" + ("-strict" if strict else "")
        self.schema_dir = bundled_schema_root() / folder
        self.extra_schema_dirs = [Path(p) for p in extra_schema_dirs]
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._definitions: dict[str, Any] | None = None
        self._compiled: dict[tuple[str, str], _Compiled | None] = {}
        self._custom: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.compiled_count = 0
        self.cache_hits = 0

    # -- public API -----------------------------------------------------------------------
    def add_custom_schema(self, schema: CustomSchema) -> None:
        with self._lock:
            self._custom[(schema.api_version, schema.kind)] = dict(schema.schema)
            self._compiled.pop((schema.api_version, schema.kind), None)

    def validate(self, obj: Mapping[str, Any]) -> SchemaOutcome:
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            return SchemaOutcome("invalid", (SchemaError((), "apiVersion and kind are required strings"),))
        key = (api_version, kind)
        compiled = self._compiled.get(key, _MISSING)
        if compiled is _MISSING:
            with self._lock:
                compiled = self._compiled.get(key, _MISSING)
                if compiled is _MISSING:
                    compiled = self._load(api_version, kind)
                    self._compiled[key] = compiled
        if compiled is None:
            if is_builtin_group(api_version) and (api_version, kind) not in self._custom:
                return SchemaOutcome(
                    "unknown_kind",
                    reason=f"Kubernetes {self.kubernetes_version} has no kind {kind} in {api_version}",
                )
            return SchemaOutcome("skipped", reason=f"no schema for {api_version} {kind}")
        assert isinstance(compiled, _Compiled)
        return compiled.validate(obj)

    # -- loading --------------------------------------------------------------------------
    def _definitions_doc(self) -> dict[str, Any]:
        if self._definitions is None:
            path = self.schema_dir / "_definitions.json"
            with path.open(encoding="utf-8") as fh:
                self._definitions = json.load(fh).get("$defs", {})
        return self._definitions

    def _load(self, api_version: str, kind: str) -> _Compiled | None:
        custom = self._custom.get((api_version, kind))
        if custom is not None:
            return _Compiled(f"custom:{api_version}/{kind}", _given(custom), self._compile(custom, None))
        if is_builtin_group(api_version):
            path = self.schema_dir / schema_file_name(api_version, kind)
            if path.is_file():
                raw = path.read_bytes()

                def build() -> dict[str, Any]:
                    # A built-in schema's apiVersion enum guards against e.g. apps/v1 vs extensions names.
                    return _self_contained(json.loads(raw), self._definitions_doc())

                schema_of = _once(build)
                return _Compiled(path.name, schema_of, self._compile_builtin(raw, schema_of, path))
        for path in self._extra_candidates(api_version, kind):
            if path.is_file():
                try:
                    with path.open(encoding="utf-8") as fh:
                        schema = json.load(fh)
                except (OSError, ValueError):
                    continue
                return _Compiled(str(path), _given(schema), self._compile(schema, path))
        return None

    def _compile_builtin(self, raw: bytes, schema_of: Callable[[], dict[str, Any]], path: Path) -> FastFn | None:
        """A bundled schema's validator, cached under its file's bytes and its definitions file."""
        definitions = self.schema_dir / "_definitions.json"
        try:
            stat = definitions.stat()
        except OSError:
            return self._compile(schema_of(), path)
        key = sha256(raw)
        key.update(f"|{_REWRITE}|{definitions}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return self._compile(None, path, schema_of=schema_of, key=key)

    def _extra_candidates(self, api_version: str, kind: str) -> list[Path]:
        group, _, version = api_version.rpartition("/")
        names = [f"{kind.lower()}_{version}.json"]
        found = []
        for folder in self.extra_schema_dirs:
            if group:
                found.append(folder / group / names[0])
            found.extend(folder / n for n in names)
        return found

    def _compile(
        self,
        schema: dict[str, Any] | None,
        source: Path | None,
        *,
        schema_of: Callable[[], dict[str, Any]] | None = None,
        key: Any = None,
    ) -> FastFn | None:
        """``schema`` compiled (or ``schema_of()``'s, built only when the cache under ``key``, a
        sha256 of what the schema is made from, misses)."""
        generator = _fastjsonschema_version()
        if generator is None:  # pragma: no cover - optional speed-up
            return None
        cache_file = None
        if self.cache_dir is not None:
            digest = key or sha256(json.dumps(schema, sort_keys=True).encode())
            digest.update(f"|{generator}|{sys.version_info[:2]}|{_NAMES_REWRITE}|{_EXCEPTIONS_REWRITE}".encode())
            cache_file = self.cache_dir / f"{digest.hexdigest()[:32]}.bin"
            cached = _cached_validator(cache_file)
            if cached is not None:
                self.cache_hits += 1
                return cached
        if schema is None:
            assert schema_of is not None
            schema = schema_of()
        try:
            import fastjsonschema

            source_code = fastjsonschema.compile_to_code(schema, use_formats=False, detailed_exceptions=False)
            source_code = _FORMAT_LOCALS.sub(r"f\1", source_code)
            source_code = _EXCEPTIONS_IMPORT.sub("", source_code)
            source_code = _DECIMAL_IMPORT.sub("", source_code)
            code = compile(source_code, f"<schema {source.name if source else 'custom'}>", "exec")
        except Exception:
            return None  # the jsonschema path still validates
        self.compiled_count += 1
        if cache_file is not None:
            with contextlib.suppress(OSError):  # no cache: the next run compiles again
                write_atomic(cache_file, marshal.dumps(code), durable=False)
        return _validator_of(code)


def _cached_validator(cache_file: Path) -> FastFn | None:
    """The validator compiled into ``cache_file``; None when there is none, or when the file or its
    folder is not ours alone (the file is code: what someone else could have written is never run)."""
    data = read_owner_only(cache_file)
    if data is None:
        return None
    try:
        return _validator_of(marshal.loads(data))  # noqa: S302 - our own, owner-only cache file
    except Exception:  # a corrupt entry is a miss: compiled again and rewritten
        return None


class SchemaViolation(ValueError):
    """What a compiled validator raises where fastjsonschema's code raises ``JsonSchemaValueException``
    (the same arguments; only its text is read: the errors shown come from jsonschema)."""

    def __init__(
        self, message: str, value: Any = None, name: str | None = None, definition: Any = None, rule: str | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule


@functools.cache
def _fastjsonschema_version() -> str | None:
    """fastjsonschema's version, read from its ``version.py`` without importing the package (None
    when it is not installed); its ``VERSION`` when the file is not where it is read from. Read once a
    process: every kind's validator keys its cache entry with it."""
    spec = importlib.util.find_spec("fastjsonschema")
    if spec is None or spec.origin is None:
        return None
    try:
        return Path(spec.origin).with_name("version.py").read_text(encoding="utf-8").strip()
    except OSError:
        import fastjsonschema

        return str(fastjsonschema.VERSION)


def _validator_of(code: Any) -> FastFn:
    """The ``validate`` function that fastjsonschema's compiled module ``code`` defines."""
    namespace: dict[str, Any] = {
        "JsonSchemaValueException": SchemaViolation,
        "JsonSchemaValuesException": SchemaViolation,
        "Decimal": _Decimal,
    }
    exec(code, namespace)  # noqa: S102 - code generated by fastjsonschema from the schema
    fn: FastFn = namespace["validate"]
    return fn


class _DecimalOnDemand(type):
    """The type of :class:`_Decimal`: what the compiled code asks of ``Decimal``, without importing decimal."""

    def __instancecheck__(cls, value: object) -> bool:
        # a decimal.Decimal exists only once decimal is imported (YAML and JSON make none)
        module = sys.modules.get("decimal")
        return module is not None and isinstance(value, module.Decimal)

    def __call__(cls, *args: Any) -> Any:
        import decimal  # multipleOf with a fraction: the quotient is computed exactly

        return decimal.Decimal(*args)


class _Decimal(metaclass=_DecimalOnDemand):
    """``Decimal`` in a compiled validator: ``isinstance(x, Decimal)`` and ``Decimal(text)`` as with
    ``decimal.Decimal``, decimal imported only by a call."""


_MISSING: Any = object()


def _given(schema: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: schema


def _once(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """``build``, run on the first call only."""
    built: list[dict[str, Any]] = []

    def once() -> dict[str, Any]:
        if not built:
            built.append(build())
        return built[0]

    return once


class ServerDryRun:
    """Server-side dry-run (``dryRun=All``) of a bundle through a Kubernetes target's API client.

    ``api`` (or a callable returning it, so connecting waits until needed) is the target's JSON
    client (``request(method, path, query=, body=, content_type=)`` and
    ``object_path(apiVersion, kind, name, namespace)``): objects are sent as server-side apply
    patches with ``dryRun=All`` under DEPLOY's field manager and ``force`` setting, so admission,
    defaulting, validation and field conflicts are checked as DEPLOY will meet them, and nothing is
    stored. ``prepare`` turns the bundle into what DEPLOY will apply (image pinned by digest,
    namespaces filled in), object for object in the same order.

    A dry-run of an object whose namespace the bundle itself creates would get 404 (the
    Namespace's dry-run is not stored, kubernetes#83562), and so would a custom resource whose CRD
    comes with the bundle: those are not sent but listed in :attr:`deferred` with the reason
    ("server dry-run after the namespace exists"), unless ``scratch_namespace`` names an existing
    namespace to dry-run them in. ``creates_namespace``: DEPLOY creates the default namespace too
    (``create_namespace: true``) when it is missing.
    """

    def __init__(
        self,
        api: Any,
        *,
        namespace: str | Callable[[], str | None] | None = None,
        field_manager: str = "bmad",
        force: bool = False,
        prepare: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
        scratch_namespace: str | None = None,
        creates_namespace: bool = False,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.field_manager = field_manager
        self.force = force
        self.prepare = prepare
        self.scratch_namespace = scratch_namespace
        self.creates_namespace = creates_namespace
        self.deferred: list[tuple[int, str]] = []

    def dry_run(self, objects: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
        from bmad.core.errors import BmadError, Unreachable

        failures: list[tuple[int, str]] = []
        self.deferred = []
        api = self.api() if callable(self.api) else self.api
        default_ns = self.namespace() if callable(self.namespace) else self.namespace
        created = self._created_namespaces(api, objects, default_ns if self.creates_namespace else None)
        defined = _crd_kinds(objects)
        bodies = [dict(o) for o in objects]
        prepared = self.prepare(bodies) if self.prepare is not None else bodies
        for index, body in enumerate(prepared):
            meta = dict(body.get("metadata") or {})
            namespace = meta.get("namespace") or default_ns
            if (str(body.get("apiVersion")), str(body.get("kind"))) in defined:
                self.deferred.append((index, "server dry-run after the CRD is established"))
                continue
            if namespace in created and body.get("kind") != "Namespace":
                if not self.scratch_namespace:
                    self.deferred.append((index, "server dry-run after the namespace exists"))
                    continue
                namespace = self.scratch_namespace
            try:
                path = api.object_path(
                    str(body.get("apiVersion")), str(body.get("kind")), str(meta.get("name")), namespace
                )
                if namespace and meta.get("namespace"):
                    body["metadata"] = {**meta, "namespace": namespace}
                api.request("PATCH", path, query=self._query(), body=body, content_type="application/apply-patch+yaml")
            except Unreachable:
                raise
            except BmadError as exc:
                failures.append((index, str(exc)))
        return failures

    def _query(self) -> list[tuple[str, str]]:
        force = "true" if self.force else "false"
        return [("fieldManager", self.field_manager), ("force", force), ("dryRun", "All")]

    @staticmethod
    def _created_namespaces(api: Any, objects: Sequence[Mapping[str, Any]], also: str | None) -> set[str]:
        """Namespaces the bundle (or DEPLOY, ``also``) creates that do not exist yet."""
        names = {str((o.get("metadata") or {}).get("name")) for o in objects if o.get("kind") == "Namespace"}
        names |= {also} if also else set()
        missing = set()
        for name in names:
            try:
                found = api.request("GET", f"/api/v1/namespaces/{name}", missing_ok=True)
            except Exception:  # noqa: S112 - unreadable (403): the dry-run itself will tell
                continue
            if found is None:
                missing.add(name)
        return missing


def _crd_kinds(objects: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    kinds = set()
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            for version in spec.get("versions") or []:
                kinds.add((f"{spec.get('group')}/{version.get('name')}", str((spec.get("names") or {}).get("kind"))))
    return kinds
