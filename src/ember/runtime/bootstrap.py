"""The native Python runtime: the process that runs inside an execution environment.

It follows the Lambda execution model: init (import the handler once), then a loop
of next (wait for an invocation on the channel), invoke (call the handler) and
respond (send the result or the error back). Between invocations it blocks on the
channel, which is where the host freezes it.

Standard library only, no imports from Ember: it runs under the function's own
interpreter and dependencies. The host starts it as
`python -S -u bootstrap.py` with the channel's file descriptor named in
_EMBER_CHANNEL_FD and the environment variables Lambda sets.
"""

import importlib
import importlib.machinery
import json
import os
import resource
import sys
import time

import protocol  # found beside this file (sys.path[0]); hidden from user code below

sys.modules.pop("protocol", None)
del sys.path[0]


def add_site_packages():
    """The interpreter's site-packages go on sys.path, as Lambda's runtime has its
    own (boto3 and friends), but their .pth files are not run: started with -S,
    the runtime skips the host's start-up hooks, which can cost tens of ms."""
    import site

    for path in site.getsitepackages():
        if path not in sys.path:
            sys.path.append(path)


# ---------------------------------------------------------------- errors


class InitFailure(Exception):
    """The handler could not be loaded; carries Lambda's error type and message."""

    def __init__(self, error_type, message, stack=()):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = list(stack)


def stack_of(exc):
    """Lambda's stackTrace: one formatted entry per frame, innermost last."""
    import traceback  # only on the error path: it costs milliseconds at start-up

    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename != __file__ and not frame.filename.startswith("<frozen importlib")
    ]
    return traceback.format_list(frames)


def error_document(error_type, message, stack, request_id=""):
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack,
    }


def log_error(error_type, message, stack):
    """One log event, as Lambda's Python runtime writes it: lines joined by \\r."""
    lines = [f"[ERROR] {error_type}: {message}", "Traceback (most recent call last):"]
    lines.extend(frame.rstrip("\n") for frame in stack)
    text = "\r".join(lines).replace("\n", "\r")
    os.write(2, (text + "\n").encode("utf-8", "replace"))


# ---------------------------------------------------------------- init


def load_handler(handler_name):
    try:
        module_name, function_name = handler_name.rsplit(".", 1)
    except ValueError as exc:
        raise InitFailure("Runtime.MalformedHandlerName", f"Bad handler '{handler_name}': {exc}")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitFailure(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        )
    except SyntaxError as exc:
        raise InitFailure(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", stack_of(exc)
        )
    except Exception as exc:
        raise InitFailure(type(exc).__name__, str(exc), stack_of(exc))
    handler = getattr(module, function_name, None)
    if handler is None:
        raise InitFailure(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return handler


def die_with_host():
    """Asks the kernel to kill this process if the host process goes away. Only
    where the sandbox does not do it already (the process driver asks for it)."""
    if not os.environ.pop("_EMBER_DIE_WITH_HOST", None):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:
        pass


class RequestId:
    """The request in progress, for the logging format."""

    current = ""


def configure_logging(logging):
    """Lambda's format for the logging module: level, time, request id, message."""

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = RequestId.current
            return True

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.formatter.converter = time.gmtime
    handler.terminator = ""
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)


class ConfigureLoggingOnImport:
    """Sets up Lambda's logging format the moment the function imports logging.
    Importing logging ourselves would add milliseconds to every cold start of the
    functions that never log through it."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None:
            return None
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            configure_logging(module)

        spec.loader.exec_module = exec_module
        return spec


# ---------------------------------------------------------------- context


class CognitoIdentity:
    def __init__(self, identity_id=None, pool_id=None):
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id


class Client:
    def __init__(self, client):
        self.installation_id = client.get("installation_id")
        self.app_title = client.get("app_title")
        self.app_version_name = client.get("app_version_name")
        self.app_version_code = client.get("app_version_code")
        self.app_package_name = client.get("app_package_name")


class ClientContext:
    def __init__(self, document):
        client = document.get("client")
        self.client = Client(client) if client else None
        self.custom = document.get("custom")
        self.env = document.get("env")


class LambdaContext:
    def __init__(self, meta):
        self.aws_request_id = meta["request_id"]
        self.invoked_function_arn = meta["invoked_function_arn"]
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self._deadline_ms = meta["deadline_ms"]
        identity = meta.get("cognito_identity") or {}
        self.identity = CognitoIdentity(
            identity.get("cognitoIdentityId"), identity.get("cognitoIdentityPoolId")
        )
        client_context = meta.get("client_context")
        self.client_context = ClientContext(client_context) if client_context else None

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


# ---------------------------------------------------------------- invoke


def to_json_default(value):
    # A Decimal can only exist if the function imported decimal; not importing it
    # here keeps it out of every cold start.
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def max_memory_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def invoke(handler, meta, payload):
    """Runs one invocation; returns the frame that answers it."""
    request_id = meta["request_id"]
    RequestId.current = request_id
    os.environ["_X_AMZN_TRACE_ID"] = meta.get("trace_id", "")
    try:
        event = json.loads(payload) if payload else {}
        result = handler(event, LambdaContext(meta))
    except Exception as exc:
        error_type, message, stack = type(exc).__name__, str(exc), stack_of(exc)
        log_error(error_type, message, stack)
        body = json.dumps(error_document(error_type, message, stack, request_id)).encode()
        return protocol.ERROR, body
    try:
        # Lambda's Python runtime sends non-ASCII characters as they are, in UTF-8.
        body = json.dumps(result, default=to_json_default, ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        log_error("Runtime.MarshalError", message, [])
        body = json.dumps(error_document("Runtime.MarshalError", message, [], request_id)).encode()
        return protocol.ERROR, body
    return protocol.RESULT, body


def main():
    die_with_host()
    channel = protocol.RuntimeChannel.from_environment()
    # The host confines the sandbox (cgroups, network) between STARTED and INIT:
    # no function code runs before that.
    channel.send(protocol.STARTED)
    frame = channel.receive()
    if frame is None or frame[0] != protocol.INIT:
        return 0
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    opt = os.environ.pop("_EMBER_OPT_DIR", "/opt")
    # Lambda's order: the function's code, then its layers' Python packages. A layer
    # names its site-packages for the function's runtime (python3.12 ->
    # python/lib/python3.12/site-packages), which need not be this interpreter's
    # version (every python3.x runs on the host's interpreter): both are searched.
    runtime = os.environ.get("AWS_EXECUTION_ENV", "").removeprefix("AWS_Lambda_")
    interpreter = f"python{sys.version_info.major}.{sys.version_info.minor}"
    versions = dict.fromkeys(v for v in (runtime, interpreter) if v.startswith("python"))
    sys.path[0:0] = [task_root, *(f"{opt}/python/lib/{v}/site-packages" for v in versions), f"{opt}/python"]
    add_site_packages()
    sys.meta_path.insert(0, ConfigureLoggingOnImport())

    try:
        handler = load_handler(os.environ["_HANDLER"])
    except InitFailure as failure:
        log_error(failure.error_type, failure.message, failure.stack)
        document = error_document(failure.error_type, failure.message, failure.stack)
        channel.send(protocol.INIT_ERROR, {"max_memory_kb": max_memory_kb()}, json.dumps(document).encode())
        return 1
    channel.send(protocol.READY, {"max_memory_kb": max_memory_kb()})

    while True:
        invocation = channel.next()
        if invocation is None:
            return 0
        kind, body = invoke(handler, *invocation)
        channel.send(kind, {"max_memory_kb": max_memory_kb()}, body)


if __name__ == "__main__":
    sys.exit(main())
