"""Versions, aliases and provisioned concurrency: publishing immutable snapshots of
$LATEST, invoking them by qualifier, aliases with weighted routing, and environments
initialised ahead of demand."""

import re
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from conftest import ROLE, EmberServer, error_code, invoke_json, python_zip, report_of, unique_name

ARN_PREFIX = "arn:aws:lambda:us-east-1:000000000000:function:"

SOURCE = """
import os, time
MARKER = {marker!r}

def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {{
        "marker": MARKER,
        "version": context.function_version,
        "invoked_arn": context.invoked_function_arn,
        "initialization_type": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"],
    }}
"""


def source(marker: str) -> str:
    return SOURCE.format(marker=marker)


def code(marker: str) -> bytes:
    return python_zip(source(marker))


def invoke_ok(client, name, event=None, **params):
    response, payload = invoke_json(client, name, event, **params)
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response, payload
    return response, payload


def publish_two_versions(client, create_function) -> str:
    """A function with version 1 (marker "one"), version 2 (marker "two") and $LATEST ("latest")."""
    name = create_function(source("one"))
    assert client.publish_version(FunctionName=name)["Version"] == "1"
    client.update_function_code(FunctionName=name, ZipFile=code("two"))
    assert client.publish_version(FunctionName=name)["Version"] == "2"
    client.update_function_code(FunctionName=name, ZipFile=code("latest"))
    return name


# ------------------------------------------------------------ publishing


def test_publish_version(lambda_client, create_function):
    name = create_function(source("one"), Description="the function")
    latest = lambda_client.get_function_configuration(FunctionName=name)
    published = lambda_client.publish_version(FunctionName=name, Description="first release")
    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert published["Version"] == "1"
    assert published["FunctionArn"] == f"{ARN_PREFIX}{name}:1"
    assert published["FunctionName"] == name
    assert published["Description"] == "first release"
    assert published["CodeSha256"] == latest["CodeSha256"]
    assert published["RevisionId"] != latest["RevisionId"]

    # nothing changed since: the same version comes back
    again = lambda_client.publish_version(FunctionName=name)
    assert again["Version"] == "1"
    assert again["RevisionId"] == published["RevisionId"]

    # a configuration change is enough for a new version
    lambda_client.update_function_configuration(FunctionName=name, Timeout=7)
    second = lambda_client.publish_version(FunctionName=name)
    assert second["Version"] == "2"
    assert second["Timeout"] == 7
    assert lambda_client.get_function_configuration(FunctionName=name, Qualifier="1")["Timeout"] == 3
    # $LATEST is still $LATEST
    assert lambda_client.get_function_configuration(FunctionName=name)["Version"] == "$LATEST"


def test_publish_version_preconditions(lambda_client, create_function):
    name = create_function(source("one"))
    latest = lambda_client.get_function_configuration(FunctionName=name)
    with pytest.raises(ClientError) as caught:
        lambda_client.publish_version(FunctionName=name, CodeSha256="bm90IHRoZSBzaGEgb2YgdGhlIGNvZGU=")
    assert error_code(caught.value) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as caught:
        lambda_client.publish_version(FunctionName=name, RevisionId="00000000-0000-0000-0000-000000000000")
    assert error_code(caught.value) == "PreconditionFailedException"
    assert lambda_client.list_versions_by_function(FunctionName=name)["Versions"][1:] == []  # nothing published

    published = lambda_client.publish_version(
        FunctionName=name, CodeSha256=latest["CodeSha256"], RevisionId=latest["RevisionId"]
    )
    assert published["Version"] == "1"


def test_publish_with_create_and_update_code(lambda_client, create_function):
    name = unique_name()
    created = lambda_client.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler",
        Code={"ZipFile": code("one")}, Publish=True,
    )
    try:
        assert created["Version"] == "1"
        assert created["FunctionArn"] == f"{ARN_PREFIX}{name}:1"
        updated = lambda_client.update_function_code(FunctionName=name, ZipFile=code("two"), Publish=True)
        assert updated["Version"] == "2"
        assert updated["FunctionArn"] == f"{ARN_PREFIX}{name}:2"
        assert invoke_ok(lambda_client, name, Qualifier="2")[1]["marker"] == "two"
        assert invoke_ok(lambda_client, name, Qualifier="1")[1]["marker"] == "one"
        # without Publish, no version
        plain = lambda_client.update_function_code(FunctionName=name, ZipFile=code("three"))
        assert plain["Version"] == "$LATEST"
        versions = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
        assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    finally:
        lambda_client.delete_function(FunctionName=name)


