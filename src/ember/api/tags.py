"""Function tags: TagResource, UntagResource, ListTags. The tag ember:network=none
is Ember's own switch that turns a function's outbound network off."""

from ember.api.http import Request, Response, json_response
from ember.control.functions import FunctionRegistry


class TagsApi:
    def __init__(self, functions: FunctionRegistry):
        self._functions = functions

    async def tag_resource(self, request: Request, params: dict) -> Response:
        await self._functions.tag(params["Resource"], params["Tags"])
        return Response(204)

    async def untag_resource(self, request: Request, params: dict) -> Response:
        await self._functions.untag(params["Resource"], params["TagKeys"])
        return Response(204)

    async def list_tags(self, request: Request, params: dict) -> Response:
        return json_response({"Tags": self._functions.tags(params["Resource"])})

    def handlers(self) -> dict:
        return {
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTags": self.list_tags,
        }
