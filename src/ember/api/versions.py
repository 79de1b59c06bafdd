"""Versions, aliases and provisioned concurrency: PublishVersion, ListVersionsByFunction,
Create/Get/Update/Delete/ListAliases, and the ProvisionedConcurrencyConfig operations."""

from ember.api.functions import configuration
from ember.api.http import Request, Response, json_response, paginate
from ember.control.function import LATEST, Alias
from ember.control.functions import FunctionRegistry
from ember.environments.manager import EnvironmentManager
from ember.invoke.concurrency import ConcurrencyLimiter

def alias_document(alias: Alias) -> dict:
    document = {
        "AliasArn": alias.arn,
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    }
    if alias.additional_versions:
        document["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.additional_versions)}
    return document


def _weights(params: dict) -> dict[str, float] | None:
    if "RoutingConfig" not in params:
        return None
    return dict(params["RoutingConfig"].get("AdditionalVersionWeights") or {})


class VersionsApi:
    def __init__(self, functions: FunctionRegistry, environments: EnvironmentManager, concurrency: ConcurrencyLimiter):
        self._functions = functions
        self._environments = environments
        self._concurrency = concurrency

    # ------------------------------------------------------------ versions

    async def publish_version(self, request: Request, params: dict) -> Response:
        version = await self._functions.publish_version(
            params["FunctionName"], params.get("CodeSha256"), params.get("Description"), params.get("RevisionId")
        )
        return json_response(configuration(version), 201)

    async def list_versions_by_function(self, request: Request, params: dict) -> Response:
        versions, next_marker = paginate(self._functions.versions(params["FunctionName"]), params, lambda f: f.version)
        documents = [configuration(v) for v in versions]
        for document in documents:
            if document["Version"] == LATEST:  # listed among versions, $LATEST's ARN is qualified
                document["FunctionArn"] += f":{LATEST}"
        document: dict = {"Versions": documents}
        if next_marker:
            document["NextMarker"] = next_marker
        return json_response(document)

    # ------------------------------------------------------------ aliases

    async def create_alias(self, request: Request, params: dict) -> Response:
        alias = await self._functions.create_alias(
            params["FunctionName"], params["Name"], params["FunctionVersion"],
            params.get("Description", ""), _weights(params),
        )
        return json_response(alias_document(alias), 201)

    async def get_alias(self, request: Request, params: dict) -> Response:
        return json_response(alias_document(self._functions.get_alias(params["FunctionName"], params["Name"])))

    async def update_alias(self, request: Request, params: dict) -> Response:
        alias = await self._functions.update_alias(
            params["FunctionName"], params["Name"], params.get("FunctionVersion"),
            params.get("Description"), _weights(params), params.get("RevisionId"),
        )
        return json_response(alias_document(alias))

    async def delete_alias(self, request: Request, params: dict) -> Response:
        await self._functions.delete_alias(params["FunctionName"], params["Name"])
        return Response(204)

    async def list_aliases(self, request: Request, params: dict) -> Response:
        aliases = self._functions.aliases(params["FunctionName"], params.get("FunctionVersion"))
        page, next_marker = paginate(aliases, params, lambda a: a.name)
        document: dict = {"Aliases": [alias_document(a) for a in page]}
        if next_marker:
            document["NextMarker"] = next_marker
        return json_response(document)

    # ------------------------------------------------------------ provisioned concurrency

    def _provisioned_document(self, name: str, qualifier: str, requested: int) -> dict:
        ready, status, reason = self._environments.provisioned_status(name, qualifier, requested)
        document = {
            "RequestedProvisionedConcurrentExecutions": requested,
            "AvailableProvisionedConcurrentExecutions": ready,
            "AllocatedProvisionedConcurrentExecutions": ready,
            "Status": status,
            "LastModified": self._functions.provisioned_last_modified(name, qualifier),
        }
        if reason:
            document["StatusReason"] = reason
        return document

    async def put_provisioned_concurrency_config(self, request: Request, params: dict) -> Response:
        function, qualifier = self._functions.resolve(params["FunctionName"], params["Qualifier"])
        requested = params["ProvisionedConcurrentExecutions"]
        await self._functions.put_provisioned(
            params["FunctionName"], qualifier, requested, check=self._concurrency.check_provisioning
        )
        return json_response(self._provisioned_document(function.name, qualifier, requested), 202)

    async def get_provisioned_concurrency_config(self, request: Request, params: dict) -> Response:
        function, qualifier = self._functions.resolve(params["FunctionName"], params["Qualifier"])
        requested = self._functions.get_provisioned(params["FunctionName"], qualifier)
        return json_response(self._provisioned_document(function.name, qualifier, requested))

    async def list_provisioned_concurrency_configs(self, request: Request, params: dict) -> Response:
        base = self._functions.get(params["FunctionName"])
        configs = sorted(
            (qualifier, requested)
            for (name, qualifier), requested in self._functions.provisioned().items()
            if name == base.name
        )
        page, next_marker = paginate(configs, params, lambda c: c[0])
        document: dict = {
            "ProvisionedConcurrencyConfigs": [
                {"FunctionArn": self._functions.arn(base.name, q), **self._provisioned_document(base.name, q, n)}
                for q, n in page
            ]
        }
        if next_marker:
            document["NextMarker"] = next_marker
        return json_response(document)

    async def delete_provisioned_concurrency_config(self, request: Request, params: dict) -> Response:
        await self._functions.delete_provisioned(params["FunctionName"], params["Qualifier"])
        return Response(204)

    def handlers(self) -> dict:
        return {
            "PublishVersion": self.publish_version,
            "ListVersionsByFunction": self.list_versions_by_function,
            "CreateAlias": self.create_alias,
            "GetAlias": self.get_alias,
            "UpdateAlias": self.update_alias,
            "DeleteAlias": self.delete_alias,
            "ListAliases": self.list_aliases,
            "PutProvisionedConcurrencyConfig": self.put_provisioned_concurrency_config,
            "GetProvisionedConcurrencyConfig": self.get_provisioned_concurrency_config,
            "ListProvisionedConcurrencyConfigs": self.list_provisioned_concurrency_configs,
            "DeleteProvisionedConcurrencyConfig": self.delete_provisioned_concurrency_config,
        }
