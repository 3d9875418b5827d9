// Local stand-ins for what Step Functions calls in AWS, used by run.mjs as
// aws-local-stepfunctions task overrides. Each one behaves as the service does
// at the interface the state machine sees: the task's input in, the task's
// result or a named error (Error = name, Cause = message) out.

/**
 * A failed task: `name` becomes the state's `Error`, `cause` its `Cause`.
 * aws-local-stepfunctions matches Retry/Catch on `name` and uses `message` as Cause.
 */
export class TaskError extends Error {
  constructor(name, cause) {
    super(cause);
    this.name = name;
  }
}

/**
 * The `Cause` Step Functions reports for a Lambda function error: the
 * function's error payload as a JSON string.
 */
export function lambdaErrorCause(payload) {
  return JSON.stringify(payload);
}

/** The error payload a Node.js Lambda runtime returns for a thrown error. */
export function nodeErrorPayload(error) {
  return {
    errorType: error && error.name ? error.name : 'Error',
    errorMessage: error && error.message !== undefined ? String(error.message) : String(error),
    trace: error && error.stack ? String(error.stack).split('\n') : [],
  };
}

/** Runs a Node.js Lambda handler in process, failing the task as Lambda would. */
export function inProcessNodeFunction(handler) {
  return async (payload) => {
    try {
      const result = await handler(payload, { functionName: 'local', getRemainingTimeInMillis: () => 60_000 });
      return result === undefined ? null : result;
    } catch (error) {
      const body = nodeErrorPayload(error);
      throw new TaskError(body.errorType, lambdaErrorCause(body));
    }
  };
}

/**
 * Invokes a function through a Lambda Invoke API endpoint (`cargo lambda watch`
 * serves one at `/2015-03-31/functions/NAME/invocations`). A function error
 * (HTTP error status or `X-Amz-Function-Error`) with an `errorType` fails the
 * task with that type, as Step Functions does.
 */
export function invokeApiFunction(invokeUrl, { fetchImpl = fetch, timeoutMs = 60_000 } = {}) {
  return async (payload) => {
    let response;
    try {
      response = await fetchImpl(invokeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new TaskError('LocalInvokeError', `cannot reach ${invokeUrl}: ${error.cause?.message ?? error.message}`);
    }
    const text = await response.text();
    let body;
    try {
      body = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const functionError = response.headers.get('x-amz-function-error');
    if (!response.ok || functionError) {
      if (body && typeof body === 'object' && typeof body.errorType === 'string') {
        throw new TaskError(body.errorType, lambdaErrorCause(body));
      }
      throw new TaskError('Lambda.Unknown', `invoke answered HTTP ${response.status}: ${text.slice(0, 500)}`);
    }
    if (body === undefined) {
      throw new TaskError('Lambda.Unknown', `function returned non-JSON output: ${text.slice(0, 500)}`);
    }
    return body;
  };
}

/**
 * Obtains OAuth client-credentials tokens the way an EventBridge connection
 * does, and caches one until it expires or is rejected.
 */
export function clientCredentialsTokens({ tokenUrl, clientId, clientSecret, fetchImpl = fetch, now = () => Date.now() }) {
  let cached; // { token, expiresAt }
  const formEncode = (value) => encodeURIComponent(value).replace(/%20/g, '+');
  return {
    async get() {
      if (cached && cached.expiresAt > now()) return cached.token;
      const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64');
      let response;
      try {
        response = await fetchImpl(tokenUrl, {
          method: 'POST',
          headers: {
            authorization: `Basic ${basic}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: 'grant_type=client_credentials',
          signal: AbortSignal.timeout(10_000),
        });
      } catch (error) {
        throw new TaskError('States.Http.Socket', `token endpoint ${tokenUrl} unreachable: ${error.cause?.message ?? error.message}`);
      }
      const text = await response.text();
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (!response.ok || !body || typeof body.access_token !== 'string') {
        // The connection cannot authorize: the HTTP task fails with the connection's error.
        throw new TaskError('States.Http.AccessDenied', `token endpoint answered HTTP ${response.status}: ${text.slice(0, 500)}`);
      }
      const lifetimeMs = Number.isFinite(body.expires_in) ? body.expires_in * 1000 : 300_000;
      cached = { token: body.access_token, expiresAt: now() + Math.max(0, lifetimeMs - 5_000) };
      return cached.token;
    },
    /** Forget the token, as the connection does after a 401. */
    invalidate() {
      cached = undefined;
    },
  };
}

/**
 * The `arn:aws:states:::http:invoke` task against a local server: the task's
 * `ApiEndpoint` keeps its path and query but goes to `baseUrl`, with a bearer
 * token from `tokens`. The result has the HTTP task's shape
 * ({StatusCode, StatusText, Headers, ResponseBody}); a non-2xx status fails the
 * task with `States.Http.StatusCode.NNN`.
 */
export function httpInvokeTask({ baseUrl, tokens, fetchImpl = fetch }) {
  const base = baseUrl.replace(/\/+$/, '');
  return async (input) => {
    const { ApiEndpoint, Method, Headers, QueryParameters, RequestBody } = input ?? {};
    if (typeof ApiEndpoint !== 'string' || typeof Method !== 'string') {
      throw new TaskError('States.Runtime', 'HTTP task input needs ApiEndpoint and Method');
    }
    const endpoint = new URL(ApiEndpoint);
    const target = new URL(base + endpoint.pathname + endpoint.search);
    for (const [key, value] of Object.entries(QueryParameters ?? {})) target.searchParams.append(key, String(value));

    const headers = { accept: 'application/json', ...(Headers ?? {}) };
    let body;
    if (RequestBody !== undefined) {
      body = typeof RequestBody === 'string' ? RequestBody : JSON.stringify(RequestBody);
      headers['content-type'] ??= 'application/json';
    }
    headers.authorization = `Bearer ${await tokens.get()}`;

    let response;
    try {
      response = await fetchImpl(target, { method: Method, headers, body, signal: AbortSignal.timeout(60_000) });
    } catch (error) {
      throw new TaskError('States.Http.Socket', `${Method} ${target} failed: ${error.cause?.message ?? error.message}`);
    }
    const text = await response.text();
    let responseBody = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text.trim() !== '') {
      try {
        responseBody = JSON.parse(text);
      } catch {
        // keep the text, as the HTTP task does for a body that is not JSON
      }
    }
    // EventBridge drops the connection's token on 401, and on 407 (proxy auth).
    if (response.status === 401 || response.status === 407) tokens.invalidate();
    if (response.status < 200 || response.status > 299) {
      throw new TaskError(
        `States.Http.StatusCode.${response.status}`,
        JSON.stringify({ StatusCode: response.status, StatusText: response.statusText, ResponseBody: responseBody }),
      );
    }
    return {
      StatusCode: response.status,
      StatusText: response.statusText,
      Headers: Object.fromEntries(response.headers.entries()),
      ResponseBody: responseBody,
    };
  };
}