def test_published_versions_keep_their_code(lambda_client, create_function):
    name = publish_two_versions(lambda_client, create_function)
    for qualifier, marker in (("1", "one"), ("2", "two"), ("$LATEST", "latest")):
        response, payload = invoke_ok(lambda_client, name, Qualifier=qualifier)
        assert payload["marker"] == marker
        assert payload["version"] == qualifier
        assert response["ExecutedVersion"] == qualifier
    response, payload = invoke_ok(lambda_client, name)  # unqualified: $LATEST
    assert payload["marker"] == "latest"
    assert response["ExecutedVersion"] == "$LATEST"
    assert payload["invoked_arn"] == f"{ARN_PREFIX}{name}"

    # qualified name and qualified ARN
    response, payload = invoke_ok(lambda_client, f"{name}:1")
    assert (payload["marker"], response["ExecutedVersion"]) == ("one", "1")
    assert payload["invoked_arn"] == f"{ARN_PREFIX}{name}:1"
    response, payload = invoke_ok(lambda_client, f"{ARN_PREFIX}{name}:2")
    assert (payload["marker"], response["ExecutedVersion"]) == ("two", "2")
    with pytest.raises(ClientError) as caught:
        lambda_client.invoke(FunctionName=f"{name}:1", Qualifier="2")
    assert error_code(caught.value) == "InvalidParameterValueException"


def test_get_function_by_version(lambda_client, create_function):
    name = publish_two_versions(lambda_client, create_function)
    one = lambda_client.get_function_configuration(FunctionName=name, Qualifier="1")
    assert one["Version"] == "1"
    assert one["FunctionArn"] == f"{ARN_PREFIX}{name}:1"
    assert lambda_client.get_function_configuration(FunctionName=f"{name}:2")["Version"] == "2"
    assert lambda_client.get_function_configuration(FunctionName=f"{ARN_PREFIX}{name}:2")["Version"] == "2"
    full = lambda_client.get_function(FunctionName=name, Qualifier="1")
    assert full["Configuration"]["Version"] == "1"
    assert full["Configuration"]["CodeSha256"] == one["CodeSha256"]
    with urllib.request.urlopen(full["Code"]["Location"], timeout=10) as download:
        assert download.read() == code("one")
    assert lambda_client.get_function(FunctionName=f"{name}:2")["Configuration"]["Version"] == "2"
    latest = lambda_client.get_function_configuration(FunctionName=name)
    assert latest["CodeSha256"] != one["CodeSha256"]


def test_missing_version(lambda_client, create_function):
    name = publish_two_versions(lambda_client, create_function)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName=name, Qualifier="9")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName=f"{name}:9")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_function_configuration(FunctionName=name, Qualifier="9")


