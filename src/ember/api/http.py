"""The little HTTP that the handlers see: a parsed request and a response."""

import json
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from ember.errors import RequestTooLarge


# MaxItems when a List operation's caller gives none.
DEFAULT_MAX_ITEMS = 50


def paginate(items: list, params: dict, key) -> tuple[list, str | None]:
    """Marker / MaxItems pagination over items in their listing order: the page after
    the item whose key(item) is the Marker, and the key of its last item as NextMarker
    when more follow."""
    marker = params.get("Marker")
    if marker:
        keys = [key(item) for item in items]
        items = items[keys.index(marker) + 1:] if marker in keys else []
    limit = params.get("MaxItems", DEFAULT_MAX_ITEMS)
    return items[:limit], key(items[limit - 1]) if len(items) > limit else None


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @classmethod
    def from_scope(cls, scope: dict) -> "Request":
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        return cls(scope["method"], scope["path"], query, headers)

    @property
    def base_url(self) -> str:
        return f"http://{self.headers.get('host', '127.0.0.1')}"


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def json_response(document: dict, status: int = 200) -> Response:
    return Response(status, json.dumps(document).encode(), [(b"content-type", b"application/json")])


def new_request_id() -> str:
    return str(uuid.uuid4())


async def read_body(receive, request: Request, limit: int, operation: str) -> bytes:
    """The whole request body, refusing one over limit before reading it all."""
    too_large = RequestTooLarge(f"Request must be smaller than {limit} bytes for the {operation} operation")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks) if len(chunks) != 1 else chunks[0]
