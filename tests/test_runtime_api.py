"""The Lambda Runtime API (2018-06-01) that Ember serves inside every environment of a
custom runtime: a bash + curl bootstrap, AWS's own runtime interface client
(awslambdaric), and a Python bootstrap on the standard library that probes the
protocol's details (headers, error documents, size limits, init errors, exits)."""

import base64
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import executable_zip, invoke_json, make_zip, report_of, tail_of

# The interpreter Ember itself runs on (the venv's python resolved to its base
# installation): Ember binds that installation read-only into every sandbox, so a
# bootstrap can use it as its #! line. The tests run on the same venv as the server.
HOST_PYTHON = os.path.realpath(sys.executable)
MAX_RESPONSE = 6_291_556
# Ember gives a function CPU in proportion to its memory, as Lambda does (1,769 MB is
# one vCPU): Python-based runtimes get a whole CPU so that their cold starts are quick.
ONE_VCPU_MB = 1769


def custom_function(create_function, files: dict, **params) -> str:
    return create_function(
        zip_bytes=executable_zip(files), Runtime=params.pop("Runtime", "provided.al2023"),
        Handler=params.pop("Handler", "unused.handler"), MemorySize=params.pop("MemorySize", ONE_VCPU_MB),
        **params,
    )


# ------------------------------------------------------------ bash + curl

CURL_BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
TOKEN="$(cat /proc/sys/kernel/random/uuid)"   # one per environment
echo "curl runtime up: $TOKEN"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
  REQUEST_ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | cut -d' ' -f2 | tr -d '\r\n')"
  rm -f "$HEADERS"
  echo "handling $REQUEST_ID"
  curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d "{\"echo\": $EVENT, \"requestId\": \"$REQUEST_ID\", \"environment\": \"$TOKEN\"}" \
    "$API/invocation/$REQUEST_ID/response"
done
"""


def test_bash_curl_runtime_echoes_cold_then_warm(lambda_client, create_function):
    name = custom_function(create_function, {"bootstrap": CURL_BOOTSTRAP})
    event = {"hello": "world", "list": [1, 2, {"deep": True}]}

    cold, payload = invoke_json(lambda_client, name, event, LogType="Tail")
    assert cold["StatusCode"] == 200
    assert "FunctionError" not in cold, payload
    request_id = cold["ResponseMetadata"]["RequestId"]
    assert payload["echo"] == event
    assert payload["requestId"] == request_id
    assert "Init Duration:" in report_of(cold)
    assert f"handling {request_id}" in tail_of(cold)
    assert report_of(cold).startswith(f"REPORT RequestId: {request_id}\t")

    warm, again = invoke_json(lambda_client, name, {"second": 2}, LogType="Tail")
    assert "FunctionError" not in warm, again
    assert again["echo"] == {"second": 2}
    assert again["environment"] == payload["environment"]  # the same environment served it
    assert again["requestId"] == warm["ResponseMetadata"]["RequestId"] != request_id
    assert "Init Duration" not in report_of(warm)
    assert warm["ExecutedVersion"] == "$LATEST"


# ------------------------------------------------------------ awslambdaric

RIC_HANDLER = """
import os

class InventoryMissing(Exception):
    pass

def handler(event, context):
    if "fail" in event:
        raise InventoryMissing("nothing left of " + event["fail"])
    return {
        "event": event,
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "invoked_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "initialization_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
    }
