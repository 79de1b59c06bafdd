"""Which Lambda runtimes Ember can run, and how each one starts.

- python3.x: Ember's native Python runtime (runtime/bootstrap.py), the fast path:
  no HTTP inside the environment. Every python3.x runtime runs on the host's own
  interpreter (the one that runs Ember, resolved past virtualenvs and shims).
- provided, provided.al2, provided.al2023: the function's own `bootstrap`
  executable (from the package, or /opt/bootstrap from a layer), talking to the
  Runtime API that runtime/runtime_api.py serves.
- nodejs18.x, nodejs20.x, nodejs22.x: Ember's Node.js runtime
  (runtime/node/bootstrap.js) on the host's `node`, through the same Runtime API.
Other runtimes are refused with a clear error until Ember can run them.
"""

import os
import shutil
import sys

from ember.errors import InvalidParameter

PYTHON_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
CUSTOM_RUNTIMES = ("provided", "provided.al2", "provided.al2023")
NODE_RUNTIMES = ("nodejs18.x", "nodejs20.x", "nodejs22.x")
DEPRECATED_RUNTIMES = ("python2.7", "python3.6", "python3.7", "python3.8", "nodejs", "nodejs4.3",
                       "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x")
NEWEST = {"python": PYTHON_RUNTIMES[-1], "nodejs": NODE_RUNTIMES[-1]}

HOST_PYTHON = os.path.realpath(sys.executable)
_node = shutil.which("node")
HOST_NODE = os.path.realpath(_node) if _node else None


def supported_runtimes() -> tuple[str, ...]:
    return PYTHON_RUNTIMES + CUSTOM_RUNTIMES + (NODE_RUNTIMES if HOST_NODE else ())


def check_runtime(runtime: str) -> None:
    if runtime in supported_runtimes():
        return
    if runtime in DEPRECATED_RUNTIMES:
        family = "nodejs" if runtime.startswith("nodejs") else "python"
        raise InvalidParameter(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating "
            f"AWS Lambda functions. We recommend you use the new runtime ({NEWEST[family]}) while "
            "creating or updating functions."
        )
    if runtime in NODE_RUNTIMES:
        raise InvalidParameter(f"The runtime parameter of {runtime} needs Node.js, which this Ember host does not have.")
    raise InvalidParameter(
        f"The runtime parameter of {runtime} is not supported by Ember yet. "
        f"Supported runtimes: {', '.join(supported_runtimes())}."
    )


def uses_runtime_api(runtime: str) -> bool:
    return runtime not in PYTHON_RUNTIMES


def launch_argv(runtime: str, runtime_dir: str) -> list[str]:
    """The command that starts an environment's runtime; runtime_dir is where Ember's
    runtime package appears inside the sandbox."""
    python = [HOST_PYTHON, "-S", "-u"]
    if runtime in PYTHON_RUNTIMES:
        return [*python, f"{runtime_dir}/bootstrap.py"]
    if runtime in CUSTOM_RUNTIMES:
        return [*python, f"{runtime_dir}/runtime_api.py", "custom"]
    if runtime in NODE_RUNTIMES and HOST_NODE:
        return [*python, f"{runtime_dir}/runtime_api.py", HOST_NODE, f"{runtime_dir}/node/bootstrap.js"]
    raise InvalidParameter(f"The runtime parameter of {runtime} is not supported by Ember yet.")


def interpreter_prefixes() -> list[str]:
    """Installations the runtimes need inside a sandbox, where they live outside /usr."""
    prefixes = {os.path.realpath(sys.base_prefix)}
    if HOST_NODE:
        prefixes.add(os.path.dirname(os.path.dirname(HOST_NODE)))
    return sorted(p for p in prefixes if not p.startswith("/usr"))
