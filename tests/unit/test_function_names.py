"""Function identifiers: a name, name:qualifier, a full ARN or a partial ARN."""

import pytest

from ember.control.names import FunctionName, parse_function_name
from ember.errors import InvalidParameter


@pytest.mark.parametrize(
    "identifier, expected",
    [
        ("my-function", FunctionName("my-function", None)),
        ("my_function.v2", FunctionName("my_function.v2", None)),
        ("my-function:$LATEST", FunctionName("my-function", "$LATEST")),
        ("my-function:prod", FunctionName("my-function", "prod")),
        ("my-function:7", FunctionName("my-function", "7")),
        (
            "arn:aws:lambda:us-east-1:000000000000:function:my-function",
            FunctionName("my-function", None, "us-east-1", "000000000000"),
        ),
        (
            "arn:aws:lambda:eu-west-2:123456789012:function:my-function:$LATEST",
            FunctionName("my-function", "$LATEST", "eu-west-2", "123456789012"),
        ),
        (
            "arn:aws:lambda:us-east-1:000000000000:function:my-function:prod",
            FunctionName("my-function", "prod", "us-east-1", "000000000000"),
        ),
        (
            "arn:aws-us-gov:lambda:us-gov-west-1:000000000000:function:gov",
            FunctionName("gov", None, "us-gov-west-1", "000000000000"),
        ),
        ("000000000000:function:my-function", FunctionName("my-function", None, None, "000000000000")),
        ("000000000000:function:my-function:$LATEST", FunctionName("my-function", "$LATEST", None, "000000000000")),
    ],
)
def test_parse(identifier, expected):
    assert parse_function_name(identifier) == expected


@pytest.mark.parametrize(
    "identifier",
    [
        "",
        ":qualifier",
        "name:qualifier:extra",
        "arn:aws:lambda:us-east-1:000000000000:function:",
        "arn:aws:lambda:us-east-1:000000000000:function:name:1:2",
        "000000000000:function:",
    ],
)
def test_invalid_identifiers(identifier):
    with pytest.raises(InvalidParameter) as excinfo:
        parse_function_name(identifier)
    assert identifier in excinfo.value.message


def test_an_arn_of_another_service_is_not_taken_apart():
    # Only lambda function ARNs are; anything else stays a (too long, invalid) name.
    with pytest.raises(InvalidParameter):
        parse_function_name("arn:aws:s3:us-east-1:000000000000:function:x")