"""


@pytest.fixture(scope="module")
def ric_package(tmp_path_factory) -> bytes:
    """awslambdaric installed from PyPI into a directory, zipped with a handler and a bootstrap."""
    target = tmp_path_factory.mktemp("awslambdaric")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--target", str(target), "awslambdaric"],
        capture_output=True, text=True, timeout=300,
    )
    if install.returncode != 0 or not (target / "awslambdaric").is_dir():
        pytest.skip(f"could not install awslambdaric from PyPI: {install.stderr.strip()[-500:]}")
    files: dict[str, str | bytes] = {}
    for path in sorted(target.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[str(path.relative_to(target))] = path.read_bytes()
    files["lambda_function.py"] = RIC_HANDLER
    # Which python: pip ran on HOST_PYTHON (3.11.7 under pyenv), so the compiled
    # runtime_client extension and simplejson match its ABI exactly, and Ember binds
    # that installation into the sandbox. Debian's /usr/bin/python3 (3.11.2) happens
    # to import it too, but only because both are 3.11; the interpreter pip built for
    # is the one that is sure to work. `-m` puts the cwd (/var/task, where the package
    # is unpacked) on sys.path.
    files["bootstrap"] = f"#!/bin/sh\nexec {HOST_PYTHON} -m awslambdaric lambda_function.handler\n"
    return executable_zip(files)


def test_awslambdaric_returns_the_handler_result_and_context(lambda_client, create_function, ric_package):
    name = create_function(
        zip_bytes=ric_package, Runtime="provided.al2023", Handler="lambda_function.handler", Timeout=30,
        MemorySize=ONE_VCPU_MB,
    )
    response, payload = invoke_json(lambda_client, name, {"x": [1, "two"]})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response, payload
    assert payload["event"] == {"x": [1, "two"]}
    assert payload["function_name"] == name
    assert payload["request_id"] == response["ResponseMetadata"]["RequestId"]
    assert payload["invoked_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert 0 < payload["remaining_ms"] <= 30_000
    assert payload["initialization_type"] == "on-demand"

    # warm: the client's loop keeps serving
    response, again = invoke_json(lambda_client, name, {"y": 2})
    assert again["event"] == {"y": 2}
    assert again["request_id"] == response["ResponseMetadata"]["RequestId"] != payload["request_id"]


def test_awslambdaric_reports_a_handler_exception(lambda_client, create_function, ric_package):
    name = create_function(
        zip_bytes=ric_package, Runtime="provided.al2023", Handler="lambda_function.handler", Timeout=30,
        MemorySize=ONE_VCPU_MB,
    )
    response, error = invoke_json(lambda_client, name, {"fail": "stock"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "InventoryMissing"
    assert error["errorMessage"] == "nothing left of stock"
    assert any("InventoryMissing" in line or "raise" in line for line in error.get("stackTrace", [])), error

    # the environment survives a handled error
    response, payload = invoke_json(lambda_client, name, {"ok": 1})
    assert "FunctionError" not in response, payload
    assert payload["event"] == {"ok": 1}


# ------------------------------------------------------------ protocol details

PROBE_BOOTSTRAP = f"""#!{HOST_PYTHON}
import json, os, urllib.error, urllib.request

API = os.environ.get("AWS_LAMBDA_RUNTIME_API")
BASE = f"http://{{API}}/2018-06-01/runtime"


def call(method, path, body=None, headers=None):
    request = urllib.request.Request(BASE + path, data=body, method=method, headers=headers or {{}})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {{k.lower(): v for k, v in response.headers.items()}}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {{k.lower(): v for k, v in error.headers.items()}}, error.read()


def decoded(body):
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def respond(request_id, document):
    return call("POST", f"/invocation/{{request_id}}/response", json.dumps(document).encode(),
                {{"Content-Type": "application/json"}})


