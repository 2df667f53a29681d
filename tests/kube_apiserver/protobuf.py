"""Just enough of the Kubernetes protobuf encoding to read what kubectl's typed clients send.

kubectl's typed clients (``auth can-i``, ``create configmap|secret|namespace|serviceaccount|deployment|
job|service|role|rolebinding``, ``expose``, ``autoscale``) post their objects with
``Content-Type: application/vnd.kubernetes.protobuf``: the 4-byte magic ``k8s\\0`` and a
``runtime.Unknown`` envelope whose ``raw`` field holds the object ("Kubernetes Protobuf encoding",
https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding; field numbers from
k8s.io/api/authorization/v1/generated.proto, k8s.io/api/core/v1/generated.proto,
k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto). Other kinds in protobuf get 415. Answers go
back as JSON, which client-go decodes by the answer's Content-Type.
"""

from __future__ import annotations

import base64
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


# Field tables: message -> field number -> (JSON name, type, repeated). Types: "str", "int", "int0" (kept
# when 0, a pointer field), "bool", "map" (map<string,string>), "bytesmap" (base64 values), "intorstr",
# or another message. Numbers from k8s.io/api generated.proto, checked against what kubectl sends.
F = tuple[str, str, bool]
MESSAGES: dict[str, dict[int, F]] = {
    "ObjectMeta": {
        1: ("name", "str", False),
        2: ("generateName", "str", False),
        3: ("namespace", "str", False),
        11: ("labels", "map", False),
        12: ("annotations", "map", False),
        14: ("finalizers", "str", True),
    },
    "ConfigMap": {
        1: ("metadata", "ObjectMeta", False),
        2: ("data", "map", False),
        3: ("binaryData", "bytesmap", False),
    },
    "Secret": {
        1: ("metadata", "ObjectMeta", False),
        2: ("data", "bytesmap", False),
        3: ("type", "str", False),
        4: ("stringData", "map", False),
    },
    "Namespace": {1: ("metadata", "ObjectMeta", False)},
    "ServiceAccount": {1: ("metadata", "ObjectMeta", False)},
    "Deployment": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "DeploymentSpec", False)},
    "DeploymentSpec": {
        1: ("replicas", "int0", False),
        2: ("selector", "LabelSelector", False),
        3: ("template", "PodTemplateSpec", False),
        4: ("strategy", "DeploymentStrategy", False),
        5: ("minReadySeconds", "int", False),
        7: ("paused", "bool", False),
    },
    "DeploymentStrategy": {1: ("type", "str", False)},
    "LabelSelector": {1: ("matchLabels", "map", False)},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "PodSpec", False)},
    "PodSpec": {
        2: ("containers", "Container", True),
        3: ("restartPolicy", "str", False),
        6: ("dnsPolicy", "str", False),
        8: ("serviceAccountName", "str", False),
    },
    "Container": {
        1: ("name", "str", False),
        2: ("image", "str", False),
        3: ("command", "str", True),
        4: ("args", "str", True),
        5: ("workingDir", "str", False),
        6: ("ports", "ContainerPort", True),
        7: ("env", "EnvVar", True),
        14: ("imagePullPolicy", "str", False),
    },
    "ContainerPort": {
        1: ("name", "str", False),
        2: ("hostPort", "int", False),
        3: ("containerPort", "int", False),
        4: ("protocol", "str", False),
    },
    "EnvVar": {1: ("name", "str", False), 2: ("value", "str", False)},
    "Job": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "JobSpec", False)},
    "JobSpec": {6: ("template", "PodTemplateSpec", False)},
    "Service": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "ServiceSpec", False)},
    "ServiceSpec": {
        1: ("ports", "ServicePort", True),
        2: ("selector", "map", False),
        3: ("clusterIP", "str", False),
        4: ("type", "str", False),
    },
    "ServicePort": {
        1: ("name", "str", False),
        2: ("protocol", "str", False),
        3: ("port", "int", False),
        4: ("targetPort", "intorstr", False),
        5: ("nodePort", "int", False),
    },
    "Role": {1: ("metadata", "ObjectMeta", False), 2: ("rules", "PolicyRule", True)},
    "PolicyRule": {
        1: ("verbs", "str", True),
        2: ("apiGroups", "str", True),
        3: ("resources", "str", True),
        4: ("resourceNames", "str", True),
        5: ("nonResourceURLs", "str", True),
    },
    "RoleBinding": {
        1: ("metadata", "ObjectMeta", False),
        2: ("subjects", "Subject", True),
        3: ("roleRef", "RoleRef", False),
    },
    "Subject": {
        1: ("kind", "str", False),
        2: ("apiGroup", "str", False),
        3: ("name", "str", False),
        4: ("namespace", "str", False),
    },
    "RoleRef": {1: ("apiGroup", "str", False), 2: ("kind", "str", False), 3: ("name", "str", False)},
    "HorizontalPodAutoscaler": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "HPASpec", False)},
    "HPASpec": {
        1: ("scaleTargetRef", "TargetRef", False),
        2: ("minReplicas", "int0", False),
        3: ("maxReplicas", "int", False),
        4: ("metrics", "MetricSpec", True),
    },
    "TargetRef": {1: ("kind", "str", False), 2: ("name", "str", False), 3: ("apiVersion", "str", False)},
    "MetricSpec": {1: ("type", "str", False), 4: ("resource", "ResourceMetric", False)},
    "ResourceMetric": {1: ("name", "str", False), 2: ("target", "MetricTarget", False)},
    "MetricTarget": {1: ("type", "str", False), 4: ("averageUtilization", "int", False)},
}
_KINDS = {
    "configmaps": "ConfigMap",
    "secrets": "Secret",
    "namespaces": "Namespace",
    "serviceaccounts": "ServiceAccount",
    "deployments": "Deployment",
    "jobs": "Job",
    "services": "Service",
    "roles": "Role",
    "clusterroles": "Role",
    "rolebindings": "RoleBinding",
    "clusterrolebindings": "RoleBinding",
    "horizontalpodautoscalers": "HorizontalPodAutoscaler",
}


