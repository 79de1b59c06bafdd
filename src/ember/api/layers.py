"""Layers: PublishLayerVersion, GetLayerVersion(ByArn), ListLayers, ListLayerVersions,
DeleteLayerVersion."""

from ember.api.http import Request, Response, json_response, paginate
from ember.control.layers import LayerRegistry, LayerVersion
from ember.errors import InvalidParameter

def layer_version_document(layer: LayerVersion, base_url: str) -> dict:
    document = {
        "Content": {
            "Location": f"{base_url}/_ember/code/{layer.code_digest}.zip",
            "CodeSha256": layer.code_sha256,
            "CodeSize": layer.code_size,
        },
        "LayerArn": layer.layer_arn,
        "LayerVersionArn": layer.arn,
        "Description": layer.description,
        "CreatedDate": layer.created,
        "Version": layer.version,
        "CompatibleRuntimes": list(layer.compatible_runtimes),
        "CompatibleArchitectures": list(layer.compatible_architectures),
    }
    if layer.license_info is not None:
        document["LicenseInfo"] = layer.license_info
    return document


def _list_item(layer: LayerVersion) -> dict:
    """A layer version in ListLayers / ListLayerVersions (no Content)."""
    document = layer_version_document(layer, "")
    del document["Content"], document["LayerArn"]
    return document


class LayersApi:
    def __init__(self, layers: LayerRegistry):
        self._layers = layers

    async def publish_layer_version(self, request: Request, params: dict) -> Response:
        content = params["Content"]
        if "ZipFile" not in content:
            raise InvalidParameter("Content.ZipFile is required: Ember takes layer content as a .zip file in the request.")
        layer = await self._layers.publish(
            params["LayerName"],
            content["ZipFile"],
            description=params.get("Description", ""),
            compatible_runtimes=params.get("CompatibleRuntimes", ()),
            compatible_architectures=params.get("CompatibleArchitectures", ()),
            license_info=params.get("LicenseInfo"),
        )
        return json_response(layer_version_document(layer, request.base_url), 201)

    async def get_layer_version(self, request: Request, params: dict) -> Response:
        layer = self._layers.get(params["LayerName"], params["VersionNumber"])
        return json_response(layer_version_document(layer, request.base_url))

    async def get_layer_version_by_arn(self, request: Request, params: dict) -> Response:
        return json_response(layer_version_document(self._layers.get_by_arn(params["Arn"]), request.base_url))

    async def list_layers(self, request: Request, params: dict) -> Response:
        layers = self._layers.layers(params.get("CompatibleRuntime"), params.get("CompatibleArchitecture"))
        page, next_marker = paginate(layers, params, lambda layer: layer.name)
        document: dict = {
            "Layers": [
                {"LayerName": layer.name, "LayerArn": layer.layer_arn, "LatestMatchingVersion": _list_item(layer)}
                for layer in page
            ]
        }
        if next_marker:
            document["NextMarker"] = next_marker
        return json_response(document)

    async def list_layer_versions(self, request: Request, params: dict) -> Response:
        versions = self._layers.versions(
            params["LayerName"], params.get("CompatibleRuntime"), params.get("CompatibleArchitecture")
        )
        page, next_marker = paginate(versions, params, lambda layer: str(layer.version))
        document: dict = {"LayerVersions": [_list_item(layer) for layer in page]}
        if next_marker:
            document["NextMarker"] = next_marker
        return json_response(document)

    async def delete_layer_version(self, request: Request, params: dict) -> Response:
        await self._layers.delete(params["LayerName"], params["VersionNumber"])
        return Response(204)

    def handlers(self) -> dict:
        return {
            "PublishLayerVersion": self.publish_layer_version,
            "GetLayerVersion": self.get_layer_version,
            "GetLayerVersionByArn": self.get_layer_version_by_arn,
            "ListLayers": self.list_layers,
            "ListLayerVersions": self.list_layer_versions,
            "DeleteLayerVersion": self.delete_layer_version,
        }
