"""The `ember` command: serve, invoke, logs."""

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_ENDPOINT = "http://127.0.0.1:9000"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ember", description="A self-hosted AWS Lambda.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the Ember server")
    serve.add_argument("--host", help="address to bind (EMBER_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (EMBER_PORT, default 9000)")
    serve.add_argument("--data-dir", help="where state, code and logs live (EMBER_DATA_DIR, default ./.ember)")
    serve.add_argument("--keep-alive", type=float, help="seconds an idle environment stays warm (EMBER_KEEP_ALIVE, default 300)")
    serve.add_argument("--region", help="region in ARNs (EMBER_REGION, default us-east-1)")
    serve.add_argument("--account-id", help="account id in ARNs (EMBER_ACCOUNT_ID, default 000000000000)")
    serve.add_argument("--sandbox", choices=("auto", "bubblewrap", "process"), help="isolation driver (EMBER_SANDBOX, default auto)")
    serve.add_argument("--allow-host-loopback", action="store_true", default=None, help="let functions reach the host's loopback at 10.0.2.2 (EMBER_ALLOW_HOST_LOOPBACK)")
    serve.add_argument("--concurrency-limit", type=int, help="account concurrency limit (EMBER_CONCURRENCY_LIMIT, default 1000)")
    serve.add_argument("--memory-mb", type=int, help="memory for all environments together (EMBER_MEMORY_MB, default 80%% of the host's)")

    endpoint_help = f"Ember's URL (EMBER_ENDPOINT, default {DEFAULT_ENDPOINT})"
    invoke = commands.add_parser("invoke", help="invoke a function and print its response")
    invoke.add_argument("function_name")
    invoke.add_argument("--payload", default="{}", help="the event, as JSON (default {})")
    invoke.add_argument("--qualifier")
    invoke.add_argument("--log", action="store_true", help="also print the invocation's log tail to stderr")
    invoke.add_argument("--endpoint", help=endpoint_help)

    logs = commands.add_parser("logs", help="print a function's logs")
    logs.add_argument("function_name")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines as they arrive")
    logs.add_argument("--since", type=float, default=None, help="only lines from the last N minutes")
    logs.add_argument("--endpoint", help=endpoint_help)

    args = parser.parse_args(argv)
    try:
        return {"serve": _serve, "invoke": _invoke, "logs": _logs}[args.command](args)
    except KeyboardInterrupt:
        return 130


def _serve(args) -> int:
    from ember.server import serve
    from ember.settings import load_settings

    try:
        settings = load_settings(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            keep_alive=args.keep_alive,
            region=args.region,
            account_id=args.account_id,
            sandbox=args.sandbox,
            allow_host_loopback=args.allow_host_loopback,
            concurrency_limit=args.concurrency_limit,
            memory_mb=args.memory_mb,
        )
    except ValueError as error:
        print(f"ember: {error}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


def _endpoint(args) -> str:
    return (args.endpoint or os.environ.get("EMBER_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _call(request: urllib.request.Request) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except urllib.error.URLError as error:
        raise SystemExit(f"ember: cannot reach Ember at {request.full_url}: {error.reason}")


def _fail(status: int, headers: dict, body: bytes) -> int:
    error_type = headers.get("x-amzn-ErrorType") or headers.get("x-amzn-errortype") or "Error"
    try:
        message = json.loads(body).get("Message") or body.decode()
    except ValueError:
        message = body.decode(errors="replace")
    print(f"ember: {error_type} ({status}): {message}", file=sys.stderr)
    return 1


def _invoke(args) -> int:
    try:
        json.loads(args.payload)
    except ValueError as error:
        print(f"ember: --payload is not valid JSON: {error}", file=sys.stderr)
        return 2
    name = urllib.parse.quote(args.function_name, safe="")
    url = f"{_endpoint(args)}/2015-03-31/functions/{name}/invocations"
    if args.qualifier:
        url += "?Qualifier=" + urllib.parse.quote(args.qualifier, safe="")
    headers = {"Content-Type": "application/json"}
    if args.log:
        headers["X-Amz-Log-Type"] = "Tail"
    status, response_headers, body = _call(
        urllib.request.Request(url, data=args.payload.encode(), headers=headers, method="POST")
    )
    if status >= 300:
        return _fail(status, response_headers, body)
    lowered = {k.lower(): v for k, v in response_headers.items()}
    if args.log and "x-amz-log-result" in lowered:
        sys.stderr.write(base64.b64decode(lowered["x-amz-log-result"]).decode(errors="replace"))
    print(body.decode(errors="replace"))
    return 1 if "x-amz-function-error" in lowered else 0


def _logs(args) -> int:
    group = f"/aws/lambda/{args.function_name}"
    params: dict = {"logGroupName": group}
    if args.since is not None:
        params["startTime"] = int((time.time() - args.since * 60) * 1000)
    while True:
        status, headers, body = _call(
            urllib.request.Request(
                f"{_endpoint(args)}/",
                data=json.dumps(params).encode(),
                headers={
                    "Content-Type": "application/x-amz-json-1.1",
                    "X-Amz-Target": "Logs_20140328.FilterLogEvents",
                },
                method="POST",
            )
        )
        if status >= 300:
            return _fail(status, headers, body)
        document = json.loads(body)
        for event in document["events"]:
            print(event["message"], flush=True)
            params["nextToken"] = event["eventId"]
        if "nextToken" in document:
            continue
        if not args.follow:
            return 0
        time.sleep(0.5)
