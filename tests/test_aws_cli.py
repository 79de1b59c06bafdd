"""The AWS CLI (v1) pointed at Ember: the commands people paste from Lambda's docs."""

import base64
import hashlib
import json
import os
import subprocess

import pytest

from conftest import BIN, CREDENTIALS, ROLE, python_zip, unique_name

AWS = BIN / "aws"

SOURCE = """
import os

def handler(event, context):
    print("handling", event)
    return {"event": event, "stage": os.environ.get("STAGE"), "version": 1}
"""

SOURCE_V2 = SOURCE.replace('"version": 1', '"version": 2')


def payload_format() -> tuple[str, ...]:
    """CLI v2 reads blobs as base64 unless told otherwise; v1 has no such option and
    passes --payload through as it is."""
    result = subprocess.run([str(AWS), "--version"], capture_output=True, text=True, timeout=60)
    major = int((result.stdout or result.stderr).split("/", 1)[1].split(".", 1)[0])
    return ("--cli-binary-format", "raw-in-base64-out") if major >= 2 else ()


def aws(server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs `aws lambda ...` against the server; stdout is parsed JSON when check is True."""
    env = {**os.environ, **CREDENTIALS, "AWS_PAGER": "", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_MAX_ATTEMPTS": "1"}
    result = subprocess.run(
        [str(AWS), "lambda", *args, "--endpoint-url", server.url, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, f"aws {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
    return result


def aws_json(server, *args: str) -> dict:
    result = aws(server, *args)
    return json.loads(result.stdout) if result.stdout.strip() else {}


@pytest.fixture
def cli_function(server, tmp_path):
    """A function made with `aws lambda create-function`; deleted afterwards if still there."""
    name = unique_name("cli")
    zip_path = tmp_path / "function.zip"
    zip_path.write_bytes(python_zip(SOURCE))
    created = aws_json(
        server,
        "create-function",
        "--function-name", name,
        "--runtime", "python3.12",
        "--role", ROLE,
        "--handler", "lambda_function.handler",
        "--zip-file", f"fileb://{zip_path}",
        "--timeout", "10",
        "--memory-size", "256",
    )
    yield name, zip_path, created
    aws(server, "delete-function", "--function-name", name, check=False)


def test_create_and_get_function(server, cli_function):
    name, zip_path, created = cli_function
    digest = base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
    assert created["FunctionName"] == name
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert created["CodeSha256"] == digest
    assert created["State"] == "Active"
    assert (created["Timeout"], created["MemorySize"]) == (10, 256)

    got = aws_json(server, "get-function", "--function-name", name)
    assert got["Configuration"]["CodeSha256"] == digest
    assert got["Configuration"]["RevisionId"] == created["RevisionId"]
    assert got["Code"]["Location"].startswith("http://")

    config = aws_json(server, "get-function-configuration", "--function-name", name)
    assert config["Handler"] == "lambda_function.handler"


def test_list_functions(server, cli_function):
    name, _, _ = cli_function
    listed = aws_json(server, "list-functions")
    assert name in {f["FunctionName"] for f in listed["Functions"]}


def test_invoke_with_payload_and_log_tail(server, cli_function, tmp_path):
    name, _, _ = cli_function
    outfile = tmp_path / "response.json"
    result = aws_json(
        server,
        "invoke",
        "--function-name", name,
        *payload_format(),
        "--payload", '{"a":1}',
        "--log-type", "Tail",
        str(outfile),
    )
    assert result["StatusCode"] == 200
    assert "FunctionError" not in result
    assert result["ExecutedVersion"] == "$LATEST"
    assert json.loads(outfile.read_text()) == {"event": {"a": 1}, "stage": None, "version": 1}
    tail = base64.b64decode(result["LogResult"]).decode()
    assert "handling {'a': 1}" in tail
    assert "REPORT RequestId:" in tail


def test_invoke_without_payload(server, cli_function, tmp_path):
    name, _, _ = cli_function
    outfile = tmp_path / "response.json"
    result = aws_json(server, "invoke", "--function-name", name, str(outfile))
    assert result["StatusCode"] == 200
    assert "LogResult" not in result
    assert json.loads(outfile.read_text())["version"] == 1


def test_update_function_code(server, cli_function, tmp_path):
    name, _, created = cli_function
    new_zip = tmp_path / "v2.zip"
    new_zip.write_bytes(python_zip(SOURCE_V2))
    updated = aws_json(server, "update-function-code", "--function-name", name, "--zip-file", f"fileb://{new_zip}")
    assert updated["CodeSha256"] == base64.b64encode(hashlib.sha256(new_zip.read_bytes()).digest()).decode()
    assert updated["RevisionId"] != created["RevisionId"]
    outfile = tmp_path / "response.json"
    aws_json(server, "invoke", "--function-name", name, str(outfile))
    assert json.loads(outfile.read_text())["version"] == 2


def test_update_function_configuration_environment(server, cli_function, tmp_path):
    name, _, created = cli_function
    updated = aws_json(
        server,
        "update-function-configuration",
        "--function-name", name,
        "--environment", "Variables={STAGE=prod,OTHER=1}",
    )
    assert updated["Environment"]["Variables"] == {"STAGE": "prod", "OTHER": "1"}
    assert updated["RevisionId"] != created["RevisionId"]
    outfile = tmp_path / "response.json"
    aws_json(server, "invoke", "--function-name", name, str(outfile))
    assert json.loads(outfile.read_text())["stage"] == "prod"


def test_delete_function_then_not_found(server, cli_function):
    name, _, _ = cli_function
    result = aws(server, "delete-function", "--function-name", name)
    # Newer models give DeleteFunction's output a StatusCode member, which the CLI prints.
    assert json.loads(result.stdout or "{}") in ({}, {"StatusCode": 204})
    missing = aws(server, "get-function", "--function-name", name, check=False)
    assert missing.returncode in (254, 255)
    assert "ResourceNotFoundException" in missing.stderr
    assert f"function:{name}" in missing.stderr


def test_account_settings(server):
    settings = aws_json(server, "get-account-settings")
    assert settings["AccountLimit"]["CodeSizeZipped"] == 52_428_800
    assert settings["AccountUsage"]["FunctionCount"] >= 0


def test_invalid_parameter_reaches_the_cli(server, tmp_path):
    zip_path = tmp_path / "function.zip"
    zip_path.write_bytes(python_zip(SOURCE))
    result = aws(
        server,
        "create-function",
        "--function-name", unique_name("cli"),
        "--runtime", "java21",
        "--role", ROLE,
        "--handler", "example.Handler::handleRequest",
        "--zip-file", f"fileb://{zip_path}",
        check=False,
    )
    assert result.returncode in (254, 255)
    assert "InvalidParameterValueException" in result.stderr
    assert "java21" in result.stderr
