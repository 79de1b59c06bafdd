"""Execution environments: one per concurrent invocation, reused when warm, stopped
after the keep-alive, replaced when the function changes, and all stopped (with
every process they started) when the server shuts down.

Environments are told apart by an id each makes at import. Their processes are
found from the host by a marker in their environment variables (EMBER_TEST_MARK),
which works whatever pid namespace the sandbox driver gives them."""

import signal
import threading
import time
import uuid

import pytest

from conftest import (
    ROLE, invoke_json, marked_processes, process_gone, python_zip, release, runtimes, tail_of, unique_name,
    wait_until,
)

# With "hold" in the event, the handler blocks until the test sends its runtime
# SIGUSR1 (see release()): the test decides when invocations end, so it can hold
# several in flight at once without guessing how long anything takes.
HOLDER = """
import os, signal, uuid

ENVIRONMENT_ID = uuid.uuid4().hex
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})

def handler(event, context):
    if event.get("hold") and signal.sigtimedwait({signal.SIGUSR1}, 25) is None:
        raise TimeoutError("nobody released this invocation")
    return {
        "env": ENVIRONMENT_ID,
        "setting": os.environ.get("SETTING"),
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
    }
"""


def create(client, source: str, marker: str | None = None, **params) -> str:
    name = unique_name()
    if marker:
        params["Environment"] = {"Variables": {"EMBER_TEST_MARK": marker}}
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": python_zip(source)},
        **params,
    )
    return name


def still_running(pids, timeout: float = 15.0) -> list[int]:
    """The pids still running after waiting up to timeout for all to go (empty: all gone)."""
    wait_until(lambda: all(process_gone(pid) for pid in pids), timeout)
    return [pid for pid in pids if not process_gone(pid)]


def idle_and_busy(server) -> tuple[int, int, dict]:
    """(idle, busy) environments by /health; idle ones may be ready or frozen."""
    counts = server.health()["environments"]
    return counts.get("ready", 0) + counts.get("frozen", 0), counts.get("busy", 0), counts


