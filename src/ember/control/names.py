"""Function identifiers as Lambda accepts them: a name, a full ARN or a partial ARN,
each with an optional qualifier (a version or an alias)."""

from dataclasses import dataclass

from ember.errors import InvalidParameter


@dataclass(frozen=True)
class FunctionName:
    """A function identifier split into its parts: name, ARN, partial ARN, each with an optional qualifier."""

    name: str
    qualifier: str | None
    region: str | None = None
    account: str | None = None


def parse_function_name(identifier: str) -> FunctionName:
    parts = identifier.split(":")
    region = account = None
    if parts[0] == "arn" and len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        region, account, rest = parts[3], parts[4], parts[6:]
    elif len(parts) >= 3 and parts[1] == "function":
        account, rest = parts[0], parts[2:]
    else:
        rest = parts
    if len(rest) > 2 or not rest[0]:
        raise InvalidParameter(f"Invalid function name or ARN: {identifier}")
    qualifier = rest[1] if len(rest) == 2 else None
    return FunctionName(rest[0], qualifier, region, account)
