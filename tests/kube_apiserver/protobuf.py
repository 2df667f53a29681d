"""Just enough of the Kubernetes protobuf encoding to read what kubectl's typed clients send.

kubectl's typed clients (``auth can-i``, ``create configmap|secret|namespace|serviceaccount``)
post SelfSubjectAccessReview, SelfSubjectRulesReview, ConfigMap, Secret, Namespace, ServiceAccount with
``Content-Type: application/vnd.kubernetes.protobuf``: the 4-byte magic ``k8s\\0`` and a
``runtime.Unknown`` envelope whose ``raw`` field holds the object ("Kubernetes Protobuf encoding",
https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding; field numbers from
k8s.io/api/authorization/v1/generated.proto, k8s.io/api/core/v1/generated.proto,
k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto). Other kinds in protobuf get 415. Answers go
back as JSON, which client-go decodes by the answer's Content-Type.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from .errors import ApiError

MAGIC = b"k8s\x00"
Message = dict[int, list[Any]]

_RESOURCE_ATTRIBUTES = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name"}
_NON_RESOURCE_ATTRIBUTES = {1: "path", 2: "verb"}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> Message:
    """Field number -> values (ints or bytes) of one protobuf message."""
    out: Message = {}
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.setdefault(number, []).append(value)
        elif wire == 2:
            length, pos = _varint(data, pos)
            out.setdefault(number, []).append(data[pos : pos + length])
            pos += length
        else:
            raise ApiError(415, "UnsupportedMediaType", f"unsupported protobuf wire type {wire}")
    return out


def _strings(message: Message, names: dict[int, str]) -> dict[str, str]:
    return {name: message[n][0].decode() for n, name in names.items() if n in message}


def decode_review(raw: bytes, kind_hint: str) -> dict[str, Any]:
    """A SelfSubjectAccessReview or SelfSubjectRulesReview as the dict its JSON form would give."""
    if not raw.startswith(MAGIC):
        raise ApiError(415, "UnsupportedMediaType", "protobuf body without the k8s magic prefix")
    envelope = fields(raw[len(MAGIC) :])
    obj = fields(envelope.get(2, [b""])[0])
    spec = fields(obj.get(2, [b""])[0])
    if kind_hint == "selfsubjectreviews":
        return {}
    if kind_hint == "selfsubjectrulesreviews":
        return {"spec": {"namespace": spec[1][0].decode() if 1 in spec else ""}}
    out: dict[str, Any] = {}
    if 1 in spec:
        out["resourceAttributes"] = _strings(fields(spec[1][0]), _RESOURCE_ATTRIBUTES)
    if 2 in spec:
        out["nonResourceAttributes"] = _strings(fields(spec[2][0]), _NON_RESOURCE_ATTRIBUTES)
    return {"spec": out}


_META_STRINGS = {1: "name", 2: "generateName", 3: "namespace"}
_META_MAPS = {11: "labels", 12: "annotations"}


def _string_map(entries: list[bytes], binary: bool = False) -> dict[str, str]:
    out = {}
    for entry in entries:
        pair = fields(entry)
        value = pair.get(2, [b""])[0]
        out[pair.get(1, [b""])[0].decode()] = base64.b64encode(value).decode() if binary else value.decode()
    return out


def _metadata(raw: bytes) -> dict[str, Any]:
    message = fields(raw)
    meta: dict[str, Any] = _strings(message, _META_STRINGS)
    for number, name in _META_MAPS.items():
        if number in message:
            meta[name] = _string_map(message[number])
    if 14 in message:
        meta["finalizers"] = [v.decode() for v in message[14]]
    return meta


def _configmap(obj: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if 2 in obj:
        out["data"] = _string_map(obj[2])
    if 3 in obj:
        out["binaryData"] = _string_map(obj[3], binary=True)
    return out


def _secret(obj: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if 2 in obj:
        out["data"] = _string_map(obj[2], binary=True)
    if 3 in obj:
        out["type"] = obj[3][0].decode()
    if 4 in obj:
        out["stringData"] = _string_map(obj[4])
    return out


_OBJECTS: dict[str, Callable[[Message], dict[str, Any]]] = {
    "configmaps": _configmap,
    "secrets": _secret,
    "namespaces": lambda obj: {},
    "serviceaccounts": lambda obj: {},
}


def decode(raw: bytes, plural: str) -> dict[str, Any]:
    """The JSON form of a protobuf request body for ``plural``; 415 for kinds not covered."""
    if plural in ("selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"):
        return decode_review(raw, plural)
    if plural not in _OBJECTS or not raw.startswith(MAGIC):
        raise ApiError(415, "UnsupportedMediaType", f"the stand-in does not decode protobuf bodies of {plural}")
    envelope = fields(raw[len(MAGIC) :])
    obj = fields(envelope.get(2, [b""])[0])
    return {"metadata": _metadata(obj.get(1, [b""])[0]), **_OBJECTS[plural](obj)}