def test_list_versions_by_function(lambda_client, create_function):
    name = create_function(source("v0"))
    for i in range(1, 4):
        lambda_client.update_function_code(FunctionName=name, ZipFile=code(f"v{i}"))
        lambda_client.publish_version(FunctionName=name)
    versions = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2", "3"]
    assert versions[0]["FunctionArn"].startswith(f"{ARN_PREFIX}{name}")
    assert versions[2]["FunctionArn"] == f"{ARN_PREFIX}{name}:2"

    seen, marker = [], None
    while True:
        params = {"Marker": marker} if marker else {}
        page = lambda_client.list_versions_by_function(FunctionName=name, MaxItems=3, **params)
        assert len(page["Versions"]) <= 3
        seen += [v["Version"] for v in page["Versions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == ["$LATEST", "1", "2", "3"]
    first = lambda_client.list_versions_by_function(FunctionName=name, MaxItems=1)
    assert [v["Version"] for v in first["Versions"]] == ["$LATEST"]
    assert "NextMarker" in first


def test_delete_version(lambda_client, create_function):
    name = publish_two_versions(lambda_client, create_function)
    invoke_ok(lambda_client, name, Qualifier="2")
    lambda_client.delete_function(FunctionName=name, Qualifier="2")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_function_configuration(FunctionName=name, Qualifier="2")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName=name, Qualifier="2")
    versions = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    # the number is not reused
    assert lambda_client.publish_version(FunctionName=name)["Version"] == "3"
    assert invoke_ok(lambda_client, name, Qualifier="3")[1]["marker"] == "latest"
    assert invoke_ok(lambda_client, name, Qualifier="1")[1]["marker"] == "one"
    # $LATEST itself cannot go this way
    with pytest.raises(ClientError) as caught:
        lambda_client.delete_function(FunctionName=name, Qualifier="$LATEST")
    assert error_code(caught.value) == "InvalidParameterValueException"


def test_deleting_a_version_an_alias_uses_is_refused(lambda_client, create_function):
    name = publish_two_versions(lambda_client, create_function)
    lambda_client.create_alias(FunctionName=name, Name="prod", FunctionVersion="1")
    lambda_client.create_alias(
        FunctionName=name, Name="canary", FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )
    for version in ("1", "2"):  # the alias's version, and a version it routes to
        with pytest.raises(ClientError) as caught:
            lambda_client.delete_function(FunctionName=name, Qualifier=version)
        assert error_code(caught.value) == "ResourceConflictException"
    assert invoke_ok(lambda_client, name, Qualifier="1")[1]["marker"] == "one"
    lambda_client.delete_alias(FunctionName=name, Name="canary")
    lambda_client.delete_function(FunctionName=name, Qualifier="2")  # no alias uses it now
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_function_configuration(FunctionName=name, Qualifier="2")


# ------------------------------------------------------------ aliases


def test_alias_lifecycle(lambda_client, create_function):
    name = publish_two_versions(lambda_client, create_function)
    created = lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1", Description="prod")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["AliasArn"] == f"{ARN_PREFIX}{name}:live"
    assert created["Name"] == "live"
    assert created["FunctionVersion"] == "1"
    assert created["Description"] == "prod"
    assert created["RevisionId"]

    got = lambda_client.get_alias(FunctionName=name, Name="live")
    assert {k: got[k] for k in ("AliasArn", "Name", "FunctionVersion", "Description", "RevisionId")} == {
        k: created[k] for k in ("AliasArn", "Name", "FunctionVersion", "Description", "RevisionId")
    }

    # invoking the alias runs its version; the handler sees the alias's ARN
    response, payload = invoke_ok(lambda_client, name, Qualifier="live")
    assert payload["marker"] == "one"
    assert response["ExecutedVersion"] == "1"
    assert payload["invoked_arn"] == f"{ARN_PREFIX}{name}:live"
    response, payload = invoke_ok(lambda_client, f"{ARN_PREFIX}{name}:live")
    assert payload["marker"] == "one"

    with pytest.raises(ClientError) as caught:
        lambda_client.update_alias(FunctionName=name, Name="live", FunctionVersion="2", RevisionId="stale-revision")
    assert error_code(caught.value) == "PreconditionFailedException"
    updated = lambda_client.update_alias(
        FunctionName=name, Name="live", FunctionVersion="2", RevisionId=created["RevisionId"]
    )
    assert updated["FunctionVersion"] == "2"
    assert updated["Description"] == "prod"  # kept
    assert updated["RevisionId"] != created["RevisionId"]
    response, payload = invoke_ok(lambda_client, name, Qualifier="live")
    assert (payload["marker"], response["ExecutedVersion"]) == ("two", "2")
    assert lambda_client.get_function_configuration(FunctionName=name, Qualifier="live")["Version"] == "2"

    lambda_client.create_alias(FunctionName=name, Name="beta", FunctionVersion="1")
    lambda_client.create_alias(FunctionName=name, Name="edge", FunctionVersion="$LATEST")
    aliases = lambda_client.list_aliases(FunctionName=name)["Aliases"]
    assert [a["Name"] for a in aliases] == ["beta", "edge", "live"]
    filtered = lambda_client.list_aliases(FunctionName=name, FunctionVersion="2")["Aliases"]
    assert [a["Name"] for a in filtered] == ["live"]
    response, payload = invoke_ok(lambda_client, name, Qualifier="edge")
    assert (payload["marker"], response["ExecutedVersion"]) == ("latest", "$LATEST")

    lambda_client.delete_alias(FunctionName=name, Name="live")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_alias(FunctionName=name, Name="live")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName=name, Qualifier="live")
    assert [a["Name"] for a in lambda_client.list_aliases(FunctionName=name)["Aliases"]] == ["beta", "edge"]


