"""``@datatype``: a stdlib dataclass whose methods are shared, not compiled per class.

``@dataclass`` writes the source of ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` and, when
frozen, ``__setattr__``/``__delattr__`` for each class and compiles it: ~0.5 ms a class, ~0.1 s of
every command that imports a hundred of them. ``@datatype`` makes the same class a dataclass
without those methods (so ``fields``, ``asdict``, ``replace`` and ``__match_args__`` work as
before) and gives it generic ones that read a per-class plan built on first use. Instances behave
as with ``@dataclass``: same arguments, defaults, errors, ``repr`` text, equality and hash.

The shared ``__init__`` is ~1.5x slower than a compiled one, so a class built often gets its own:
once :data:`COMPILE_AFTER` instances of it have been made, its ``__init__`` is written and compiled
for its fields (~0.2 ms, once), as ``@dataclass`` would have written it at import, for every class.
A class whose fields need ``setattr`` (a property or slot of the same name, a ``__setattr__`` of
its own) or a field named ``self`` keeps the shared one.

Not supported (keep ``@dataclass``): ``order=True``, ``slots=True``, a plain ``@dataclass`` deriving
from a frozen ``@datatype``. ``__dataclass_params__`` shows what ``@dataclass`` itself was asked for
(no ``__init__``, ``__repr__``, ``__eq__``; not frozen).
"""

import dataclasses
import operator
import re
import reprlib
import types
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")
_MISSING: Any = dataclasses.MISSING
# how @dataclass marks the pseudo-fields of InitVar and ClassVar annotations (private, stable since 3.7)
_INITVAR: object = getattr(dataclasses, "_FIELD_INITVAR")  # noqa: B009
_CLASSVAR: object = getattr(dataclasses, "_FIELD_CLASSVAR")  # noqa: B009


@overload
def datatype(cls: type[_T], /) -> type[_T]: ...


