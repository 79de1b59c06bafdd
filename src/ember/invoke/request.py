"""What an invocation asks for and what it answers, independent of how it arrived
(the Invoke API today; async queues, schedules and function URLs later)."""

import enum
from dataclasses import dataclass

# Lambda's limits on synchronous payloads.
MAX_REQUEST_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_RESPONSE_PAYLOAD_BYTES = 6_291_556
LOG_TAIL_BYTES = 4096


class InvocationType(enum.Enum):
    REQUEST_RESPONSE = "RequestResponse"
    EVENT = "Event"
    DRY_RUN = "DryRun"


@dataclass(frozen=True)
class InvocationRequest:
    function_name: str
    payload: bytes = b""
    qualifier: str | None = None
    invocation_type: InvocationType = InvocationType.REQUEST_RESPONSE
    tail_logs: bool = False
    client_context: dict | None = None


@dataclass(frozen=True)
class InvocationResult:
    status_code: int
    payload: bytes
    executed_version: str
    function_error: str | None = None  # "Unhandled" when the function failed
    log_tail: str | None = None        # the invocation's last 4 KB of logs, if asked for
    request_id: str | None = None
