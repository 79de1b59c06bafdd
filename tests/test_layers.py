"""Layers: the layer version API (publish, get, list, delete) and what functions see of
their layers under /opt: Python packages, Node.js modules, a custom runtime's
bootstrap, stacking order, read-only content, and life after a layer is deleted."""

import base64
import errno
import hashlib
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, executable_zip, invoke_json, make_zip, unique_name

ACCOUNT_LAYER_ARN = "arn:aws:lambda:us-east-1:000000000000:layer:"
ONE_VCPU_MB = 1769  # CPU comes in proportion to memory: quick cold starts


@pytest.fixture
def publish_layer(lambda_client):
    """publish_layer(files or zip bytes, name=None, **params) -> the PublishLayerVersion response;
    deletes every version it published afterwards."""
    published = []

    def publish(content, name: str | None = None, **params):
        zip_bytes = content if isinstance(content, bytes) else make_zip(content)
        response = lambda_client.publish_layer_version(
            LayerName=name or unique_name("layer"), Content={"ZipFile": zip_bytes}, **params
        )
        published.append((response["LayerArn"].rpartition(":")[2], response["Version"]))
        return response

    yield publish
    for name, version in published:
        lambda_client.delete_layer_version(LayerName=name, VersionNumber=version)


@pytest.fixture
def python_function(create_function):
    def create(source: str, **params) -> str:
        return create_function(source, MemorySize=params.pop("MemorySize", ONE_VCPU_MB), **params)

    return create


# ------------------------------------------------------------ the API


