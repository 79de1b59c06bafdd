"""Reading function logs the way CloudWatch Logs serves them (JSON 1.1 protocol,
X-Amz-Target Logs_20140328.<Operation>): FilterLogEvents, GetLogEvents and
DescribeLogStreams, enough for `ember logs`, boto3's logs client and
`aws logs filter-log-events` pointed at Ember."""

import json

from ember.api.errors import error_response
from ember.api.http import Request, Response
from ember.errors import EmberError, InvalidParameter, NotFound, UnknownOperation
from ember.observe.logs import LogService

TARGET_PREFIX = "Logs_20140328."
MAX_EVENTS = 10000


def _json_response(document: dict) -> Response:
    return Response(200, json.dumps(document).encode(), [(b"content-type", b"application/x-amz-json-1.1")])


def _token(value: str | None, prefix: str = "") -> int:
    if not value:
        return 0
    try:
        return int(value.removeprefix(prefix))
    except ValueError:
        raise InvalidParameter("The specified nextToken is not valid.")


def _pattern(pattern: str | None) -> str | None:
    """Filter patterns as plain terms: Ember matches the text between the quotes, or the whole pattern."""
    if not pattern:
        return None
    return pattern.strip().strip('"') or None


class LogsApi:
    def __init__(self, logs: LogService, known_group):
        self._logs = logs
        self._known_group = known_group  # callable: is this a function's log group?

    async def handle(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except EmberError as error:
            # JSON 1.1 clients (botocore, the AWS CLI) read the error code from the
            # body's __type, not from the x-amzn-ErrorType header that Lambda's
            # REST-JSON uses: without it every error is a bare ClientError (404).
            status, headers, body = error_response(error)
            document = json.loads(body)
            document["__type"] = dict(headers)[b"x-amzn-errortype"].decode()
            return Response(status, json.dumps(document).encode(), headers)

    async def _handle(self, request: Request) -> Response:
        operation = request.headers.get("x-amz-target", "").removeprefix(TARGET_PREFIX)
        handler = {
            "FilterLogEvents": self.filter_log_events,
            "GetLogEvents": self.get_log_events,
            "DescribeLogStreams": self.describe_log_streams,
        }.get(operation)
        if handler is None:
            raise UnknownOperation(f"Ember does not serve the CloudWatch Logs operation {operation or '(none)'}.")
        try:
            params = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise InvalidParameter(f"Could not parse request body into json: {exc}")
        group = params.get("logGroupName")
        if not isinstance(group, str) or not group:
            raise InvalidParameter("logGroupName is required.")
        return await handler(group, params)

    async def _check_group(self, group: str) -> None:
        if not self._known_group(group) and not await self._logs.streams(group):
            raise NotFound("The specified log group does not exist.")

    async def filter_log_events(self, group: str, params: dict) -> Response:
        await self._check_group(group)
        limit = min(int(params.get("limit") or MAX_EVENTS), MAX_EVENTS)
        rows = await self._logs.query(
            group,
            after_id=_token(params.get("nextToken")),
            start_time=params.get("startTime"),
            end_time=params.get("endTime"),
            streams=params.get("logStreamNames"),
            contains=_pattern(params.get("filterPattern")),
            limit=limit,
        )
        document: dict = {
            "events": [
                {"logStreamName": s, "timestamp": t, "message": m, "ingestionTime": i, "eventId": str(n)}
                for n, s, t, i, m in rows
            ],
            "searchedLogStreams": [],
        }
        if len(rows) == limit:
            document["nextToken"] = str(rows[-1][0])
        return _json_response(document)

    async def get_log_events(self, group: str, params: dict) -> Response:
        await self._check_group(group)
        stream = params.get("logStreamName")
        if not stream:
            raise InvalidParameter("logStreamName is required.")
        after = _token(params.get("nextToken"), "f/")
        rows = await self._logs.query(
            group,
            after_id=after,
            start_time=params.get("startTime"),
            end_time=params.get("endTime"),
            streams=[stream],
            limit=min(int(params.get("limit") or MAX_EVENTS), MAX_EVENTS),
        )
        last = rows[-1][0] if rows else after
        return _json_response(
            {
                "events": [{"timestamp": t, "message": m, "ingestionTime": i} for _, _, t, i, m in rows],
                "nextForwardToken": f"f/{last}",
                "nextBackwardToken": f"b/{rows[0][0] if rows else after}",
            }
        )

    async def describe_log_streams(self, group: str, params: dict) -> Response:
        await self._check_group(group)
        prefix = params.get("logStreamNamePrefix") or ""
        streams = [
            {
                "logStreamName": name,
                "creationTime": first,
                "firstEventTimestamp": first,
                "lastEventTimestamp": last,
                "lastIngestionTime": ingested,
                "storedBytes": 0,
            }
            for name, first, last, ingested in await self._logs.streams(group)
            if name.startswith(prefix)
        ]
        return _json_response({"logStreams": streams})
