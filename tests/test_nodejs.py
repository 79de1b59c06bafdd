"""Node.js functions (Runtime nodejs20.x) on Ember's own Node.js runtime client, through
the Runtime API: async and callback handlers, errors, the context object, Lambda's
log format, module layouts (subdirectories, ES modules) and init failures."""

import re

import pytest

from conftest import invoke_json, make_zip, report_of, tail_of

RUNTIME = "nodejs20.x"
# CPU comes in proportion to memory (1,769 MB is one vCPU): quick cold starts.
ONE_VCPU_MB = 1769
ISO_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"


@pytest.fixture
def node_function(create_function):
    def create(files: dict[str, str], handler: str = "index.handler", **params) -> str:
        return create_function(
            zip_bytes=make_zip(files), Runtime=RUNTIME, Handler=handler,
            MemorySize=params.pop("MemorySize", ONE_VCPU_MB), **params,
        )

    return create


def assert_success(response, payload):
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response, payload


# ------------------------------------------------------------ handler styles


def test_async_handler_returns_an_object(lambda_client, node_function):
    name = node_function({"index.js": """
exports.handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return { received: event, sum: event.numbers.reduce((a, b) => a + b, 0), nothing: null, text: "héllo ✓" };
};
"""})
    response, payload = invoke_json(lambda_client, name, {"numbers": [1, 2, 3.5]})
    assert_success(response, payload)
    assert payload == {"received": {"numbers": [1, 2, 3.5]}, "sum": 6.5, "nothing": None, "text": "héllo ✓"}
    assert response["ExecutedVersion"] == "$LATEST"


def test_callback_handler_answers_after_a_timer(lambda_client, node_function):
    name = node_function({"index.js": """
exports.handler = (event, context, callback) => {
  setTimeout(() => callback(null, { late: true, echo: event.value }), 50);
};
"""})
    response, payload = invoke_json(lambda_client, name, {"value": "v"})
    assert_success(response, payload)
    assert payload == {"late": True, "echo": "v"}


def test_callback_error_is_unhandled(lambda_client, node_function):
    name = node_function({"index.js": """
exports.handler = (event, context, callback) => {
  if (event.kind === "string") return callback("just a string");
  setTimeout(() => callback(new RangeError("value out of range: " + event.value)), 5);
};
"""})
    response, error = invoke_json(lambda_client, name, {"value": 42})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "RangeError"
    assert error["errorMessage"] == "value out of range: 42"
    assert isinstance(error["trace"], list) and error["trace"][0] == "RangeError: value out of range: 42"

    # Lambda's Node.js runtime: a string error has the type "string"
    response, error = invoke_json(lambda_client, name, {"kind": "string"})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "string"
    assert error["errorMessage"] == "just a string"


