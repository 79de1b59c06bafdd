"""Functions that fail in every way Lambda knows: each failure is answered the way
Lambda answers it, and leaves the server healthy for the next invocation."""

import json
import urllib.request
import uuid

import pytest

from conftest import (
    ROLE, EmberServer, invoke_json, marked_processes, python_zip, report_of, tail_of, unique_name, wait_until,
)

OK_SOURCE = """
import uuid
ENVIRONMENT_ID = uuid.uuid4().hex
def handler(event, context):
    return {"ok": True, "env": ENVIRONMENT_ID}
"""


@pytest.fixture(scope="module")
def ok_function(server):
    """A function that always works: proof that the server still serves after a failure."""
    client = server.client()
    name = unique_name("ok")
    client.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler",
        Code={"ZipFile": python_zip(OK_SOURCE)},
    )
    yield name
    client.delete_function(FunctionName=name)


@pytest.fixture
def assert_healthy(server, lambda_client, ok_function):
    def check():
        with urllib.request.urlopen(f"{server.url}/health", timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["status"] == "ok"
        response, payload = invoke_json(lambda_client, ok_function)
        assert "FunctionError" not in response
        assert payload["ok"] is True

    return check


def invoke_failing(client, name, event=None, **params):
    response, error = invoke_json(client, name, event, **params)
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled", error
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-function-error"] == "Unhandled"
    return response, error


@pytest.fixture(scope="module")
def process_server(tmp_path_factory):
    """A server on the plain-process driver, whose kill is a process-group kill."""
    instance = EmberServer(tmp_path_factory.mktemp("ember-process") / "data", "--sandbox", "process").start()
    yield instance
    instance.stop()


# ------------------------------------------------------------ the handler raises


def test_handler_exception(lambda_client, create_function, assert_healthy):
    name = create_function(
        """
import uuid
ENVIRONMENT_ID = uuid.uuid4().hex

class InventoryError(Exception):
    pass

def handler(event, context):
    if event.get("fail"):
        raise InventoryError("out of " + event["fail"])
    return {"env": ENVIRONMENT_ID}
"""
    )
    _, before = invoke_json(lambda_client, name)
    response, error = invoke_failing(lambda_client, name, {"fail": "stock"}, LogType="Tail")
    assert set(error) == {"errorMessage", "errorType", "stackTrace", "requestId"}
    assert error["errorType"] == "InventoryError"
    assert error["errorMessage"] == "out of stock"
    assert error["requestId"] == response["ResponseMetadata"]["RequestId"]
    trace = "".join(error["stackTrace"])
    assert "lambda_function.py" in trace
    assert "line 10, in handler" in trace  # the source starts with a blank line
    assert 'raise InventoryError("out of " + event["fail"])' in trace
    # Ember's own runtime frames are not part of the user's stack trace.
    assert "bootstrap.py" not in trace
    assert "[ERROR] InventoryError: out of stock" in tail_of(response)
    # A handled error does not cost the environment: the next call is warm in it.
    assert invoke_json(lambda_client, name)[1] == before
    assert_healthy()


# ------------------------------------------------------------ init failures


def test_import_module_error(lambda_client, create_function, assert_healthy):
    name = create_function("import no_such_package_xyz\n\ndef handler(event, context):\n    return 1\n")
    response, error = invoke_failing(lambda_client, name, LogType="Tail")
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == "Unable to import module 'lambda_function': No module named 'no_such_package_xyz'"
    assert "Runtime.ImportModuleError" in tail_of(response)
    # Init is tried again on the next invocation, and fails the same way.
    assert invoke_failing(lambda_client, name)[1]["errorType"] == "Runtime.ImportModuleError"
    assert_healthy()


def test_missing_module(lambda_client, create_function, assert_healthy):
    name = create_function("def handler(event, context):\n    return 1\n", Handler="other_module.handler")
    _, error = invoke_failing(lambda_client, name)
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == "Unable to import module 'other_module': No module named 'other_module'"
    assert_healthy()


def test_handler_not_found(lambda_client, create_function, assert_healthy):
    name = create_function("def handler(event, context):\n    return 1\n", Handler="lambda_function.nope")
    _, error = invoke_failing(lambda_client, name)
    assert error["errorType"] == "Runtime.HandlerNotFound"
    assert error["errorMessage"] == "Handler 'nope' missing on module 'lambda_function'"
    assert_healthy()


def test_malformed_handler_name(lambda_client, create_function, assert_healthy):
    name = create_function("def handler(event, context):\n    return 1\n", Handler="nodot")
    _, error = invoke_failing(lambda_client, name)
    assert error["errorType"] == "Runtime.MalformedHandlerName"
    assert error["errorMessage"].startswith("Bad handler 'nodot'")
    assert_healthy()


def test_syntax_error(lambda_client, create_function, assert_healthy):
    name = create_function("def handler(event, context)\n    return 1\n")
    _, error = invoke_failing(lambda_client, name)
    assert error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert "Syntax error in module 'lambda_function'" in error["errorMessage"]
    assert "lambda_function.py, line 1" in error["errorMessage"]
    assert_healthy()


def test_exception_at_import_time(lambda_client, create_function, assert_healthy):
    name = create_function(
        "import os\n\nraise ValueError('bad configuration')\n\ndef handler(event, context):\n    return 1\n"
    )
    response, error = invoke_failing(lambda_client, name, LogType="Tail")
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad configuration"
    trace = "".join(error["stackTrace"])
    assert "lambda_function.py" in trace and "line 3" in trace
    assert "Status: error" in report_of(response)
    assert_healthy()


# ------------------------------------------------------------ timeouts

SLOW = """
import subprocess, time, uuid
ENVIRONMENT_ID = uuid.uuid4().hex

def handler(event, context):
    if event.get("child"):
        subprocess.Popen(["sleep", "300"])
        print("spawned a child", flush=True)
    if event.get("sleep"):
        print("going to sleep", flush=True)
        time.sleep(event["sleep"])
    return {"env": ENVIRONMENT_ID}
"""


def test_timeout(lambda_client, create_function, assert_healthy):
    marker = uuid.uuid4().hex
    name = create_function(SLOW, Timeout=1, Environment={"Variables": {"EMBER_TEST_MARK": marker}})
    _, warm = invoke_json(lambda_client, name)
    runtime = marked_processes(marker)
    assert runtime, "the function's runtime should be running"
    response, error = invoke_failing(lambda_client, name, {"sleep": 5}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    tail = tail_of(response)
    assert "going to sleep" in tail
    assert "Task timed out after 1.00 seconds" in tail
    report = report_of(response)
    assert report.startswith(f"REPORT RequestId: {request_id}\t")
    assert "Status: timeout" in report
    assert "Init Duration" not in report
    # The runtime that timed out is gone.
    assert wait_until(lambda: not marked_processes(marker), timeout=10), marked_processes(marker)
    # The next invocation gets a new environment (a cold start) and works.
    response, payload = invoke_json(lambda_client, name, LogType="Tail")
    assert "FunctionError" not in response
    assert payload["env"] != warm["env"]
    assert "Init Duration" in report_of(response)
    assert_healthy()


@pytest.mark.parametrize("driver", ["default", "process"])
def test_timeout_leaves_no_child_process_behind(request, driver):
    server = request.getfixturevalue("server" if driver == "default" else "process_server")
    client = server.client()
    marker = uuid.uuid4().hex
    name = unique_name("child")
    client.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler",
        Code={"ZipFile": python_zip(SLOW)}, Timeout=1, Environment={"Variables": {"EMBER_TEST_MARK": marker}},
    )
    try:
        # A child started by an earlier invocation lives on in the environment, as in Lambda...
        invoke_json(client, name, {"child": True})
        children = lambda: [pid for pid, command in marked_processes(marker).items() if command.startswith(b"sleep\0")]
        assert len(wait_until(children, timeout=10)) == 1, marked_processes(marker)
        # ... until an invocation that starts another one times out: then nothing is left.
        response, error = invoke_failing(client, name, {"child": True, "sleep": 5}, LogType="Tail")
        assert error["errorType"] == "Sandbox.Timedout"
        assert "spawned a child" in tail_of(response)
        assert wait_until(lambda: not marked_processes(marker), timeout=10), f"outlived the timeout: {marked_processes(marker)}"
        response, _ = invoke_json(client, name)
        assert "FunctionError" not in response
    finally:
        client.delete_function(FunctionName=name)


# ------------------------------------------------------------ the runtime exits

EXITS = """
import os, sys, uuid
ENVIRONMENT_ID = uuid.uuid4().hex

def handler(event, context):
    how = event.get("how")
    print("about to " + str(how), flush=True)
    if how == "os_exit":
        os._exit(3)
    if how == "sys_exit":
        sys.exit(0)
    if how == "sys_exit_2":
        sys.exit(2)
    if how == "kill":
        os.kill(os.getpid(), 9)
    return {"env": ENVIRONMENT_ID}
"""


@pytest.mark.parametrize(
    "how, reason",
    [
        ("os_exit", "Runtime exited with error: exit status 3"),
        ("sys_exit", "Runtime exited without providing a reason"),
        ("sys_exit_2", "Runtime exited with error: exit status 2"),
        ("kill", "Runtime exited with error: signal: killed"),
    ],
)
def test_runtime_exit(lambda_client, create_function, assert_healthy, how, reason):
    name = create_function(EXITS)
    _, before = invoke_json(lambda_client, name)
    response, error = invoke_failing(lambda_client, name, {"how": how}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert error["errorType"] == "Runtime.ExitError"
    assert reason in error["errorMessage"]
    assert request_id in error["errorMessage"]
    tail = tail_of(response)
    assert f"about to {how}" in tail
    assert reason in tail
    report = report_of(response)
    assert "Status: error" in report and "Error Type: Runtime.ExitError" in report
    # The next invocation starts a new environment and works.
    response, after = invoke_json(lambda_client, name, LogType="Tail")
    assert "FunctionError" not in response
    assert after["env"] != before["env"]
    assert "Init Duration" in report_of(response)
    assert_healthy()


def test_runtime_exit_during_init(lambda_client, create_function, assert_healthy):
    name = create_function("import os\nos._exit(7)\n\ndef handler(event, context):\n    return 1\n")
    _, error = invoke_failing(lambda_client, name)
    assert error["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 7" in error["errorMessage"]
    assert_healthy()


# ------------------------------------------------------------ the result cannot be sent


def test_non_serialisable_result(lambda_client, create_function, assert_healthy):
    name = create_function(
        """
import uuid
ENVIRONMENT_ID = uuid.uuid4().hex
def handler(event, context):
    if event.get("bad"):
        return {"items": {1, 2, 3}}
    return {"env": ENVIRONMENT_ID}
"""
    )
    _, before = invoke_json(lambda_client, name)
    _, error = invoke_failing(lambda_client, name, {"bad": True})
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"] == "Unable to marshal response: Object of type set is not JSON serializable"
    assert invoke_json(lambda_client, name)[1] == before
    assert_healthy()
