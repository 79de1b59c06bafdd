"""Reserved concurrency: PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency."""

from ember.api.http import Request, Response, json_response
from ember.control.functions import FunctionRegistry
from ember.invoke.concurrency import ConcurrencyLimiter


class ConcurrencyApi:
    def __init__(self, functions: FunctionRegistry, concurrency: ConcurrencyLimiter):
        self._functions = functions
        self._concurrency = concurrency

    async def put_function_concurrency(self, request: Request, params: dict) -> Response:
        reserved = params["ReservedConcurrentExecutions"]
        await self._functions.set_reserved_concurrency(
            params["FunctionName"], reserved, check=self._concurrency.check_reservation
        )
        return json_response({"ReservedConcurrentExecutions": reserved})

    async def get_function_concurrency(self, request: Request, params: dict) -> Response:
        function = self._functions.get(params["FunctionName"])
        if function.reserved_concurrency is None:
            return json_response({})
        return json_response({"ReservedConcurrentExecutions": function.reserved_concurrency})

    async def delete_function_concurrency(self, request: Request, params: dict) -> Response:
        await self._functions.set_reserved_concurrency(params["FunctionName"], None)
        return Response(204)

    def handlers(self) -> dict:
        return {
            "PutFunctionConcurrency": self.put_function_concurrency,
            "GetFunctionConcurrency": self.get_function_concurrency,
            "DeleteFunctionConcurrency": self.delete_function_concurrency,
        }