def _scalar(kind: str, value: Any) -> Any:
    if kind in ("str",):
        return value.decode()
    if kind in ("int", "int0"):
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == "bool":
        return bool(value)
    if kind in ("map", "bytesmap"):
        pair = fields(value)
        raw = pair.get(2, [b""])[0]
        return pair.get(1, [b""])[0].decode(), base64.b64encode(raw).decode() if kind == "bytesmap" else raw.decode()
    if kind == "intorstr":
        parts = fields(value)
        return parts[3][0].decode() if parts.get(1, [0])[0] == 1 else parts.get(2, [0])[0]
    return message(kind, value)


def _present(kind: str, value: Any) -> bool:
    """proto2 as k8s writes it sends every field; JSON omits empty ones (omitempty)."""
    return kind == "int0" or value not in ("", 0, False, {}, [])


def message(name: str, raw: bytes) -> dict[str, Any]:
    """The JSON form of one message of type ``name``."""
    out: dict[str, Any] = {}
    for number, values in fields(raw).items():
        if number not in MESSAGES[name]:
            continue
        key, kind, repeated = MESSAGES[name][number]
        decoded = [_scalar(kind, v) for v in values]
        if kind in ("map", "bytesmap"):
            out[key] = dict(decoded)
        elif repeated:
            out[key] = decoded
        elif _present(kind, decoded[-1]):
            out[key] = decoded[-1]
    return out


def decode(raw: bytes, plural: str) -> dict[str, Any]:
    """The JSON form of a protobuf request body for ``plural``; 415 for kinds not covered."""
    if plural in ("selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"):
        return decode_review(raw, plural)
    if plural not in _KINDS or not raw.startswith(MAGIC):
        raise ApiError(415, "UnsupportedMediaType", f"the stand-in does not decode protobuf bodies of {plural}")
    envelope = fields(raw[len(MAGIC) :])
    return message(_KINDS[plural], envelope.get(2, [b""])[0])
