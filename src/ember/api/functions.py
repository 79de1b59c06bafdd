"""Lambda's control-plane operations on functions: AWS names on the wire, the
registry's snake_case inside."""

from ember.api.http import DEFAULT_MAX_ITEMS, Request, Response, json_response
from ember.control.function import Function
from ember.control.functions import FunctionRegistry, FunctionSpec
from ember.control.layers import LayerRegistry
from ember.control.validation import check_architectures
from ember.errors import InvalidParameter
from ember.invoke.concurrency import ConcurrencyLimiter

# Lambda's account quotas for code storage.
TOTAL_CODE_SIZE = 80_530_636_800
CODE_SIZE_UNZIPPED = 262_144_000
CODE_SIZE_ZIPPED = 52_428_800


def configuration(function: Function) -> dict:
    """FunctionConfiguration as Lambda returns it."""
    document = {
        "FunctionName": function.name,
        "FunctionArn": function.arn,
        "Runtime": function.runtime,
        "Role": function.role,
        "Handler": function.handler,
        "CodeSize": function.code_size,
        "Description": function.description,
        "Timeout": function.timeout,
        "MemorySize": function.memory_size,
        "LastModified": function.last_modified,
        "CodeSha256": function.code_sha256,
        "Version": function.version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": function.revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": list(function.architectures),
        "EphemeralStorage": {"Size": function.ephemeral_storage},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": function.log_group},
    }
    if function.environment:
        document["Environment"] = {"Variables": dict(function.environment)}
    if function.layers:
        document["Layers"] = [{"Arn": arn, "CodeSize": size} for arn, _, size in function.layers]
    return document


# Parameters Lambda accepts that Ember does not act on yet, with the value that
# means "not used" (a request that leaves them at that value is served).
def _unused(value) -> bool:
    return value in (None, False, "", [], {}, "None", "PassThrough", "Zip", "Text") or (
        isinstance(value, dict) and all(_unused(v) for v in value.values())
    )


NOT_YET_SUPPORTED = (
    "PublishTo",
    "VpcConfig",
    "DeadLetterConfig",
    "FileSystemConfigs",
    "ImageConfig",
    "CodeSigningConfigArn",
    "KMSKeyArn",
    "SnapStart",
    "TracingConfig",
    "LoggingConfig",
    "PackageType",
    "CapacityProviderConfig",
    "DurableConfig",
    "TenancyConfig",
    "S3Bucket",
    "S3Key",
    "S3ObjectVersion",
    "ImageUri",
    "SourceKMSKeyArn",
)


def refuse_unsupported(params: dict) -> None:
    code = params.get("Code", {})
    for name in NOT_YET_SUPPORTED:
        value = params.get(name, code.get(name))
        if not _unused(value):
            raise InvalidParameter(
                f"{name} is not supported by Ember yet. Leave it out of the request; "
                "see Ember's docs for what each release supports."
            )


def _environment(params: dict) -> dict[str, str] | None:
    if "Environment" not in params:
        return None
    return params["Environment"].get("Variables") or {}


