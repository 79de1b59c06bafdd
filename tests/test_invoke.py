"""Invoke through boto3 against a real `ember serve`: payloads, the context object,
the environment a handler sees, warm state, and the Invoke API's own errors."""

import base64
import json
import re
import uuid

import pytest

from conftest import invoke_json, make_zip, python_zip, tail_of

LOG_STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
MAX_REQUEST = 6_291_456
MAX_RESPONSE = 6_291_556

ECHO = """
def handler(event, context):
    return event
"""

# A per-environment identity made at import, and counters for init and invocations.
COUNTERS = """
import os, uuid
ENVIRONMENT_ID = uuid.uuid4().hex
INITS = 0
INITS += 1
CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    return {"env": ENVIRONMENT_ID, "inits": INITS, "calls": CALLS, "pid": os.getpid()}
"""


# ------------------------------------------------------------ payloads


def test_payload_round_trip_keeps_nested_json_and_unicode(lambda_client, create_function):
    name = create_function(ECHO)
    event = {
        "text": "héllo wörld – 日本語 – 🚀",
        "nested": {"list": [1, 2.5, None, True, False, {"deep": ["x", {"deeper": []}]}], "empty": {}},
        "escapes": "quote \" backslash \\ newline \n tab \t",
        "big": 12345678901234567890,
    }
    response, payload = invoke_json(lambda_client, name, event)
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert payload == event


@pytest.mark.parametrize("event", [[1, "two", {"three": 3}], "just a string", 42, None])
def test_non_object_events_round_trip(lambda_client, create_function, event):
    name = create_function(ECHO)
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(event))
    assert json.loads(response["Payload"].read()) == event


def test_empty_payload_gives_an_empty_event(lambda_client, create_function):
    name = create_function(
        """
def handler(event, context):
    return {"type": type(event).__name__, "event": event}
"""
    )
    response = lambda_client.invoke(FunctionName=name)  # no Payload at all
    assert response["StatusCode"] == 200
    assert json.loads(response["Payload"].read()) == {"type": "dict", "event": {}}


def test_status_and_executed_version(lambda_client, create_function):
    name = create_function(ECHO)
    response, _ = invoke_json(lambda_client, name, {"a": 1})
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-executed-version"] == "$LATEST"


def test_handler_returning_none_gives_null(lambda_client, create_function):
    name = create_function("def handler(event, context):\n    pass\n")
    response = lambda_client.invoke(FunctionName=name, Payload=b"{}")
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["Payload"].read() == b"null"


def test_decimal_in_a_result_serialises(lambda_client, create_function):
    name = create_function(
        """
from decimal import Decimal
def handler(event, context):
    return {"half": Decimal("1.5"), "whole": Decimal("2"), "nested": [Decimal("-0.25")]}
"""
    )
    response, payload = invoke_json(lambda_client, name)
    assert "FunctionError" not in response, payload
    assert payload == {"half": 1.5, "whole": 2, "nested": [-0.25]}


# ------------------------------------------------------------ warm state


def test_globals_survive_warm_invocations_and_init_runs_once(lambda_client, create_function):
    name = create_function(COUNTERS)
    results = [invoke_json(lambda_client, name)[1] for _ in range(4)]
    assert [r["calls"] for r in results] == [1, 2, 3, 4]
    assert {r["inits"] for r in results} == {1}
    assert len({r["env"] for r in results}) == 1
    assert len({r["pid"] for r in results}) == 1


def test_files_in_tmp_survive_warm_invocations(lambda_client, create_function):
    name = create_function(
        """
import os, tempfile
def handler(event, context):
    path = os.path.join(tempfile.gettempdir(), "marker.txt")
    existed = os.path.exists(path)
    if existed:
        content = open(path).read()
    else:
        content = None
        with open(path, "w") as f:
            f.write(event["value"])
    return {"existed": existed, "content": content, "tmp": tempfile.gettempdir()}
"""
    )
    _, first = invoke_json(lambda_client, name, {"value": "kept"})
    _, second = invoke_json(lambda_client, name, {"value": "ignored"})
    assert first["existed"] is False
    assert second == {**first, "existed": True, "content": "kept"}