def invoke_together(server, name: str, count: int, event: dict) -> tuple[list, list]:
    """Starts `count` invocations in threads; returns (threads, results) — results fill as they end."""
    results: list = []

    def call():
        try:
            results.append(invoke_json(server.client(), name, event))
        except Exception as error:  # checked by the caller
            results.append(error)

    threads = [threading.Thread(target=call, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


# ------------------------------------------------------------ concurrency


def test_concurrent_invocations_get_their_own_environments(own_server):
    server = own_server()
    client = server.client()
    marker = uuid.uuid4().hex
    name = create(client, HOLDER, marker, Timeout=30)
    parties = 4
    threads, results = invoke_together(server, name, parties, {"hold": True})
    try:
        # All four are in flight at once; /health shows them busy.
        busy = wait_until(lambda: idle_and_busy(server)[1] == parties, 30)
        assert busy, server.health()
        assert len(runtimes(marker)) == parties
    finally:
        release(marker)
        for thread in threads:
            thread.join(60)
    assert len(results) == parties
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all("FunctionError" not in response for response, _ in results), results
    environments = {payload["env"] for _, payload in results}
    assert len(environments) == parties
    assert idle_and_busy(server)[:2] == (parties, 0)

    # Afterwards, one-at-a-time invocations reuse the warm environments.
    for _ in range(3):
        response, payload = invoke_json(client, name, LogType="Tail")
        assert payload["env"] in environments
        assert "Init Duration" not in tail_of(response)
    assert idle_and_busy(server)[:2] == (parties, 0)


def test_sequential_invocations_reuse_one_environment(lambda_client, create_function):
    name = create_function(HOLDER)
    first, payload = invoke_json(lambda_client, name, LogType="Tail")
    assert "Init Duration" in tail_of(first)
    for _ in range(3):
        response, again = invoke_json(lambda_client, name, LogType="Tail")
        assert again["env"] == payload["env"]
        assert "Init Duration" not in tail_of(response)


# ------------------------------------------------------------ keep-alive


def test_idle_environments_stop_after_the_keep_alive(own_server):
    server = own_server("--keep-alive", "1")
    client = server.client()
    marker = uuid.uuid4().hex
    name = create(client, HOLDER, marker)
    _, first = invoke_json(client, name)
    pids = list(marked_processes(marker))
    assert pids, "the environment's processes should be running"
    # The reaper stops it once it has been idle for a second.
    assert wait_until(lambda: server.health()["environments"] == {}, 15), server.health()
    assert still_running(pids) == []
    response, second = invoke_json(client, name, LogType="Tail")
    assert "FunctionError" not in response
    assert second["env"] != first["env"]
    assert "Init Duration" in tail_of(response)


def test_keep_alive_does_not_stop_a_busy_environment(own_server):
    server = own_server("--keep-alive", "1")
    marker = uuid.uuid4().hex
    name = create(server.client(), HOLDER, marker, Timeout=30)
    threads, results = invoke_together(server, name, 1, {"hold": True})
    try:
        assert wait_until(lambda: idle_and_busy(server)[1] == 1, 30), server.health()
        time.sleep(2.5)  # longer than the keep-alive, while the invocation runs
        assert idle_and_busy(server)[1] == 1, server.health()
    finally:
        release(marker)
        threads[0].join(60)
    ((response, payload),) = results
    assert "FunctionError" not in response, payload


# ------------------------------------------------------------ configuration changes


def test_configuration_update_starts_a_new_environment(lambda_client, create_function):
    old_marker, new_marker = uuid.uuid4().hex, uuid.uuid4().hex
    name = create_function(
        HOLDER, Timeout=3, MemorySize=128,
        Environment={"Variables": {"SETTING": "old", "EMBER_TEST_MARK": old_marker}},
    )
    _, before = invoke_json(lambda_client, name)
    assert (before["setting"], str(before["memory"])) == ("old", "128")
    old_pids = list(marked_processes(old_marker))
    assert old_pids
    lambda_client.update_function_configuration(
        FunctionName=name, Timeout=20, MemorySize=256,
        Environment={"Variables": {"SETTING": "new", "EMBER_TEST_MARK": new_marker}},
    )
    response, after = invoke_json(lambda_client, name, LogType="Tail")
    assert after["env"] != before["env"]
    assert after["setting"] == "new"
    assert str(after["memory"]) == "256"
    assert 3000 < after["remaining"] <= 20000
    assert "Init Duration" in tail_of(response)
    assert "Memory Size: 256 MB" in tail_of(response)
    # The old environment is stopped, not left running beside the new one.
    assert still_running(old_pids) == []
    assert marked_processes(new_marker)


def test_code_update_starts_a_new_environment(lambda_client, create_function):
    marker = uuid.uuid4().hex
    name = create_function(HOLDER, Environment={"Variables": {"EMBER_TEST_MARK": marker}})
    _, before = invoke_json(lambda_client, name)
    old_pids = list(marked_processes(marker))
    assert old_pids
    lambda_client.update_function_code(
        FunctionName=name, ZipFile=python_zip("def handler(event, context):\n    return {'version': 2}\n")
    )
    response, after = invoke_json(lambda_client, name, LogType="Tail")
    assert after == {"version": 2}
    assert "Init Duration" in tail_of(response)
    assert still_running(old_pids) == []


# ------------------------------------------------------------ shutdown

IN_FLIGHT = """
import subprocess, time

def handler(event, context):
    subprocess.Popen(["sleep", "300"])
    time.sleep(30)
    return "woke up"
"""

QUICK = "def handler(event, context):\n    return 'quick'\n"


@pytest.mark.parametrize(
    "sig, sandbox",
    [(signal.SIGTERM, "auto"), (signal.SIGTERM, "process"), (signal.SIGINT, "auto")],
    ids=["SIGTERM", "SIGTERM-process-driver", "SIGINT"],
)
def test_shutdown_stops_every_environment(own_server, sig, sandbox):
    server = own_server("--sandbox", sandbox)
    client = server.client()
    marker = uuid.uuid4().hex
    for _ in range(3):
        response, payload = invoke_json(client, create(client, QUICK, marker))
        assert payload == "quick"

    # One invocation is still running, with a child process, when the signal comes.
    sleeper = create(client, IN_FLIGHT, marker, Timeout=60)
    threads, _ = invoke_together(server, sleeper, 1, {})
    child = lambda: [pid for pid, command in marked_processes(marker).items() if command.startswith(b"sleep\0")]
    assert wait_until(child, 30), marked_processes(marker)
    pids = list(marked_processes(marker))

    returncode = server.stop(sig)
    assert returncode is not None
    assert returncode != -signal.SIGKILL, "the server did not stop on its own"
    assert still_running(pids, 10) == [], f"still running after shutdown: {marked_processes(marker)}"
    assert marked_processes(marker) == {}
    threads[0].join(30)