stash = {{}}  # what happened after an invocation had been answered: told in a later one
while True:
    status, headers, body = call("GET", "/invocation/next")
    request_id = headers["lambda-runtime-aws-request-id"]
    event = json.loads(body)
    action = event.get("action")
    if action == "probe":
        unknown = call("POST", "/invocation/00000000-0000-0000-0000-000000000000/response", b'"stray"')
        first = respond(request_id, {{
            "status": status, "headers": headers, "event": event, "runtime_api": API,
            "unknown_id": [unknown[0], decoded(unknown[2])],
        }})
        again = call("POST", f"/invocation/{{request_id}}/response", b'"a second answer"')
        stash = {{"first": [first[0], decoded(first[2])], "again": [again[0], decoded(again[2])]}}
    elif action == "big":
        big = call("POST", f"/invocation/{{request_id}}/response", b'"' + b"x" * (7 * 1024 * 1024) + b'"')
        stash = {{"big": [big[0], decoded(big[2])]}}
    elif action == "error_json":
        answer = call("POST", f"/invocation/{{request_id}}/error", json.dumps({{
            "errorMessage": "the widget broke", "errorType": "Widget.Broken", "stackTrace": ["one", "two"],
        }}).encode(), {{"Content-Type": "application/json"}})
        stash = {{"error": [answer[0], decoded(answer[2])]}}
    elif action == "error_header":
        call("POST", f"/invocation/{{request_id}}/error", b"plain text, not JSON",
             {{"Lambda-Runtime-Function-Error-Type": "Runtime.Custom.Oops", "Content-Type": "text/plain"}})
    elif action == "stash":
        respond(request_id, stash)
    else:
        respond(request_id, {{"echo": event}})
"""


@pytest.fixture
def probe_function(create_function):
    return custom_function(create_function, {"bootstrap": PROBE_BOOTSTRAP}, Timeout=20)


def test_next_invocation_headers_and_environment(lambda_client, probe_function):
    client_context = {"client": {"app_title": "probe"}, "custom": {"k": "v"}, "env": {"locale": "en"}}
    before_ms = time.time() * 1000
    response, seen = invoke_json(
        lambda_client, probe_function, {"action": "probe", "n": 1},
        ClientContext=base64.b64encode(json.dumps(client_context).encode()).decode(),
    )
    after_ms = time.time() * 1000
    assert "FunctionError" not in response, seen
    headers = seen["headers"]
    assert seen["status"] == 200
    assert seen["event"] == {"action": "probe", "n": 1}
    assert headers["lambda-runtime-aws-request-id"] == response["ResponseMetadata"]["RequestId"]
    deadline = int(headers["lambda-runtime-deadline-ms"])
    assert before_ms + 20_000 - 1_000 <= deadline <= after_ms + 20_000  # the invocation's start + timeout
    assert headers["lambda-runtime-invoked-function-arn"] == (
        f"arn:aws:lambda:us-east-1:000000000000:function:{probe_function}"
    )
    assert headers["lambda-runtime-trace-id"].startswith("Root=1-")
    assert json.loads(headers["lambda-runtime-client-context"]) == client_context
    host, _, port = seen["runtime_api"].rpartition(":")
    assert host and port.isdigit()

    # a response for a request id that is not in progress
    assert seen["unknown_id"][0] == 400
    assert seen["unknown_id"][1]["errorType"] == "InvalidRequestID"

    # no client context: no header
    response, plain = invoke_json(lambda_client, probe_function, {"action": "probe"})
    assert "lambda-runtime-client-context" not in plain["headers"]
    assert plain["headers"]["lambda-runtime-trace-id"] != headers["lambda-runtime-trace-id"]


def test_second_response_for_the_same_request_is_refused(lambda_client, probe_function):
    response, seen = invoke_json(lambda_client, probe_function, {"action": "probe"})
    assert "FunctionError" not in response
    assert seen["event"] == {"action": "probe"}  # the first answer is the one the caller got
    response, stash = invoke_json(lambda_client, probe_function, {"action": "stash"})
    assert "FunctionError" not in response, stash
    assert stash["first"][0] == 202
    assert stash["again"][0] == 400
    assert stash["again"][1]["errorType"] == "InvalidRequestID"


def test_response_over_6_mb(lambda_client, probe_function):
    response, error = invoke_json(lambda_client, probe_function, {"action": "big"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert str(MAX_RESPONSE) in error["errorMessage"]

    response, stash = invoke_json(lambda_client, probe_function, {"action": "stash"})
    assert "FunctionError" not in response, stash
    status, document = stash["big"]
    assert status == 413
    assert document["errorType"] == "RequestEntityTooLarge"


def test_invocation_error_with_a_json_document(lambda_client, probe_function):
    response, error = invoke_json(lambda_client, probe_function, {"action": "error_json"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error == {"errorMessage": "the widget broke", "errorType": "Widget.Broken", "stackTrace": ["one", "two"]}
    response, stash = invoke_json(lambda_client, probe_function, {"action": "stash"})
    assert stash["error"][0] == 202


def test_invocation_error_type_from_the_header(lambda_client, probe_function):
    response, error = invoke_json(lambda_client, probe_function, {"action": "error_header"})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.Custom.Oops"
    assert error["errorMessage"] == "plain text, not JSON"
    # the runtime goes on serving
    response, payload = invoke_json(lambda_client, probe_function, {"after": "error"})
    assert "FunctionError" not in response
    assert payload == {"echo": {"after": "error"}}


INIT_ERROR_BOOTSTRAP = f"""#!{HOST_PYTHON}
import json, os, sys, urllib.request, uuid

