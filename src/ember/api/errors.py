"""Ember's errors as AWS returns them: HTTP status, x-amzn-ErrorType header and a
JSON body with Type and Message, which botocore turns into its named exceptions."""

import json

from ember import errors

# error class -> (HTTP status, AWS error type)
AWS_ERRORS: dict[type, tuple[int, str]] = {
    errors.NotFound: (404, "ResourceNotFoundException"),
    errors.ProvisionedConfigNotFound: (404, "ProvisionedConcurrencyConfigNotFoundException"),
    errors.Conflict: (409, "ResourceConflictException"),
    errors.InvalidParameter: (400, "InvalidParameterValueException"),
    errors.ValidationFailed: (400, "ValidationException"),
    errors.InvalidRequestContent: (400, "InvalidRequestContentException"),
    errors.RequestTooLarge: (413, "RequestTooLargeException"),
    errors.PreconditionFailed: (412, "PreconditionFailedException"),
    # Lambda has no "not implemented" error; 501 is never retried by the SDKs.
    errors.Unsupported: (501, "UnsupportedOperationException"),
    errors.UnknownOperation: (404, "UnknownOperationException"),
    errors.Throttled: (429, "TooManyRequestsException"),
}


def error_response(error: Exception) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) for an error; anything unexpected is a 500 ServiceException."""
    status, error_type = AWS_ERRORS.get(type(error), (500, "ServiceException"))
    if status == 500:
        message = f"Ember hit an internal error: {type(error).__name__}: {error}"
        kind = "Service"
    else:
        message = error.message
        kind = "User"
    document = {"Type": kind, "Message": message, "message": message}
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-errortype", error_type.encode()),
    ]
    if isinstance(error, errors.Throttled):
        document["Reason"] = error.reason
        headers.append((b"retry-after", b"1"))
    return status, headers, json.dumps(document).encode()
