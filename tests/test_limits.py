"""Resource limits of an execution environment: memory (an out-of-memory kill stays
inside the environment and is reported as Lambda reports it), processes (a fork
bomb is contained), cleanup (nothing a timed-out invocation started survives it)
and freezing (an idle environment gets no CPU between invocations)."""

import os
import re
import threading
import time
import urllib.request
import uuid

from conftest import invoke_json, tail_of, wait_until


def process_alive(pid: int) -> bool:
    """False once pid is gone or a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def host_processes(matches) -> dict[int, str]:
    """Live host processes (pid -> command line) for which matches(cmdline, environ) is true."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if matches(cmdline, environ) and process_alive(int(entry)):
            found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def marked(marker: str) -> dict[int, str]:
    """Host processes with EMBER_TEST_MARK=marker in their environment (inherited by every child)."""
    needle = f"EMBER_TEST_MARK={marker}".encode()
    return host_processes(lambda cmdline, environ: needle in environ.split(b"\0"))


def health_ok(server) -> bool:
    with urllib.request.urlopen(f"{server.url}/health", timeout=10) as response:
        return response.status == 200


ALLOCATOR = """
def handler(event, context):
    data = b"x" * (event["mb"] * 1024 * 1024)  # written, so every page is really used
    return len(data) // (1024 * 1024)
"""


def test_out_of_memory_kills_the_environment_and_the_next_invocation_works(lambda_client, create_function):
    name = create_function(ALLOCATOR, MemorySize=128, Timeout=30)
    response, payload = invoke_json(lambda_client, name, {"mb": 400}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled", payload
    assert payload["errorType"] == "Runtime.OutOfMemory", payload
    assert "Runtime exited with error: signal: killed" in payload["errorMessage"]
    report = next(line for line in tail_of(response).splitlines() if line.startswith("REPORT"))
    used = int(re.search(r"Max Memory Used: (\d+) MB", report).group(1))
    assert 110 <= used <= 128, report  # it reached the limit, and never more
    assert "Memory Size: 128 MB" in report
    assert "Error Type: Runtime.OutOfMemory" in report
    assert "Status: error" in report

    response, payload = invoke_json(lambda_client, name, {"mb": 10})
    assert "FunctionError" not in response, payload
    assert payload == 10


FORK_BOMB = """
import os, time

def handler(event, context):
    while True:  # parent and every child keep forking
        try:
            os.fork()
        except OSError:
            time.sleep(0.001)
"""

QUICK = "def handler(event, context):\n    return 'fine'\n"


def test_a_fork_bomb_is_contained(server, create_function):
    marker = uuid.uuid4().hex
    bomb = create_function(
        FORK_BOMB, MemorySize=512, Timeout=3, Environment={"Variables": {"EMBER_TEST_MARK": marker}}
    )
    other = create_function(QUICK)
    outcome = {}

    def invoke():
        try:
            outcome["result"] = invoke_json(server.client(), bomb)
        except Exception as error:  # checked below
            outcome["result"] = error

    thread = threading.Thread(target=invoke)
    thread.start()
    most, health_checks = 0, 0
    while thread.is_alive():
        most = max(most, len(marked(marker)))
        assert health_ok(server)  # the server answers while the bomb goes off
        health_checks += 1
        time.sleep(0.1)
    thread.join()

    response, payload = outcome["result"]
    assert response.get("FunctionError") == "Unhandled", payload
    assert payload["errorType"] in ("Sandbox.Timedout", "Runtime.OutOfMemory", "Runtime.ExitError"), payload
    assert health_checks > 0 and most > 10, "the bomb never forked"  # bubblewrap and the runtime are 2
    # The pids limit (1,024 processes and threads per environment) held.
    assert most <= 1030, most
    assert health_ok(server)
    response, payload = invoke_json(server.client(), other)
    assert "FunctionError" not in response and payload == "fine"
    left = wait_until(lambda: not marked(marker), timeout=10, interval=0.2)
    assert left, f"processes of the bomb survived: {len(marked(marker))}"


SPAWNER = """
import os, subprocess, time

def handler(event, context):
    first, second, third = event["seconds"]
    children = [
        subprocess.Popen(["sleep", first]),
        subprocess.Popen(["sleep", second]),
        subprocess.Popen(["sh", "-c", f"sleep {third} & exec sleep {first}0"]),
    ]
    print("spawned", [child.pid for child in children], flush=True)
    time.sleep(60)
"""


def test_a_timed_out_invocation_leaves_no_process_behind(lambda_client, create_function):
    # sleep takes fractions: unique arguments tell this test's processes apart from any other.
    stamp = f"{uuid.uuid4().int % 10**6:06d}"
    seconds = [f"3001.{stamp}", f"3002.{stamp}", f"3003.{stamp}"]
    needles = [f"sleep\0{s}".encode() for s in seconds] + [f"sleep\0{seconds[0]}0".encode()]

    def sleepers():
        return host_processes(lambda cmdline, environ: any(needle in cmdline for needle in needles))

    name = create_function(SPAWNER, Timeout=2)
    outcome, seen = {}, {}

    def invoke():
        outcome["result"] = invoke_json(lambda_client, name, {"seconds": seconds}, LogType="Tail")

    thread = threading.Thread(target=invoke)
    thread.start()
    while thread.is_alive():
        seen.update(sleepers())
        time.sleep(0.02)
    thread.join()

    response, payload = outcome["result"]
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout", payload
    assert "spawned" in tail_of(response)
    # All four (two children, a grandchild and the shell turned sleep) ran.
    assert len(seen) == 4, seen
    wait_until(lambda: not sleepers(), timeout=10, interval=0.1)
    assert sleepers() == {}
    assert not [pid for pid in seen if process_alive(pid)]


TICKER = """
import os, threading, time, uuid

ENVIRONMENT = uuid.uuid4().hex
ticks = 0

def tick():
    global ticks
    while True:
        time.sleep(0.01)
        ticks += 1

threading.Thread(target=tick, daemon=True).start()

def handler(event, context):
    before = ticks
    time.sleep(event.get("sleep", 0))
    return {"environment": ENVIRONMENT, "ticks": ticks, "during": ticks - before}
"""


def test_a_frozen_environment_does_not_run_between_invocations(lambda_client, create_function):
    name = create_function(TICKER, MemorySize=512)
    response, first = invoke_json(lambda_client, name, {"sleep": 0.5})
    assert "FunctionError" not in response, first
    # The thread runs while the environment is busy ...
    assert first["during"] >= 10, first
    time.sleep(1.5)
    response, second = invoke_json(lambda_client, name)
    assert second["environment"] == first["environment"]  # the same, warm environment
    # ... and not while it is idle: unfrozen, 1.5 s would add about 150 ticks.
    assert second["ticks"] - first["ticks"] < 30, (first, second)