def test_alias_errors(lambda_client, create_function):
    name = publish_two_versions(lambda_client, create_function)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.create_alias(FunctionName=name, Name="nowhere", FunctionVersion="7")
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    with pytest.raises(lambda_client.exceptions.ResourceConflictException):
        lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.update_alias(FunctionName=name, Name="live", FunctionVersion="7")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_alias(FunctionName=name, Name="never-made")
    assert lambda_client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"


def test_weighted_alias_routing(lambda_client, create_function):
    name = publish_two_versions(lambda_client, create_function)
    alias = lambda_client.create_alias(
        FunctionName=name, Name="live", FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.2}},
    )
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.2}}
    assert lambda_client.get_alias(FunctionName=name, Name="live")["RoutingConfig"] == {
        "AdditionalVersionWeights": {"2": 0.2}
    }

    def one_invoke(_):
        response, payload = invoke_ok(lambda_client, name, Qualifier="live")
        assert payload["version"] == response["ExecutedVersion"]  # the header tells the truth
        assert payload["marker"] == {"1": "one", "2": "two"}[response["ExecutedVersion"]]
        return response["ExecutedVersion"], payload["invoked_arn"]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one_invoke, range(400)))
    executed = [version for version, _ in results]
    assert set(executed) <= {"1", "2"}
    share = executed.count("2") / len(executed)
    # binomial(400, 0.2): mean 80, standard deviation 8; these bounds are 4 deviations out
    assert 0.12 <= share <= 0.28, share
    assert {arn for _, arn in results} == {f"{ARN_PREFIX}{name}:live"}

    # weights off: everything goes to the alias's version
    lambda_client.update_alias(FunctionName=name, Name="live", RoutingConfig={"AdditionalVersionWeights": {}})
    assert {invoke_ok(lambda_client, name, Qualifier="live")[0]["ExecutedVersion"] for _ in range(20)} == {"1"}


# ------------------------------------------------------------ provisioned concurrency


def wait_until_ready(client, name: str, qualifier: str, deadline_s: float = 30) -> dict:
    deadline = time.monotonic() + deadline_s
    while True:
        config = client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if config["Status"] == "READY" or time.monotonic() > deadline:
            return config
        assert config["Status"] == "IN_PROGRESS", config
        time.sleep(0.1)


@pytest.fixture
def own_server(tmp_path):
    """A server of its own: /health then counts only this test's environments.
    (Overrides conftest's own_server factory: here the server itself, already started.)"""
    instance = EmberServer(tmp_path / "data").start()
    yield instance
    instance.stop()


