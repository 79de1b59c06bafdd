"""Warm-invoke and cold-start latency of a real `ember serve`, against baselines
measured in the same run.

    .venv/bin/python benchmarks/invoke_latency.py [--invokes 1000] [--cold 20]

Warm: sequential invokes of one function over one keep-alive HTTP connection on
loopback (p50/p99/mean), against the same client talking to a bare asyncio HTTP
server that answers a fixed body (the floor for one HTTP round trip here).
Cold: the first invoke of each of N new functions, against starting the same
interpreter with `-S -c pass` (the floor for a new process).
Both sandbox drivers are measured in the same run: `process` (no isolation) and
`bubblewrap` (namespaces, cgroups, seccomp, slirp4netns), when it can run here.

Prints a table and writes benchmarks/results/invoke_latency.json.
"""

import argparse
import base64
import http.client
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EMBER = Path(sys.executable).parent / "ember"
HOST_PYTHON = os.path.realpath(sys.executable)

HANDLER = "def handler(event, context):\n    return event\n"
# The same echo handler on the Runtime API path: a custom runtime whose bootstrap is a
# stdlib Python client, and Ember's Node.js runtime.
CUSTOM_BOOTSTRAP = f"""#!{HOST_PYTHON} -S
import os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = response.read()
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=event, method="POST")).read()
"""
NODE_HANDLER = "exports.handler = async (event) => event;\n"
BASELINE_SERVER = r"""
import asyncio, sys
BODY = b'{"ok": true}'
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
async def serve(reader, writer):
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if length:
            await reader.readexactly(length)
        writer.write(RESPONSE)
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server at {url} did not come up")


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            archive.writestr(info, source)
    return buffer.getvalue()


FUNCTIONS = {
    # name: (runtime, handler, files)
    "python": ("python3.12", "lambda_function.handler", {"lambda_function.py": HANDLER}),
    "custom-runtime-api": ("provided.al2023", "unused.handler", {"bootstrap": CUSTOM_BOOTSTRAP}),
    "nodejs-runtime-api": ("nodejs20.x", "index.handler", {"index.js": NODE_HANDLER}),
}


def request(connection: http.client.HTTPConnection, method: str, path: str, body: bytes = b"", headers=None):
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def create_function(connection, name: str, kind: str = "python") -> None:
    runtime, handler, files = FUNCTIONS[kind]
    document = {
        "FunctionName": name,
        "Runtime": runtime,
        "Role": "arn:aws:iam::000000000000:role/bench",
        "Handler": handler,
        "MemorySize": 1769,  # one full vCPU, so that the CPU quota does not dominate
        "Code": {"ZipFile": base64.b64encode(zip_of(files)).decode()},
    }
    status, _, body = request(connection, "POST", "/2015-03-31/functions", json.dumps(document).encode())
    if status != 201:
        raise SystemExit(f"CreateFunction failed: {status} {body[:300]!r}")


def timed_requests(connection, path: str, body: bytes, count: int, headers=None) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        status, _, _ = request(connection, "POST", path, body, headers)
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"request failed with {status}")
    return samples


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def bench_baseline_http(invokes: int) -> dict:
    port = free_port()
    process = subprocess.Popen([HOST_PYTHON, "-c", BASELINE_SERVER, str(port)], stdout=subprocess.PIPE)
    try:
        process.stdout.readline()
        connection = http.client.HTTPConnection("127.0.0.1", port)
        timed_requests(connection, "/", b"{}", 50)
        return summary(timed_requests(connection, "/", b'{"hello": "world"}', invokes))
    finally:
        process.kill()
        process.wait()


def bench_process_start(count: int) -> dict:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run([HOST_PYTHON, "-S", "-c", "pass"], check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return summary(samples)


def bench_ember(invokes: int, cold: int, sandbox: str) -> dict:
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="ember-bench-")
    server = subprocess.Popen(
        # Memory enough for every environment: cold starts measured here must not include
        # stopping idle environments to make room (which admission control would do).
        [str(EMBER), "serve", "--port", str(port), "--data-dir", data_dir, "--sandbox", sandbox,
         "--memory-mb", "200000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health")
        connection = http.client.HTTPConnection("127.0.0.1", port)
        warm = {}
        for kind in FUNCTIONS:
            create_function(connection, f"warm-{kind}", kind)
            path = f"/2015-03-31/functions/warm-{kind}/invocations"
            timed_requests(connection, path, b"{}", 50)
            warm[kind] = summary(timed_requests(connection, path, b'{"hello": "world"}', invokes))

        cold_samples, init_durations = [], []
        for index in range(cold):
            name = f"cold-{index}"
            create_function(connection, name)
            started = time.perf_counter()
            status, headers, _ = request(
                connection, "POST", f"/2015-03-31/functions/{name}/invocations", b"{}", {"X-Amz-Log-Type": "Tail"}
            )
            cold_samples.append((time.perf_counter() - started) * 1000)
            tail = base64.b64decode(headers.get("X-Amz-Log-Result") or headers.get("x-amz-log-result", "")).decode()
            match = re.search(r"Init Duration: ([\d.]+) ms", tail)
            if match:
                init_durations.append(float(match.group(1)))
        return {"warm": warm, "cold": summary(cold_samples), "init_duration": summary(init_durations)}
    finally:
        server.terminate()
        server.wait(timeout=20)
        subprocess.run(["rm", "-rf", data_dir])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invokes", type=int, default=1000)
    parser.add_argument("--cold", type=int, default=20)
    parser.add_argument("--sandbox", action="append", choices=("process", "bubblewrap"),
                        help="driver(s) to measure (default: both)")
    args = parser.parse_args()

    print(f"warm: {args.invokes} sequential invokes; cold: {args.cold} new functions", file=sys.stderr)
    baseline_http = bench_baseline_http(args.invokes)
    process_start = bench_process_start(args.cold)
    results: dict = {"baseline_bare_http": baseline_http, "baseline_process_start": process_start}
    for sandbox in args.sandbox or ("process", "bubblewrap"):
        print(f"measuring the {sandbox} driver", file=sys.stderr)
        ember = bench_ember(args.invokes, args.cold, sandbox)
        native = ember["warm"]["python"]["p50_ms"]
        results[sandbox] = {
            **{f"warm_invoke {kind}": value for kind, value in ember["warm"].items()},
            "warm_ratio_p50_python_vs_bare_http": round(native / baseline_http["p50_ms"], 2),
            **{
                f"warm_ratio_p50 {kind}_vs_python": round(value["p50_ms"] / native, 2)
                for kind, value in ember["warm"].items() if kind != "python"
            },
            "cold_start": ember["cold"],
            "init_duration": ember["init_duration"],
            "cold_ratio_p50_vs_process_start": round(ember["cold"]["p50_ms"] / process_start["p50_ms"], 2),
        }
    for name, value in results.items():
        if name.startswith("baseline"):
            print(f"{name:24} {value}")
        else:
            for key, item in value.items():
                print(f"{name + ' ' + key:48} {item}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "invoke_latency.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