token = uuid.uuid4().hex  # one per init
request = urllib.request.Request(
    f"http://{{os.environ['AWS_LAMBDA_RUNTIME_API']}}/2018-06-01/runtime/init/error",
    data=json.dumps({{"errorType": "Custom.InitFailed", "errorMessage": "cannot start " + token}}).encode(),
    method="POST",
    headers={{"Lambda-Runtime-Function-Error-Type": "Custom.InitFailed"}},
)
with urllib.request.urlopen(request, timeout=30) as response:
    print("init error accepted:", response.status, flush=True)
sys.exit(1)
"""


def test_init_error_reaches_the_caller_and_init_is_retried(lambda_client, create_function):
    name = custom_function(create_function, {"bootstrap": INIT_ERROR_BOOTSTRAP})
    tokens = []
    for _ in range(2):
        response, error = invoke_json(lambda_client, name, {}, LogType="Tail")
        assert response["StatusCode"] == 200
        assert response["FunctionError"] == "Unhandled"
        assert error["errorType"] == "Custom.InitFailed"
        assert error["errorMessage"].startswith("cannot start ")
        assert "Init Duration:" in report_of(response)  # a fresh init every time
        tokens.append(error["errorMessage"])
    assert tokens[0] != tokens[1]  # the second invocation ran init again, in a new environment


@pytest.mark.parametrize(
    "package",
    [
        executable_zip({"README.txt": "no bootstrap here"}),
        make_zip({"bootstrap": "#!/bin/sh\nexit 0\n"}),  # present, but make_zip sets no permission bits
    ],
    ids=["missing", "not-executable"],
)
def test_missing_bootstrap_is_an_invalid_entrypoint(lambda_client, create_function, package):
    name = create_function(zip_bytes=package, Runtime="provided.al2023", Handler="x.handler")
    response, error = invoke_json(lambda_client, name)
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert "/var/task/bootstrap" in error["errorMessage"]


def test_bootstrap_exit_status_during_init(lambda_client, create_function):
    name = custom_function(create_function, {"bootstrap": "#!/bin/sh\nexit 3\n"})
    response, error = invoke_json(lambda_client, name, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("exit status 3")
    assert "Init Duration:" in report_of(response)


def test_bootstrap_exit_status_during_an_invocation(lambda_client, create_function):
    bootstrap = (
        "#!/bin/sh\n"
        'curl -sS -o /dev/null "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next"\n'
        "exit 3\n"
    )
    name = custom_function(create_function, {"bootstrap": bootstrap})
    response, error = invoke_json(lambda_client, name, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"] == f"RequestId: {request_id} Error: Runtime exited with error: exit status 3"
    assert "Status: error" in report_of(response)
    # the environment is gone: the next invocation starts a new one
    response, error = invoke_json(lambda_client, name, LogType="Tail")
    assert error["errorType"] == "Runtime.ExitError"
    assert "Init Duration:" in report_of(response)
