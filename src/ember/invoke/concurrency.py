"""Concurrency leases: how many invocations may run at once across the account.

Every running invocation holds one lease; when the account's limit is reached,
further invocations are throttled (429) instead of queued, as Lambda does.
"""

from contextlib import contextmanager

from ember.errors import Throttled

DEFAULT_ACCOUNT_LIMIT = 1000


class ConcurrencyLimiter:
    def __init__(self, limit: int = DEFAULT_ACCOUNT_LIMIT):
        self.limit = limit
        self.in_use = 0

    @contextmanager
    def lease(self):
        if self.in_use >= self.limit:
            raise Throttled("Rate Exceeded.", reason="ConcurrentInvocationLimitExceeded")
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1
