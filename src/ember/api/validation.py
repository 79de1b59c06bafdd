"""Checks an operation's input against its shape in botocore's model, and words the
failures as Lambda does: "1 validation error detected: Value '100' at 'memorySize'
failed to satisfy constraint: Member must have value greater than or equal to 128".
"""

import functools
import re

from botocore.model import Shape

from ember.errors import ValidationFailed

# Where Lambda's service is stricter than the model it publishes.
LIMIT_OVERRIDES = {
    "MemorySize": {"max": 10240},  # the model allows 32768; Lambda functions stop at 10240 MB
    "Timeout": {"max": 900},
}


# The model's patterns are Java regular expressions; Python's re has no \p{...}
# classes (TagKey uses them, so CreateFunction with Tags hit a 500). Within the
# character classes where the model uses them, \w \d \s are Python's nearest.
JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\d", r"\p{Z}": r"\s"}


@functools.cache
def _pattern(expression: str) -> re.Pattern:
    for java, python in JAVA_CLASSES.items():
        expression = expression.replace(java, python)
    return re.compile(expression)


def validate(shape: Shape, params: dict) -> None:
    errors: list[str] = []
    _check_structure(shape, params, "", errors)
    if errors:
        count = len(errors)
        raise ValidationFailed(
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors)
        )


def _path(prefix: str, name: str) -> str:
    camel = name[:1].lower() + name[1:]
    return f"{prefix}.{camel}" if prefix else camel


def _check_structure(shape: Shape, value: dict, prefix: str, errors: list[str]) -> None:
    for name in shape.required_members:
        if value.get(name) is None:
            errors.append(f"Value null at '{_path(prefix, name)}' failed to satisfy constraint: Member must not be null")
    for name, item in value.items():
        member = shape.members.get(name)
        if member is not None and item is not None:
            _check(member, item, _path(prefix, name), errors, LIMIT_OVERRIDES.get(name, {}))


def _check(shape: Shape, value, path: str, errors: list[str], overrides: dict) -> None:
    kind = shape.type_name
    metadata = {**shape.metadata, **overrides}

    def fail(constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        errors.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")

    if kind == "structure":
        if not isinstance(value, dict):
            return fail("be a structure")
        return _check_structure(shape, value, path, errors)
    if kind == "list":
        if not isinstance(value, list):
            return fail("be a list")
        _check_length(len(value), metadata, fail)
        for item in value:
            _check(shape.member, item, f"{path}.member", errors, {})
        return
    if kind == "map":
        if not isinstance(value, dict):
            return fail("be a map")
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", errors, {})
            _check(shape.value, item, f"{path}.value", errors, {})
        return
    if kind == "string":
        if not isinstance(value, str):
            return fail("be a string")
        if "enum" in metadata and value not in metadata["enum"]:
            return fail(f"satisfy enum value set: [{', '.join(metadata['enum'])}]")
        _check_length(len(value), metadata, fail)
        if "pattern" in metadata and not _pattern(metadata["pattern"]).fullmatch(value):
            fail(f"satisfy regular expression pattern: {metadata['pattern']}")
        return
    if kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return fail("be an integer")
        if "min" in metadata and value < metadata["min"]:
            fail(f"have value greater than or equal to {metadata['min']}")
        if "max" in metadata and value > metadata["max"]:
            fail(f"have value less than or equal to {metadata['max']}")
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            fail("be a boolean")
        return
    if kind == "blob":
        if not isinstance(value, (bytes, bytearray)):
            return fail("be binary data")
        _check_length(len(value), metadata, fail)


def _check_length(length: int, metadata: dict, fail) -> None:
    if "min" in metadata and length < metadata["min"]:
        fail(f"have length greater than or equal to {metadata['min']}")
    if "max" in metadata and length > metadata["max"]:
        fail(f"have length less than or equal to {metadata['max']}")
