"""The platform's own log lines, in Lambda's exact formats (START, END, REPORT, ...)."""

import math
from datetime import datetime, timezone


def iso_now() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def init_start_line(runtime: str) -> str:
    return f"INIT_START Runtime Version: {runtime.replace('python', 'python:', 1)}.ember"


def init_report_line(duration_ms: float, error_type: str) -> str:
    return f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: init\tStatus: error\tError Type: {error_type}"


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(
    request_id: str,
    duration_ms: float,
    memory_size_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {max(math.ceil(duration_ms), 1)} ms",
        f"Memory Size: {memory_size_mb} MB",
        f"Max Memory Used: {max_memory_used_mb} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status:
        fields.append(f"Status: {status}")
    if error_type:
        fields.append(f"Error Type: {error_type}")
    return "\t".join(fields) + "\t"


def timeout_line(request_id: str, timeout_s: float) -> str:
    return f"{iso_now()} {request_id} Task timed out after {timeout_s:.2f} seconds"


def exit_line(request_id: str, reason: str) -> str:
    return f"RequestId: {request_id} Error: {reason}\nRuntime.ExitError"
