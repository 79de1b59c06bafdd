"""Lambda's Runtime API (2018-06-01) inside an execution environment.

For runtimes that bring their own loop (custom runtimes' `bootstrap`, Node.js, the
official runtime interface clients) this agent serves the Runtime API over HTTP on
the environment's own loopback and bridges it to Ember's channel:

    host INVOKE frame      -> the answer to GET  /runtime/invocation/next
    POST .../response      -> RESULT frame
    POST .../error         -> ERROR frame
    POST /runtime/init/error -> INIT_ERROR frame
    first GET .../next     -> READY frame (the init phase is over)

The runtime runs as this agent's child; when it exits, the agent exits the same
way, and the host reports Runtime.ExitError. Standard library only.

    python -S -u runtime_api.py COMMAND [ARGS...]     (COMMAND "custom": the function's bootstrap)
"""

import http.server
import json
import os
import queue
import signal
import subprocess
import sys
import threading

import protocol  # found beside this file (sys.path[0])

API = "/2018-06-01/runtime"
PREFERRED_PORT = 9001
MAX_RESPONSE_BYTES = 6_291_556
BOOTSTRAP_PATHS = ("{task_root}/bootstrap", "{opt}/bootstrap")


class Invocations:
    """What the runtime is working on; shared between the channel and HTTP threads."""

    def __init__(self, channel: protocol.RuntimeChannel):
        self.channel = channel
        self.waiting: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.current: str | None = None  # request id handed out and not answered yet
        self.initialised = False

    def next(self):
        with self.lock:
            if not self.initialised:
                self.initialised = True
                self.channel.send(protocol.READY, {})
        meta, payload = self.waiting.get()
        with self.lock:
            self.current = meta["request_id"]
        return meta, payload

    def answer(self, request_id: str, kind: int, body: bytes) -> bool:
        """Sends the answer for request_id; False if it is not the invocation in progress."""
        with self.lock:
            if request_id != self.current:
                return False
            self.current = None
        self.channel.send(kind, {}, body)
        return True

    def init_error(self, body: bytes) -> bool:
        with self.lock:
            if self.initialised:
                return False
            self.initialised = True
        self.channel.send(protocol.INIT_ERROR, {}, body)
        return True