def test_each_function_has_its_own_tmp(lambda_client, create_function):
    source = """
import os, tempfile
def handler(event, context):
    path = os.path.join(tempfile.gettempdir(), "shared-name.txt")
    seen = open(path).read() if os.path.exists(path) else None
    with open(path, "w") as f:
        f.write(context.function_name)
    return seen
"""
    first, second = create_function(source), create_function(source)
    # Each finds no file, though both write one under the same name.
    assert invoke_json(lambda_client, first)[1] is None
    assert invoke_json(lambda_client, second)[1] is None
    assert invoke_json(lambda_client, first)[1] == first


# ------------------------------------------------------------ the context object

CONTEXT = """
import json
def handler(event, context):
    cc = context.client_context
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "identity": None if context.identity is None else {
            "cognito_identity_id": context.identity.cognito_identity_id,
            "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
        },
        "client_context": None if cc is None else {
            "custom": cc.custom,
            "env": cc.env,
            "installation_id": cc.client.installation_id if cc.client else None,
            "app_title": cc.client.app_title if cc.client else None,
        },
    }
"""


def test_context_fields(lambda_client, create_function):
    name = create_function(CONTEXT, Timeout=7, MemorySize=256)
    response, context = invoke_json(lambda_client, name)
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == arn
    assert str(context["memory_limit_in_mb"]) == "256"
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert LOG_STREAM.match(context["log_stream_name"]), context["log_stream_name"]
    assert 0 < context["remaining"] <= 7000
    assert context["identity"] == {"cognito_identity_id": None, "cognito_identity_pool_id": None}
    assert context["client_context"] is None
    assert str(uuid.UUID(context["aws_request_id"])) == context["aws_request_id"]
    assert context["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert context["aws_request_id"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_request_id_differs_per_call_and_stream_is_stable_when_warm(lambda_client, create_function):
    name = create_function(CONTEXT)
    calls = [invoke_json(lambda_client, name) for _ in range(3)]
    ids = [context["aws_request_id"] for _, context in calls]
    assert len(set(ids)) == 3
    assert ids == [response["ResponseMetadata"]["RequestId"] for response, _ in calls]
    assert len({context["log_stream_name"] for _, context in calls}) == 1


def test_invoked_function_arn_when_invoked_by_arn(lambda_client, create_function):
    name = create_function(CONTEXT)
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert arn == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    _, context = invoke_json(lambda_client, arn)
    assert context["invoked_function_arn"] == arn
    assert context["function_name"] == name
    _, qualified = invoke_json(lambda_client, name, Qualifier="$LATEST")
    assert qualified["invoked_function_arn"] == f"{arn}:$LATEST"


def test_client_context_reaches_the_handler(lambda_client, create_function):
    name = create_function(CONTEXT)
    document = {
        "custom": {"user": "ada", "n": 3},
        "env": {"locale": "en-GB", "platform": "linux"},
        "client": {"installation_id": "install-123", "app_title": "Ember Tests"},
    }
    client_context = base64.b64encode(json.dumps(document).encode()).decode()
    _, context = invoke_json(lambda_client, name, ClientContext=client_context)
    assert context["client_context"] == {
        "custom": {"user": "ada", "n": 3},
        "env": {"locale": "en-GB", "platform": "linux"},
        "installation_id": "install-123",
        "app_title": "Ember Tests",
    }


def test_invalid_client_context_is_refused(lambda_client, create_function):
    name = create_function(CONTEXT)
    with pytest.raises(lambda_client.exceptions.InvalidRequestContentException):
        lambda_client.invoke(FunctionName=name, Payload=b"{}", ClientContext="not base64 json!")


# ------------------------------------------------------------ the environment a handler sees

ENVIRONMENT = """
import os, subprocess, sys
def handler(event, context):
    child = subprocess.run(["env"], capture_output=True, text=True).stdout
    return {
        "environ": dict(os.environ),
        "cwd": os.getcwd(),
        "listing": sorted(os.listdir(os.environ["LAMBDA_TASK_ROOT"])),
        "child_sees_channel": "_EMBER_CHANNEL_FD" in child,
        "log_stream_name": context.log_stream_name,
    }
"""


def test_lambda_environment_variables(lambda_client, create_function):
    name = create_function(
        ENVIRONMENT, MemorySize=192, Environment={"Variables": {"MY_SETTING": "on", "GREETING": "héllo"}}
    )
    _, seen = invoke_json(lambda_client, name)
    environ = seen["environ"]
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "192"
    assert environ["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert environ["AWS_REGION"] == "us-east-1"
    assert environ["AWS_DEFAULT_REGION"] == "us-east-1"
    assert environ["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert environ["_HANDLER"] == "lambda_function.handler"
    assert environ["TZ"] == ":UTC"
    assert environ["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert environ["AWS_LAMBDA_LOG_STREAM_NAME"] == seen["log_stream_name"]
    assert LOG_STREAM.match(environ["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert environ["MY_SETTING"] == "on"
    assert environ["GREETING"] == "héllo"
    # LAMBDA_TASK_ROOT is the working directory and holds the function's code.
    assert seen["cwd"] == environ["LAMBDA_TASK_ROOT"]
    assert "lambda_function.py" in seen["listing"]


def test_channel_fd_variable_is_hidden_from_user_code(lambda_client, create_function):
    name = create_function(ENVIRONMENT)
    _, seen = invoke_json(lambda_client, name)
    assert "_EMBER_CHANNEL_FD" not in seen["environ"]
    assert seen["child_sees_channel"] is False


@pytest.mark.parametrize("handler", ["pkg/mod.handler", "pkg.mod.handler", "pkg/sub/deep.run"])
def test_handler_in_a_sub_package(lambda_client, create_function, handler):
    files = {
        "pkg/__init__.py": "",
        "pkg/mod.py": "from pkg.helper import answer\ndef handler(event, context):\n    return {'from': __name__, 'answer': answer()}\n",
        "pkg/helper.py": "def answer():\n    return 42\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/deep.py": "def run(event, context):\n    return {'from': __name__, 'answer': 42}\n",
    }
    name = create_function(zip_bytes=make_zip(files), Handler=handler)
    response, payload = invoke_json(lambda_client, name)
    assert "FunctionError" not in response, payload
    module = handler.rsplit(".", 1)[0].replace("/", ".")
    assert payload == {"from": module, "answer": 42}


def test_handler_in_a_differently_named_module(lambda_client, create_function):
    name = create_function(
        zip_bytes=python_zip("def main(event, context):\n    return 'from app'\n", module="app"), Handler="app.main"
    )
    assert invoke_json(lambda_client, name)[1] == "from app"


def test_logging_output_appears_in_the_tail(lambda_client, create_function):
    name = create_function(
        """
import logging
def handler(event, context):
    logging.getLogger().warning("careful: %s", event["what"])
    return "ok"
"""
    )
    response, _ = invoke_json(lambda_client, name, {"what": "hot stove"}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    lines = [line for line in tail_of(response).splitlines() if "careful: hot stove" in line]
    assert len(lines) == 1, tail_of(response)
    level, timestamp, logged_id, message = lines[0].split("\t")
    assert level == "[WARNING]"
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", timestamp), timestamp
    assert logged_id == request_id
    assert message == "careful: hot stove"


# ------------------------------------------------------------ DryRun


def test_dry_run_returns_204_without_running(lambda_client, create_function):
    name = create_function(COUNTERS)
    for _ in range(2):
        response = lambda_client.invoke(FunctionName=name, InvocationType="DryRun", Payload=b'{"a": 1}')
        assert response["StatusCode"] == 204
        assert response["Payload"].read() == b""
    # Nothing ran: the first real invocation is a cold start and the handler's first call.
    response, payload = invoke_json(lambda_client, name, LogType="Tail")
    assert (payload["inits"], payload["calls"]) == (1, 1)
    assert "Init Duration" in tail_of(response)
    # Nor does a DryRun run in a warm environment.
    lambda_client.invoke(FunctionName=name, InvocationType="DryRun", Payload=b"{}")
    assert invoke_json(lambda_client, name)[1]["calls"] == 2


def test_dry_run_of_a_missing_function_is_not_found(lambda_client):
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName="fn-does-not-exist-dry", InvocationType="DryRun")


# ------------------------------------------------------------ the Invoke API's own errors


@pytest.mark.parametrize("payload", [b"{not json", b'{"a": 1', b"\xff\xfe"])
def test_invalid_json_payload_is_refused(lambda_client, create_function, payload):
    name = create_function(COUNTERS)
    with pytest.raises(lambda_client.exceptions.InvalidRequestContentException) as caught:
        lambda_client.invoke(FunctionName=name, Payload=payload)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The function never ran: the first real invocation is its first call.
    assert invoke_json(lambda_client, name)[1]["calls"] == 1


def test_payload_over_the_limit_is_refused(lambda_client, create_function):
    name = create_function(COUNTERS)
    too_big = b'"' + b"a" * (MAX_REQUEST - 1) + b'"'  # valid JSON, one byte over
    assert len(too_big) == MAX_REQUEST + 1
    with pytest.raises(lambda_client.exceptions.RequestTooLargeException) as caught:
        lambda_client.invoke(FunctionName=name, Payload=too_big)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert invoke_json(lambda_client, name)[1]["calls"] == 1


def test_payload_at_the_limit_is_accepted(lambda_client, create_function):
    name = create_function("def handler(event, context):\n    return len(event)\n")
    at_limit = b'"' + b"a" * (MAX_REQUEST - 2) + b'"'
    assert len(at_limit) == MAX_REQUEST
    response = lambda_client.invoke(FunctionName=name, Payload=at_limit)
    assert json.loads(response["Payload"].read()) == MAX_REQUEST - 2


def test_invoking_a_missing_function_is_not_found(lambda_client):
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as caught:
        lambda_client.invoke(FunctionName="fn-does-not-exist", Payload=b"{}")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "fn-does-not-exist" in caught.value.response["Error"]["Message"]


def test_invoking_a_deleted_function_is_not_found(lambda_client, create_function):
    name = create_function(ECHO)
    invoke_json(lambda_client, name)
    lambda_client.delete_function(FunctionName=name)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName=name, Payload=b"{}")


LARGE_RESPONSE = """
import uuid
ENVIRONMENT_ID = uuid.uuid4().hex
def handler(event, context):
    if "size" in event:
        return "x" * (event["size"] - 2)  # a JSON string of exactly `size` bytes
    return {"env": ENVIRONMENT_ID}
"""


def test_response_over_the_limit_is_a_function_error_and_the_environment_survives(lambda_client, create_function):
    name = create_function(LARGE_RESPONSE)
    _, before = invoke_json(lambda_client, name)
    response, error = invoke_json(lambda_client, name, {"size": MAX_RESPONSE + 1})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert str(MAX_RESPONSE) in error["errorMessage"]
    _, after = invoke_json(lambda_client, name)
    assert after == before  # same environment, still warm


def test_response_at_the_limit_is_returned(lambda_client, create_function):
    name = create_function(LARGE_RESPONSE)
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps({"size": MAX_RESPONSE}))
    assert "FunctionError" not in response
    body = response["Payload"].read()
    assert len(body) == MAX_RESPONSE
