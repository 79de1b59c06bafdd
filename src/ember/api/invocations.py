"""The Invoke operation: from HTTP to an InvocationRequest and back."""

import base64
import binascii
import json

from ember.api.http import Request, Response
from ember.errors import InvalidRequestContent
from ember.invoke.request import InvocationRequest, InvocationType
from ember.invoke.sync import Invoker

# Lambda's limit on the X-Amz-Client-Context header, base64-decoded.
MAX_CLIENT_CONTEXT_BYTES = 3583


def _client_context(header: str | None) -> dict | None:
    if header is None:
        return None
    try:
        decoded = base64.b64decode(header, validate=True)
        document = json.loads(decoded)
    except (binascii.Error, ValueError):
        raise InvalidRequestContent("Client context must be a valid Base64-encoded JSON object.")
    if len(decoded) > MAX_CLIENT_CONTEXT_BYTES or not isinstance(document, dict):
        raise InvalidRequestContent(
            f"Client context must be a JSON object of at most {MAX_CLIENT_CONTEXT_BYTES} bytes."
        )
    return document


def _checked_payload(payload: bytes) -> bytes:
    if not payload:
        return payload
    try:
        json.loads(payload)
    except ValueError as exc:
        raise InvalidRequestContent(f"Could not parse request body into json: Could not parse payload into json: {exc}")
    return payload


class InvocationsApi:
    def __init__(self, invoker: Invoker):
        self._invoker = invoker

    async def invoke(self, request: Request, params: dict) -> Response:
        result = await self._invoker.invoke(
            InvocationRequest(
                function_name=params["FunctionName"],
                payload=_checked_payload(params.get("Payload", b"")),
                qualifier=params.get("Qualifier"),
                invocation_type=InvocationType(params.get("InvocationType", "RequestResponse")),
                tail_logs=params.get("LogType") == "Tail",
                client_context=_client_context(params.get("ClientContext")),
            )
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"x-amz-executed-version", result.executed_version.encode()),
        ]
        if result.request_id:
            headers.append((b"x-amzn-requestid", result.request_id.encode()))
        if result.function_error:
            headers.append((b"x-amz-function-error", result.function_error.encode()))
        if result.log_tail is not None:
            headers.append((b"x-amz-log-result", base64.b64encode(result.log_tail.encode())))
        return Response(result.status_code, result.payload, headers)

    def handlers(self) -> dict:
        return {"Invoke": self.invoke}
