"""Lambda's REST API over plain HTTP, as a client without an SDK sees it: the
ValidationException wording, unparseable bodies, unknown paths, oversized
requests, and the shape every error has (x-amzn-ErrorType, JSON with Message)."""

import base64
import http.client
import json
import urllib.error
import urllib.request

import pytest

from conftest import ROLE, python_zip, unique_name

FUNCTIONS = "/2015-03-31/functions"
MAX_REQUEST_BYTES = 70_167_211

SOURCE = "def handler(event, context):\n    return event\n"


def request(server, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None):
    """(status, lower-cased headers, raw body) of one plain HTTP request."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(f"{server.url}{path}", data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def assert_aws_error(status: int, headers: dict, body: bytes, expected_status: int, error_type: str) -> str:
    """Checks the error's shape and returns its message."""
    assert status == expected_status, body
    assert headers.get("x-amzn-errortype") == error_type
    assert headers.get("x-amzn-requestid")
    assert headers.get("content-type", "").startswith("application/json")
    document = json.loads(body)
    assert isinstance(document.get("Message"), str) and document["Message"]
    return document["Message"]


def create_body(**overrides) -> dict:
    body = {
        "FunctionName": unique_name("http"),
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "lambda_function.handler",
        "Code": {"ZipFile": base64.b64encode(python_zip(SOURCE)).decode()},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def function_exists(server, name: str) -> bool:
    status, _, _ = request(server, "GET", f"{FUNCTIONS}/{name}")
    return status == 200


# ------------------------------------------------------------ a request that works, for contrast


def test_plain_http_create_get_delete(server):
    body = create_body()
    status, headers, raw = request(server, "POST", FUNCTIONS, body)
    assert status == 201, raw
    assert headers.get("x-amzn-requestid")
    assert json.loads(raw)["FunctionName"] == body["FunctionName"]
    assert function_exists(server, body["FunctionName"])
    status, _, raw = request(server, "DELETE", f"{FUNCTIONS}/{body['FunctionName']}")
    assert status == 204
    assert raw == b""
    assert not function_exists(server, body["FunctionName"])


# ------------------------------------------------------------ ValidationException


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (
            {"MemorySize": 100},
            "1 validation error detected: Value '100' at 'memorySize' failed to satisfy constraint: "
            "Member must have value greater than or equal to 128",
        ),
        (
            {"MemorySize": 20000},
            "1 validation error detected: Value '20000' at 'memorySize' failed to satisfy constraint: "
            "Member must have value less than or equal to 10240",
        ),
        (
            {"Timeout": 0},
            "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1",
        ),
        (
            {"Timeout": 901},
            "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: "
            "Member must have value less than or equal to 900",
        ),
        (
            {"Role": None},
            "1 validation error detected: Value null at 'role' failed to satisfy constraint: "
            "Member must not be null",
        ),
        (
            {"EphemeralStorage": {"Size": 100}},
            "1 validation error detected: Value '100' at 'ephemeralStorage.size' failed to satisfy constraint: "
            "Member must have value greater than or equal to 512",
        ),
    ],
)
def test_validation_exception_wording(server, overrides, expected):
    body = create_body(**overrides)
    message = assert_aws_error(*request(server, "POST", FUNCTIONS, body), 400, "ValidationException")
    assert message == expected
    assert not function_exists(server, body["FunctionName"])


def test_bad_function_name_pattern(server):
    message = assert_aws_error(
        *request(server, "POST", FUNCTIONS, create_body(FunctionName="bad name!")), 400, "ValidationException"
    )
    assert message.startswith("1 validation error detected: Value 'bad name!' at 'functionName' failed to satisfy")
    assert "Member must satisfy regular expression pattern" in message


def test_memory_size_limits_are_inclusive(server):
    for memory in (128, 10240):
        body = create_body(MemorySize=memory, Timeout=900)
        status, _, raw = request(server, "POST", FUNCTIONS, body)
        assert status == 201, raw
        assert json.loads(raw)["MemorySize"] == memory
        assert request(server, "DELETE", f"{FUNCTIONS}/{body['FunctionName']}")[0] == 204


def test_several_validation_errors_are_counted_and_joined(server):
    body = create_body(MemorySize=100, Timeout=0, Role=None)
    message = assert_aws_error(*request(server, "POST", FUNCTIONS, body), 400, "ValidationException")
    assert message.startswith("3 validation errors detected: ")
    assert "'memorySize'" in message and "'timeout'" in message and "'role'" in message
    assert message.count("; ") == 2


