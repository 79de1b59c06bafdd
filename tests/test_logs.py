"""Function logs: the Invoke log tail, CloudWatch Logs reads through boto3, and the
`ember logs` and `ember invoke` commands."""

import base64
import json
import os
import queue
import re
import subprocess
import threading
import time
import uuid

import pytest

from conftest import BIN, invoke_json, release, tail_of

# With "hold", the handler blocks until the test sends its runtime SIGUSR1 (release()).
PRINTS = """
import signal
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})

def handler(event, context):
    for line in event.get("lines", []):
        print(line)
    if event.get("hold") and signal.sigtimedwait({signal.SIGUSR1}, 25) is None:
        raise TimeoutError("nobody released this invocation")
    if event.get("fail"):
        raise RuntimeError("it failed")
    return {"printed": len(event.get("lines", []))}
"""

REPORT_LINE = (
    r"REPORT RequestId: {id}\tDuration: \d+\.\d{{2}} ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: {memory} MB\tMax Memory Used: \d+ MB\t{init}$"
)
INIT_FIELD = r"Init Duration: \d+\.\d{2} ms\t"


def report_pattern(request_id: str, cold: bool, memory: int = 128) -> re.Pattern:
    return re.compile(
        REPORT_LINE.format(id=re.escape(request_id), memory=memory, init=INIT_FIELD if cold else "")
    )


def messages(logs_client, group: str, **params) -> list[str]:
    events = logs_client.filter_log_events(logGroupName=group, **params)["events"]
    return [event["message"] for event in events]


# ------------------------------------------------------------ the Invoke log tail


def check_tail(response, lines: list[str], cold: bool, memory: int = 128) -> None:
    request_id = response["ResponseMetadata"]["RequestId"]
    tail = tail_of(response).splitlines()
    start = tail.index(f"START RequestId: {request_id} Version: $LATEST")
    end = tail.index(f"END RequestId: {request_id}")
    assert tail[start + 1 : end] == lines
    assert end == len(tail) - 2
    assert report_pattern(request_id, cold, memory).match(tail[-1]), tail[-1]


def test_tail_has_start_output_end_and_report(lambda_client, create_function):
    name = create_function(PRINTS, MemorySize=128)
    response, _ = invoke_json(lambda_client, name, {"lines": ["first line", "second – ünïcode"]}, LogType="Tail")
    check_tail(response, ["first line", "second – ünïcode"], cold=True)
    response, _ = invoke_json(lambda_client, name, {"lines": ["warm now"]}, LogType="Tail")
    check_tail(response, ["warm now"], cold=False)


def test_report_shows_the_configured_memory(lambda_client, create_function):
    name = create_function(PRINTS, MemorySize=512)
    response, _ = invoke_json(lambda_client, name, LogType="Tail")
    check_tail(response, [], cold=True, memory=512)


def test_no_tail_unless_asked(lambda_client, create_function):
    name = create_function(PRINTS)
    response, _ = invoke_json(lambda_client, name, {"lines": ["x"]})
    assert "LogResult" not in response
    response, _ = invoke_json(lambda_client, name, {"lines": ["x"]}, LogType="None")
    assert "LogResult" not in response


