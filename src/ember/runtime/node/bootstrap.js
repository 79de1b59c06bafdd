// Ember's Node.js runtime: a Lambda Runtime API client for nodejs functions.
//
// It reads like the Lambda execution model: init (load the handler's module once),
// then next (GET /invocation/next), invoke (call the handler, async or callback
// style), respond (POST /response or /error). Node's standard library only.
"use strict";

const http = require("http");
const path = require("path");
const util = require("util");
const { pathToFileURL } = require("url");

const API = process.env.AWS_LAMBDA_RUNTIME_API;
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT;
const HANDLER = process.env._HANDLER || "";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let currentRequestId = "";

// ------------------------------------------------------------------ logging

// Lambda's format: timestamp, request id, level, message; newlines kept in one event.
function patchConsole() {
  const levels = { log: "INFO", info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG", trace: "TRACE" };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => {
      const message = util.format(...args).replace(/\n/g, "\r");
      process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message}\n`);
    };
  }
}

// ------------------------------------------------------------------ Runtime API

function call(method, resource, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const [host, port] = API.split(":");
    const data = body === undefined ? undefined : Buffer.from(body);
    const request = http.request(
      {
        host, port, method, agent,
        path: `/2018-06-01/runtime/${resource}`,
        headers: data ? { "Content-Type": "application/json", "Content-Length": data.length, ...headers } : headers,
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
      },
    );
    request.on("error", reject);
    if (data) request.write(data);
    request.end();
  });
}

function errorDocument(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name || "Error",
      errorMessage: error.message,
      trace: (error.stack || "").split("\n"),
    };
  }
  return { errorType: typeof error === "string" ? "string" : typeof error, errorMessage: String(error), trace: [] };
}

async function postError(resource, document) {
  await call("POST", resource, JSON.stringify(document), { "Lambda-Runtime-Function-Error-Type": document.errorType });
}

// ------------------------------------------------------------------ init

class InitError extends Error {
  constructor(type, message) {
    super(message);
    this.name = type;
  }
}

async function loadHandler() {
  const match = /^(.*)\.([^./]+)$/.exec(HANDLER);
  if (!match) throw new InitError("Runtime.MalformedHandlerName", "Bad handler");
  const [, modulePath, exportName] = match;
  const base = path.resolve(TASK_ROOT, modulePath);
  let module;
  for (const extension of [".js", ".mjs", ".cjs"]) {
    const file = base + extension;
    if (!require("fs").existsSync(file)) continue;
    try {
      module = extension === ".cjs" || (extension === ".js" && !isModulePackage(file)) ? require(file) : await import(pathToFileURL(file).href);
    } catch (error) {
      if (error && error.code === "MODULE_NOT_FOUND") throw new InitError("Runtime.ImportModuleError", `Error: ${error.message}`);
      if (error instanceof SyntaxError) throw new InitError("Runtime.UserCodeSyntaxError", `SyntaxError: ${error.message}`);
      throw error;
    }
    break;
  }
  if (module === undefined) {
    throw new InitError("Runtime.ImportModuleError", `Error: Cannot find module '${modulePath}'`);
  }
  const handler = module[exportName] ?? (module.default && module.default[exportName]);
  if (typeof handler !== "function") {
    throw new InitError("Runtime.HandlerNotFound", `${HANDLER} is undefined or not exported`);
  }
  return handler;
}

function isModulePackage(file) {
  // A .js file is an ES module when the nearest package.json says "type": "module".
  let directory = path.dirname(file);
  while (directory.startsWith(TASK_ROOT)) {
    const manifest = path.join(directory, "package.json");
    try {
      return JSON.parse(require("fs").readFileSync(manifest, "utf8")).type === "module";
    } catch (error) {
      if (error.code !== "ENOENT") return false;
    }
    const parent = path.dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  return false;
}

// ------------------------------------------------------------------ invoke

function makeContext(headers, settle) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"]);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: headers["lambda-runtime-cognito-identity"] ? JSON.parse(headers["lambda-runtime-cognito-identity"]) : undefined,
    clientContext: headers["lambda-runtime-client-context"] ? JSON.parse(headers["lambda-runtime-client-context"]) : undefined,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    done: (error, result) => settle(error, result),
    succeed: (result) => settle(null, result),
    fail: (error) => settle(error || new Error("handled")),
  };
  return context;
}

function invoke(handler, event, headers) {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (error, result) => {
      if (settled) return;
      settled = true;
      resolve({ error: error === null || error === undefined ? undefined : error, result });
    };
    const context = makeContext(headers, settle);
    try {
      const returned = handler(event, context, settle);
      if (returned && typeof returned.then === "function") {
        returned.then((result) => settle(null, result), (error) => settle(error || new Error("rejected")));
      } else if (handler.length < 3 && returned !== undefined) {
        settle(null, returned);
      }
    } catch (error) {
      settle(error);
    }
  });
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (error) {
    const document = errorDocument(error);
    console.error(`${document.errorType}: ${document.errorMessage}`);
    await postError("init/error", document);
    process.exit(1);
  }
  for (;;) {
    const next = await call("GET", "invocation/next");
    const requestId = next.headers["lambda-runtime-aws-request-id"];
    currentRequestId = requestId;
    process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"] || "";
    const { error, result } = await invoke(handler, JSON.parse(next.body.toString() || "{}"), next.headers);
    if (error !== undefined) {
      const document = errorDocument(error);
      console.error("Invoke Error", JSON.stringify({ ...document, stack: document.trace }));
      await postError(`invocation/${requestId}/error`, document);
    } else {
      let body;
      try {
        body = JSON.stringify(result === undefined ? null : result);
      } catch (serialisation) {
        await postError(`invocation/${requestId}/error`, errorDocument(serialisation));
        continue;
      }
      await call("POST", `invocation/${requestId}/response`, body);
    }
  }
}

main().catch((error) => {
  process.stderr.write(`Ember's Node.js runtime failed: ${error && error.stack}\n`);
  process.exit(1);
});
