"""Input validation against botocore's model, worded as Lambda words it, and the
environment variable rules beyond the model."""

import json

import pytest

from ember.api.model import service_model
from ember.api.validation import validate
from ember.control.validation import MAX_ENVIRONMENT_BYTES, RESERVED_VARIABLES, check_environment
from ember.errors import InvalidParameter, ValidationFailed

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


@pytest.fixture(scope="module")
def create_shape():
    return service_model().operation_model("CreateFunction").input_shape


@pytest.fixture(scope="module")
def list_shape():
    return service_model().operation_model("ListFunctions").input_shape


def valid(**overrides) -> dict:
    params = {
        "FunctionName": "my-function",
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "lambda_function.handler",
        "Code": {"ZipFile": b"PK"},
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def message_for(shape, params) -> str:
    with pytest.raises(ValidationFailed) as excinfo:
        validate(shape, params)
    return excinfo.value.message


def test_valid_input_passes(create_shape):
    validate(
        create_shape,
        valid(
            MemorySize=128,
            Timeout=900,
            Description="",
            Environment={"Variables": {"STAGE": "prod", "A_1": ""}},
            EphemeralStorage={"Size": 10240},
            Tags={"team": "core", "with space": "v", "ünïcode": "ok", "a:b/c=d+e-f@g_h.i": "x"},
            Architectures=["x86_64"],
        ),
    )


@pytest.mark.parametrize(
    "overrides, shown, path, constraint",
    [
        ({"MemorySize": 100}, "'100'", "memorySize", "have value greater than or equal to 128"),
        ({"MemorySize": 10241}, "'10241'", "memorySize", "have value less than or equal to 10240"),
        ({"Timeout": 0}, "'0'", "timeout", "have value greater than or equal to 1"),
        ({"Timeout": 901}, "'901'", "timeout", "have value less than or equal to 900"),
        ({"Role": None}, "null", "role", "not be null"),
        ({"Code": None}, "null", "code", "not be null"),
        ({"MemorySize": "128"}, "'128'", "memorySize", "be an integer"),
        ({"MemorySize": True}, "'True'", "memorySize", "be an integer"),
        ({"Description": "d" * 257}, f"'{'d' * 257}'", "description", "have length less than or equal to 256"),
        ({"EphemeralStorage": {"Size": 511}}, "'511'", "ephemeralStorage.size",
         "have value greater than or equal to 512"),
        ({"EphemeralStorage": {}}, "null", "ephemeralStorage.size", "not be null"),
    ],
)
def test_single_error_wording(create_shape, overrides, shown, path, constraint):
    assert message_for(create_shape, valid(**overrides)) == (
        f"1 validation error detected: Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}"
    )


def test_function_name_pattern(create_shape):
    message = message_for(create_shape, valid(FunctionName="bad name!"))
    assert message.startswith(
        "1 validation error detected: Value 'bad name!' at 'functionName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
    )
    # The pattern must match the whole value, not a prefix of it.
    assert "functionName" in message_for(create_shape, valid(FunctionName="good-prefix bad-rest"))


def test_role_pattern(create_shape):
    assert "at 'role'" in message_for(create_shape, valid(Role="not-an-arn"))


def test_runtime_enum(create_shape):
    message = message_for(create_shape, valid(Runtime="cobol85"))
    assert "Value 'cobol85' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [" in (
        message
    )
    assert "python3.12" in message


def test_environment_variable_name_pattern(create_shape):
    message = message_for(create_shape, valid(Environment={"Variables": {"1BAD": "x"}}))
    assert "at 'environment.variables.key'" in message


def test_tag_key_pattern_is_checked_without_crashing(create_shape):
    # TagKey's pattern uses Java's \p{L} classes, which Python's re lacks.
    message = message_for(create_shape, valid(Tags={"bad!key": "v"}))
    assert "Value 'bad!key' at 'tags.key'" in message
    assert "regular expression pattern" in message


def test_list_length(create_shape):
    message = message_for(create_shape, valid(Architectures=["x86_64", "arm64"]))
    assert "at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1" in (
        message
    )


def test_several_errors_are_counted_in_member_order(create_shape):
    message = message_for(create_shape, {"FunctionName": "x", "MemorySize": 1, "Timeout": 0})
    assert message.startswith("4 validation errors detected: ")
    parts = message.removeprefix("4 validation errors detected: ").split("; ")
    assert len(parts) == 4
    assert parts[0].startswith("Value null at 'role'")
    assert parts[1].startswith("Value null at 'code'")
    assert {p.split("'")[1] for p in parts[2:]} == {"1", "0"}


def test_unknown_members_are_ignored(create_shape):
    validate(create_shape, valid(NotAMember="whatever"))


def test_list_functions_max_items(list_shape):
    validate(list_shape, {"MaxItems": 1})
    validate(list_shape, {"MaxItems": 10000})
    assert "'maxItems'" in message_for(list_shape, {"MaxItems": 0})
    assert "'maxItems'" in message_for(list_shape, {"MaxItems": 10001})


def test_validation_failed_is_distinct_from_invalid_parameter():
    # The API maps them to ValidationException and InvalidParameterValueException.
    assert not issubclass(ValidationFailed, InvalidParameter)
    assert not issubclass(InvalidParameter, ValidationFailed)


# ------------------------------------------------------------ check_environment


def test_environment_ordinary_variables_pass():
    check_environment({})
    check_environment({"STAGE": "prod", "PATH": "/opt/bin:/usr/bin", "AWS_CUSTOM_THING": "fine"})


@pytest.mark.parametrize("name", sorted(RESERVED_VARIABLES))
def test_each_reserved_variable_is_refused(name):
    with pytest.raises(InvalidParameter) as excinfo:
        check_environment({name: "x", "FINE": "y"})
    message = excinfo.value.message
    assert message.endswith(f"Reserved keys used in this request: {name}")


def test_reserved_variables_are_listed_sorted():
    with pytest.raises(InvalidParameter) as excinfo:
        check_environment({"LAMBDA_TASK_ROOT": "x", "AWS_REGION": "y", "_HANDLER": "z", "MINE": "ok"})
    assert excinfo.value.message.endswith(
        "Reserved keys used in this request: AWS_REGION, LAMBDA_TASK_ROOT, _HANDLER"
    )


def test_reserved_names_include_what_lambda_sets():
    lambda_sets = {"AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "_HANDLER"}
    assert lambda_sets <= RESERVED_VARIABLES


def _variables_measuring(size: int) -> dict[str, str]:
    # {"KEY":"..."} as compact JSON is 10 bytes around the value.
    variables = {"KEY": "v" * (size - 10)}
    assert len(json.dumps(variables, separators=(",", ":"))) == size
    return variables


def test_environment_of_exactly_4kb_passes():
    check_environment(_variables_measuring(MAX_ENVIRONMENT_BYTES))


def test_environment_one_byte_over_4kb_is_refused():
    with pytest.raises(InvalidParameter) as excinfo:
        check_environment(_variables_measuring(MAX_ENVIRONMENT_BYTES + 1))
    assert "exceeded the 4KB limit" in excinfo.value.message
    assert '{"KEY":"vvv' in excinfo.value.message

