"""Which Lambda runtimes Ember can run, and with what interpreter.

Every python3.x runtime runs on the host's own Python interpreter (the one that
runs Ember, resolved past symlinks and shims, so that the function does not see
Ember's virtual environment). Other runtimes are refused with a clear error
until Ember can run them.
"""

import os
import sys

from ember.errors import InvalidParameter

PYTHON_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
DEPRECATED_RUNTIMES = ("python2.7", "python3.6", "python3.7", "python3.8")
NEWEST_PYTHON = PYTHON_RUNTIMES[-1]

HOST_PYTHON = os.path.realpath(sys.executable)


def check_runtime(runtime: str) -> None:
    if runtime in PYTHON_RUNTIMES:
        return
    if runtime in DEPRECATED_RUNTIMES:
        raise InvalidParameter(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating "
            f"AWS Lambda functions. We recommend you use the new runtime ({NEWEST_PYTHON}) while "
            "creating or updating functions."
        )
    raise InvalidParameter(
        f"The runtime parameter of {runtime} is not supported by Ember yet. "
        f"Supported runtimes: {', '.join(PYTHON_RUNTIMES)}."
    )


def interpreter_for(runtime: str) -> str:
    return HOST_PYTHON
