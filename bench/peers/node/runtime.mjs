// A minimal Lambda runtime loop over the Runtime API, as AWS documents it
// for custom runtimes ("Building a custom runtime", Runtime API 2018-06-01):
// import the handler, report an init error if that fails, then forever
// GET /next, call the handler, POST /response or /error.
//
// It stands in for aws-lambda-ric, which does not install from the npm
// registry alone (its install script builds aws-lambda-cpp and curl with
// cmake and node-gyp). The managed nodejs22.x runtime runs an equivalent
// loop; this one has no extras, so the peer is not slowed by its harness.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const [file, name] = (process.env._HANDLER ?? "handler.handler").split(".");
const root = process.env.LAMBDA_TASK_ROOT ?? process.cwd();

const errorBody = (e) =>
  JSON.stringify({
    errorType: e?.name ?? "Error",
    errorMessage: e?.message ?? String(e),
    stackTrace: String(e?.stack ?? "").split("\n"),
  });

const post = (path, body, headers = {}) =>
  fetch(`${api}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  }).then((r) => r.arrayBuffer());

let handler;
try {
  handler = (await import(pathToFileURL(join(root, `${file}.mjs`)).href))[name];
  if (typeof handler !== "function") throw new Error(`${file}.${name} is not a function`);
} catch (e) {
  await post("/init/error", errorBody(e), {
    "lambda-runtime-function-error-type": "Runtime.ImportModuleError",
  });
  process.exit(1);
}

for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const id = next.headers.get("lambda-runtime-aws-request-id");
  const deadline = Number(next.headers.get("lambda-runtime-deadline-ms"));
  const trace = next.headers.get("lambda-runtime-trace-id");
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  const event = await next.json();
  const context = {
    awsRequestId: id,
    invokedFunctionArn: next.headers.get("lambda-runtime-invoked-function-arn"),
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    const result = await handler(event, context);
    await post(`/invocation/${id}/response`, JSON.stringify(result ?? null));
  } catch (e) {
    await post(`/invocation/${id}/error`, errorBody(e), {
      "lambda-runtime-function-error-type": "Unhandled",
    });
  }
}
