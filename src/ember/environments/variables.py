"""The environment variables Lambda sets in every execution environment."""

from ember.control.function import Function
from ember.environments.sandbox.base import SandboxPaths
from ember.settings import Settings


def lambda_variables(
    function: Function,
    settings: Settings,
    paths: SandboxPaths,
    log_stream: str,
    initialization_type: str = "on-demand",
) -> dict[str, str]:
    task_root, opt = paths.task_root, paths.opt
    variables = {
        "PATH": f"/usr/local/bin:/usr/bin:/bin:{opt}/bin",
        "LD_LIBRARY_PATH": f"/lib64:/usr/lib64:{task_root}:{task_root}/lib:{opt}/lib",
        "NODE_PATH": f"{opt}/nodejs/node_modules:{task_root}",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": paths.runtime_dir,
        # Ember's own: where the layers are, for the runtimes (removed before user code runs)
        "_EMBER_OPT_DIR": opt,
        "_HANDLER": function.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": function.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_REGION": settings.region,
        "AWS_DEFAULT_REGION": settings.region,
    }
    # Reserved names were refused when the function was configured, so the
    # function's own variables can only add to these or replace PATH, LANG, TZ.
    variables.update(function.environment)
    return variables
