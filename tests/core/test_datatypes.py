"""``@datatype`` classes behave as their ``@dataclass`` twins: arguments, errors, repr, eq, hash, helpers."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from typing import Any, ClassVar

import pytest

from bmad.core import datatypes
from bmad.core.datatypes import datatype

Decorator = Callable[[type], type]
BOTH: list[tuple[str, Callable[..., Decorator]]] = [("dataclass", dataclass), ("datatype", datatype)]


@pytest.fixture(autouse=True, params=["shared", "compiled"])
def init_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with the shared ``__init__`` and with one compiled for the class at its first instance."""
    if request.param == "compiled":
        monkeypatch.setattr(datatypes, "COMPILE_AFTER", 1)
    return str(request.param)


def twins(build: Callable[[Callable[..., Decorator]], type]) -> tuple[type, type]:
    """The same class body made by @dataclass and by @datatype (same name, so reprs and errors compare)."""
    return build(dataclass), build(datatype)


def outcome(call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> tuple[str, str]:
    """What a call gives: the repr of its value, or the type and text of its error."""
    try:
        return ("value", repr(call(*args, **kwargs)))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


def mixed(make: Callable[..., Decorator]) -> type:
    @make(frozen=True)
    class Mixed:
        a: int
        b: str
        c: str = "c"
        d: list[int] = field(default_factory=list)
        e: int = field(default=5, kw_only=True)
        f: int = field(kw_only=True, default=6, repr=False)
        g: int = field(default=0, init=False)
        h: list[str] = field(default_factory=lambda: ["h"], init=False, compare=False)
        k: ClassVar[int] = 9

    return Mixed


CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((1, "b"), {}),
    ((1,), {"b": "x", "e": 7}),
    ((), {"a": 1, "b": "b", "c": "cc", "d": [1], "e": 1, "f": 2}),
    ((), {}),
    ((1,), {}),
    ((1, "b", "c", [], 5), {}),
    ((1, "b", "c", [], 5, 6), {"e": 1}),
    ((1, "b", "c", [], 5), {"e": 1, "f": 2}),
    ((1,), {"a": 2, "b": "b"}),
    ((1, "b"), {"z": 1}),
    ((1, "b"), {"g": 1}),
    ((1, "b"), {"a": 1, "z": 1}),
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_init_takes_the_same_arguments_and_errors(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    stdlib, ours = twins(mixed)
    assert outcome(ours, *args, **kwargs) == outcome(stdlib, *args, **kwargs)


def test_missing_arguments_are_named_as_python_names_them() -> None:
    def build(make: Callable[..., Decorator]) -> type:
        @make
        class Many:
            a: int
            b: int
            c: int
            d: int = field(kw_only=True)
            e: int = field(kw_only=True)

        return Many

    stdlib, ours = twins(build)
    for args, kwargs in [
        ((), {}),
        ((1,), {}),
        ((1, 2), {}),
        ((1, 2, 3), {}),
        ((1, 2, 3), {"d": 1}),
        ((1, 2, 3, 4), {}),
    ]:
        assert outcome(ours, *args, **kwargs) == outcome(stdlib, *args, **kwargs)


def test_fields_defaults_and_helpers_agree() -> None:
    stdlib, ours = twins(mixed)
    a, b = stdlib(1, "b", e=2), ours(1, "b", e=2)
    assert vars(b) == vars(a) and list(vars(b)) == list(vars(a))
    assert dataclasses.asdict(b) == dataclasses.asdict(a)
    assert dataclasses.astuple(b) == dataclasses.astuple(a)
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(stdlib)]
    assert [f.type for f in dataclasses.fields(ours)] == [f.type for f in dataclasses.fields(stdlib)] == [
        "int", "str", "str", "list[int]", "int", "int", "int", "list[str]"
    ]  # fmt: skip
    assert ours.__annotations__ == stdlib.__annotations__
    assert ours.__match_args__ == stdlib.__match_args__
    assert ours.__doc__ == stdlib.__doc__
    assert repr(dataclasses.replace(b, a=3, e=4)) == repr(dataclasses.replace(a, a=3, e=4))
    assert outcome(dataclasses.replace, b, g=1) == outcome(dataclasses.replace, a, g=1)
    assert ours.c == "c" and ours.k == 9 and dataclasses.is_dataclass(b)
    assert b.d is not ours(1, "b").d  # a fresh list for each instance


def test_repr_eq_and_hash_agree() -> None:
    stdlib, ours = twins(mixed)
    assert repr(ours(1, "b")) == repr(stdlib(1, "b"))
    assert ours(1, "b") == ours(1, "b")
    assert ours(1, "b") != ours(2, "b")
    assert ours(1, "b") != stdlib(1, "b")  # another class is never equal
    changed = ours(1, "b")
    object.__setattr__(changed, "h", ["other"])  # compare=False: not compared, not hashed
    assert changed == ours(1, "b")
    plain_a, plain_b = stdlib(1, "b", [2]), ours(1, "b", [2])
    with pytest.raises(TypeError):  # a list field: unhashable, as with @dataclass
        hash(plain_b)
    with pytest.raises(TypeError):
        hash(plain_a)

    def build(make: Callable[..., Decorator]) -> type:
        @make(frozen=True)
        class Point:
            x: int
            label: str = field(default="", compare=False)
            weight: float = field(default=0.0, hash=False)

        return Point

    point_a, point_b = twins(build)
    assert hash(point_b(3, "p", 1.0)) == hash(point_a(3, "q", 2.0)) == hash((3,))


def test_a_recursive_repr_stops_as_dataclass_does() -> None:
    def build(make: Callable[..., Decorator]) -> type:
        @make
        class Node:
            items: list[Any]

        return Node

    stdlib, ours = twins(build)
    a, b = stdlib([]), ours([])
    a.items.append(a)
    b.items.append(b)
    assert repr(b) == repr(a) and repr(b).endswith("Node(items=[...])")


def test_frozen_instances_refuse_assignment_and_deletion() -> None:
    stdlib, ours = twins(mixed)
    for cls in (stdlib, ours):
        value = cls(1, "b")
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'a'"):
            value.a = 2
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'other'"):
            value.other = 2
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'a'"):
            del value.a


def test_a_plain_subclass_of_a_frozen_datatype_may_set_other_attributes() -> None:
    stdlib, ours = twins(mixed)
    for cls in (stdlib, ours):
        sub = type("Sub", (cls,), {})(1, "b")
        sub.note = "set"
        assert sub.note == "set"
        with pytest.raises(dataclasses.FrozenInstanceError):
            sub.a = 2


def test_mutable_datatypes_assign_and_are_not_hashable() -> None:
    def build(make: Callable[..., Decorator]) -> type:
        @make
        class Box:
            n: int = 0

        return Box

    stdlib, ours = twins(build)
    box = ours()
    box.n = 3
    assert box == ours(3) and repr(box) == repr(stdlib(3))
    assert ours.__hash__ is None and stdlib.__hash__ is None


def test_a_datatype_derives_from_a_datatype() -> None:
    def build(make: Callable[..., Decorator]) -> type:
        @make(frozen=True)
        class Base:
            a: int
            b: int = 2

        @make(frozen=True)
        class Child(Base):
            c: int = 3

            def __post_init__(self) -> None:
                object.__setattr__(self, "total", self.a + self.b + self.c)

        return Child

    stdlib, ours = twins(build)
    for args in [(1,), (1, 5, 6), ()]:
        assert outcome(ours, *args) == outcome(stdlib, *args)
    assert ours(1).total == 6  # type: ignore[attr-defined]
    assert ours.__doc__ == stdlib.__doc__


def test_frozen_and_mutable_do_not_mix_in_one_line() -> None:
    @datatype(frozen=True)
    class Frozen:
        a: int

    @datatype
    class Mutable:
        a: int

    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen one"):
        datatype(type("Child", (Frozen,), {}))
    with pytest.raises(TypeError, match="cannot inherit frozen dataclass from a non-frozen one"):
        datatype(frozen=True)(type("Child", (Mutable,), {}))


def test_a_required_field_after_a_default_is_refused() -> None:
    namespace = {"__annotations__": {"a": "int", "b": "int"}, "a": 1}
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        datatype(type("Bad", (), dict(namespace)))
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        dataclass(type("Bad", (), dict(namespace)))


def test_init_vars_reach_post_init() -> None:
    def build(make: Callable[..., Decorator]) -> type:
        @make(frozen=True)
        class Scaled:
            value: int
            factor: InitVar[int] = 2
            scaled: int = field(init=False, default=0)

            def __post_init__(self, factor: int) -> None:
                object.__setattr__(self, "scaled", self.value * factor)

        return Scaled

    stdlib, ours = twins(build)
    for args in [(3,), (3, 5)]:
        assert repr(ours(*args)) == repr(stdlib(*args))
        assert vars(ours(*args)) == vars(stdlib(*args))  # an InitVar is passed on, not kept
    assert [f.name for f in dataclasses.fields(ours)] == ["value", "scaled"]


def test_methods_written_in_the_class_are_kept() -> None:
    @datatype(frozen=True)
    class Own:
        a: int

        def __repr__(self) -> str:
            return "own"

        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return 7

    assert repr(Own(1)) == "own" and Own(1) == Own(2) and hash(Own(1)) == 7
    with pytest.raises(TypeError, match="Cannot overwrite attribute __setattr__ in class Own"):

        @datatype(frozen=True)
        class Own2:
            a: int

            def __setattr__(self, name: str, value: Any) -> None: ...


def test_unsafe_hash_and_eq_false_as_dataclass() -> None:
    def build(make: Callable[..., Decorator]) -> type:
        @make(unsafe_hash=True)
        class Loose:
            a: int

        return Loose

    stdlib, ours = twins(build)
    assert hash(ours(1)) == hash(stdlib(1))

    @datatype(eq=False)
    class Identity:
        a: int

    assert Identity(1) != Identity(1) and hash(Identity(1)) != hash(Identity(1))


def test_copies_and_pickles_like_dataclass() -> None:
    value = Picklable(1, ("x",))
    assert copy.copy(value) == value and copy.deepcopy(value) == value
    assert pickle.loads(pickle.dumps(value)) == value


@datatype(frozen=True)
class Picklable:
    a: int
    b: tuple[str, ...]


def test_annotations_are_written_as_inspect_writes_them() -> None:
    """The docstring of an undocumented class is written without importing ``inspect``: each kind
    of annotation comes out as ``inspect.formatannotation`` writes it."""
    import inspect
    import typing
    from pathlib import Path

    from bmad.core.datatypes import format_annotation

    for annotation in [
        int,
        str,
        Path,
        list[int],
        dict[str, Path],
        typing.Optional[int],  # noqa: UP045
        typing.Union[int, str],  # noqa: UP007
        typing.Any,
        typing.List[typing.Dict[str, int]],  # noqa: UP006
        int | None,
        "Forward",
        None,
        typing.Callable[[int], str],
        typing.Literal["a", 1],
        typing.ClassVar[int],
        tuple[int, ...],
    ]:
        assert format_annotation(annotation) == inspect.formatannotation(annotation), annotation


def test_the_command_line_does_not_import_inspect() -> None:
    """``bmad`` leaves ``inspect`` (with ast, dis, tokenize) unimported on the way to a phase: the
    stand-in of bmad.core.deferred_imports is still in its place after the import of every
    module a release run loads, and it hands over the real module on first use."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import bmad.cli.main, bmad.cli.release_run, bmad.engine.runner, bmad.engine.phase_run, bmad.reports.outputs\n"
        "import bmad.engine.records, bmad.ledger.store\n"
        "stand_in = sys.modules['inspect']\n"
        "print(type(stand_in).__name__, 'ast' in sys.modules)\n"
        "print(stand_in.signature(len) is not None, type(sys.modules['inspect']).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["_Deferred", "False", "True", "module"]


def test_a_class_built_often_gets_its_own_compiled_init(init_kind: str) -> None:
    stdlib, ours = twins(mixed)
    for _ in range(datatypes.COMPILE_AFTER - 1):
        ours(1, "b")
    assert ours.__dict__["__init__"] is datatypes._init
    made = ours(1, "b", d=[2], e=3)
    own = ours.__dict__["__init__"]
    assert own is not datatypes._init and own.__qualname__ == stdlib.__init__.__qualname__
    assert repr(made) == repr(stdlib(1, "b", d=[2], e=3)) and list(vars(made)) == list(vars(stdlib(1, "b")))
    assert ours(1, "b").d is not ours(1, "b").d and ours(1, "b").h == ["h"]
    for args, kwargs in CALLS:  # the compiled one now: Python checks the arguments
        assert outcome(ours, *args, **kwargs) == outcome(stdlib, *args, **kwargs)


def test_a_class_whose_fields_need_setattr_keeps_the_shared_init(init_kind: str) -> None:
    seen: list[str] = []

    @datatype
    class Watched:
        a: int
        b: int = 2

        def __setattr__(self, name: str, value: Any) -> None:
            seen.append(name)
            object.__setattr__(self, name, value)

    for _ in range(datatypes.COMPILE_AFTER + 1):
        Watched(1)
    assert Watched.__dict__["__init__"] is datatypes._init
    assert seen[-2:] == ["a", "b"] and Watched(5).a == 5


def test_the_own_init_of_a_plain_subclass_is_never_replaced(init_kind: str) -> None:
    @datatype(frozen=True)
    class Base:
        a: int

    class Sub(Base):
        def __init__(self, a: int) -> None:
            super().__init__(a * 2)

    for _ in range(datatypes.COMPILE_AFTER + 1):
        made = Sub(1)
    assert (
        made.a == 2
        and "__init__" in Sub.__dict__
        and Sub.__dict__["__init__"].__qualname__
        == "test_the_own_init_of_a_plain_subclass_is_never_replaced.<locals>.Sub.__init__"
    )


def test_kw_only_marker_and_text_annotations_as_dataclass(init_kind: str) -> None:
    def build(make: Callable[..., Decorator]) -> type:
        @make
        class Marked:
            a: int
            _: dataclasses.KW_ONLY
            b: int = 2
            c: dataclasses.InitVar[int] = 0
            d: ClassVar[str] = "d"

            def __post_init__(self, c: int) -> None:
                self.a += c

        return Marked

    stdlib, ours = twins(build)
    for args, kwargs in [((1,), {}), ((1,), {"b": 3, "c": 4}), ((1, 2), {})]:
        assert outcome(ours, *args, **kwargs) == outcome(stdlib, *args, **kwargs)
    assert [(f.name, f.type, f.kw_only) for f in dataclasses.fields(ours)] == [
        (f.name, f.type, f.kw_only) for f in dataclasses.fields(stdlib)
    ]


def test_a_refused_class_keeps_its_annotations(init_kind: str) -> None:
    namespace = {"__annotations__": {"a": "int", "b": "list[int]"}, "b": []}
    for make in (dataclass, datatype):
        made = type("Bad", (), {**namespace, "__annotations__": dict(namespace["__annotations__"])})
        assert outcome(make, made)[0] == "ValueError"
        assert made.__annotations__ == {"a": "int", "b": "list[int]"}