def test_wrong_json_type_is_a_validation_error(server):
    body = create_body(MemorySize="lots")
    message = assert_aws_error(*request(server, "POST", FUNCTIONS, body), 400, "ValidationException")
    assert "'memorySize'" in message


def test_validation_applies_to_update_function_configuration(server):
    body = create_body()
    assert request(server, "POST", FUNCTIONS, body)[0] == 201
    path = f"{FUNCTIONS}/{body['FunctionName']}"
    try:
        message = assert_aws_error(
            *request(server, "PUT", f"{path}/configuration", {"MemorySize": 64}), 400, "ValidationException"
        )
        assert "'memorySize'" in message
        status, _, raw = request(server, "GET", f"{path}/configuration")
        assert json.loads(raw)["MemorySize"] == 128
    finally:
        request(server, "DELETE", path)


def test_list_functions_max_items_out_of_range(server):
    message = assert_aws_error(*request(server, "GET", f"{FUNCTIONS}/?MaxItems=0"), 400, "ValidationException")
    assert "'maxItems'" in message


def test_non_integer_query_parameter(server):
    status, headers, raw = request(server, "GET", f"{FUNCTIONS}/?MaxItems=many")
    assert status == 400
    assert headers.get("x-amzn-errortype") in ("InvalidParameterValueException", "ValidationException")
    assert json.loads(raw)["Message"]


# ------------------------------------------------------------ unparseable and unknown requests


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2, 3]", b"\xff\xfe"])
def test_malformed_json_body(server, body):
    message = assert_aws_error(
        *request(server, "POST", FUNCTIONS, body), 400, "InvalidRequestContentException"
    )
    assert "Could not parse request body into json" in message


def test_zip_file_that_is_not_base64(server):
    body = create_body(Code={"ZipFile": "!!! not base64 !!!"})
    assert_aws_error(*request(server, "POST", FUNCTIONS, body), 400, "InvalidParameterValueException")
    assert not function_exists(server, body["FunctionName"])


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/no/such/path"),
        ("GET", "/2015-03-31/nothing-here"),
        ("POST", "/2015-03-31/functions/a/b/c/d"),
        ("PATCH", FUNCTIONS),
    ],
)
def test_unknown_path(server, method, path):
    body = b"{}" if method in ("POST", "PATCH") else None
    message = assert_aws_error(*request(server, method, path, body), 404, "UnknownOperationException")
    assert path in message


def test_unsupported_operation_over_http(server):
    message = assert_aws_error(
        *request(server, "GET", "/2015-03-31/event-source-mappings"), 501, "UnsupportedOperationException"
    )
    assert "ListEventSourceMappings" in message


def test_not_found_over_http(server):
    name = unique_name("nowhere")
    message = assert_aws_error(*request(server, "GET", f"{FUNCTIONS}/{name}"), 404, "ResourceNotFoundException")
    assert message == f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}"


# ------------------------------------------------------------ oversized requests


def _declare_huge_body(server, path: str, declared: int) -> tuple[int, dict, bytes]:
    """Declares a body of `declared` bytes, sends a few, and reads the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(declared))
        connection.endheaders()
        connection.send(b'{"FunctionName": "too-big", "Code": {"ZipFile": "')
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_create_function_over_the_request_limit(server):
    status, headers, raw = _declare_huge_body(server, FUNCTIONS, MAX_REQUEST_BYTES + 1)
    message = assert_aws_error(status, headers, raw, 413, "RequestTooLargeException")
    assert str(MAX_REQUEST_BYTES) in message
    assert "CreateFunction" in message
    assert server.health()["status"] == "ok"
    assert not function_exists(server, "too-big")


def test_invoke_over_the_payload_limit(server):
    status, headers, raw = _declare_huge_body(server, f"{FUNCTIONS}/anything/invocations", 6 * 1024 * 1024 + 1)
    assert_aws_error(status, headers, raw, 413, "RequestTooLargeException")


def test_server_stays_healthy_after_errors(server):
    _declare_huge_body(server, FUNCTIONS, 10**12)
    request(server, "POST", FUNCTIONS, b"{not json")
    request(server, "GET", "/no/such/path")
    with urllib.request.urlopen(f"{server.url}/health", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read())["status"] == "ok"
    # And still serves real work.
    body = create_body()
    assert request(server, "POST", FUNCTIONS, body)[0] == 201
    assert request(server, "DELETE", f"{FUNCTIONS}/{body['FunctionName']}")[0] == 204
