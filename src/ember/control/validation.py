"""Lambda's rules for a function's configuration, beyond what the API shapes enforce."""

import json
import platform

from ember.control.function import NETWORK_TAG
from ember.errors import InvalidParameter

NETWORK_TAG_VALUES = ("none", "outbound")
MAX_TAGS = 50

# Environment variables Lambda sets itself and refuses to let a function override.
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
MAX_ENVIRONMENT_BYTES = 4096

HOST_ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
    platform.machine().lower(), platform.machine().lower()
)


def check_environment(variables: dict[str, str]) -> None:
    reserved = sorted(RESERVED_VARIABLES.intersection(variables))
    if reserved:
        raise InvalidParameter(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    measured = json.dumps(variables, separators=(",", ":"), ensure_ascii=False)
    if len(measured.encode()) > MAX_ENVIRONMENT_BYTES:
        raise InvalidParameter(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )


def check_architectures(architectures: tuple[str, ...]) -> None:
    for architecture in architectures:
        if architecture != HOST_ARCHITECTURE:
            raise InvalidParameter(
                f"Architecture {architecture} is not supported on this Ember host, which runs "
                f"{HOST_ARCHITECTURE} functions only."
            )


def check_tags(tags: dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise InvalidParameter(f"A function can have at most {MAX_TAGS} tags.")
    reserved = sorted(key for key in tags if key.lower().startswith("aws:"))
    if reserved:
        raise InvalidParameter(f"Tag keys starting with 'aws:' are reserved: {', '.join(reserved)}")
    if NETWORK_TAG in tags and tags[NETWORK_TAG] not in NETWORK_TAG_VALUES:
        raise InvalidParameter(
            f"Tag {NETWORK_TAG} must be one of {', '.join(NETWORK_TAG_VALUES)}, got {tags[NETWORK_TAG]!r}."
        )
