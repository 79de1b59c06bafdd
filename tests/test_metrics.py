"""Observability: Prometheus metrics at GET /metrics, per function, and the sandbox
/health reports."""

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROLE, EmberServer, invoke_json, python_zip, unique_name, wait_until


SOURCE = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return "ok"
"""


def scrape(server) -> tuple[str, str]:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        assert response.status == 200
        return response.headers["Content-Type"], response.read().decode()


def samples(server, name: str, **labels) -> list:
    _, text = scrape(server)
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]


def value(server, name: str, **labels) -> float:
    found = samples(server, name, **labels)
    assert len(found) <= 1, found
    return found[0].value if found else 0


def test_metrics_are_prometheus_text(server, lambda_client, create_function):
    name = create_function(SOURCE)
    for _ in range(3):
        response, payload = invoke_json(lambda_client, name)
        assert payload == "ok"
    response, payload = invoke_json(lambda_client, name, {"fail": True})
    assert response["FunctionError"] == "Unhandled"

    content_type, text = scrape(server)
    assert content_type.startswith("text/plain")
    assert "# TYPE ember_invocations_total counter" in text
    assert f'ember_invocations_total{{function="{name}"}} 4.0' in text.splitlines()

    assert value(server, "ember_invocations_total", function=name) == 4
    assert value(server, "ember_invocation_errors_total", function=name, error_type="ValueError") == 1
    assert value(server, "ember_cold_starts_total", function=name) == 1  # one environment, reused
    assert value(server, "ember_init_duration_seconds_count", function=name) == 1
    assert value(server, "ember_init_duration_seconds_sum", function=name) > 0
    buckets = samples(server, "ember_invocation_duration_seconds_bucket", function=name)
    assert buckets and {"+Inf", "0.001", "1.0"} <= {b.labels["le"] for b in buckets}
    assert max(b.value for b in buckets) == 4  # the +Inf bucket counts every invocation
    assert value(server, "ember_invocation_duration_seconds_count", function=name) == 4
    # Another function's counters are its own.
    other = create_function(SOURCE)
    invoke_json(lambda_client, other)
    assert value(server, "ember_invocations_total", function=other) == 1
    assert value(server, "ember_invocations_total", function=name) == 4


def test_environment_and_memory_gauges(server, lambda_client, create_function):
    name = create_function(SOURCE, MemorySize=256)
    assert value(server, "ember_environments", function=name, state="frozen") == 0
    invoke_json(lambda_client, name)
    # Idle between invocations, the environment is frozen.
    assert wait_until(lambda: value(server, "ember_environments", function=name, state="frozen") >= 1, timeout=15)
    assert value(server, "ember_memory_committed_megabytes") >= 256
    assert value(server, "ember_memory_total_megabytes") > 0
    lambda_client.delete_function(FunctionName=name)
    assert wait_until(lambda: not samples(server, "ember_environments", function=name), timeout=15)


def test_throttles_are_counted_by_reason(server, lambda_client, create_function):
    name = create_function(SOURCE)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    for _ in range(2):
        with pytest.raises(lambda_client.exceptions.TooManyRequestsException):
            invoke_json(server.client(), name)
    reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert value(server, "ember_throttles_total", function=name, reason=reason) == 2
    assert value(server, "ember_invocations_total", function=name) == 0  # throttled ones never ran


def test_health_reports_the_sandbox(server):
    sandbox = server.health()["sandbox"]
    assert sandbox["driver"] == "bubblewrap"
    assert sandbox["cgroups"] in ("v1", "v2")
    assert sandbox["seccomp"] is True
    assert {"user", "pid", "net", "mount"} <= set(sandbox["namespaces"])
    assert sandbox["outbound_network"] == "slirp4netns"


def test_process_sandbox_driver(tmp_path):
    instance = EmberServer(tmp_path / "data", "--sandbox", "process").start()
    try:
        assert instance.health()["sandbox"]["driver"] == "process"
        client = instance.client()
        name = unique_name()
        client.create_function(
            FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler",
            Code={"ZipFile": python_zip(SOURCE)},
        )
        response, payload = invoke_json(client, name)
        assert "FunctionError" not in response and payload == "ok"
        assert value(instance, "ember_invocations_total", function=name) == 1
    finally:
        instance.stop()
