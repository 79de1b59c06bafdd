"""Concurrency leases, as Lambda counts them.

Every running invocation holds one lease. A function with reserved concurrency
may run that many at once and no more (0 throttles everything); the others share
what the account limit leaves unreserved. Past either limit an invocation is
throttled (429 TooManyRequestsException with Lambda's Reason) rather than queued.
"""

from collections import defaultdict
from contextlib import contextmanager

from ember.control.function import Function
from ember.control.functions import FunctionRegistry
from ember.errors import InvalidParameter, Throttled

DEFAULT_ACCOUNT_LIMIT = 1000
# Lambda keeps at least this much of the account's concurrency unreserved.
UNRESERVED_MINIMUM = 100

RESERVED_LIMIT_EXCEEDED = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT_EXCEEDED = "ConcurrentInvocationLimitExceeded"


class ConcurrencyLimiter:
    def __init__(self, functions: FunctionRegistry, limit: int = DEFAULT_ACCOUNT_LIMIT):
        self.limit = limit
        self._functions = functions
        self.in_flight: dict[str, int] = defaultdict(int)
        self._unreserved_in_flight = 0

    @property
    def unreserved(self) -> int:
        """UnreservedConcurrentExecutions: what neither reservations nor the provisioned
        concurrency of unreserved functions take."""
        return self.limit - self._functions.reserved_total - self._functions.provisioned_unreserved_total

    @property
    def unreserved_minimum(self) -> int:
        return min(UNRESERVED_MINIMUM, self.limit // 10)

    def check_reservation(self, function: Function, reserved: int) -> None:
        """Refuses a reservation that would leave less than the minimum unreserved."""
        if self.unreserved + (function.reserved_concurrency or 0) - reserved < self.unreserved_minimum:
            raise InvalidParameter(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{self.unreserved_minimum}]."
            )

    def check_provisioning(self, function: Function, added: int) -> None:
        """Refuses provisioned concurrency for an unreserved function that would leave
        less than the minimum unreserved."""
        if self.unreserved - added < self.unreserved_minimum:
            raise InvalidParameter(
                "Specified ProvisionedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{self.unreserved_minimum}]."
            )

    @contextmanager
    def lease(self, function: Function):
        name = function.name
        reserved = function.reserved_concurrency
        if reserved is not None:
            if self.in_flight[name] >= reserved:
                raise Throttled("Rate Exceeded.", reason=RESERVED_LIMIT_EXCEEDED)
        elif self._unreserved_in_flight >= self.limit - self._functions.reserved_total:
            # Unreserved functions share all that reservations leave, their provisioned
            # environments included.
            raise Throttled("Rate Exceeded.", reason=ACCOUNT_LIMIT_EXCEEDED)
        self.in_flight[name] += 1
        if reserved is None:
            self._unreserved_in_flight += 1
        try:
            yield
        finally:
            self.in_flight[name] -= 1
            if not self.in_flight[name]:
                del self.in_flight[name]
            if reserved is None:
                self._unreserved_in_flight -= 1