def test_publish_layer_version_response(server, lambda_client, publish_layer):
    name = unique_name("layer")
    zip_bytes = make_zip({"python/greeting.py": "HELLO = 'hi'\n"})
    response = publish_layer(
        zip_bytes, name, Description="greetings", CompatibleRuntimes=["python3.12", "python3.11"],
        CompatibleArchitectures=["x86_64"], LicenseInfo="MIT",
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert response["LayerArn"] == f"{ACCOUNT_LAYER_ARN}{name}"
    assert response["LayerVersionArn"] == f"{ACCOUNT_LAYER_ARN}{name}:1"
    assert response["Version"] == 1
    assert response["Description"] == "greetings"
    assert response["CompatibleRuntimes"] == ["python3.12", "python3.11"]
    assert response["CompatibleArchitectures"] == ["x86_64"]
    assert response["LicenseInfo"] == "MIT"
    assert response["CreatedDate"]
    content = response["Content"]
    assert content["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    assert content["CodeSize"] == len(zip_bytes)
    assert content["Location"].startswith(server.url)
    with urllib.request.urlopen(content["Location"], timeout=10) as download:
        assert download.read() == zip_bytes


def test_version_numbers_increase_and_are_never_reused(lambda_client, publish_layer):
    name = unique_name("layer")
    assert [publish_layer({"a.txt": str(i)}, name)["Version"] for i in range(2)] == [1, 2]
    lambda_client.delete_layer_version(LayerName=name, VersionNumber=2)
    assert publish_layer({"a.txt": "again"}, name)["Version"] == 3
    for version in (1, 3):
        lambda_client.delete_layer_version(LayerName=name, VersionNumber=version)
    # every version deleted: the numbers still go on
    third = publish_layer({"a.txt": "after all deleted"}, name)
    assert third["Version"] == 4
    assert third["LayerVersionArn"].endswith(f":{name}:4")


def test_get_layer_version_and_by_arn(lambda_client, publish_layer):
    name = unique_name("layer")
    publish_layer({"one.txt": "1"}, name, Description="first")
    published = publish_layer({"two.txt": "2"}, name, Description="second", CompatibleRuntimes=["nodejs20.x"])

    by_name = lambda_client.get_layer_version(LayerName=name, VersionNumber=2)
    by_arn = lambda_client.get_layer_version_by_arn(Arn=published["LayerVersionArn"])
    for document in (by_name, by_arn):
        assert document["LayerVersionArn"] == published["LayerVersionArn"]
        assert document["Version"] == 2
        assert document["Description"] == "second"
        assert document["CompatibleRuntimes"] == ["nodejs20.x"]
        assert document["Content"]["CodeSha256"] == published["Content"]["CodeSha256"]
    assert lambda_client.get_layer_version(LayerName=name, VersionNumber=1)["Description"] == "first"

    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_layer_version(LayerName=name, VersionNumber=9)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_layer_version_by_arn(Arn=f"{ACCOUNT_LAYER_ARN}{name}:9")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_layer_version(LayerName=unique_name("nolayer"), VersionNumber=1)


def test_list_layers_and_layer_versions(lambda_client, publish_layer):
    python_layer, mixed_layer = unique_name("layer"), unique_name("layer")
    publish_layer({"p.txt": "1"}, python_layer, CompatibleRuntimes=["python3.12"])
    publish_layer({"m.txt": "1"}, mixed_layer, CompatibleRuntimes=["python3.12"], Description="py")
    publish_layer({"m.txt": "2"}, mixed_layer, CompatibleRuntimes=["nodejs20.x"], Description="node")

    def listed(**filters) -> dict:
        layers = lambda_client.list_layers(**filters)["Layers"]
        return {layer["LayerName"]: layer for layer in layers if layer["LayerName"] in (python_layer, mixed_layer)}

    everything = listed()
    assert set(everything) == {python_layer, mixed_layer}
    assert everything[mixed_layer]["LayerArn"] == f"{ACCOUNT_LAYER_ARN}{mixed_layer}"
    latest = everything[mixed_layer]["LatestMatchingVersion"]
    assert latest["Version"] == 2
    assert latest["LayerVersionArn"] == f"{ACCOUNT_LAYER_ARN}{mixed_layer}:2"
    assert latest["Description"] == "node"

    python_only = listed(CompatibleRuntime="python3.12")
    assert set(python_only) == {python_layer, mixed_layer}
    assert python_only[mixed_layer]["LatestMatchingVersion"]["Version"] == 1  # the newest that matches
    assert set(listed(CompatibleRuntime="nodejs20.x")) == {mixed_layer}
    assert listed(CompatibleRuntime="python3.9") == {}

    versions = lambda_client.list_layer_versions(LayerName=mixed_layer)["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]  # newest first
    assert versions[0]["LayerVersionArn"] == f"{ACCOUNT_LAYER_ARN}{mixed_layer}:2"
    node_versions = lambda_client.list_layer_versions(LayerName=mixed_layer, CompatibleRuntime="nodejs20.x")
    assert [v["Version"] for v in node_versions["LayerVersions"]] == [2]
    assert lambda_client.list_layer_versions(LayerName=unique_name("nolayer"))["LayerVersions"] == []


def test_delete_layer_version(lambda_client, publish_layer):
    name = unique_name("layer")
    publish_layer({"a.txt": "1"}, name)
    publish_layer({"a.txt": "2"}, name)
    lambda_client.delete_layer_version(LayerName=name, VersionNumber=1)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_layer_version(LayerName=name, VersionNumber=1)
    lambda_client.delete_layer_version(LayerName=name, VersionNumber=1)  # again: fine, as in Lambda
    assert [v["Version"] for v in lambda_client.list_layer_versions(LayerName=name)["LayerVersions"]] == [2]
    assert lambda_client.get_layer_version(LayerName=name, VersionNumber=2)["Version"] == 2


# ------------------------------------------------------------ what functions see

IMPORT_GREETING = """
import greeting, os
def handler(event, context):
    return {"greeting": greeting.HELLO, "file": greeting.__file__}
"""


def test_python_package_from_a_layer(lambda_client, python_function, publish_layer):
    layer = publish_layer({"python/greeting.py": "HELLO = 'hello from the layer'\n"})
    name = python_function(IMPORT_GREETING, Runtime="python3.12", Layers=[layer["LayerVersionArn"]])
    response, payload = invoke_json(lambda_client, name)
    assert "FunctionError" not in response, payload
    assert payload == {"greeting": "hello from the layer", "file": "/opt/python/greeting.py"}


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_python_site_packages_directory_of_a_layer(lambda_client, python_function, publish_layer, runtime):
    """Lambda also puts python/lib/pythonX.Y/site-packages of a layer on sys.path, X.Y
    being the function's runtime (whatever interpreter Ember runs it on)."""
    layer = publish_layer({f"python/lib/{runtime}/site-packages/greeting.py": "HELLO = 'from site-packages'\n"})
    name = python_function(IMPORT_GREETING, Runtime=runtime, Layers=[layer["LayerVersionArn"]])
    response, payload = invoke_json(lambda_client, name)
    assert "FunctionError" not in response, payload
    assert payload == {
        "greeting": "from site-packages", "file": f"/opt/python/lib/{runtime}/site-packages/greeting.py",
    }


def test_later_layer_overrides_an_earlier_one(lambda_client, python_function, publish_layer):
    first = publish_layer({"python/greeting.py": "HELLO = 'first'\n", "python/only_first.py": "X = 1\n"})
    second = publish_layer({"python/greeting.py": "HELLO = 'second'\n"})
    source = IMPORT_GREETING.replace("import greeting, os", "import greeting, only_first")
    name = python_function(source, Layers=[first["LayerVersionArn"], second["LayerVersionArn"]])
    response, payload = invoke_json(lambda_client, name)
    assert "FunctionError" not in response, payload
    assert payload["greeting"] == "second"

    # the other order: the first layer wins now
    lambda_client.update_function_configuration(
        FunctionName=name, Layers=[second["LayerVersionArn"], first["LayerVersionArn"]]
    )
    response, payload = invoke_json(lambda_client, name)
    assert payload["greeting"] == "first"


def test_function_code_comes_before_layers(lambda_client, create_function, publish_layer):
    layer = publish_layer({"python/greeting.py": "HELLO = 'layer'\n"})
    package = make_zip({"lambda_function.py": IMPORT_GREETING, "greeting.py": "HELLO = 'task'\n"})
    name = create_function(zip_bytes=package, Layers=[layer["LayerVersionArn"]], MemorySize=ONE_VCPU_MB)
    response, payload = invoke_json(lambda_client, name)
    assert payload == {"greeting": "task", "file": "/var/task/greeting.py"}


def test_node_module_from_a_layer(lambda_client, create_function, publish_layer):
    layer = publish_layer({
        "nodejs/node_modules/left-pad-ember/package.json": '{"name": "left-pad-ember", "main": "lib/pad.js"}',
        "nodejs/node_modules/left-pad-ember/lib/pad.js": "module.exports = (s, n) => String(s).padStart(n, '*');\n",
    })
    name = create_function(
        zip_bytes=make_zip({"index.js": """
const pad = require("left-pad-ember");
exports.handler = async (event) => ({ padded: pad(event.s, 6), from: require.resolve("left-pad-ember") });
"""}),
        Runtime="nodejs20.x", Handler="index.handler", Layers=[layer["LayerVersionArn"]], MemorySize=ONE_VCPU_MB,
    )
    response, payload = invoke_json(lambda_client, name, {"s": "ab"})
    assert "FunctionError" not in response, payload
    assert payload == {"padded": "****ab", "from": "/opt/nodejs/node_modules/left-pad-ember/lib/pad.js"}


LAYER_BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
  REQUEST_ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | cut -d' ' -f2 | tr -d '\r\n')"
  rm -f "$HEADERS"
  GREETING="$(cat "$LAMBDA_TASK_ROOT/greeting.txt")"
  curl -sS -o /dev/null -X POST \
    -d "{\"runtime\": \"from the layer\", \"handler\": \"$_HANDLER\", \"greeting\": \"$GREETING\", \"event\": $EVENT}" \
    "$API/invocation/$REQUEST_ID/response"
done
"""


def test_custom_runtime_bootstrap_from_a_layer(lambda_client, create_function, publish_layer):
    layer = publish_layer(executable_zip({"bootstrap": LAYER_BOOTSTRAP}), CompatibleRuntimes=["provided.al2023"])
    name = create_function(
        zip_bytes=make_zip({"greeting.txt": "hi there"}),  # no bootstrap of its own
        Runtime="provided.al2023", Handler="greeting.txt", Layers=[layer["LayerVersionArn"]],
    )
    response, payload = invoke_json(lambda_client, name, {"n": 1})
    assert "FunctionError" not in response, payload
    assert payload == {
        "runtime": "from the layer", "handler": "greeting.txt", "greeting": "hi there", "event": {"n": 1},
    }

    # without the layer there is no bootstrap at all
    lambda_client.update_function_configuration(FunctionName=name, Layers=[])
    response, error = invoke_json(lambda_client, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.InvalidEntrypoint"


def test_layers_in_the_function_configuration(lambda_client, create_function, publish_layer):
    first = publish_layer({"python/a.py": "A = 1\n"})
    second = publish_layer({"python/b.py": "B = 2\n" * 50})
    arns = [first["LayerVersionArn"], second["LayerVersionArn"]]
    name = create_function("def handler(e, c):\n    return 1\n", Layers=arns)
    expected = [
        {"Arn": first["LayerVersionArn"], "CodeSize": first["Content"]["CodeSize"]},
        {"Arn": second["LayerVersionArn"], "CodeSize": second["Content"]["CodeSize"]},
    ]
    assert lambda_client.get_function_configuration(FunctionName=name)["Layers"] == expected
    assert lambda_client.get_function(FunctionName=name)["Configuration"]["Layers"] == expected
    updated = lambda_client.update_function_configuration(FunctionName=name, Layers=[second["LayerVersionArn"]])
    assert updated["Layers"] == expected[1:]
    cleared = lambda_client.update_function_configuration(FunctionName=name, Layers=[])
    assert not cleared.get("Layers")
    assert not lambda_client.get_function_configuration(FunctionName=name).get("Layers")


def test_too_many_or_unknown_layers_are_refused(lambda_client, create_function, publish_layer):
    arns = [publish_layer({f"f{i}.txt": str(i)})["LayerVersionArn"] for i in range(6)]
    source = "def handler(e, c):\n    return 1\n"
    missing = f"{ACCOUNT_LAYER_ARN}{unique_name('nolayer')}:1"
    for layers in (arns, [arns[0], missing]):
        with pytest.raises(ClientError) as caught:
            create_function(source, Layers=layers)
        assert error_code(caught.value) == "InvalidParameterValueException"

    name = create_function(source, Layers=arns[:5])  # five is the limit, and allowed
    assert len(lambda_client.get_function_configuration(FunctionName=name)["Layers"]) == 5
    for layers in (arns, [missing]):
        with pytest.raises(ClientError) as caught:
            lambda_client.update_function_configuration(FunctionName=name, Layers=layers)
        assert error_code(caught.value) == "InvalidParameterValueException"
    assert len(lambda_client.get_function_configuration(FunctionName=name)["Layers"]) == 5


def test_function_keeps_working_after_its_layer_version_is_deleted(lambda_client, python_function, publish_layer):
    name_of_layer = unique_name("layer")
    layer = publish_layer({"python/greeting.py": "HELLO = 'still here'\n"}, name_of_layer)
    name = python_function(IMPORT_GREETING, Layers=[layer["LayerVersionArn"]])
    assert invoke_json(lambda_client, name)[1]["greeting"] == "still here"

    lambda_client.delete_layer_version(LayerName=name_of_layer, VersionNumber=1)
    # a configuration change: a fresh environment, built from what the function kept
    lambda_client.update_function_configuration(FunctionName=name, Description="after the layer went")
    response, payload = invoke_json(lambda_client, name, LogType="Tail")
    assert "FunctionError" not in response, payload
    assert payload["greeting"] == "still here"
    assert "Init Duration" in base64.b64decode(response["LogResult"]).decode()
    configuration = lambda_client.get_function_configuration(FunctionName=name)
    assert [layer_ref["Arn"] for layer_ref in configuration["Layers"]] == [layer["LayerVersionArn"]]

    # but no function can take it up any more
    with pytest.raises(ClientError) as caught:
        python_function(IMPORT_GREETING, Layers=[layer["LayerVersionArn"]])
    assert error_code(caught.value) == "InvalidParameterValueException"


LIST_OPT = """
import os
def handler(event, context):
    found = []
    for root, dirs, files in os.walk("/opt"):
        found += [os.path.relpath(os.path.join(root, f), "/opt") for f in files]
    return sorted(found)
"""


def test_removing_layers_empties_opt(lambda_client, python_function, publish_layer):
    layer = publish_layer({"python/greeting.py": "HELLO = 1\n", "bin/tool": "#!/bin/sh\n"})
    name = python_function(LIST_OPT, Layers=[layer["LayerVersionArn"]])
    assert invoke_json(lambda_client, name)[1] == ["bin/tool", "python/greeting.py"]
    lambda_client.update_function_configuration(FunctionName=name, Layers=[])
    response, payload = invoke_json(lambda_client, name)
    assert "FunctionError" not in response, payload
    assert payload == []


WRITE_OPT = """
import errno, os
def handler(event, context):
    results = {}
    for path in ("/opt/new-file", "/opt/python/greeting.py", "/opt/python/new.py"):
        try:
            with open(path, "a") as f:
                f.write("x")
            results[path] = "written"
        except OSError as error:
            results[path] = errno.errorcode[error.errno]
    try:
        os.mkdir("/opt/newdir")
        results["mkdir"] = "made"
    except OSError as error:
        results["mkdir"] = errno.errorcode[error.errno]
    results["content"] = open("/opt/python/greeting.py").read()
    return results
"""


def test_opt_is_read_only(lambda_client, python_function, publish_layer):
    layer = publish_layer({"python/greeting.py": "HELLO = 1\n"})
    name = python_function(WRITE_OPT, Layers=[layer["LayerVersionArn"]])
    response, payload = invoke_json(lambda_client, name)
    assert "FunctionError" not in response, payload
    refused = {errno.errorcode[errno.EROFS], errno.errorcode[errno.EACCES], errno.errorcode[errno.EPERM]}
    for key in ("/opt/new-file", "/opt/python/greeting.py", "/opt/python/new.py", "mkdir"):
        assert payload[key] in refused, payload
    assert payload["content"] == "HELLO = 1\n"
