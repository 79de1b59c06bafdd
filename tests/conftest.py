"""Fixtures that run Ember the way users do: a real `ember serve` process on a free
loopback port, driven by boto3, the AWS CLI and plain HTTP.

Also the small helpers the test files share, one section per concern: the server,
zips, invocation and logs, metrics, processes, polling. Test files import them with
`from conftest import ...`."""

import base64
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}


# --- The server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmberServer:
    """One `ember serve` process; start() waits for /health, stop() sends SIGTERM."""

    def __init__(self, data_dir: Path, *extra_args: str, env: dict | None = None):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_args = extra_args
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    def start(self) -> "EmberServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(BIN / "ember"), "serve", "--port", str(self.port), "--data-dir", str(self.data_dir), *self.extra_args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ember serve exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"ember serve did not become healthy:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def health(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
            return json.loads(response.read())

    def client(self, service: str = "lambda", **config):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            # total_max_attempts 1: no retries at all (legacy max_attempts 1 still retries once)
            config=Config(retries={"total_max_attempts": 1}, read_timeout=120, **config),
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One shared server for the tests that do not need special settings."""
    instance = EmberServer(tmp_path_factory.mktemp("ember") / "data").start()
    yield instance
    instance.stop()


@pytest.fixture
def own_server(tmp_path):
    """own_server(*args, env=None) -> a started EmberServer of the test's own, for tests
    that need special settings or look at all of a server's environments; every server
    it started is stopped afterwards. (test_versions.py overrides this fixture with a
    single server.)"""
    servers = []

    def start(*args: str, env: dict | None = None) -> EmberServer:
        instance = EmberServer(tmp_path / f"data{len(servers)}", *args, env=env).start()
        servers.append(instance)
        return instance

    yield start
    for instance in servers:
        instance.stop()


@pytest.fixture
def lambda_client(server):
    return server.client()


# --- Zips ----------------------------------------------------------------------------


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def executable_zip(files: dict[str, str | bytes], executables=("bootstrap",)) -> bytes:
    """Like make_zip, but with Unix permission bits: the names in executables are 0755."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if name in executables else 0o100644) << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def python_zip(source: str, module: str = "lambda_function") -> bytes:
    return make_zip({f"{module}.py": source})


def sha256_b64(data: bytes) -> str:
    """Base64 of the SHA-256 of data: Lambda's CodeSha256 of a zip."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- Functions, invocation and logs --------------------------------------------------


def unique_name(prefix: str = "fn") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def create_function(lambda_client):
    """create_function(source, **params) -> name; deletes what it made afterwards."""
    made = []

    def create(source: str | None = None, *, zip_bytes: bytes | None = None, **params):
        name = params.pop("FunctionName", None) or unique_name()
        lambda_client.create_function(
            FunctionName=name,
            Runtime=params.pop("Runtime", "python3.12"),
            Role=ROLE,
            Handler=params.pop("Handler", "lambda_function.handler"),
            Code={"ZipFile": zip_bytes if zip_bytes is not None else python_zip(source)},
            **params,
        )
        made.append(name)
        return name

    yield create
    for name in made:
        try:
            lambda_client.delete_function(FunctionName=name)
        except lambda_client.exceptions.ResourceNotFoundException:
            pass


def invoke_json(client, name: str, event=None, **params) -> tuple[dict, object]:
    """Invokes and returns (response, decoded payload)."""
    response = client.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}), **params)
    payload = response["Payload"].read()
    return response, json.loads(payload) if payload else None


def tail_of(response) -> str:
    """The log tail of an Invoke response made with LogType="Tail", decoded."""
    return base64.b64decode(response["LogResult"]).decode()


def report_of(response) -> str:
    """The one REPORT line of an Invoke response's log tail (fails unless there is exactly one)."""
    lines = [line for line in tail_of(response).splitlines() if line.startswith("REPORT ")]
    assert len(lines) == 1, tail_of(response)
    return lines[0]


def error_code(error: ClientError) -> str:
    """The AWS error code (e.g. ResourceNotFoundException) of a botocore ClientError."""
    return error.response["Error"]["Code"]


# --- Metrics -------------------------------------------------------------------------


def metric(server, name: str, **labels) -> float:
    """The value of one sample on /metrics (0 when it is absent)."""
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0


def in_flight(server, name: str) -> int:
    """Invocations of the function running now, by /metrics."""
    return int(metric(server, "ember_concurrent_executions", function=name))


# --- Processes -----------------------------------------------------------------------
# A function's processes are found from the host by a marker in their environment
# variables (EMBER_TEST_MARK, inherited by every child), which works whatever pid
# namespace the sandbox driver gives them.


def process_gone(pid: int) -> bool:
    """True once pid no longer runs. A zombie (exited, not yet reaped by whoever
    inherited it) runs nothing, so it counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True


def marked_processes(marker: str) -> dict[int, bytes]:
    """The live processes (host pid -> command line) whose environment has
    EMBER_TEST_MARK=marker: a function's runtime and whatever it started."""
    needle = f"EMBER_TEST_MARK={marker}".encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                if needle not in environ.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if not process_gone(int(entry)):
            found[int(entry)] = command
    return found


def runtimes(marker: str) -> list[int]:
    """Host pids of the function's runtimes: the Python processes among its marked ones
    (not bubblewrap, whose command line also names bootstrap.py)."""
    return [
        pid
        for pid, command in marked_processes(marker).items()
        if os.path.basename(command.split(b"\0")[0]).startswith(b"python")
    ]


def release(marker: str) -> None:
    """Sends SIGUSR1 to the marked function's runtimes: lets every invocation that a
    handler holds until then (signal.sigtimedwait) finish."""
    for pid in runtimes(marker):
        try:
            os.kill(pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass


# --- Polling -------------------------------------------------------------------------


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05):
    """Calls predicate every interval seconds until it returns something true or timeout
    seconds have passed; returns its last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
