"""Lambda's control plane through boto3 against a real `ember serve`: create, read,
list, update, delete, account settings, and the errors each of them answers."""

import io
import re
import urllib.error
import urllib.request
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from conftest import ROLE, invoke_json, make_zip, python_zip, sha256_b64, unique_name

ACCOUNT = "000000000000"
REGION = "us-east-1"
LAST_MODIFIED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

RETURNS_ONE = """
def handler(event, context):
    return {"value": 1}
"""

RETURNS_TWO = """
def handler(event, context):
    return {"value": 2}
"""

# Reports what the configuration looks like from inside the environment.
INTROSPECT = """
import os

def handler(event, context):
    return {
        "which": "handler",
        "greeting": os.environ.get("GREETING"),
        "memory": context.memory_limit_in_mb,
        "memory_variable": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
        "execution_env": os.environ["AWS_EXECUTION_ENV"],
        "remaining_ms": context.get_remaining_time_in_millis(),
    }

def other(event, context):
    return {"which": "other"}
"""


def arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def error_of(excinfo) -> tuple[int, str, str]:
    """(HTTP status, error code, message) of a botocore ClientError."""
    response = excinfo.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def create_params(name: str, zip_bytes: bytes, **params) -> dict:
    return {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "lambda_function.handler",
        "Code": {"ZipFile": zip_bytes},
        **params,
    }


def assert_not_created(lambda_client, name: str) -> None:
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_function(FunctionName=name)


# ------------------------------------------------------------ CreateFunction


def test_create_function_response_fields(lambda_client):
    name = unique_name("create")
    zip_bytes = python_zip(RETURNS_ONE)
    try:
        created = lambda_client.create_function(
            **create_params(
                name,
                zip_bytes,
                Description="made by the tests",
                Environment={"Variables": {"GREETING": "hello", "OTHER_VALUE": "x=y;z"}},
                MemorySize=256,
                Timeout=30,
                EphemeralStorage={"Size": 1024},
            )
        )
        assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
        assert created["FunctionName"] == name
        assert created["FunctionArn"] == arn(name)
        assert created["CodeSha256"] == sha256_b64(zip_bytes)
        assert created["CodeSize"] == len(zip_bytes)
        assert created["State"] == "Active"
        assert created["LastUpdateStatus"] == "Successful"
        assert created["Version"] == "$LATEST"
        assert UUID.match(created["RevisionId"])
        assert LAST_MODIFIED.match(created["LastModified"]), created["LastModified"]
        assert created["Runtime"] == "python3.12"
        assert created["Role"] == ROLE
        assert created["Handler"] == "lambda_function.handler"
        assert created["Description"] == "made by the tests"
        assert created["Environment"] == {"Variables": {"GREETING": "hello", "OTHER_VALUE": "x=y;z"}}
        assert created["MemorySize"] == 256
        assert created["Timeout"] == 30
        assert created["EphemeralStorage"] == {"Size": 1024}
        assert created["PackageType"] == "Zip"
        assert created["LoggingConfig"]["LogGroup"] == f"/aws/lambda/{name}"
    finally:
        lambda_client.delete_function(FunctionName=name)