def test_provisioned_concurrency_on_a_version(own_server):
    client = own_server.client()
    name = unique_name("pc")
    client.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler",
        Code={"ZipFile": code("one")}, MemorySize=512, Timeout=30, Publish=True,
    )
    assert own_server.health()["environments"] == {}

    put = client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=2)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    assert put["Status"] in ("IN_PROGRESS", "READY")
    config = wait_until_ready(client, name, "1")
    assert config["Status"] == "READY", config
    assert config["RequestedProvisionedConcurrentExecutions"] == 2
    assert config["AvailableProvisionedConcurrentExecutions"] == 2
    assert config["AllocatedProvisionedConcurrentExecutions"] == 2

    # initialised before any invocation
    environments = own_server.health()["environments"]
    assert sum(environments.values()) == 2, environments
    assert set(environments) <= {"ready", "frozen"}, environments

    response, payload = invoke_ok(client, name, Qualifier="1", LogType="Tail")
    assert payload["initialization_type"] == "provisioned-concurrency"
    assert "Init Duration" not in report_of(response)
    assert response["ExecutedVersion"] == "1"

    # three at once: two provisioned environments, and one more on demand
    start = threading.Barrier(3)

    def slow_invoke(_):
        start.wait()
        return invoke_ok(client, name, {"sleep": 2}, Qualifier="1", LogType="Tail")

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(slow_invoke, range(3)))
    kinds = sorted(payload["initialization_type"] for _, payload in results)
    assert kinds == ["on-demand", "provisioned-concurrency", "provisioned-concurrency"], kinds
    for response, payload in results:
        cold = "Init Duration" in report_of(response)
        assert cold == (payload["initialization_type"] == "on-demand")

    # $LATEST is not provisioned: an ordinary cold start
    response, payload = invoke_ok(client, name, LogType="Tail")
    assert payload["initialization_type"] == "on-demand"

    listed = client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert len(listed) == 1
    assert listed[0]["FunctionArn"] == f"{ARN_PREFIX}{name}:1"
    assert listed[0]["RequestedProvisionedConcurrentExecutions"] == 2
    assert listed[0]["Status"] == "READY"

    client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    with pytest.raises(client.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"] == []
    # the version still serves, from the environments it has or new ones
    assert invoke_ok(client, name, Qualifier="1")[1]["marker"] == "one"


def test_provisioned_concurrency_errors(lambda_client, create_function):
    name = create_function(source("one"))
    lambda_client.publish_version(FunctionName=name)
    with pytest.raises(ClientError) as caught:
        lambda_client.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    assert error_code(caught.value) == "InvalidParameterValueException"
    with pytest.raises(lambda_client.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lambda_client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    with pytest.raises(lambda_client.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lambda_client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="5", ProvisionedConcurrentExecutions=1
        )
    assert lambda_client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"] == []


def test_provisioned_concurrency_on_an_alias(lambda_client, create_function):
    name = publish_two_versions(lambda_client, create_function)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    put = lambda_client.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1
    )
    assert put["Status"] in ("IN_PROGRESS", "READY")
    config = wait_until_ready(lambda_client, name, "live")
    assert config["Status"] == "READY", config
    assert config["AvailableProvisionedConcurrentExecutions"] == 1

    response, payload = invoke_ok(lambda_client, name, Qualifier="live", LogType="Tail")
    assert payload["marker"] == "two"
    assert payload["initialization_type"] == "provisioned-concurrency"
    assert payload["invoked_arn"] == f"{ARN_PREFIX}{name}:live"
    assert response["ExecutedVersion"] == "2"
    assert "Init Duration" not in report_of(response)

    listed = lambda_client.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in listed] == [f"{ARN_PREFIX}{name}:live"]
    lambda_client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    with pytest.raises(lambda_client.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lambda_client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")


def test_provisioned_concurrency_comes_out_of_unreserved_concurrency(lambda_client, create_function):
    name = create_function(source("one"))
    lambda_client.publish_version(FunctionName=name)
    before = lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=2)
    during = lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    lambda_client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    after = lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    assert (before - during, after) == (2, before)
    # More than what would leave the minimum of 100 unreserved is refused.
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as caught:
        lambda_client.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=before - 99
        )
    assert "UnreservedConcurrentExecution below its minimum value of [100]" in str(caught.value)


def test_provisioned_concurrency_last_modified_survives_a_restart(tmp_path):
    server = EmberServer(tmp_path / "data").start()
    try:
        client = server.client()
        name = unique_name("pcm")
        client.create_function(
            FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler",
            Code={"ZipFile": python_zip("def handler(e, c):\n    return 1\n")}, Publish=True,
        )
        put = client.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", put["LastModified"])
    finally:
        server.stop()
    server = EmberServer(tmp_path / "data").start()
    try:
        got = server.client().get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
        assert got["LastModified"] == put["LastModified"]
    finally:
        server.stop()
