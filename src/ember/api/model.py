"""Lambda's REST API as botocore's service model describes it: which operation a
method and path name, and how its input is read from the path, query string,
headers and body. Shapes, enums and limits come from the model, not from Ember.
"""

import base64
import binascii
import functools
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs

import botocore.session
from botocore.model import OperationModel, Shape

from ember.api.validation import validate
from ember.errors import InvalidParameter, InvalidRequestContent


@functools.cache
def service_model():
    return botocore.session.get_session().get_service_model("lambda")


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    segments: tuple[str, ...]         # literal text, or "{Label}" for a path parameter
    static_query: tuple[tuple[str, str], ...]

    @property
    def specificity(self) -> tuple[int, int]:
        literals = sum(1 for s in self.segments if not s.startswith("{"))
        return literals, len(self.static_query)


def _split(path: str) -> tuple[str, ...]:
    return tuple(path.strip("/").split("/")) if path.strip("/") else ()


class Router:
    """Finds the operation for a method and path, from every operation in the model."""

    def __init__(self):
        model = service_model()
        self._routes: dict[tuple[str, int], list[Route]] = {}
        for name in model.operation_names:
            operation = model.operation_model(name)
            path, _, query = operation.http["requestUri"].partition("?")
            static = tuple(
                (key, values[0]) for key, values in parse_qs(query, keep_blank_values=True).items()
            )
            route = Route(operation, operation.http["method"], _split(path), static)
            self._routes.setdefault((route.method, len(route.segments)), []).append(route)
        for routes in self._routes.values():
            routes.sort(key=lambda r: r.specificity, reverse=True)

    def match(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[Route, dict[str, str]] | None:
        segments = _split(path)
        for route in self._routes.get((method, len(segments)), ()):
            labels = {}
            for pattern, segment in zip(route.segments, segments):
                if pattern.startswith("{"):
                    labels[pattern.strip("{}+")] = segment
                elif pattern != segment:
                    break
            else:
                if all(query.get(key, [None])[0] == value for key, value in route.static_query):
                    return route, labels
        return None


def parse_input(
    operation: OperationModel,
    labels: dict[str, str],
    query: dict[str, list[str]],
    headers: dict[str, str],
    body: bytes,
) -> dict:
    """The operation's input, in AWS member names, validated against its shape."""
    shape = operation.input_shape
    if shape is None:
        return {}
    params: dict = {}
    payload_member = shape.serialization.get("payload")
    body_members = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if labels.get(wire_name) is not None:
                params[name] = _from_text(member, labels[wire_name], name)
        elif location == "querystring":
            if wire_name in query and member.type_name == "list":
                params[name] = [_from_text(member.member, value, name) for value in query[wire_name]]
            elif wire_name in query:
                params[name] = _from_text(member, query[wire_name][0], name)
        elif location == "header":
            value = headers.get(wire_name.lower())
            if value is not None:
                params[name] = _from_text(member, value, name)
        elif name == payload_member:
            if member.type_name == "blob":
                params[name] = body
            elif body:
                params[name] = _from_json(member, _json_body(body), name)
        else:
            body_members[name] = member
    if body_members and body:
        document = _json_body(body)
        if not isinstance(document, dict):
            raise InvalidRequestContent("Could not parse request body into json: expected an object")
        for name, member in body_members.items():
            if name in document and document[name] is not None:
                params[name] = _from_json(member, document[name], name)
    params = {k: v for k, v in params.items() if v is not None}
    validate(shape, params)
    return params


def _json_body(body: bytes):
    try:
        return json.loads(body)
    except ValueError as exc:
        raise InvalidRequestContent(f"Could not parse request body into json: {exc}")


def _from_text(shape: Shape, text: str, name: str):
    """A query string or header value, as its shape's type."""
    if shape.type_name in ("integer", "long"):
        if not re.fullmatch(r"-?\d+", text):
            raise InvalidParameter(f"Invalid value for {name}: {text!r} is not an integer.")
        return int(text)
    if shape.type_name == "boolean":
        return text.lower() == "true"
    return text


def _from_json(shape: Shape, value, name: str):
    """A JSON body value, decoded where the wire form differs (blobs are base64)."""
    kind = shape.type_name
    if kind == "blob":
        if not isinstance(value, str):
            raise InvalidParameter(f"Invalid value for {name}: expected base64 text.")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParameter(f"Invalid value for {name}: not valid base64.")
    if kind == "structure" and isinstance(value, dict):
        return {
            key: _from_json(shape.members[key], item, f"{name}.{key}")
            for key, item in value.items()
            if key in shape.members and item is not None
        }
    if kind == "list" and isinstance(value, list):
        return [_from_json(shape.member, item, f"{name}[]") for item in value]
    return value
