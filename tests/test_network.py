"""Networks of execution environments: each has its own loopback, unreachable from
other environments and from the host; outbound traffic goes through slirp4netns,
which reaches the host's loopback (at 10.0.2.2) only with --allow-host-loopback;
the tag ember:network=none takes the network away.

The only traffic here is on loopback: the host's own, and 10.0.2.2 inside a
sandbox, which slirp4netns maps to the host's loopback. The probe below refuses to
send anything unless it runs in a network namespace of its own (only lo and tap0),
so that it never reaches a real 10.0.2.2 should it run unsandboxed.
"""

import socket
import threading
import uuid

import botocore.exceptions
import pytest

from conftest import ROLE, EmberServer, free_port, invoke_json, python_zip, unique_name

PROBE = r"""
import os, socket

def interfaces():
    with open("/proc/net/dev") as f:
        return sorted(line.split(":")[0].strip() for line in f.readlines()[2:])

def handler(event, context):
    names = interfaces()
    result = {"interfaces": names}
    if not set(names) <= {"lo", "tap0"}:
        result["error"] = "not in a network namespace of its own: nothing sent"
        return result
    try:
        with socket.create_connection((event["host"], event["port"]), timeout=event.get("timeout", 5)) as sock:
            sock.settimeout(5)
            result["greeting"] = sock.recv(100).decode()
    except OSError as error:
        result["error"] = f"{type(error).__name__}: {error}"
    return result
"""


class GreetingServer:
    """A TCP server on the host's loopback that greets whoever connects."""

    def __init__(self):
        self.greeting = f"hello-{uuid.uuid4().hex}"
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                connection.sendall(self.greeting.encode())

    def close(self):
        self.sock.close()


@pytest.fixture
def greeter():
    instance = GreetingServer()
    yield instance
    instance.close()


def create(client, source: str, **params) -> str:
    name = unique_name("net")
    client.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler",
        Code={"ZipFile": python_zip(source)}, Timeout=20, **params,
    )
    return name


LISTENER = r"""
import os, socket, threading

PORT = int(os.environ["PORT"])
GREETING = os.environ["GREETING"]
server = socket.socket()
server.bind(("127.0.0.1", PORT))
server.listen(8)

def serve():
    while True:
        connection, _ = server.accept()
        with connection:
            connection.sendall(GREETING.encode())

threading.Thread(target=serve, daemon=True).start()

def handler(event, context):
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as sock:
        sock.settimeout(5)
        return sock.recv(100).decode()
"""


def test_an_environments_loopback_is_its_own(lambda_client, create_function):
    port = free_port()  # free on the host too
    greeting = f"private-{uuid.uuid4().hex}"
    a = create_function(LISTENER, Environment={"Variables": {"PORT": str(port), "GREETING": greeting}})
    response, payload = invoke_json(lambda_client, a)
    assert "FunctionError" not in response, payload
    assert payload == greeting  # A reaches its own service; its environment stays alive, listening

    b = create_function(PROBE, Timeout=20)
    response, result = invoke_json(lambda_client, b, {"host": "127.0.0.1", "port": port})
    assert "FunctionError" not in response, result
    assert "greeting" not in result, result
    assert result["error"].startswith("ConnectionRefusedError"), result

    # Nor does the host's loopback have it.
    with pytest.raises(OSError):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.settimeout(5)
            assert sock.recv(100).decode() != greeting

    # A's service is still up: the refusal was isolation, not a dead listener.
    assert invoke_json(lambda_client, a)[1] == greeting


def test_host_loopback_is_unreachable_by_default(server, lambda_client, create_function, greeter):
    name = create_function(PROBE, Timeout=20)
    response, result = invoke_json(lambda_client, name, {"host": "10.0.2.2", "port": greeter.port, "timeout": 3})
    assert "FunctionError" not in response, result
    assert "tap0" in result["interfaces"]  # it has a network, just not the host's loopback
    assert "greeting" not in result and "error" in result, result
    assert greeter.connections == 0


@pytest.fixture(scope="module")
def loopback_server(tmp_path_factory):
    instance = EmberServer(tmp_path_factory.mktemp("ember-loopback") / "data", "--allow-host-loopback").start()
    yield instance
    instance.stop()


def test_host_loopback_and_the_network_tag(loopback_server, greeter):
    client = loopback_server.client()
    name = create(client, PROBE)
    arn = client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    event = {"host": "10.0.2.2", "port": greeter.port, "timeout": 3}

    response, result = invoke_json(client, name, event)
    assert "FunctionError" not in response, result
    assert result.get("greeting") == greeter.greeting, result
    assert "tap0" in result["interfaces"]

    # Tagging turns the network off, for the environment that already runs too.
    client.tag_resource(Resource=arn, Tags={"ember:network": "none"})
    assert client.list_tags(Resource=arn)["Tags"] == {"ember:network": "none"}
    assert client.get_function(FunctionName=name)["Tags"] == {"ember:network": "none"}
    connections = greeter.connections
    response, result = invoke_json(client, name, event)
    assert "FunctionError" not in response, result
    assert result["interfaces"] == ["lo"], result
    assert "greeting" not in result and "error" in result, result
    assert greeter.connections == connections

    # Untagging gives it back.
    client.untag_resource(Resource=arn, TagKeys=["ember:network"])
    assert client.list_tags(Resource=arn)["Tags"] == {}
    response, result = invoke_json(client, name, event)
    assert result.get("greeting") == greeter.greeting, result


def test_network_tag_at_creation(loopback_server, greeter):
    client = loopback_server.client()
    name = create(client, PROBE, Tags={"ember:network": "none", "team": "a"})
    response, result = invoke_json(client, name, {"host": "10.0.2.2", "port": greeter.port, "timeout": 3})
    assert result["interfaces"] == ["lo"], result
    assert "greeting" not in result and "error" in result, result
    assert greeter.connections == 0


def test_invalid_network_tag_value(lambda_client, create_function):
    name = create_function(PROBE)
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.tag_resource(Resource=arn, Tags={"ember:network": "maybe"})
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {}
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        create_function(PROBE, Tags={"ember:network": "maybe"})
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        lambda_client.tag_resource(Resource=arn, Tags={"ember:network": "off"})
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"