def test_thrown_error_in_an_async_handler(lambda_client, node_function):
    name = node_function({"index.js": """
async function inner(event) {
  return event.missing.property;  // TypeError
}
exports.handler = async (event) => {
  if (event.custom) {
    class InventoryError extends Error { constructor(m) { super(m); this.name = "InventoryError"; } }
    throw new InventoryError("no stock");
  }
  return await inner(event);
};
"""})
    response, error = invoke_json(lambda_client, name, {}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "TypeError"
    assert "Cannot read properties of undefined" in error["errorMessage"]
    assert isinstance(error["trace"], list) and len(error["trace"]) > 1
    assert error["trace"][0].startswith("TypeError: ")
    assert any("/var/task/index.js" in line for line in error["trace"][1:]), error["trace"]
    assert "Invoke Error" in tail_of(response)  # the runtime logs the error, as Lambda's does

    response, error = invoke_json(lambda_client, name, {"custom": True})
    assert error["errorType"] == "InventoryError"
    assert error["errorMessage"] == "no stock"

    # the environment survives both
    response, error = invoke_json(lambda_client, name, {"missing": {"property": "found"}})
    assert_success(response, error)
    assert error == "found"


# ------------------------------------------------------------ context and logs


def test_context_object(lambda_client, node_function):
    name = node_function({"index.js": """
exports.handler = async (event, context) => ({
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  awsRequestId: context.awsRequestId,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: String(context.memoryLimitInMB),
  remaining: context.getRemainingTimeInMillis(),
  logGroupName: context.logGroupName,
  initializationType: process.env.AWS_LAMBDA_INITIALIZATION_TYPE,
});
"""}, Timeout=12)
    response, payload = invoke_json(lambda_client, name)
    assert_success(response, payload)
    assert payload["functionName"] == name
    assert payload["functionVersion"] == "$LATEST"
    assert payload["awsRequestId"] == response["ResponseMetadata"]["RequestId"]
    assert payload["invokedFunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert payload["memoryLimitInMB"] == str(ONE_VCPU_MB)
    assert 0 < payload["remaining"] <= 12_000
    assert payload["logGroupName"] == f"/aws/lambda/{name}"
    assert payload["initializationType"] == "on-demand"

    # a new request id each time; the invoked ARN carries the qualifier asked for
    response, second = invoke_json(lambda_client, name, Qualifier="$LATEST")
    assert second["awsRequestId"] == response["ResponseMetadata"]["RequestId"] != payload["awsRequestId"]
    assert second["invokedFunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}:$LATEST"


def test_console_lines_in_lambda_format(lambda_client, node_function):
    name = node_function({"index.js": """
exports.handler = async (event) => {
  console.log("hello from node", { n: 1 });
  console.info("two\\nlines");
  console.warn("careful");
  console.error("bad news");
  return "logged";
};
"""})
    response, payload = invoke_json(lambda_client, name, LogType="Tail")
    assert payload == "logged"
    request_id = response["ResponseMetadata"]["RequestId"]
    lines = tail_of(response).split("\n")  # not splitlines(): it would split at \r too
    prefix = rf"^{ISO_TIME}\t{re.escape(request_id)}\t"
    expected = [
        prefix + r"INFO\thello from node \{ n: 1 \}$",
        prefix + "INFO\ttwo\rlines$",  # one event: newlines become carriage returns
        prefix + r"WARN\tcareful$",
        prefix + r"ERROR\tbad news$",
    ]
    for pattern in expected:
        assert any(re.match(pattern, line) for line in lines), (pattern, lines)
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert lines[-2].startswith(f"REPORT RequestId: {request_id}\t")


# ------------------------------------------------------------ modules


def test_handler_in_a_subdirectory(lambda_client, node_function):
    name = node_function({
        "src/app.js": """
const { shout } = require("./lib/util");
exports.handler = async (event) => ({ said: shout(event.word), file: __filename });
""",
        "src/lib/util.js": "exports.shout = (w) => w.toUpperCase() + '!';\n",
    }, handler="src/app.handler")
    response, payload = invoke_json(lambda_client, name, {"word": "hey"})
    assert_success(response, payload)
    assert payload == {"said": "HEY!", "file": "/var/task/src/app.js"}


ESM_HANDLER = """import {{ helper }} from './helper.{ext}';
export const handler = async (event) => ({{ esm: typeof require === 'undefined', value: helper(event.n) }});
"""
ESM_HELPER = "export function helper(n) { return n * 2; }\n"


@pytest.mark.parametrize(
    "files",
    [
        {"index.mjs": ESM_HANDLER.format(ext="mjs"), "helper.mjs": ESM_HELPER},
        {"package.json": '{"type": "module"}', "index.js": ESM_HANDLER.format(ext="js"), "helper.js": ESM_HELPER},
    ],
    ids=["mjs", "type-module"],
)
def test_es_module_handler(lambda_client, node_function, files):
    name = node_function(files)
    response, payload = invoke_json(lambda_client, name, {"n": 21})
    assert_success(response, payload)
    assert payload == {"esm": True, "value": 42}


def test_missing_export_is_handler_not_found(lambda_client, node_function):
    name = node_function({"index.js": "exports.other = async () => 1;\n"})
    response, error = invoke_json(lambda_client, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.HandlerNotFound"
    assert "index.handler" in error["errorMessage"]


def test_missing_package_is_an_import_module_error(lambda_client, node_function):
    name = node_function({
        "index.js": "const x = require('no-such-package-ember');\nexports.handler = async () => x;\n",
    })
    response, error = invoke_json(lambda_client, name, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "no-such-package-ember" in error["errorMessage"]
    assert "Init Duration:" in report_of(response)


def test_missing_module_file_is_an_import_module_error(lambda_client, node_function):
    name = node_function({"index.js": "exports.handler = async () => 1;\n"}, handler="nowhere.handler")
    response, error = invoke_json(lambda_client, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "nowhere" in error["errorMessage"]


def test_module_state_is_kept_between_warm_invocations(lambda_client, node_function):
    name = node_function({"index.js": """
const crypto = require("crypto");
const environment = crypto.randomUUID();
let calls = 0;
exports.handler = async () => ({ environment, calls: ++calls, pid: process.pid });
"""})
    first = [invoke_json(lambda_client, name, LogType="Tail") for _ in range(3)]
    payloads = [payload for _, payload in first]
    assert [p["calls"] for p in payloads] == [1, 2, 3]
    assert len({p["environment"] for p in payloads}) == 1
    assert "Init Duration:" in report_of(first[0][0])
    assert all("Init Duration" not in report_of(response) for response, _ in first[1:])
