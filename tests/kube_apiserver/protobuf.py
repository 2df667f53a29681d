"""Just enough of the Kubernetes protobuf encoding to read the review kinds kubectl sends as protobuf.

``kubectl auth can-i`` posts SelfSubjectAccessReview / SelfSubjectRulesReview with
``Content-Type: application/vnd.kubernetes.protobuf``: the 4-byte magic ``k8s\\0`` and a
``runtime.Unknown`` envelope whose ``raw`` field holds the object ("Kubernetes Protobuf encoding",
https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding; field numbers from
k8s.io/api/authorization/v1/generated.proto). Answers go back as JSON, which client-go decodes by
the answer's Content-Type.
"""

from __future__ import annotations

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