def test_create_function_defaults(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    config = lambda_client.get_function_configuration(FunctionName=name)
    assert config["MemorySize"] == 128
    assert config["Timeout"] == 3
    assert config["EphemeralStorage"] == {"Size": 512}
    assert config["Description"] == ""
    assert "Environment" not in config
    assert len(config["Architectures"]) == 1


def test_two_functions_get_different_revision_ids(lambda_client, create_function):
    first = lambda_client.get_function_configuration(FunctionName=create_function(RETURNS_ONE))
    second = lambda_client.get_function_configuration(FunctionName=create_function(RETURNS_ONE))
    assert first["RevisionId"] != second["RevisionId"]
    # Same code, same digest: the store shares it, the API reports it the same.
    assert first["CodeSha256"] == second["CodeSha256"]


def test_create_twice_is_a_conflict(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    with pytest.raises(lambda_client.exceptions.ResourceConflictException) as excinfo:
        lambda_client.create_function(**create_params(name, python_zip(RETURNS_TWO)))
    status, _, message = error_of(excinfo)
    assert status == 409
    assert name in message
    # The first function's code is untouched.
    config = lambda_client.get_function_configuration(FunctionName=name)
    assert config["CodeSha256"] == sha256_b64(python_zip(RETURNS_ONE))


def test_concurrent_creates_of_one_name_make_one_function(server, lambda_client):
    name = unique_name("race")
    clients = [server.client() for _ in range(6)]

    def create(client):
        try:
            return client.create_function(**create_params(name, python_zip(RETURNS_ONE)))["RevisionId"]
        except client.exceptions.ResourceConflictException:
            return None

    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            revisions = list(pool.map(create, clients))
        winners = [r for r in revisions if r is not None]
        assert len(winners) == 1
        assert lambda_client.get_function_configuration(FunctionName=name)["RevisionId"] == winners[0]
    finally:
        lambda_client.delete_function(FunctionName=name)


@pytest.mark.parametrize("form", ["arn", "partial"])
def test_create_function_by_arn_names_the_function_by_its_last_part(lambda_client, form):
    name = unique_name("byarn")
    identifier = arn(name) if form == "arn" else f"{ACCOUNT}:function:{name}"
    try:
        created = lambda_client.create_function(**create_params(identifier, python_zip(RETURNS_ONE)))
        assert created["FunctionName"] == name
        assert created["FunctionArn"] == arn(name)
        assert lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"] == arn(name)
    finally:
        lambda_client.delete_function(FunctionName=name)
    assert_not_created(lambda_client, name)


def test_create_function_refuses_a_qualified_name(lambda_client):
    name = unique_name("qualified")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.create_function(**create_params(f"{name}:1", python_zip(RETURNS_ONE)))
    assert_not_created(lambda_client, name)
    assert not [f for f in lambda_client.list_functions(MaxItems=10000)["Functions"] if name in f["FunctionName"]]


def test_create_function_refuses_a_name_over_64_characters(lambda_client):
    name = "n" * 65
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_function(**create_params(name, python_zip(RETURNS_ONE)))
    status, code, message = error_of(excinfo)
    assert (status, code) == (400, "ValidationException")
    assert "64" in message
    # 64 is fine.
    name = unique_name("n").ljust(64, "n")
    try:
        assert lambda_client.create_function(**create_params(name, python_zip(RETURNS_ONE)))["FunctionName"] == name
    finally:
        lambda_client.delete_function(FunctionName=name)


def test_create_function_with_tags_returns_them_from_get_function(lambda_client, create_function):
    tags = {"team": "core", "cost-center": "42", "with space:and/slash": "v"}
    name = create_function(RETURNS_ONE, Tags=tags)
    assert lambda_client.get_function(FunctionName=name)["Tags"] == tags


def test_get_function_without_tags_has_no_tags(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    assert "Tags" not in lambda_client.get_function(FunctionName=name)


# ------------------------------------------------------------ reading


def test_get_function_has_configuration_and_a_code_location_serving_the_zip(lambda_client, create_function):
    zip_bytes = make_zip({"lambda_function.py": RETURNS_ONE, "data/readme.txt": "some data " * 50})
    name = create_function(zip_bytes=zip_bytes)
    response = lambda_client.get_function(FunctionName=name)
    configuration = response["Configuration"]
    assert configuration == {
        k: v
        for k, v in lambda_client.get_function_configuration(FunctionName=name).items()
        if k != "ResponseMetadata"
    }
    assert configuration["CodeSha256"] == sha256_b64(zip_bytes)
    location = response["Code"]["Location"]
    assert location.startswith("http://")
    with urllib.request.urlopen(location, timeout=10) as download:
        assert download.status == 200
        assert download.read() == zip_bytes


def test_code_location_of_unknown_code_is_not_found(server):
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(f"{server.url}/_ember/code/{'0' * 64}.zip", timeout=10)
    assert excinfo.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(f"{server.url}/_ember/code/..%2F..%2Fember.db", timeout=10)
    assert excinfo.value.code == 404


@pytest.mark.parametrize(
    "identifier, qualifier",
    [
        ("{name}", None),
        ("arn:aws:lambda:us-east-1:000000000000:function:{name}", None),
        ("000000000000:function:{name}", None),
        ("{name}", "$LATEST"),
        ("{name}:$LATEST", None),
        ("arn:aws:lambda:us-east-1:000000000000:function:{name}:$LATEST", None),
    ],
)
def test_get_function_by_every_identifier_form(lambda_client, create_function, identifier, qualifier):
    name = create_function(RETURNS_ONE)
    params = {"FunctionName": identifier.format(name=name)}
    if qualifier:
        params["Qualifier"] = qualifier
    assert lambda_client.get_function(**params)["Configuration"]["FunctionName"] == name
    config = lambda_client.get_function_configuration(**params)
    assert config["FunctionName"] == name
    assert config["FunctionArn"] == arn(name)


@pytest.mark.parametrize(
    "identifier",
    [
        "arn:aws:lambda:eu-west-1:000000000000:function:{name}",
        "arn:aws:lambda:us-east-1:123456789012:function:{name}",
        "123456789012:function:{name}",
    ],
)
def test_get_function_in_another_region_or_account_is_not_found(lambda_client, create_function, identifier):
    name = create_function(RETURNS_ONE)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_function(FunctionName=identifier.format(name=name))


def test_get_function_with_a_version_qualifier_is_not_found(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as excinfo:
        lambda_client.get_function(FunctionName=name, Qualifier="1")
    assert error_of(excinfo)[2] == f"Function not found: {arn(name)}:1"


def test_qualifier_in_name_and_parameter_must_agree(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.get_function(FunctionName=f"{name}:$LATEST", Qualifier="1")


# ------------------------------------------------------------ ListFunctions


def _created_with_prefix(lambda_client, create_function, count: int) -> tuple[str, set[str]]:
    prefix = f"list-{uuid.uuid4().hex[:8]}"
    names = {create_function(RETURNS_ONE, FunctionName=f"{prefix}-{i}") for i in range(count)}
    return prefix, names


def test_list_functions_pages_with_max_items_and_marker(lambda_client, create_function):
    prefix, names = _created_with_prefix(lambda_client, create_function, 5)
    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        params = {"MaxItems": 2}
        if marker:
            params["Marker"] = marker
        page = lambda_client.list_functions(**params)
        pages += 1
        assert len(page["Functions"]) <= 2
        seen.extend(f["FunctionName"] for f in page["Functions"])
        marker = page.get("NextMarker")
        if not marker:
            break
        assert len(page["Functions"]) == 2
        assert pages < 1000, "pagination does not end"
    assert len(seen) == len(set(seen)), "a function was listed twice"
    assert names <= set(seen)
    assert pages >= 3
    listed = {f["FunctionName"]: f for f in lambda_client.list_functions(MaxItems=10000)["Functions"]}
    assert set(seen) == set(listed)
    for name in names:
        assert listed[name]["FunctionArn"] == arn(name)
        assert listed[name]["CodeSha256"] == sha256_b64(python_zip(RETURNS_ONE))


def test_list_functions_paginator_finds_all(lambda_client, create_function):
    prefix, names = _created_with_prefix(lambda_client, create_function, 5)
    paginator = lambda_client.get_paginator("list_functions")
    found = [
        f["FunctionName"]
        for page in paginator.paginate(PaginationConfig={"PageSize": 2})
        for f in page["Functions"]
    ]
    assert len(found) == len(set(found))
    assert {n for n in found if n.startswith(prefix)} == names


def test_list_functions_without_max_items_returns_at_most_50(lambda_client, create_function):
    create_function(RETURNS_ONE)
    page = lambda_client.list_functions()
    assert 1 <= len(page["Functions"]) <= 50
    assert ("NextMarker" in page) == (len(lambda_client.list_functions(MaxItems=10000)["Functions"]) > 50)


def test_deleted_function_is_not_listed(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    assert name in {f["FunctionName"] for f in lambda_client.list_functions(MaxItems=10000)["Functions"]}
    lambda_client.delete_function(FunctionName=name)
    assert name not in {f["FunctionName"] for f in lambda_client.list_functions(MaxItems=10000)["Functions"]}


# ------------------------------------------------------------ UpdateFunctionCode


def test_update_function_code_changes_sha_revision_and_runs_the_new_code(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    before = lambda_client.get_function_configuration(FunctionName=name)
    _, payload = invoke_json(lambda_client, name)
    assert payload == {"value": 1}  # also leaves a warm environment with the old code

    new_zip = python_zip(RETURNS_TWO)
    updated = lambda_client.update_function_code(FunctionName=name, ZipFile=new_zip)
    assert updated["CodeSha256"] == sha256_b64(new_zip) != before["CodeSha256"]
    assert updated["CodeSize"] == len(new_zip)
    assert updated["RevisionId"] != before["RevisionId"]
    assert UUID.match(updated["RevisionId"])
    assert LAST_MODIFIED.match(updated["LastModified"])
    assert updated["LastUpdateStatus"] == "Successful"

    _, payload = invoke_json(lambda_client, name)
    assert payload == {"value": 2}
    got = lambda_client.get_function(FunctionName=name)
    assert got["Configuration"]["CodeSha256"] == sha256_b64(new_zip)
    with urllib.request.urlopen(got["Code"]["Location"], timeout=10) as download:
        assert download.read() == new_zip


def test_update_function_code_by_arn(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    updated = lambda_client.update_function_code(FunctionName=arn(name), ZipFile=python_zip(RETURNS_TWO))
    assert updated["FunctionName"] == name
    assert invoke_json(lambda_client, name)[1] == {"value": 2}


def test_update_function_code_dry_run_changes_nothing(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    before = lambda_client.get_function_configuration(FunctionName=name)
    new_zip = python_zip(RETURNS_TWO)
    dry = lambda_client.update_function_code(FunctionName=name, ZipFile=new_zip, DryRun=True)
    assert dry["CodeSha256"] == sha256_b64(new_zip)
    after = lambda_client.get_function_configuration(FunctionName=name)
    assert after["CodeSha256"] == before["CodeSha256"]
    assert after["RevisionId"] == before["RevisionId"]
    assert invoke_json(lambda_client, name)[1] == {"value": 1}


def test_update_function_code_with_a_bad_zip_keeps_the_old_code(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    before = lambda_client.get_function_configuration(FunctionName=name)
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.update_function_code(FunctionName=name, ZipFile=b"this is not a zip")
    assert "Could not unzip uploaded file" in error_of(excinfo)[2]
    after = lambda_client.get_function_configuration(FunctionName=name)
    assert (after["CodeSha256"], after["RevisionId"]) == (before["CodeSha256"], before["RevisionId"])
    assert invoke_json(lambda_client, name)[1] == {"value": 1}


def test_update_function_code_of_a_missing_function_is_not_found(lambda_client):
    name = unique_name("missing")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as excinfo:
        lambda_client.update_function_code(FunctionName=name, ZipFile=python_zip(RETURNS_ONE))
    assert error_of(excinfo)[2] == f"Function not found: {arn(name)}"


# ------------------------------------------------------------ UpdateFunctionConfiguration


def test_update_function_configuration_changes_revision_and_takes_effect(lambda_client, create_function):
    name = create_function(INTROSPECT, Runtime="python3.12", Environment={"Variables": {"GREETING": "hello"}})
    before = lambda_client.get_function_configuration(FunctionName=name)
    _, payload = invoke_json(lambda_client, name)
    assert payload["greeting"] == "hello"
    assert payload["memory"] == "128"  # a string, as in Lambda's Python runtime
    assert payload["memory_variable"] == "128"
    assert payload["execution_env"] == "AWS_Lambda_python3.12"
    assert payload["remaining_ms"] <= 3000

    updated = lambda_client.update_function_configuration(
        FunctionName=name,
        Environment={"Variables": {"GREETING": "bonjour"}},
        MemorySize=512,
        Timeout=60,
        Description="reconfigured",
        EphemeralStorage={"Size": 2048},
        Runtime="python3.11",
    )
    assert updated["RevisionId"] != before["RevisionId"]
    assert updated["CodeSha256"] == before["CodeSha256"]
    assert updated["Environment"] == {"Variables": {"GREETING": "bonjour"}}
    assert (updated["MemorySize"], updated["Timeout"]) == (512, 60)
    assert updated["Description"] == "reconfigured"
    assert updated["EphemeralStorage"] == {"Size": 2048}
    assert updated["Runtime"] == "python3.11"
    assert lambda_client.get_function_configuration(FunctionName=name)["RevisionId"] == updated["RevisionId"]

    _, payload = invoke_json(lambda_client, name)
    assert payload["greeting"] == "bonjour"
    assert payload["memory"] == "512"
    assert payload["memory_variable"] == "512"
    assert payload["execution_env"] == "AWS_Lambda_python3.11"
    assert payload["remaining_ms"] > 3000  # the 60 s timeout is the deadline now, not 3 s

    lambda_client.update_function_configuration(FunctionName=name, Handler="lambda_function.other")
    assert invoke_json(lambda_client, name)[1] == {"which": "other"}


def test_update_function_configuration_keeps_what_it_is_not_given(lambda_client, create_function):
    name = create_function(RETURNS_ONE, MemorySize=256, Environment={"Variables": {"KEEP_ME": "1"}})
    updated = lambda_client.update_function_configuration(FunctionName=name, Description="only this")
    assert updated["MemorySize"] == 256
    assert updated["Environment"] == {"Variables": {"KEEP_ME": "1"}}
    assert updated["Handler"] == "lambda_function.handler"


def test_update_function_configuration_can_clear_the_environment(lambda_client, create_function):
    name = create_function(INTROSPECT, Environment={"Variables": {"GREETING": "hello"}})
    assert invoke_json(lambda_client, name)[1]["greeting"] == "hello"
    updated = lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": {}})
    assert not updated.get("Environment", {}).get("Variables")
    assert invoke_json(lambda_client, name)[1]["greeting"] is None


def test_update_function_configuration_refuses_reserved_variables(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    before = lambda_client.get_function_configuration(FunctionName=name)
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"AWS_LAMBDA_FUNCTION_NAME": "x"}}
        )
    assert "AWS_LAMBDA_FUNCTION_NAME" in error_of(excinfo)[2]
    assert lambda_client.get_function_configuration(FunctionName=name)["RevisionId"] == before["RevisionId"]


@pytest.mark.parametrize("runtime, wording", [("java21", "not supported"), ("python3.7", "no longer supported")])
def test_update_function_configuration_refuses_unrunnable_runtimes(lambda_client, create_function, runtime, wording):
    name = create_function(RETURNS_ONE)
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.update_function_configuration(FunctionName=name, Runtime=runtime)
    assert wording in error_of(excinfo)[2]
    assert lambda_client.get_function_configuration(FunctionName=name)["Runtime"] == "python3.12"


# ------------------------------------------------------------ RevisionId preconditions


def test_revision_id_mismatch_is_a_precondition_failure(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    current = lambda_client.get_function_configuration(FunctionName=name)["RevisionId"]
    stale = str(uuid.uuid4())
    with pytest.raises(lambda_client.exceptions.PreconditionFailedException) as excinfo:
        lambda_client.update_function_configuration(FunctionName=name, Description="x", RevisionId=stale)
    assert error_of(excinfo)[0] == 412
    with pytest.raises(lambda_client.exceptions.PreconditionFailedException):
        lambda_client.update_function_code(FunctionName=name, ZipFile=python_zip(RETURNS_TWO), RevisionId=stale)
    after = lambda_client.get_function_configuration(FunctionName=name)
    assert after["RevisionId"] == current
    assert after["Description"] == ""

    # The current RevisionId is accepted, once: the update makes it stale.
    updated = lambda_client.update_function_configuration(FunctionName=name, Description="x", RevisionId=current)
    assert updated["Description"] == "x"
    with pytest.raises(lambda_client.exceptions.PreconditionFailedException):
        lambda_client.update_function_code(FunctionName=name, ZipFile=python_zip(RETURNS_TWO), RevisionId=current)
    code = lambda_client.update_function_code(
        FunctionName=name, ZipFile=python_zip(RETURNS_TWO), RevisionId=updated["RevisionId"]
    )
    assert code["CodeSha256"] == sha256_b64(python_zip(RETURNS_TWO))


# ------------------------------------------------------------ DeleteFunction


def test_delete_function_then_everything_is_not_found(lambda_client):
    name = unique_name("delete")
    lambda_client.create_function(**create_params(name, python_zip(RETURNS_ONE)))
    assert invoke_json(lambda_client, name)[1] == {"value": 1}
    response = lambda_client.delete_function(FunctionName=name)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204

    for call, params in [
        (lambda_client.get_function, {}),
        (lambda_client.get_function_configuration, {}),
        (lambda_client.invoke, {}),
        (lambda_client.delete_function, {}),
        (lambda_client.update_function_configuration, {"Description": "x"}),
    ]:
        with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as excinfo:
            call(FunctionName=name, **params)
        status, code, message = error_of(excinfo)
        assert (status, code) == (404, "ResourceNotFoundException")
        assert message == f"Function not found: {arn(name)}"

    # The name is free again.
    lambda_client.create_function(**create_params(name, python_zip(RETURNS_TWO)))
    try:
        assert invoke_json(lambda_client, name)[1] == {"value": 2}
    finally:
        lambda_client.delete_function(FunctionName=name)


def test_delete_function_by_arn(lambda_client):
    name = unique_name("delete")
    lambda_client.create_function(**create_params(name, python_zip(RETURNS_ONE)))
    lambda_client.delete_function(FunctionName=arn(name))
    assert_not_created(lambda_client, name)


def test_delete_latest_qualifier_is_refused(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.delete_function(FunctionName=name, Qualifier="$LATEST")
    assert lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


# ------------------------------------------------------------ GetAccountSettings


def test_account_settings_limits_and_usage(lambda_client):
    before = lambda_client.get_account_settings()
    limits = before["AccountLimit"]
    assert limits["TotalCodeSize"] == 80_530_636_800
    assert limits["CodeSizeUnzipped"] == 262_144_000
    assert limits["CodeSizeZipped"] == 52_428_800
    assert limits["ConcurrentExecutions"] > 0
    assert limits["UnreservedConcurrentExecutions"] <= limits["ConcurrentExecutions"]

    zip_bytes = python_zip(RETURNS_ONE + "\n# account settings " + uuid.uuid4().hex)
    name = unique_name("account")
    lambda_client.create_function(**create_params(name, zip_bytes))
    try:
        during = lambda_client.get_account_settings()["AccountUsage"]
        assert during["FunctionCount"] == before["AccountUsage"]["FunctionCount"] + 1
        assert during["TotalCodeSize"] == before["AccountUsage"]["TotalCodeSize"] + len(zip_bytes)
        assert during["FunctionCount"] == len(lambda_client.list_functions(MaxItems=10000)["Functions"])
    finally:
        lambda_client.delete_function(FunctionName=name)
    after = lambda_client.get_account_settings()["AccountUsage"]
    assert after["FunctionCount"] == before["AccountUsage"]["FunctionCount"]


# ------------------------------------------------------------ what CreateFunction refuses


def test_unsupported_runtime(lambda_client):
    name = unique_name("java")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.create_function(**create_params(name, make_zip({"Handler.java": "x"}), Runtime="java21"))
    status, _, message = error_of(excinfo)
    assert status == 400
    assert "java21" in message and "not supported" in message
    assert_not_created(lambda_client, name)


def test_deprecated_runtime(lambda_client):
    name = unique_name("old")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.create_function(**create_params(name, python_zip(RETURNS_ONE), Runtime="python3.7"))
    message = error_of(excinfo)[2]
    assert "python3.7" in message and "no longer supported" in message
    assert_not_created(lambda_client, name)


def test_missing_handler(lambda_client):
    name = unique_name("nohandler")
    params = create_params(name, python_zip(RETURNS_ONE))
    del params["Handler"]
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.create_function(**params)
    assert_not_created(lambda_client, name)


def test_reserved_environment_variables_are_listed(lambda_client):
    name = unique_name("reserved")
    variables = {"AWS_REGION": "eu-west-1", "LAMBDA_TASK_ROOT": "/x", "FINE_ONE": "ok"}
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.create_function(
            **create_params(name, python_zip(RETURNS_ONE), Environment={"Variables": variables})
        )
    message = error_of(excinfo)[2]
    assert "reserved keys" in message
    assert "AWS_REGION" in message and "LAMBDA_TASK_ROOT" in message
    assert "FINE_ONE" not in message
    assert_not_created(lambda_client, name)


def test_environment_over_4kb(lambda_client):
    name = unique_name("bigenv")
    variables = {f"VAR_{i}": "x" * 100 for i in range(40)}
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.create_function(
            **create_params(name, python_zip(RETURNS_ONE), Environment={"Variables": variables})
        )
    assert "4KB" in error_of(excinfo)[2]
    assert_not_created(lambda_client, name)


def test_environment_of_exactly_4kb_is_accepted(lambda_client, create_function):
    # {"BIG_VALUE":"xxx..."} measured as compact JSON: 16 bytes around the value.
    variables = {"BIG_VALUE": "x" * (4096 - 16)}
    name = create_function(RETURNS_ONE, Environment={"Variables": variables})
    assert lambda_client.get_function_configuration(FunctionName=name)["Environment"]["Variables"] == variables


def test_invalid_zip(lambda_client):
    name = unique_name("badzip")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.create_function(**create_params(name, b"PK\x03\x04 definitely not a zip"))
    assert "Could not unzip uploaded file" in error_of(excinfo)[2]
    assert_not_created(lambda_client, name)


def test_zip_with_corrupt_compressed_data(lambda_client):
    # The archive's directory reads fine; the member's deflate stream does not.
    zip_bytes = bytearray(python_zip(RETURNS_ONE * 20))
    with zipfile.ZipFile(io.BytesIO(bytes(zip_bytes))) as archive:
        member = archive.infolist()[0]
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    zip_bytes[start:start + member.compress_size] = b"\xff" * member.compress_size
    name = unique_name("corrupt")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.create_function(**create_params(name, bytes(zip_bytes)))
    assert "Could not unzip uploaded file" in error_of(excinfo)[2]
    assert_not_created(lambda_client, name)


def test_zip_with_an_entry_outside_the_package_is_refused(lambda_client):
    name = unique_name("zipslip")
    zip_bytes = make_zip({"lambda_function.py": RETURNS_ONE, "../evil.py": "print('escaped')"})
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.create_function(**create_params(name, zip_bytes))
    assert "../evil.py" in error_of(excinfo)[2]
    assert_not_created(lambda_client, name)


def test_zip_with_an_absolute_entry_is_refused(lambda_client):
    name = unique_name("zipabs")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", RETURNS_ONE)
        archive.writestr(zipfile.ZipInfo("/tmp/evil.py"), "print('escaped')")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.create_function(**create_params(name, buffer.getvalue()))
    assert_not_created(lambda_client, name)


@pytest.mark.parametrize(
    "parameter, value",
    [
        ("DeadLetterConfig", {"TargetArn": "arn:aws:sqs:us-east-1:000000000000:dead-letters"}),
        ("KMSKeyArn", "arn:aws:kms:us-east-1:000000000000:key/1234"),
        ("TracingConfig", {"Mode": "Active"}),
        ("VpcConfig", {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}),
    ],
)
def test_parameters_ember_does_not_support_yet(lambda_client, parameter, value):
    name = unique_name("unsupported")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as excinfo:
        lambda_client.create_function(**create_params(name, python_zip(RETURNS_ONE), **{parameter: value}))
    message = error_of(excinfo)[2]
    assert parameter in message and "not supported by Ember yet" in message
    assert_not_created(lambda_client, name)


def test_parameters_at_their_unused_value_are_accepted(lambda_client, create_function):
    name = create_function(RETURNS_ONE, Publish=False, Layers=[], TracingConfig={"Mode": "PassThrough"})
    assert lambda_client.get_function_configuration(FunctionName=name)["Version"] == "$LATEST"


def test_publish_on_update_function_code_publishes_a_version(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    published = lambda_client.update_function_code(FunctionName=name, ZipFile=python_zip(RETURNS_TWO), Publish=True)
    assert published["Version"] == "1"
    assert invoke_json(lambda_client, name, Qualifier="1")[1] == {"value": 2}


def test_s3_code_is_refused(lambda_client):
    name = unique_name("s3")
    params = create_params(name, b"")
    params["Code"] = {"S3Bucket": "bucket", "S3Key": "code.zip"}
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.create_function(**params)
    assert_not_created(lambda_client, name)


# ------------------------------------------------------------ what Ember does not do yet


def test_event_invocation_is_unsupported(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    status, code, message = error_of(excinfo)
    assert (status, code) == (501, "UnsupportedOperationException")
    assert "Event" in message


def test_dry_run_invocation_checks_the_function_exists(lambda_client, create_function):
    name = create_function(RETURNS_ONE)
    response = lambda_client.invoke(FunctionName=name, InvocationType="DryRun")
    assert response["StatusCode"] == 204
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName=unique_name("missing"), InvocationType="DryRun")


# Operations Ember does not serve yet; when one gets served, swap it for another.
@pytest.mark.parametrize(
    "operation, params",
    [
        ("list_event_source_mappings", {}),
        ("get_function_url_config", {"FunctionName": "any"}),
        ("list_code_signing_configs", {}),
        ("get_function_event_invoke_config", {"FunctionName": "any"}),
    ],
)
def test_unimplemented_operations_are_unsupported(lambda_client, operation, params):
    with pytest.raises(ClientError) as excinfo:
        getattr(lambda_client, operation)(**params)
    status, code, message = error_of(excinfo)
    assert (status, code) == (501, "UnsupportedOperationException")
    assert "not support" in message
