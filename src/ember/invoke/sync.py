"""The synchronous invocation path, top to bottom:

    resolve the function -> check out an environment (warm, or a cold start)
    -> START -> run the invocation -> END, REPORT -> check the environment back in

Every other way of invoking (async queue, event sources, function URLs) ends here.
"""

import time
import uuid

from ember.control.function import Function
from ember.control.functions import FunctionRegistry
from ember.environments.environment import Invocation, Outcome, Status, error_body
from ember.environments.manager import EnvironmentManager
from ember.errors import Throttled, Unsupported
from ember.invoke.concurrency import ConcurrencyLimiter
from ember.invoke.request import (
    LOG_TAIL_BYTES,
    MAX_RESPONSE_PAYLOAD_BYTES,
    InvocationRequest,
    InvocationResult,
    InvocationType,
)
from ember.observe import report
from ember.observe.metrics import Metrics


def new_trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


class Invoker:
    def __init__(
        self,
        functions: FunctionRegistry,
        environments: EnvironmentManager,
        concurrency: ConcurrencyLimiter,
        metrics: Metrics,
    ):
        self._functions = functions
        self._environments = environments
        self._concurrency = concurrency
        self._metrics = metrics

    async def invoke(self, request: InvocationRequest) -> InvocationResult:
        function, qualifier = self._functions.resolve(request.function_name, request.qualifier, route=True)
        if request.invocation_type is InvocationType.DRY_RUN:
            return InvocationResult(204, b"", function.version)
        if request.invocation_type is InvocationType.EVENT:
            raise Unsupported(
                "InvocationType Event (asynchronous invocation) is not supported by Ember yet; "
                "use RequestResponse or DryRun."
            )

        try:
            with self._concurrency.lease(function):
                return await self._run(function, qualifier, request)
        except Throttled as throttle:
            self._metrics.throttles.labels(function.name, throttle.reason).inc()
            raise

    async def _run(self, function: Function, qualifier: str | None, request: InvocationRequest) -> InvocationResult:
        request_id = str(uuid.uuid4())
        checkout = await self._environments.checkout(function)
        environment = checkout.environment
        stream = environment.log_stream
        if request.tail_logs:
            stream.start_capture()
        try:
            stream.write(report.start_line(request_id, function.version))
            if checkout.init_failure is not None:
                outcome = checkout.init_failure
            else:
                outcome = await environment.invoke(
                    Invocation(
                        request_id=request_id,
                        payload=request.payload,
                        invoked_function_arn=self._functions.arn(function.name, qualifier),
                        deadline_ms=int(time.time() * 1000) + function.timeout * 1000,
                        trace_id=new_trace_id(),
                        client_context=request.client_context,
                    ),
                    float(function.timeout),
                )
            outcome = _within_response_limit(outcome)
            if outcome.status is Status.TIMEOUT:
                stream.write(report.timeout_line(request_id, function.timeout))
            elif outcome.platform_log:
                stream.write(outcome.platform_log)
            stream.write(report.end_line(request_id))
            stream.write(
                report.report_line(
                    request_id,
                    outcome.duration_ms,
                    function.memory_size,
                    outcome.max_memory_mb,
                    init_duration_ms=environment.init_duration_ms if checkout.cold else None,
                    status=_report_status(outcome, checkout.init_failure is not None),
                    error_type=outcome.error_type if outcome.status is Status.EXIT or checkout.init_failure else None,
                )
            )
        finally:
            tail = stream.stop_capture() if request.tail_logs else None
            self._environments.checkin(environment)
        self._record(function, outcome, environment.init_duration_ms if checkout.cold else None)

        return InvocationResult(
            status_code=200,
            payload=outcome.body,
            executed_version=function.version,
            function_error=None if outcome.status is Status.SUCCESS else "Unhandled",
            log_tail=_tail(tail) if tail is not None else None,
            request_id=request_id,
        )


    def _record(self, function: Function, outcome: Outcome, init_duration_ms: float | None) -> None:
        metrics, name = self._metrics, function.name
        metrics.invocations.labels(name).inc()
        metrics.duration.labels(name).observe(outcome.duration_ms / 1000)
        if outcome.status is not Status.SUCCESS:
            metrics.errors.labels(name, outcome.error_type or "Unhandled").inc()
        if init_duration_ms is not None:
            metrics.cold_starts.labels(name).inc()
            metrics.init_duration.labels(name).observe(init_duration_ms / 1000)


def _within_response_limit(outcome: Outcome) -> Outcome:
    if outcome.status is not Status.SUCCESS or len(outcome.body) <= MAX_RESPONSE_PAYLOAD_BYTES:
        return outcome
    message = (
        f"Response payload size ({len(outcome.body)} bytes) exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_PAYLOAD_BYTES} bytes)."
    )
    return Outcome(
        Status.ERROR,
        error_body("Function.ResponseSizeTooLarge", message),
        outcome.duration_ms,
        outcome.max_memory_mb,
        "Function.ResponseSizeTooLarge",
    )


def _report_status(outcome: Outcome, init_failed: bool) -> str | None:
    if outcome.status is Status.TIMEOUT:
        return "timeout"
    if outcome.status is Status.EXIT or init_failed:
        return "error"
    return None


def _tail(lines: list[str]) -> str:
    text = "".join(line + "\n" for line in lines).encode()
    return text[-LOG_TAIL_BYTES:].decode("utf-8", "ignore")
