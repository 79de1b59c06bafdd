"""The ASGI application: routes each request to its operation, reads and validates
its input from botocore's model, and turns every error into AWS's shape."""

import logging

from prometheus_client import CONTENT_TYPE_LATEST

from ember.api import model
from ember.api.concurrency import ConcurrencyApi
from ember.api.errors import error_response
from ember.api.functions import FunctionsApi
from ember.api.http import ClientGone, Request, Response, json_response, new_request_id, read_body
from ember.api.invocations import InvocationsApi
from ember.api.layers import LayersApi
from ember.api.logs import LogsApi
from ember.api.tags import TagsApi
from ember.api.versions import VersionsApi
from ember.errors import EmberError, NotFound, UnknownOperation, Unsupported
from ember.invoke.request import MAX_REQUEST_PAYLOAD_BYTES

log = logging.getLogger("ember.api")

# Lambda's request limits: 6 MB for Invoke, about 70 MB (a 50 MB zip in base64) otherwise.
MAX_REQUEST_BYTES = 70_167_211
SMALL_REQUEST_BYTES = 1024 * 1024


class Application:
    def __init__(self, ember):
        self.ember = ember
        self.router = model.Router()
        self.handlers = {
            **FunctionsApi(ember.functions, ember.concurrency, ember.layers).handlers(),
            **LayersApi(ember.layers).handlers(),
            **ConcurrencyApi(ember.functions, ember.concurrency).handlers(),
            **TagsApi(ember.functions).handlers(),
            **InvocationsApi(ember.invoker).handlers(),
            **VersionsApi(ember.functions, ember.environments, ember.concurrency).handlers(),
        }
        known_group = lambda group: any(f.log_group == group for f in ember.functions.all())  # noqa: E731
        self.logs_api = LogsApi(ember.logs, known_group)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return
        request = Request.from_scope(scope)
        try:
            response = await self._dispatch(request, receive)
        except ClientGone:
            return
        except EmberError as error:
            response = Response(*_error_parts(error))
        except Exception as error:
            log.exception("unexpected error serving %s %s", request.method, request.path)
            response = Response(*_error_parts(error))
        if not any(name == b"x-amzn-requestid" for name, _ in response.headers):
            response.headers.append((b"x-amzn-requestid", new_request_id().encode()))
        response.headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": response.headers})
        await send({"type": "http.response.body", "body": response.body})

    async def _dispatch(self, request: Request, receive) -> Response:
        if request.method == "GET" and request.path == "/health":
            return self._health()
        if request.method == "GET" and request.path == "/metrics":
            return Response(200, self.ember.metrics.exposition(), [(b"content-type", CONTENT_TYPE_LATEST.encode())])
        if request.method == "GET" and request.path.startswith("/_ember/code/"):
            return self._code(request.path.removeprefix("/_ember/code/"))
        if request.method == "POST" and request.path == "/" and "x-amz-target" in request.headers:
            request.body = await read_body(receive, request, SMALL_REQUEST_BYTES, "logs")
            return await self.logs_api.handle(request)

        match = self.router.match(request.method, request.path, request.query)
        if match is None:
            raise UnknownOperation(f"No Lambda operation is served at {request.method} {request.path}.")
        route, labels = match
        name = route.operation.name
        handler = self.handlers.get(name)
        if handler is None:
            raise Unsupported(f"Ember does not support the {name} operation yet.")
        limit = MAX_REQUEST_PAYLOAD_BYTES if name == "Invoke" else MAX_REQUEST_BYTES
        label = "InvokeFunction" if name == "Invoke" else name
        request.body = await read_body(receive, request, limit, label)
        params = model.parse_input(route.operation, labels, request.query, request.headers, request.body)
        return await handler(request, params)

    def _health(self) -> Response:
        by_state: dict[str, int] = {}
        for (_, state), count in self.ember.environments.count_by_state().items():
            by_state[state] = by_state.get(state, 0) + count
        budget = self.ember.budget
        return json_response(
            {
                "status": "ok",
                "sandbox": self.ember.driver.describe(),
                "functions": len(self.ember.functions.all()),
                "environments": by_state,
                "memory_mb": {"committed": budget.committed_mb, "total": budget.total_mb},
            }
        )

    def _code(self, file_name: str) -> Response:
        digest = file_name.removesuffix(".zip")
        if not (len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
            raise NotFound(f"No code package {file_name}.")
        path = self.ember.code_store.zip_path(digest)
        if not path.is_file():
            raise NotFound(f"No code package {file_name}.")
        return Response(200, path.read_bytes(), [(b"content-type", b"application/zip")])

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.ember.start()
                except Exception as error:
                    log.exception("Ember failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.ember.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _error_parts(error: Exception) -> tuple[int, bytes, list]:
    status, headers, body = error_response(error)
    return status, body, headers
