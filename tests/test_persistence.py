"""What Ember keeps across a restart: functions, their code and configuration, and
that they keep working (and can still be changed and deleted) on a new server."""

import hashlib
import signal
import urllib.request

import pytest

from conftest import ROLE, EmberServer, invoke_json, make_zip, python_zip, sha256_b64

SOURCE = """
import os

def handler(event, context):
    return {"event": event, "greeting": os.environ.get("GREETING"), "version": 1}
"""


@pytest.fixture
def servers():
    """Starts EmberServers on demand and stops whatever is still running at the end."""
    started: list[EmberServer] = []

    def start(data_dir) -> EmberServer:
        server = EmberServer(data_dir).start()
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process and server.process.poll() is None:
            server.stop()


def restart(servers, server: EmberServer) -> EmberServer:
    """SIGTERM, a clean shutdown, and a new server on the same data directory."""
    # uvicorn re-raises the signal once it has shut down, so -SIGTERM is a clean exit too.
    # The log file is shared by every server on this data directory: count the shutdowns.
    shutdowns = server.log().count("Application shutdown complete")
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM), server.log()
    assert server.log().count("Application shutdown complete") == shutdowns + 1
    return servers(server.data_dir)


def test_function_survives_a_restart(servers, tmp_path):
    first = servers(tmp_path / "data")
    client = first.client()
    zip_bytes = make_zip({"lambda_function.py": SOURCE, "pkg/data.txt": "payload data"})
    created = client.create_function(
        FunctionName="survivor",
        Runtime="python3.12",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": zip_bytes},
        Environment={"Variables": {"GREETING": "hello"}},
        MemorySize=256,
        Timeout=20,
        Description="kept on disk",
        Tags={"team": "core"},
    )
    assert invoke_json(client, "survivor", {"n": 1})[1] == {"event": {"n": 1}, "greeting": "hello", "version": 1}

    second = restart(servers, first)
    client = second.client()
    listed = {f["FunctionName"]: f for f in client.list_functions()["Functions"]}
    assert set(listed) == {"survivor"}
    kept = listed["survivor"]
    for field in (
        "FunctionArn", "CodeSha256", "CodeSize", "RevisionId", "LastModified", "Runtime", "Handler",
        "Role", "MemorySize", "Timeout", "Description", "Environment", "EphemeralStorage",
    ):
        assert kept[field] == created[field], field
    assert kept["CodeSha256"] == sha256_b64(zip_bytes)

    got = client.get_function(FunctionName="survivor")
    assert got["Tags"] == {"team": "core"}
    # The code location is the new server's, and serves the same bytes.
    assert got["Code"]["Location"].startswith(second.url)
    with urllib.request.urlopen(got["Code"]["Location"], timeout=10) as download:
        assert download.read() == zip_bytes

    assert invoke_json(client, "survivor", {"n": 2})[1] == {"event": {"n": 2}, "greeting": "hello", "version": 1}
    assert client.get_account_settings()["AccountUsage"]["FunctionCount"] == 1
    assert second.health()["functions"] == 1


def test_changes_and_deletes_after_a_restart(servers, tmp_path):
    first = servers(tmp_path / "data")
    client = first.client()
    for name in ("keep", "update", "remove"):
        client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="lambda_function.handler",
            Code={"ZipFile": python_zip(SOURCE)},
        )
    updated = client.update_function_configuration(
        FunctionName="update", Environment={"Variables": {"GREETING": "before restart"}}
    )

    second = restart(servers, first)
    client = second.client()
    assert {f["FunctionName"] for f in client.list_functions()["Functions"]} == {"keep", "update", "remove"}
    config = client.get_function_configuration(FunctionName="update")
    assert config["RevisionId"] == updated["RevisionId"]
    assert config["Environment"] == {"Variables": {"GREETING": "before restart"}}

    # The stored RevisionId still guards updates.
    new_zip = python_zip(SOURCE.replace('"version": 1', '"version": 2'))
    with pytest.raises(client.exceptions.PreconditionFailedException):
        client.update_function_code(FunctionName="update", ZipFile=new_zip, RevisionId="stale")
    code = client.update_function_code(FunctionName="update", ZipFile=new_zip, RevisionId=updated["RevisionId"])
    assert invoke_json(client, "update")[1]["version"] == 2

    client.delete_function(FunctionName="remove")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName="remove")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="remove")

    # And those changes are what the next server sees.
    third = restart(servers, second)
    client = third.client()
    assert {f["FunctionName"] for f in client.list_functions()["Functions"]} == {"keep", "update"}
    config = client.get_function_configuration(FunctionName="update")
    assert (config["CodeSha256"], config["RevisionId"]) == (code["CodeSha256"], code["RevisionId"])
    assert invoke_json(client, "update")[1]["version"] == 2
    assert invoke_json(client, "keep")[1]["version"] == 1
    # The name of a deleted function is free again.
    client.create_function(
        FunctionName="remove",
        Runtime="python3.12",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": python_zip(SOURCE)},
    )
    assert invoke_json(client, "remove")[1]["version"] == 1


def test_unused_code_is_removed_and_shared_code_kept(servers, tmp_path):
    data = tmp_path / "data"
    server = servers(data)
    client = server.client()
    shared, only_once = python_zip(SOURCE), python_zip(SOURCE + "\n# other\n")
    for name, zip_bytes in (("a", shared), ("b", shared), ("c", only_once)):
        client.create_function(
            FunctionName=name, Runtime="python3.12", Role=ROLE,
            Handler="lambda_function.handler", Code={"ZipFile": zip_bytes},
        )
    zips = data / "code" / "zips"
    assert {p.stem for p in zips.glob("*.zip")} == {
        hashlib.sha256(shared).hexdigest(), hashlib.sha256(only_once).hexdigest()
    }
    client.delete_function(FunctionName="a")
    client.delete_function(FunctionName="c")
    # Cleanup after a change runs in the background; a restart runs it to the end first.
    server = restart(servers, server)
    assert {p.stem for p in zips.glob("*.zip")} == {hashlib.sha256(shared).hexdigest()}
    assert invoke_json(server.client(), "b")[1]["version"] == 1
