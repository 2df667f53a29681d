"""A kubeconfig file checked as kubectl reads it, before the ``kubernetes`` package loads it.

kubectl decodes a kubeconfig into client-go's ``clientcmd/api/v1`` types (the "kubeconfig (v1)"
reference: https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/), through JSON: a field
of another type than the reference's ends kubectl with ``json: cannot unmarshal bool into Go struct
field Cluster.clusters.cluster.server of type string``; a ``null`` is the field's zero value and a
field the reference does not name is ignored. The ``kubernetes`` package instead walks the parsed
YAML with ``.get`` and ``in`` and raised ``TypeError``/``AttributeError`` (or PyYAML's errors for a
file that is not YAML) out of bmad. This module refuses the same files kubectl refuses, as one
:class:`~bmad.core.errors.ConfigError` with the file, line, column and field; a file bmad cannot
read is left to the loader, which says so. Values are never quoted in a message (a kubeconfig holds
tokens and keys).
"""

from __future__ import annotations

import datetime
import stat
from pathlib import Path
from typing import Any

from bmad.config.yaml_marks import Marks, dotted, parse_yaml_with_marks
from bmad.core.errors import ConfigError

Shape = Any  # type | list[Shape] (a list of) | dict[str, Shape] (an object) | _Texts (a text-to-text map)

TEXT = str
FLAG = bool


class _Texts:
    """``map[string]string`` (an auth-provider's ``config``)."""


_EXEC: dict[str, Shape] = {
    "command": TEXT,
    "args": [TEXT],
    "env": [{"name": TEXT, "value": TEXT}],
    "apiVersion": TEXT,
    "installHint": TEXT,
    "provideClusterInfo": FLAG,
    "interactiveMode": TEXT,
}
_CLUSTER: dict[str, Shape] = {
    "server": TEXT,
    "tls-server-name": TEXT,
    "insecure-skip-tls-verify": FLAG,
    "certificate-authority": TEXT,
    "certificate-authority-data": TEXT,
    "proxy-url": TEXT,
    "disable-compression": FLAG,
}
_USER: dict[str, Shape] = {
    "client-certificate": TEXT,
    "client-certificate-data": TEXT,
    "client-key": TEXT,
    "client-key-data": TEXT,
    "token": TEXT,
    "tokenFile": TEXT,
    "as": TEXT,
    "as-uid": TEXT,
    "as-groups": [TEXT],
    "username": TEXT,
    "password": TEXT,
    "auth-provider": {"name": TEXT, "config": _Texts},
    "exec": _EXEC,
}
_CONTEXT: dict[str, Shape] = {"cluster": TEXT, "user": TEXT, "namespace": TEXT}
KUBECONFIG: dict[str, Shape] = {
    "apiVersion": TEXT,
    "kind": TEXT,
    "current-context": TEXT,
    "preferences": {},
    "clusters": [{"name": TEXT, "cluster": _CLUSTER}],
    "users": [{"name": TEXT, "user": _USER}],
    "contexts": [{"name": TEXT, "context": _CONTEXT}],
}


def check_kubeconfig_file(path: str) -> None:
    """Raise :class:`ConfigError` where kubectl would refuse ``path``; nothing for a file not read here."""
    file = Path(path)
    try:
        regular = stat.S_ISREG(file.stat().st_mode)
    except OSError:
        return  # missing: the loader's own error names it
    if not regular:  # a FIFO's open waits for a writer; a pipe cannot be read twice, as the loader does
        raise ConfigError(
            "a kubeconfig must be a regular file (a pipe or device cannot be read as kubectl's loader reads it)",
            file=path,
            hint="write it to a file first, e.g. with mktemp, and point KUBECONFIG there",
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return  # unreadable: the loader's own error names it
    data, marks = parse_yaml_with_marks(text, source=path)  # YAML errors, alias bombs: file, line, column
    _check(data, KUBECONFIG, (), marks, path)


def _check(value: Any, shape: Shape, at: tuple[str | int, ...], marks: Marks, path: str) -> None:
    if value is None:
        return  # JSON null: the field's zero value, as kubectl reads it
    if shape is TEXT:
        if not isinstance(value, str | datetime.date):  # a YAML timestamp is a text once in JSON
            _refuse("a text", value, at, marks, path)
    elif shape is FLAG:
        if not isinstance(value, bool):
            _refuse("true or false", value, at, marks, path)
    elif shape is _Texts:
        if not isinstance(value, dict):
            _refuse("a mapping of texts", value, at, marks, path)
        for key, inner in value.items():
            _check(inner, TEXT, (*at, str(key)), marks, path)
    elif isinstance(shape, list):
        if not isinstance(value, list):
            _refuse("a list", value, at, marks, path)
        for index, inner in enumerate(value):
            _check(inner, shape[0], (*at, index), marks, path)
    elif not isinstance(value, dict):
        _refuse("a mapping", value, at, marks, path)
    else:
        for key, inner_shape in shape.items():
            if key in value:
                _check(value[key], inner_shape, (*at, key), marks, path)


_KINDS = {bool: "true/false", int: "a number", float: "a number", str: "a text", list: "a list", dict: "a mapping"}


def _refuse(expected: str, value: Any, at: tuple[str | int, ...], marks: Marks, path: str) -> None:
    line, column = marks.get(at, (None, None))
    found = _KINDS.get(type(value), type(value).__name__)
    raise ConfigError(
        f"expected {expected}, found {found} (kubectl refuses this file too)",
        file=path,
        line=line,
        column=column,
        field=dotted(at) or "(the file)",
        hint="the fields and their types: https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/",
    )
