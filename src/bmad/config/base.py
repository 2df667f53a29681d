"""Shared base of every config type: frozen stdlib dataclasses, declared without importing pydantic.

A config type is a ``@config_model`` class deriving from :class:`Model`; each field is declared once
with :func:`setting` (default, description, constraints such as ``ge=1`` or ``min_length=3``, and an
optional ``check`` function). Building these classes is cheap, so a command that finds its config in
the cache (:mod:`bmad.config.cache`) never imports pydantic. When a file must be validated,
:mod:`bmad.config.validate` hands these same classes to pydantic: unknown keys are errors, the
constraints and checks apply, and every error keeps its field path for file:line.
"""

import dataclasses
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, TypeVar, dataclass_transform

from bmad.core.errors import ConfigError
from bmad.core.files import UnreadableFile, read_bounded
from bmad.core.redact import register_secret

ModelT = TypeVar("ModelT", bound=type)
MAX_SECRET_FILE_BYTES = 1024 * 1024  # a token, a password, a PEM chain: far below this


def setting(
    *,
    default: Any = dataclasses.MISSING,
    default_factory: Callable[[], Any] | None = None,
    description: str = "",
    check: Callable[[Any], Any] | None = None,
    **constraints: Any,
) -> Any:
    """One field of a config type: its default, its description, pydantic constraints and a ``check``.

    ``check`` takes the validated value and returns it (possibly normalised) or raises ValueError; it
    runs only when a file is validated. A list or mapping default is copied for each instance.
    """
    metadata: dict[str, Any] = {"description": description, **constraints}
    if check is not None:
        metadata["check"] = check
    if isinstance(default, list | dict):
        default_factory, default = _copier(default), dataclasses.MISSING
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _copier(value: list[Any] | dict[Any, Any]) -> Callable[[], Any]:
    return lambda: value.copy()


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(setting,))
def config_model(cls: ModelT) -> ModelT:
    """``cls`` as a frozen, keyword-only dataclass (a config type).

    Its ``__init__``, ``__eq__``, ``__hash__``, ``__repr__`` and the refusal to assign are :class:`Model`'s,
    shared by every config type: generating them per class (what ``@dataclass`` does, by compiling
    source) cost ~0.5 ms a class, i.e. most of the import of the config.
    """
    if cls.__doc__ is None:  # else @dataclass writes one from inspect.signature (slow, and says nothing)
        cls.__doc__ = f"{cls.__name__}: settings of bmad.yaml."
    dataclasses.dataclass(init=False, repr=False, eq=False, kw_only=True)(cls)  # the same class, made a dataclass
    return cls


_MISSING: Any = dataclasses.MISSING
# per config type: (name, default, default factory) of each field, in order
_InitPlan = tuple[tuple[str, Any, Any], ...]
_INIT_PLANS: dict[type, _InitPlan] = {}


def _init_plan(cls: type) -> _InitPlan:
    plan = _INIT_PLANS.get(cls)
    if plan is None:
        fields = dataclasses.fields(cls)
        plan = _INIT_PLANS[cls] = tuple((field.name, field.default, field.default_factory) for field in fields)
    return plan


class Model:
    """What every config type shares: the dataclass methods, unknown keys refused, cross-field checks."""

    # read by pydantic when it validates a file (a plain dict: ConfigDict is a TypedDict)
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    def __init__(self, **values: Any) -> None:
        name = type(self).__name__
        for field, default, factory in _init_plan(type(self)):
            if field in values:
                value = values.pop(field)
            elif factory is not _MISSING:
                value = factory()
            elif default is not _MISSING:
                value = default
            else:
                raise TypeError(f"{name}.__init__() missing 1 required keyword-only argument: {field!r}")
            object.__setattr__(self, field, value)
        if values:
            raise TypeError(f"{name}.__init__() got an unexpected keyword argument {next(iter(values))!r}")

    def _field_values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, field) for field, _, _ in _init_plan(type(self)))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Model)
        return self._field_values() == other._field_values()

    def __hash__(self) -> int:
        return hash(self._field_values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{field}={getattr(self, field)!r}" for field, _, _ in _init_plan(type(self)))
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from bmad.config.validate import model_schema  # pydantic only when a file is validated

        return model_schema(cls, source, handler)

    @classmethod
    def before_validation(cls, data: Any) -> Any:
        """The raw input, possibly refused (ValueError) before the fields are validated."""
        return data

    def after_validation(self) -> None:
        """Checks across fields, run after the fields are validated; raise ValueError to refuse."""

    @classmethod
    def help(cls, name: str) -> str:
        """The description of field ``name``: what ``bmad init`` writes beside it in the starter file."""
        fields = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
        description: str = fields[name].metadata.get("description", "")
        if not description:
            raise KeyError(f"{cls.__name__}.{name} has no description")
        return description


def config_json(value: Any) -> Any:
    """``value`` (a config type, or a value of one of its fields) as JSON data; excluded fields are left out."""
    if isinstance(value, Model):
        return {
            field.name: config_json(getattr(value, field.name))
            for field in dataclasses.fields(value)  # type: ignore[arg-type]
            if not field.metadata.get("exclude")
        }
    if isinstance(value, dict):
        return {str(key): config_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [config_json(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


class Check:
    """``Annotated[T, Check(function)]``: ``function`` checks (and may normalise) a value of type T."""

    __slots__ = ("function",)

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(self.function, handler(source))


@config_model
class SecretRef(Model):
    """Where a secret lives. The value itself is never written in ``bmad.yaml``.

    Exactly one of ``env`` (an environment variable name) or ``file`` (a path, relative to
    the config file) is given. :meth:`resolve` reads the value and registers it for redaction.
    """

    env: str | None = setting(default=None, description="the environment variable holding the secret")
    file: str | None = setting(default=None, description="the file holding the secret, relative to bmad.yaml")

    @classmethod
    def before_validation(cls, data: Any) -> Any:
        if isinstance(data, str):
            raise ValueError(
                "secret values are never written in bmad.yaml: use a reference such as "
                "{env: NAME} or {file: path/to/file}"
            )
        return data

    def after_validation(self) -> None:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")

    def describe(self) -> str:
        return f"env:{self.env}" if self.env else f"file:{self.file}"

    def resolve(self, base_dir: Path | None = None) -> str:
        """Read the secret value; raise ConfigError naming the reference (never the value)."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(
                    f"secret reference env:{self.env} is not set",
                    hint=f"export {self.env}=... in the environment that runs bmad",
                )
        else:
            assert self.file is not None
            path = Path(self.file)
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            try:
                value = read_bounded(path, MAX_SECRET_FILE_BYTES).decode("utf-8").strip()
            except UnreadableFile as refused:  # a device, or more than a secret holds: never read without end
                raise ConfigError(f"secret reference file:{self.file} is not read: {refused.reason}") from None
            except UnicodeDecodeError:
                raise ConfigError(f"secret reference file:{self.file} is not UTF-8 text") from None
            except OSError as exc:
                raise ConfigError(f"secret reference file:{self.file} cannot be read ({exc.strerror})") from None
        register_secret(value)
        return value