class FunctionsApi:
    def __init__(self, functions: FunctionRegistry, concurrency: ConcurrencyLimiter, layers: LayerRegistry):
        self._functions = functions
        self._concurrency = concurrency
        self._layers = layers

    def _layer_stack(self, arns: list[str]) -> tuple[tuple[str, str, int], ...]:
        return tuple(
            (layer.arn, layer.code_digest, layer.code_size) for layer in self._layers.resolve_for_function(arns)
        )

    async def create_function(self, request: Request, params: dict) -> Response:
        refuse_unsupported(params)
        zip_bytes = params["Code"].get("ZipFile")
        if zip_bytes is None:
            raise InvalidParameter(
                "Code.ZipFile is required: Ember takes function code as a .zip file in the request "
                "(S3 locations and container images are not supported)."
            )
        function = await self._functions.create(
            FunctionSpec(
                name=params["FunctionName"],
                runtime=params.get("Runtime"),
                handler=params.get("Handler"),
                role=params["Role"],
                zip_bytes=zip_bytes,
                description=params.get("Description", ""),
                timeout=params.get("Timeout", 3),
                memory_size=params.get("MemorySize", 128),
                ephemeral_storage=params.get("EphemeralStorage", {}).get("Size", 512),
                environment=_environment(params),
                architectures=tuple(params["Architectures"]) if "Architectures" in params else None,
                tags=params.get("Tags"),
                layers=self._layer_stack(params.get("Layers", [])),
            )
        )
        if params.get("Publish"):
            function = await self._functions.publish_version(function.name)
        return json_response(configuration(function), 201)

    async def get_function(self, request: Request, params: dict) -> Response:
        function = self._functions.get(params["FunctionName"], params.get("Qualifier"))
        document = {
            "Configuration": configuration(function),
            "Code": {
                "RepositoryType": "S3",
                "Location": f"{request.base_url}/_ember/code/{function.code_digest}.zip",
            },
        }
        if function.tags:
            document["Tags"] = dict(function.tags)
        if function.reserved_concurrency is not None:
            document["Concurrency"] = {"ReservedConcurrentExecutions": function.reserved_concurrency}
        return json_response(document)

    async def get_function_configuration(self, request: Request, params: dict) -> Response:
        function = self._functions.get(params["FunctionName"], params.get("Qualifier"))
        return json_response(configuration(function))

    async def list_functions(self, request: Request, params: dict) -> Response:
        functions, next_marker = self._functions.list_page(
            params.get("Marker"), params.get("MaxItems", DEFAULT_MAX_ITEMS)
        )
        document: dict = {"Functions": [configuration(f) for f in functions]}
        if next_marker:
            document["NextMarker"] = next_marker
        return json_response(document)

    async def update_function_code(self, request: Request, params: dict) -> Response:
        refuse_unsupported(params)
        if "ZipFile" not in params:
            raise InvalidParameter(
                "ZipFile is required: Ember takes function code as a .zip file in the request "
                "(S3 locations and container images are not supported)."
            )
        if "Architectures" in params:
            check_architectures(tuple(params["Architectures"]))
        function = await self._functions.update_code(
            params["FunctionName"],
            params["ZipFile"],
            revision_id=params.get("RevisionId"),
            dry_run=params.get("DryRun", False),
        )
        if params.get("Publish") and not params.get("DryRun"):
            function = await self._functions.publish_version(function.name)
        return json_response(configuration(function))

    async def update_function_configuration(self, request: Request, params: dict) -> Response:
        refuse_unsupported(params)
        wire_to_field = {
            "Runtime": "runtime",
            "Handler": "handler",
            "Role": "role",
            "Description": "description",
            "Timeout": "timeout",
            "MemorySize": "memory_size",
        }
        changes = {field: params[wire] for wire, field in wire_to_field.items() if wire in params}
        if "EphemeralStorage" in params:
            changes["ephemeral_storage"] = params["EphemeralStorage"]["Size"]
        if "Environment" in params:
            changes["environment"] = _environment(params)
        if "Layers" in params:
            changes["layers"] = self._layer_stack(params["Layers"])
        function = await self._functions.update_configuration(
            params["FunctionName"], changes, revision_id=params.get("RevisionId")
        )
        return json_response(configuration(function))

    async def delete_function(self, request: Request, params: dict) -> Response:
        await self._functions.delete(params["FunctionName"], params.get("Qualifier"))
        return Response(204)

    async def get_account_settings(self, request: Request, params: dict) -> Response:
        functions = self._functions.all()
        limit = self._concurrency.limit
        return json_response(
            {
                "AccountLimit": {
                    "TotalCodeSize": TOTAL_CODE_SIZE,
                    "CodeSizeUnzipped": CODE_SIZE_UNZIPPED,
                    "CodeSizeZipped": CODE_SIZE_ZIPPED,
                    "ConcurrentExecutions": limit,
                    "UnreservedConcurrentExecutions": self._concurrency.unreserved,
                },
                "AccountUsage": {
                    "TotalCodeSize": sum(f.code_size for f in functions),
                    "FunctionCount": len(functions),
                },
            }
        )

    def handlers(self) -> dict:
        return {
            "CreateFunction": self.create_function,
            "GetFunction": self.get_function,
            "GetFunctionConfiguration": self.get_function_configuration,
            "ListFunctions": self.list_functions,
            "UpdateFunctionCode": self.update_function_code,
            "UpdateFunctionConfiguration": self.update_function_configuration,
            "DeleteFunction": self.delete_function,
            "GetAccountSettings": self.get_account_settings,
        }
