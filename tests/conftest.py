"""Fixtures that run Ember the way users do: a real `ember serve` process on a free
loopback port, driven by boto3, the AWS CLI and plain HTTP."""

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

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}


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


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def python_zip(source: str, module: str = "lambda_function") -> bytes:
    return make_zip({f"{module}.py": source})


def unique_name(prefix: str = "fn") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One shared server for the tests that do not need special settings."""
    instance = EmberServer(tmp_path_factory.mktemp("ember") / "data").start()
    yield instance
    instance.stop()


@pytest.fixture
def lambda_client(server):
    return server.client()


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
