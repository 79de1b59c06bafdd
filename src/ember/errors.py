"""What can go wrong, in Ember's own terms.

The layers below the API raise these; `ember.api.errors` alone turns them into
AWS-shaped HTTP errors (status, x-amzn-ErrorType, body).
"""


class EmberError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(EmberError):
    """The named resource does not exist."""


class ProvisionedConfigNotFound(NotFound):
    """No provisioned concurrency is configured for that qualifier."""


class Conflict(EmberError):
    """The resource exists already, or is in a state that forbids the change."""


class InvalidParameter(EmberError):
    """A parameter is well-formed but its value is not acceptable."""


class ValidationFailed(EmberError):
    """A parameter breaks its shape's constraints (type, pattern, range, required)."""


class InvalidRequestContent(EmberError):
    """The request body could not be parsed."""


class RequestTooLarge(EmberError):
    """The request body is over the operation's limit."""


class PreconditionFailed(EmberError):
    """A RevisionId precondition did not match."""


class Unsupported(EmberError):
    """Lambda has this, Ember does not (yet)."""


class UnknownOperation(EmberError):
    """No operation is served at this method and path."""


class Throttled(EmberError):
    """Too many invocations at once; `reason` is Lambda's Reason value."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason
