"""Concurrency and admission: reserved concurrency per function, the account's
concurrency limit, and the host's memory budget. Past any of them an invocation is
throttled at once: 429 TooManyRequestsException with Lambda's Reason.

Invocations are made to overlap by waiting, on /metrics, until the first ones are
in flight before the next one is sent, never by timing."""

import json
import threading
import urllib.error
import urllib.request

import botocore.exceptions
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROLE, in_flight, invoke_json, metric, python_zip, unique_name, wait_until


SLOW = """
import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return "done"
"""

RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT = "ConcurrentInvocationLimitExceeded"


class Background:
    """Invocations running in threads, each with its own client."""

    def __init__(self, server):
        self.server = server
        self.results: list = []
        self.threads: list[threading.Thread] = []

    def invoke(self, name: str, event: dict) -> None:
        def call():
            try:
                self.results.append(invoke_json(self.server.client(), name, event))
            except Exception as error:  # sorted out by the test
                self.results.append(error)

        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> list:
        for thread in self.threads:
            thread.join(120)
        return self.results


def throttles(results) -> list[botocore.exceptions.ClientError]:
    return [r for r in results if isinstance(r, botocore.exceptions.ClientError)]


def successes(results) -> list:
    return [r for r in results if isinstance(r, tuple) and "FunctionError" not in r[0]]


def raw_invoke(server, name: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"{server.url}/2015-03-31/functions/{name}/invocations", data=b"{}", method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, json.loads(error.read())


def assert_throttled(error: botocore.exceptions.ClientError, reason: str) -> None:
    assert error.response["Error"]["Code"] == "TooManyRequestsException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error.response["Reason"] == reason


# ------------------------------------------------------------ reserved concurrency


def test_reserved_concurrency_of_one_throttles_the_second_invocation(server, lambda_client, create_function):
    name = create_function(SLOW, Timeout=30)
    assert lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)[
        "ReservedConcurrentExecutions"
    ] == 1
    background = Background(server)
    background.invoke(name, {"sleep": 3})
    assert wait_until(lambda: in_flight(server, name) == 1), "the first invocation never started"
    background.invoke(name, {"sleep": 3})

    # Plain HTTP sees Lambda's error shape.
    status, headers, body = raw_invoke(server, name)
    assert status == 429
    assert headers["x-amzn-errortype"] == "TooManyRequestsException"
    assert body["Reason"] == RESERVED
    assert "Rate Exceeded" in body["message"]

    results = background.join()
    assert len(successes(results)) == 1, results
    assert len(throttles(results)) == 1, results
    assert_throttled(throttles(results)[0], RESERVED)
    assert isinstance(throttles(results)[0], lambda_client.exceptions.TooManyRequestsException)
    assert metric(server, "ember_throttles_total", function=name, reason=RESERVED) == 2  # boto3's and ours

    # Once nothing runs, the one lease is free again.
    response, payload = invoke_json(lambda_client, name)
    assert payload == "done"


def test_reserved_concurrency_of_zero_throttles_every_invocation(server, lambda_client, create_function):
    name = create_function(SLOW)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    for _ in range(2):
        with pytest.raises(lambda_client.exceptions.TooManyRequestsException) as raised:
            invoke_json(server.client(), name)
        assert_throttled(raised.value, RESERVED)
    status, headers, body = raw_invoke(server, name)
    assert status == 429 and headers["x-amzn-errortype"] == "TooManyRequestsException"
    assert body["Reason"] == RESERVED
    assert headers.get("retry-after")

    lambda_client.delete_function_concurrency(FunctionName=name)
    assert invoke_json(lambda_client, name)[1] == "done"


def test_function_concurrency_round_trip_and_account_settings(lambda_client, create_function):
    name = create_function(SLOW)
    before = lambda_client.get_account_settings()["AccountLimit"]
    assert lambda_client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") is None
    assert "Concurrency" not in lambda_client.get_function(FunctionName=name)

    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=7)
    assert lambda_client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 7
    assert lambda_client.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 7}
    during = lambda_client.get_account_settings()["AccountLimit"]
    assert during["UnreservedConcurrentExecutions"] == before["UnreservedConcurrentExecutions"] - 7
    assert during["ConcurrentExecutions"] == before["ConcurrentExecutions"]

    # A new value replaces the old one, it does not add to it.
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    assert lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == (
        before["UnreservedConcurrentExecutions"] - 3
    )

    lambda_client.delete_function_concurrency(FunctionName=name)
    assert lambda_client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") is None
    assert "Concurrency" not in lambda_client.get_function(FunctionName=name)
    after = lambda_client.get_account_settings()["AccountLimit"]
    assert after["UnreservedConcurrentExecutions"] == before["UnreservedConcurrentExecutions"]


def test_deleting_a_function_gives_its_reservation_back(lambda_client, create_function):
    before = lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    name = create_function(SLOW)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    assert lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == before - 5
    lambda_client.delete_function(FunctionName=name)
    assert lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == before


def test_a_reservation_must_leave_100_unreserved(lambda_client, create_function):
    name = create_function(SLOW)
    unreserved = lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as raised:
        lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=unreserved - 99)
    assert "[100]" in raised.value.response["Error"]["Message"]
    assert lambda_client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") is None
    assert lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == unreserved
    try:  # exactly 100 left is allowed
        lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=unreserved - 100)
        assert lambda_client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100
    finally:
        lambda_client.delete_function_concurrency(FunctionName=name)


# ------------------------------------------------------------ dedicated servers


def create(client, source: str, **params) -> str:
    name = unique_name("conc")
    client.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler",
        Code={"ZipFile": python_zip(source)}, Timeout=30, **params,
    )
    return name


def test_account_concurrency_limit(own_server):
    server = own_server("--concurrency-limit", "2")
    client = server.client()
    assert client.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 2
    name = create(client, SLOW)
    background = Background(server)
    background.invoke(name, {"sleep": 3})
    background.invoke(name, {"sleep": 3})
    assert wait_until(lambda: in_flight(server, name) == 2), "two invocations never ran together"
    background.invoke(name, {"sleep": 3})
    results = background.join()
    assert len(successes(results)) == 2, results
    assert len(throttles(results)) == 1, results
    assert_throttled(throttles(results)[0], ACCOUNT)
    assert invoke_json(client, name)[1] == "done"


def health_memory(server) -> dict:
    return server.health()["memory_mb"]


def environments_of(server, name: str) -> int:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return int(sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ember_environments" and sample.labels.get("function") == name
    ))


def test_host_memory_budget(own_server):
    server = own_server("--memory-mb", "256", env={"EMBER_ADMISSION_WAIT": "1"})
    client = server.client()
    assert health_memory(server) == {"committed": 0, "total": 256}
    slow = create(client, SLOW, MemorySize=128)

    # Two 128 MB environments fill the budget; a third cannot start and is throttled.
    background = Background(server)
    background.invoke(slow, {"sleep": 5})
    background.invoke(slow, {"sleep": 5})
    assert wait_until(lambda: in_flight(server, slow) == 2), "two invocations never ran together"
    assert wait_until(lambda: health_memory(server)["committed"] == 256), health_memory(server)
    with pytest.raises(client.exceptions.TooManyRequestsException) as raised:
        invoke_json(client, slow)
    assert "memory" in raised.value.response["Error"]["Message"].lower()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    results = background.join()
    assert len(successes(results)) == 2, results
    assert health_memory(server)["committed"] == 256  # both idle now, still warm

    # Idle environments, least recently used first, make room for new ones.
    x = create(client, SLOW, MemorySize=128)
    assert invoke_json(client, x)[1] == "done"
    assert health_memory(server)["committed"] <= 256
    y = create(client, SLOW, MemorySize=256)
    response, payload = invoke_json(client, y)
    assert payload == "done", payload
    assert wait_until(lambda: environments_of(server, x) == 0 and environments_of(server, slow) == 0)
    assert environments_of(server, y) == 1
    assert wait_until(lambda: health_memory(server)["committed"] == 256), health_memory(server)

    # More than the whole budget can never run.
    big = create(client, SLOW, MemorySize=512)
    with pytest.raises(client.exceptions.TooManyRequestsException) as raised:
        invoke_json(client, big)
    assert "memory" in raised.value.response["Error"]["Message"].lower()
    # Nothing was overcommitted along the way.
    assert health_memory(server) == {"committed": 256, "total": 256}