@overload
def datatype(
    *, frozen: bool = False, kw_only: bool = False, eq: bool = True, repr: bool = True, unsafe_hash: bool = False
) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def datatype(
    cls: type[_T] | None = None,
    /,
    *,
    frozen: bool = False,
    kw_only: bool = False,
    eq: bool = True,
    repr: bool = True,
    unsafe_hash: bool = False,
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """``cls`` as ``@dataclass(...)`` with the same arguments would make it, with shared methods."""

    def wrap(cls: type[_T]) -> type[_T]:
        return _make_datatype(cls, _Options(frozen, kw_only, eq, repr, unsafe_hash))

    return wrap if cls is None else wrap(cls)


class _Options:
    __slots__ = ("eq", "frozen", "kw_only", "repr", "unsafe_hash")

    def __init__(self, frozen: bool, kw_only: bool, eq: bool, repr: bool, unsafe_hash: bool) -> None:
        self.frozen, self.kw_only, self.eq, self.repr, self.unsafe_hash = frozen, kw_only, eq, repr, unsafe_hash


def _make_datatype(cls: type[_T], options: _Options) -> type[_T]:
    own = dict(cls.__dict__)
    frozen_by_dataclass = _check_bases(cls, options.frozen)
    write_doc = cls.__doc__ is None
    if write_doc:  # else @dataclass calls inspect.signature on an __init__ that is not yet there
        cls.__doc__ = "-"
    _fields_of(cls, frozen_by_dataclass, options.kw_only)
    fields = list(getattr(cls, "__dataclass_fields__").values())  # noqa: B009
    init_order = _init_order(fields)
    if write_doc:
        cls.__doc__ = _docstring(cls.__name__, init_order)
    _PLANS.pop(cls, None)
    _FROZEN[cls] = options.frozen
    if "__init__" not in own:
        setattr(cls, "__init__", _init)  # noqa: B010
    if options.repr and "__repr__" not in own:
        setattr(cls, "__repr__", _repr)  # noqa: B010
    if options.eq and "__eq__" not in own:
        setattr(cls, "__eq__", _eq)  # noqa: B010
    if options.frozen and not frozen_by_dataclass:
        for name, method in (("__setattr__", _frozen_setattr), ("__delattr__", _frozen_delattr)):
            if name in own:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
            setattr(cls, name, method)
    _set_hash(cls, own, options)
    return cls


class _Plain:
    """What a plain field's text annotation is while @dataclass looks at the class (see :func:`_fields_of`)."""


_PLAIN = _Plain()
_SPECIAL_NAMES = ("ClassVar", "InitVar", "KW_ONLY")


def _fields_of(cls: type, frozen: bool, kw_only: bool) -> None:
    """``cls`` made a dataclass without methods: its ``__dataclass_fields__``, defaults and helpers.

    @dataclass asks three times of each text annotation (the module's ``from __future__ import
    annotations`` makes them all texts) whether it names ``ClassVar``, ``InitVar`` or ``KW_ONLY``,
    each time matching a regex and looking names up in the module: most of its cost. An annotation
    whose text holds none of those names is shown to it as a plain object meanwhile, and given back
    after (each field's ``type`` is its text, as @dataclass sets it). So, unlike @dataclass, a field
    annotated with another name bound to one of them (``CV = ClassVar``; ``x: CV[int]``) is a plain field."""
    annotations = cls.__dict__.get("__annotations__") or {}  # noqa: RUF063 - changed in place: not a copy
    plain = {
        name: text
        for name, text in annotations.items()
        if text.__class__ is str and not any(special in text for special in _SPECIAL_NAMES)
    }
    for name in plain:
        annotations[name] = _PLAIN
    try:
        dataclasses.dataclass(init=False, repr=False, eq=False, frozen=frozen, kw_only=kw_only)(cls)
    finally:
        annotations.update(plain)
    fields = cls.__dict__.get("__dataclass_fields__", {})
    for name, text in plain.items():
        if name in fields:
            fields[name].type = text


def _check_bases(cls: type, frozen: bool) -> bool:
    """Refuse what @dataclass refuses (a frozen and a non-frozen class in one line); True when a base is
    a frozen ``@dataclass`` (then ``cls`` keeps the frozen methods @dataclass gives it)."""
    bases = [base for base in cls.__mro__[1:] if "__dataclass_fields__" in base.__dict__]
    if bases:
        any_frozen = any(_FROZEN.get(base, base.__dict__["__dataclass_params__"].frozen) for base in bases)
        if any_frozen and not frozen:
            raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
        if not any_frozen and frozen:
            raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
    return any(base not in _FROZEN and base.__dict__["__dataclass_params__"].frozen for base in bases)


def _init_order(fields: Iterable[dataclasses.Field[Any]]) -> list[dataclasses.Field[Any]]:
    """The fields ``__init__`` takes, in its order (keyword-only last); refuse a required one after a default."""
    taken = [field for field in fields if field.init and _kind(field) is not _CLASSVAR]
    positional = [field for field in taken if not field.kw_only]
    seen_default = False
    for field in positional:
        if field.default is _MISSING and field.default_factory is _MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {field.name!r} follows default argument")
        else:
            seen_default = True
    return positional + [field for field in taken if field.kw_only]


def format_annotation(annotation: Any) -> str:
    """An annotation as ``inspect.formatannotation`` writes it in a signature (typing's names lose
    their ``typing.`` prefix, a builtin class is its bare name, another class is module-qualified,
    a string annotation is its repr); here so that ``inspect`` is not imported for a docstring."""
    if getattr(annotation, "__module__", None) == "typing":
        return re.sub(r"[\w\.]+", lambda m: m.group(0).removeprefix("typing."), repr(annotation))
    if isinstance(annotation, types.GenericAlias):
        return str(annotation)
    if isinstance(annotation, type):
        if annotation.__module__ == "builtins":
            return annotation.__qualname__
        return f"{annotation.__module__}.{annotation.__qualname__}"
    return repr(annotation)


def _docstring(name: str, init_order: list[dataclasses.Field[Any]]) -> str:
    """What @dataclass writes for a class without a docstring: its name and its ``__init__`` signature."""
    shown: list[str] = []
    for field in init_order:
        if field.kw_only and "*" not in shown:
            shown.append("*")
        text = f"{field.name}: {format_annotation(field.type)}"
        if field.default_factory is not _MISSING:
            text += " = <factory>"
        elif field.default is not _MISSING:
            text += f" = {field.default!r}"
        shown.append(text)
    return f"{name}({', '.join(shown)})"


class _Plan:
    """What the shared methods need to know about one class, built from its fields on first use."""

    __slots__ = (
        "calls",
        "compared",
        "direct",
        "factories",
        "frozen",
        "hashed",
        "initvars",
        "keyword_only",
        "names",
        "positional",
        "post_init",
        "required",
        "shown",
        "template",
    )

    def __init__(self, cls: type) -> None:
        fields = [f for f in getattr(cls, "__dataclass_fields__").values() if _kind(f) is not _CLASSVAR]  # noqa: B009
        order = _init_order(fields)
        self.positional = tuple(field.name for field in order if not field.kw_only)
        self.keyword_only = tuple(field.name for field in order if field.kw_only)
        self.names = frozenset(field.name for field in order)
        self.required = tuple(f.name for f in order if f.default is _MISSING and f.default_factory is _MISSING)
        set_by_init = [field for field in fields if field.init or field.default_factory is not _MISSING]
        # what __init__ starts from, in field order: each default, or a marker for a factory or a required value
        self.template = {field.name: _start_value(field) for field in set_by_init}
        self.factories = tuple((f.name, f.default_factory) for f in set_by_init if f.default_factory is not _MISSING)
        self.initvars = tuple(field.name for field in fields if _kind(field) is _INITVAR)
        self.post_init = hasattr(cls, "__post_init__")
        self.frozen = frozen = next((_FROZEN[base] for base in cls.__mro__ if base in _FROZEN), False)
        plain_setattr = frozen or getattr(cls, "__setattr__") is object.__setattr__  # noqa: B009
        # True: the values may go straight into the instance's __dict__ (no descriptor or __setattr__ to run)
        self.direct = plain_setattr and cls.__dictoffset__ != 0 and not any(_is_descriptor(cls, f.name) for f in fields)
        data = [field for field in fields if _kind(field) is not _INITVAR]
        self.shown = tuple(field.name for field in data if field.repr)
        self.compared = _getter(tuple(field.name for field in data if field.compare))
        self.hashed = _getter(tuple(f.name for f in data if (f.compare if f.hash is None else f.hash)))
        self.calls = 0  # instances made by the shared __init__ (see COMPILE_AFTER)


_REQUIRED: Any = object()  # __init__'s marker of a value the caller must give
_FACTORY: Any = object()  # __init__'s marker of a value its default factory makes


def _kind(field: dataclasses.Field[Any]) -> object:
    return getattr(field, "_field_type")  # noqa: B009


def _start_value(field: dataclasses.Field[Any]) -> Any:
    if field.default_factory is not _MISSING:
        return _FACTORY
    return _REQUIRED if field.default is _MISSING else field.default


def _is_descriptor(cls: type, name: str) -> bool:
    """Whether ``name`` is a data descriptor (a property, a slot) that assigning it must go through."""
    for base in cls.__mro__:
        if name in base.__dict__:
            kind = type(base.__dict__[name])
            return hasattr(kind, "__set__") or hasattr(kind, "__delete__")
    return False


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the tuple of these attributes of its argument (attrgetter, always a tuple)."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        single = operator.attrgetter(names[0])
        return lambda value: (single(value),)
    return lambda value: ()


_PLANS: dict[type, _Plan] = {}
_FROZEN: dict[type, bool] = {}  # each @datatype class: whether it is frozen


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _Plan(cls)
    return plan


COMPILE_AFTER = 64  # instances made by the shared __init__ before a class gets a compiled one


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    plan = _PLANS.get(cls) or _plan(cls)
    plan.calls += 1
    if plan.calls >= COMPILE_AFTER and cls.__dict__.get("__init__") is _init:
        compiled = _compiled_init(cls, plan)
        if compiled is not None:
            cls.__init__ = compiled  # this class's own, as @dataclass sets it
            compiled(self, *args, **kwargs)
            return
        plan.calls = -(1 << 62)  # not compilable: never asked again
    state = plan.template.copy()
    state.update(zip(plan.positional, args, strict=False))  # too many: refused below
    if kwargs:
        if not plan.names.issuperset(kwargs) or (args and not kwargs.keys().isdisjoint(plan.positional[: len(args)])):
            raise _call_error(type(self), plan, args, kwargs)
        state.update(kwargs)  # a key keeps its place: the instance's __dict__ stays in field order
    if len(args) > len(plan.positional) or any(state[name] is _REQUIRED for name in plan.required):
        raise _call_error(type(self), plan, args, kwargs)
    for name, factory in plan.factories:
        if state[name] is _FACTORY:
            state[name] = factory()
    passed_on = [state.pop(name) for name in plan.initvars] if plan.initvars else ()
    if plan.direct:
        self.__dict__.update(state)
    else:
        set_field = object.__setattr__ if plan.frozen else setattr
        for name, value in state.items():
            set_field(self, name, value)
    if plan.post_init:
        self.__post_init__(*passed_on)


_COMPILED: dict[str, types.CodeType] = {}  # each __init__ source compiled so far (classes of one shape share it)


def _compiled_init(cls: type, plan: _Plan) -> Callable[..., None] | None:
    """``cls``'s own ``__init__``: what :func:`_init` does for it, written for its fields and compiled.

    Python itself then checks the arguments (the same signature, so the same errors). None when the
    values must go through ``setattr`` or a field is named ``self``."""
    fields = getattr(cls, "__dataclass_fields__")  # noqa: B009
    if not plan.direct or "self" in fields:
        return None
    params = [*plan.positional, *(["*"] if plan.keyword_only else []), *plan.keyword_only]
    namespace: dict[str, Any] = {"__datatype_factory__": _FACTORY}
    body = ["    __datatype_dict__ = self.__dict__"]
    factories = dict(plan.factories)
    for name, start in plan.template.items():  # field order, as the shared __init__ fills __dict__
        if name in plan.initvars:
            continue  # passed on to __post_init__, not kept
        value = name if fields[name].init else f"__datatype_make_{name}__()"
        if start is _FACTORY:
            namespace[f"__datatype_make_{name}__"] = factories[name]
            if fields[name].init:
                value = f"(__datatype_make_{name}__() if {name} is __datatype_factory__ else {name})"
        body.append(f"    __datatype_dict__[{name!r}] = {value}")
    if plan.post_init:
        body.append(f"    self.__post_init__({''.join(f'{n}, ' for n in plan.initvars)})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    code = _COMPILED.get(source)
    if code is None:
        code = _COMPILED[source] = compile(source, f"<datatype {cls.__qualname__}>", "exec")
    made: dict[str, Any] = {}
    exec(code, namespace, made)  # noqa: S102 - the source is written above from field names only
    function = made["__init__"]
    template = plan.template
    function.__defaults__ = tuple(template[n] for n in plan.positional if template[n] is not _REQUIRED) or None
    function.__kwdefaults__ = {n: template[n] for n in plan.keyword_only if template[n] is not _REQUIRED} or None
    function.__qualname__ = f"{cls.__qualname__}.__init__"
    function.__module__ = cls.__module__
    return function  # type: ignore[no-any-return]


def _call_error(cls: type, plan: _Plan, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TypeError:
    """The TypeError Python raises for a compiled ``__init__`` called so, checked in Python's order."""
    where = f"{cls.__qualname__}.__init__()"
    given = plan.positional[: len(args)]
    for key in kwargs:
        if key not in plan.names:
            return TypeError(f"{where} got an unexpected keyword argument {key!r}")
        if key in given:
            return TypeError(f"{where} got multiple values for argument {key!r}")
    if len(args) > len(plan.positional):
        return TypeError(f"{where} takes {_too_many(plan, len(args), kwargs)}")
    missing = [name for name in plan.positional if name in plan.required and name not in given and name not in kwargs]
    kind = "positional"
    if not missing:
        missing, kind = (
            [name for name in plan.keyword_only if name in plan.required and name not in kwargs],
            "keyword-only",
        )
    quoted = [repr(name) for name in missing]
    listed = " and ".join(quoted) if len(quoted) < 3 else ", ".join(quoted[:-1]) + ", and " + quoted[-1]
    return TypeError(f"{where} missing {len(missing)} required {kind} argument{'s' * (len(missing) > 1)}: {listed}")


def _too_many(plan: _Plan, count: int, kwargs: dict[str, Any]) -> str:
    """``N positional arguments but M were given``, counting ``self`` as Python does."""
    takes = len(plan.positional) + 1
    with_default = sum(name not in plan.required for name in plan.positional)
    if with_default:
        allowed, plural = f"from {takes - with_default} to {takes}", True
    else:
        allowed, plural = str(takes), takes != 1
    keyword_given = sum(name in kwargs for name in plan.keyword_only)
    given = f"{count + 1}"
    if keyword_given:
        given += f" positional argument{'s' * (count + 1 != 1)} (and {keyword_given} keyword-only argument"
        given += f"{'s' * (keyword_given != 1)})"
    return f"{allowed} positional argument{'s' * plural} but {given} were given"


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in (_PLANS.get(type(self)) or _plan(type(self))).shown)
    return f"{self.__class__.__qualname__}({shown})"


def _eq(self: Any, other: object) -> Any:  # bool, or NotImplemented
    if other.__class__ is self.__class__:
        compared = (_PLANS.get(type(self)) or _plan(type(self))).compared
        return compared(self) == compared(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash((_PLANS.get(type(self)) or _plan(type(self))).hashed(self))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    cls = type(self)
    if "__dataclass_fields__" in cls.__dict__ or name in getattr(cls, "__dataclass_fields__"):  # noqa: B009
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    super(_owner(cls, "__setattr__"), self).__setattr__(name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    cls = type(self)
    if "__dataclass_fields__" in cls.__dict__ or name in getattr(cls, "__dataclass_fields__"):  # noqa: B009
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
    super(_owner(cls, "__delattr__"), self).__delattr__(name)


def _owner(cls: type, name: str) -> Any:
    """The frozen datatype a plain subclass ``cls`` inherits ``name`` from."""
    return next(base for base in cls.__mro__ if base.__dict__.get(name) in (_frozen_setattr, _frozen_delattr))


def _set_hash(cls: type, own: dict[str, Any], options: _Options) -> None:
    """``__hash__`` as @dataclass decides it from unsafe_hash, eq, frozen and a hash written in the class."""
    own_hash = own.get("__hash__", _MISSING)
    explicit = not (own_hash is _MISSING or (own_hash is None and "__eq__" in own))
    if options.unsafe_hash:
        if explicit:
            raise TypeError(f"Cannot overwrite attribute __hash__ in class {cls.__name__}")
    elif not options.eq or explicit:
        return
    elif not options.frozen:
        setattr(cls, "__hash__", None)  # noqa: B010
        return
    setattr(cls, "__hash__", _hash)  # noqa: B010