def test_tail_of_a_function_error_has_the_error(lambda_client, create_function):
    name = create_function(PRINTS)
    response, error = invoke_json(lambda_client, name, {"lines": ["before"], "fail": True}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    tail = tail_of(response)
    assert "before" in tail
    assert "[ERROR] RuntimeError: it failed" in tail
    assert tail.splitlines()[-1].startswith("REPORT RequestId: ")


def test_tail_is_at_most_4_kb(lambda_client, create_function):
    name = create_function(PRINTS)
    lines = [f"{i:05d} " + "y" * 94 for i in range(1000)]  # 100 KB
    response, payload = invoke_json(lambda_client, name, {"lines": lines}, LogType="Tail")
    assert payload == {"printed": 1000}
    raw = base64.b64decode(response["LogResult"])
    assert 3000 < len(raw) <= 4096
    tail = raw.decode()
    assert tail.splitlines()[-1].startswith("REPORT RequestId: ")
    assert lines[-1] in tail  # the end of the output is kept, not its start
    assert lines[0] not in tail


# ------------------------------------------------------------ CloudWatch Logs through boto3


@pytest.fixture
def logs_client(server):
    return server.client("logs")


def test_filter_log_events_returns_platform_and_printed_lines(lambda_client, logs_client, create_function):
    name = create_function(PRINTS)
    group = f"/aws/lambda/{name}"
    response, _ = invoke_json(lambda_client, name, {"lines": ["hello from the handler"]})
    request_id = response["ResponseMetadata"]["RequestId"]
    events = logs_client.filter_log_events(logGroupName=group)["events"]
    found = [event["message"] for event in events]
    start = found.index(f"START RequestId: {request_id} Version: $LATEST")
    printed = found.index("hello from the handler")
    end = found.index(f"END RequestId: {request_id}")
    assert start < printed < end
    assert report_pattern(request_id, cold=True).match(found[end + 1])
    assert any(message.startswith("INIT_START ") for message in found[:start])
    for event in events:
        assert re.match(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$", event["logStreamName"])
        assert abs(event["timestamp"] - time.time() * 1000) < 600_000
    # A filter pattern narrows the events.
    assert messages(logs_client, group, filterPattern='"hello from"') == ["hello from the handler"]


def test_one_stream_per_environment(server, logs_client, create_function):
    marker = uuid.uuid4().hex
    name = create_function(PRINTS, Timeout=30, Environment={"Variables": {"EMBER_TEST_MARK": marker}})
    group = f"/aws/lambda/{name}"
    # Two invocations held in flight at once need two environments.
    results = []

    def call():
        try:
            results.append(invoke_json(server.client(), name, {"lines": ["concurrent"], "hold": True}))
        except Exception as error:  # reported by the assertions below
            results.append(error)

    threads = [threading.Thread(target=call, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    # Released once both run: busy means initialised, so SIGUSR1 is blocked and waits.
    deadline = time.monotonic() + 30
    while server.health()["environments"].get("busy", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    release(marker)
    for thread in threads:
        thread.join(60)
    assert len(results) == 2
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all("FunctionError" not in response for response, _ in results), results
    streams = logs_client.describe_log_streams(logGroupName=group)["logStreams"]
    names = sorted(stream["logStreamName"] for stream in streams)
    assert len(names) == 2, names
    # Each stream holds one invocation's lines, readable on its own.
    for stream in names:
        events = logs_client.get_log_events(logGroupName=group, logStreamName=stream)["events"]
        lines = [event["message"] for event in events]
        assert lines.count("concurrent") == 1
        assert sum(line.startswith("START RequestId: ") for line in lines) == 1
        assert sum(line.startswith("REPORT RequestId: ") for line in lines) == 1


def test_get_log_events_reads_one_stream_in_order(lambda_client, logs_client, create_function):
    name = create_function(PRINTS)
    group = f"/aws/lambda/{name}"
    for word in ("one", "two", "three"):
        invoke_json(lambda_client, name, {"lines": [word]})
    (stream,) = logs_client.describe_log_streams(logGroupName=group)["logStreams"]
    events = logs_client.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]
    lines = [event["message"] for event in events]
    assert [line for line in lines if line in ("one", "two", "three")] == ["one", "two", "three"]
    assert sum(line.startswith("REPORT RequestId: ") for line in lines) == 3
    timestamps = [event["timestamp"] for event in events]
    assert timestamps == sorted(timestamps)


def test_unknown_log_group_is_not_found(logs_client):
    with pytest.raises(logs_client.exceptions.ResourceNotFoundException):
        logs_client.filter_log_events(logGroupName="/aws/lambda/fn-never-existed")
    with pytest.raises(logs_client.exceptions.ResourceNotFoundException):
        logs_client.describe_log_streams(logGroupName="/aws/lambda/fn-never-existed")
    with pytest.raises(logs_client.exceptions.ResourceNotFoundException):
        logs_client.get_log_events(logGroupName="/aws/lambda/fn-never-existed", logStreamName="x")


# ------------------------------------------------------------ the ember command


def ember(server, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "ember"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "EMBER_ENDPOINT": server.url},
    )


def test_ember_logs_prints_the_lines(server, lambda_client, create_function):
    name = create_function(PRINTS)
    response, _ = invoke_json(lambda_client, name, {"lines": ["printed for ember logs"]})
    request_id = response["ResponseMetadata"]["RequestId"]
    result = ember(server, "logs", name)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "printed for ember logs" in lines
    assert f"START RequestId: {request_id} Version: $LATEST" in lines
    assert f"END RequestId: {request_id}" in lines
    assert any(line.startswith(f"REPORT RequestId: {request_id}\t") for line in lines)


def test_ember_logs_of_a_missing_function_fails(server):
    result = ember(server, "logs", "fn-never-existed")
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr


def test_ember_logs_follow_shows_new_lines(server, lambda_client, create_function):
    name = create_function(PRINTS)
    invoke_json(lambda_client, name, {"lines": ["before following"]})
    process = subprocess.Popen(
        [str(BIN / "ember"), "logs", name, "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EMBER_ENDPOINT": server.url},
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in process.stdout], daemon=True)
    reader.start()

    def read_until(wanted: str, timeout: float = 20) -> list[str]:
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                assert process.poll() is None, f"ember logs --follow exited: {process.stderr.read()}"
                continue
            seen.append(line)
            if line == wanted:
                return seen
        raise AssertionError(f"{wanted!r} did not appear; saw {seen}")

    try:
        read_until("before following")
        invoke_json(lambda_client, name, {"lines": ["after following started"]})
        read_until("after following started")
        assert process.poll() is None  # still following
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_ember_invoke_prints_the_response(server, create_function):
    name = create_function("def handler(event, context):\n    return {'got': event}\n")
    result = ember(server, "invoke", name, "--payload", '{"a":1}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"got": {"a": 1}}


def test_ember_invoke_with_log_prints_the_tail(server, create_function):
    name = create_function(PRINTS)
    result = ember(server, "invoke", name, "--payload", '{"lines": ["tail me"]}', "--log")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"printed": 1}
    assert "tail me" in result.stderr
    assert "REPORT RequestId: " in result.stderr


def test_ember_invoke_exits_non_zero_for_a_function_error(server, create_function):
    name = create_function(PRINTS)
    result = ember(server, "invoke", name, "--payload", '{"fail": true}')
    assert result.returncode != 0
    error = json.loads(result.stdout)
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "it failed"


def test_ember_invoke_exits_non_zero_for_a_missing_function(server):
    result = ember(server, "invoke", "fn-never-existed", "--payload", "{}")
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr


def test_ember_invoke_refuses_invalid_json(server, create_function):
    name = create_function(PRINTS)
    result = ember(server, "invoke", name, "--payload", "{nope")
    assert result.returncode != 0
    assert "not valid JSON" in result.stderr