def error_document(body: bytes, error_type_header: str | None) -> bytes:
    """The runtime's error as Lambda reports it: its JSON document if it sent one,
    else its text as the message; the Lambda-Runtime-Function-Error-Type header
    fills in a missing errorType."""
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = {"errorMessage": body.decode("utf-8", "replace")}
    if not isinstance(document, dict):
        document = {"errorMessage": json.dumps(document)}
    document.setdefault("errorType", error_type_header or "Unhandled")
    document.setdefault("errorMessage", "")
    return json.dumps(document).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK would hold each reply for ~40 ms.
    disable_nagle_algorithm = True
    invocations: Invocations  # set on the class before serving

    def log_message(self, *args):  # the function's log is not the place for access logs
        pass

    def reply(self, status: int, document: dict | None = None, body: bytes | None = None, headers=()):
        data = body if body is not None else json.dumps(document or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def fail(self, status: int, error_type: str, message: str):
        self.reply(status, {"errorType": error_type, "errorMessage": message})

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        if self.path != f"{API}/invocation/next":
            return self.fail(404, "NotFound", f"No such Runtime API resource: GET {self.path}")
        meta, payload = self.invocations.next()
        headers = [
            ("Lambda-Runtime-Aws-Request-Id", meta["request_id"]),
            ("Lambda-Runtime-Deadline-Ms", str(meta["deadline_ms"])),
            ("Lambda-Runtime-Invoked-Function-Arn", meta["invoked_function_arn"]),
            ("Lambda-Runtime-Trace-Id", meta.get("trace_id", "")),
        ]
        if meta.get("client_context") is not None:
            headers.append(("Lambda-Runtime-Client-Context", json.dumps(meta["client_context"])))
        if meta.get("cognito_identity") is not None:
            headers.append(("Lambda-Runtime-Cognito-Identity", json.dumps(meta["cognito_identity"])))
        self.reply(200, body=payload or b"{}", headers=headers)

    def do_POST(self):
        body = self.read_body()
        if self.path == f"{API}/init/error":
            if not self.invocations.init_error(error_document(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))):
                return self.fail(403, "InvalidStateTransition", "State transition from Ready to InitError failed for runtime.")
            return self.reply(202, {"status": "OK"})
        parts = self.path.removeprefix(f"{API}/invocation/").split("/")
        if not self.path.startswith(f"{API}/invocation/") or len(parts) != 2 or parts[1] not in ("response", "error"):
            return self.fail(404, "NotFound", f"No such Runtime API resource: POST {self.path}")
        request_id, outcome = parts
        if outcome == "response" and len(body) > MAX_RESPONSE_BYTES:
            error = json.dumps({
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
            }).encode()
            if not self.invocations.answer(request_id, protocol.ERROR, error):
                return self.fail(400, "InvalidRequestID", "Invalid request ID")
            return self.fail(
                413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            )
        if outcome == "response":
            kind, data = protocol.RESULT, body
        else:
            kind, data = protocol.ERROR, error_document(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
        if not self.invocations.answer(request_id, kind, data):
            return self.fail(400, "InvalidRequestID", "Invalid request ID")
        self.reply(202, {"status": "OK"})


def serve(invocations: Invocations) -> str:
    """Starts the Runtime API server; returns its host:port."""
    Handler.invocations = invocations
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", PREFERRED_PORT), Handler)
    except OSError:  # shared network (the process driver): any free port
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"127.0.0.1:{server.server_address[1]}"


def bootstrap_paths() -> list[str]:
    task_root, opt = os.environ["LAMBDA_TASK_ROOT"], os.environ.get("_EMBER_OPT_DIR", "/opt")
    return [template.format(task_root=task_root, opt=opt) for template in BOOTSTRAP_PATHS]


def runtime_command(argv: list[str]) -> list[str] | None:
    if argv != ["custom"]:
        return argv
    for path in bootstrap_paths():
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return [path]
    return None


def exit_like(returncode: int) -> None:
    """Ends this agent the way the runtime ended, so that the host reports it."""
    if returncode < 0:
        signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
    os._exit(returncode)


def main() -> int:
    channel = protocol.RuntimeChannel.from_environment()
    channel.send(protocol.STARTED)
    frame = channel.receive()
    if frame is None or frame[0] != protocol.INIT:
        return 0
    invocations = Invocations(channel)
    command = runtime_command(sys.argv[1:])
    os.environ.pop("_EMBER_OPT_DIR", None)
    if command is None:
        message = f"Couldn't find valid bootstrap(s): [{' '.join(bootstrap_paths())}]"
        os.write(2, f"{message}\n".encode())
        invocations.init_error(json.dumps({"errorType": "Runtime.InvalidEntrypoint", "errorMessage": message}).encode())
        return 1
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=serve(invocations))
    try:
        runtime = subprocess.Popen(command, env=env, cwd=os.environ["LAMBDA_TASK_ROOT"])
    except OSError as error:
        message = f"Couldn't start the runtime {command[0]}: {error.strerror}"
        os.write(2, f"{message}\n".encode())
        invocations.init_error(json.dumps({"errorType": "Runtime.InvalidEntrypoint", "errorMessage": message}).encode())
        return 1

    def relay_invocations():
        while True:
            invocation = channel.next()
            if invocation is None:  # the host is gone
                runtime.kill()
                os._exit(0)
            invocations.waiting.put(invocation)

    threading.Thread(target=relay_invocations, daemon=True).start()
    exit_like(runtime.wait())
    return 0


if __name__ == "__main__":
    sys.exit(main())
