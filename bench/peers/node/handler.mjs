// The Node.js peer: the notifier as teams typically write it in Node today.
//
// The AWS SDK v3 reads the EventBridge connection secret and, for an
// EventBridge status change, the execution history; the built-in fetch
// POSTs the case. It does the same job as the Rust notifier and the Python
// peer (handler.py), line for line where the languages allow: the same
// event shapes, the failed state read from the history (GetExecutionHistory
// newest first, pages of 200, at most 3 pages, as the notifier reads it), a
// decoded Lambda or ECS cause, an escaped HTML body with a summary, a
// console link and redacted input, the OAuth client-credentials flow with a
// refresh on 401, and one JSON log line per invocation.
//
// Written the *good* way: the client, the parsed secret (same TTL) and the
// token (refreshed 10 % early) are cached at module scope for the warm
// container, so the comparison is not won against a strawman.
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SFNClient, paginateGetExecutionHistory } from "@aws-sdk/client-sfn";

const env = process.env;
const TICKET_API_URL = env.TICKET_API_URL;
const SECRET_ID = env.CONNECTION_SECRET_ID;
const FROM_EMAIL = env.FROM_PERSON_EMAIL ?? "oncall@example.com";
const SECRET_TTL_MS = Number(env.SECRET_CACHE_TTL_SECONDS ?? "300") * 1000;
const SUBJECT_PREFIX = env.SUBJECT_PREFIX ?? "[Step Functions]";
const REGION = env.AWS_REGION ?? "us-east-1";
if (!TICKET_API_URL || !SECRET_ID) {
  throw new Error("TICKET_API_URL and CONNECTION_SECRET_ID must be set");
}

const SENSITIVE =
  /pass(word|wd)?|secret|token|api[-_ ]?key|authori[sz]ation|credential|private[-_ ]?key|cookie/i;
const CREDENTIAL_TEXT = /\b(Bearer|Basic|Outseta)\s+[A-Za-z0-9._~+/:=-]+/g;
const CONTEXT_KEYS = new Set(["execution", "stateMachine", "failedState", "startTime", "input"]);
const FAILED = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);
// The notifier's history limits (shared/core/src/history.rs, HistoryLimits).
const HISTORY_PAGE_SIZE = 200;
const HISTORY_MAX_PAGES = 3;
const WRAPPER_ERRORS = new Set(["", "States.TaskFailed", "States.Runtime"]);

const secrets = new SecretsManagerClient({});
const sfn = new SFNClient({});
const secret = { value: null, at: 0 };
const token = { value: null, refreshAt: 0 };

const log = (fields) => process.stdout.write(`${JSON.stringify(fields)}\n`);

function redact(value) {
  if (Array.isArray(value)) return value.map(redact);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SENSITIVE.test(k) ? "[REDACTED]" : redact(v)]),
    );
  }
  if (typeof value === "string") return value.replace(CREDENTIAL_TEXT, "$1 [REDACTED]");
  return value;
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" };
const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** JSON with sorted keys and 2-space indentation, like Python's sort_keys. */
function sortedJson(value) {
  const sort = (v) => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort(v[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2) ?? "null";
}

function parseJson(text) {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function intake(event) {
  if (event["detail-type"] === "Step Functions Execution Status Change") {
    const d = event.detail ?? {};
    if (!FAILED.has(d.status)) return null;
    const arn = d.executionArn ?? "";
    let data = d.input ?? null;
    if (data) {
      const parsed = parseJson(data);
      if (parsed.ok) data = parsed.value;
    }
    const parts = arn.split(":");
    return {
      error: d.error ?? null,
      cause: d.cause ?? null,
      status: d.status,
      execution: arn,
      stateMachine: parts.length >= 8 ? parts[6] : null,
      failedState: null,
      startTime: d.startDate ?? null,
      input: data,
    };
  }
  const err = event.error !== null && typeof event.error === "object" ? event.error : event;
  if (!("Error" in err)) throw new Error("no {Error, Cause} object at $.error or at the root");
  const data =
    "input" in event
      ? event.input
      : Object.fromEntries(
          Object.entries(event).filter(([k]) => !CONTEXT_KEYS.has(k) && k !== "error"),
        );
  return {
    error: err.Error ?? null,
    cause: err.Cause ?? null,
    status: null,
    execution: event.execution ?? null,
    stateMachine: event.stateMachine ?? null,
    failedState: event.failedState ?? null,
    startTime: event.startTime ?? null,
    input: data,
  };
}

const isStateFailure = (kind) =>
  ((kind.endsWith("Failed") && !kind.startsWith("MapIteration")) || kind.endsWith("TimedOut")) &&
  !kind.startsWith("Execution");

/** Error and cause from a failure event's `...EventDetails`. */
function outcome(event) {
  const key = Object.keys(event).find((k) => k.endsWith("EventDetails"));
  const d = key ? event[key] : {};
  return { error: d.error ?? null, cause: d.cause ?? null };
}

const entered = (event) => ({
  state: event.stateEnteredEventDetails.name,
  input: event.stateEnteredEventDetails.input ?? null,
});

function scheduledResource(events) {
  for (const e of events) {
    if (e.type === "TaskScheduled") {
      const t = e.taskScheduledEventDetails;
      return `arn:aws:states:::${t.resourceType}:${t.resource}`;
    }
    if (e.type === "LambdaFunctionScheduled") return e.lambdaFunctionScheduledEventDetails.resource;
  }
  return null;
}

// The failed state in a history, newest first: the newest state-level
// failure and the state entered before it, with the resource scheduled for
// it and the retries it spent; a Fail state, with the execution's error;
// for a timeout or an abort, the newest state entered and never exited.
function locate(events) {
  const terminal =
    events.find((e) => e.type.startsWith("Execution") && e.type !== "ExecutionStarted") ?? {};
  let found = outcome(terminal);
  const at = events.findIndex((e) => isStateFailure(e.type) || e.type === "FailStateEntered");
  let start = -1;
  if (at >= 0 && events[at].type === "FailStateEntered") return { ...entered(events[at]), ...found };
  if (at >= 0) {
    found = outcome(events[at]);
    start = events.findIndex((e, j) => j >= at && e.type.endsWith("StateEntered"));
  } else {
    const exited = new Set();
    start = events.findIndex((e) => {
      if (e.type.endsWith("StateExited")) exited.add(e.stateExitedEventDetails.name);
      return e.type.endsWith("StateEntered") && !exited.has(e.stateEnteredEventDetails.name);
    });
  }
  if (start < 0) return found.error ? found : null;
  const within = events.slice(0, start);
  const failures = within.filter((e) => isStateFailure(e.type)).length;
  return {
    ...entered(events[start]),
    ...found,
    resource: scheduledResource(within),
    retries: Math.max(failures - 1, 0),
  };
}

// What the execution history adds on the EventBridge path; a note when it
// cannot be read (the ticket still goes out).
async function enrich(failure) {
  const events = [];
  let found = null;
  try {
    const pages = paginateGetExecutionHistory(
      { client: sfn, pageSize: HISTORY_PAGE_SIZE },
      { executionArn: failure.execution, reverseOrder: true },
    );
    let read = 0;
    for await (const page of pages) {
      events.push(...page.events);
      // Newest first by id: moto ignores reverseOrder.
      events.sort((a, b) => b.id - a.id);
      found = locate(events);
      read += 1;
      if (found?.state || read >= HISTORY_MAX_PAGES) break;
    }
  } catch (e) {
    return { ...failure, note: `execution history unavailable: ${e.name}: ${e.message}` };
  }
  if (!found) {
    const note = `execution history unavailable: no failed or running state in the last ${events.length} events`;
    return { ...failure, note };
  }
  const out = { ...failure, resource: found.resource, retries: found.retries };
  out.failedState = failure.failedState ?? found.state;
  if (found.error && WRAPPER_ERRORS.has(failure.error ?? "")) out.error = found.error;
  if (found.cause && !failure.cause) out.cause = found.cause;
  if (found.input) {
    const parsed = parseJson(found.input);
    out.stateInput = parsed.ok ? parsed.value : found.input;
  }
  return out;
}

function decode(cause) {
  if (!cause) return {};
  const parsed = parseJson(cause);
  const c = parsed.value;
  if (!parsed.ok || c === null || typeof c !== "object" || Array.isArray(c)) {
    return { message: cause };
  }
  if ("errorMessage" in c || "errorType" in c) {
    const trace = c.stackTrace;
    return {
      type: c.errorType,
      message: c.errorMessage,
      request: c.requestId,
      trace: Array.isArray(trace) ? trace.join("\n") : trace,
    };
  }
  if ("StoppedReason" in c || "Containers" in c) {
    const parts = (c.Containers ?? []).map(
      (x) => `${x.Name}: exit ${x.ExitCode} ${x.Reason ?? ""}`,
    );
    return { type: c.StopCode, message: c.StoppedReason, trace: parts.join("\n") };
  }
  return { message: JSON.stringify(c, null, 2) };
}

function render(f) {
  const d = decode(f.cause);
  const error = f.error || f.status || "Failed";
  const machine = f.stateMachine || "unknown state machine";
  const subject =
    `${SUBJECT_PREFIX} ${machine}: ${error}` + (f.failedState ? ` in ${f.failedState}` : "");
  const e = (v) => escapeHtml(redact(String(v))).slice(0, 4096);
  const rows = [
    ["State machine", machine],
    ["Execution ARN", f.execution],
    ["Status", f.status],
    ["Failed state", f.failedState],
    ["Task resource", f.resource],
    ["Retries spent", f.retries],
    ["Started", f.startTime],
    ["Error", error],
    ["Error type", d.type],
    ["Message", d.message],
    ["Request ID", d.request],
  ];
  const body = [
    `<h2>Step Functions failure: ${e(machine)}</h2>`,
    f.note ? `<p><em>${e(f.note)}</em></p>` : "",
    `<p><strong>${e(error)}</strong>: ${e(d.message || "")}</p>`,
    `<table>${rows
      .filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => `<tr><th>${k}</th><td>${e(v)}</td></tr>`)
      .join("")}</table>`,
  ];
  if (d.trace) body.push(`<pre>${e(d.trace).slice(0, 20480)}</pre>`);
  if (f.execution) {
    body.push(
      `<a href="https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}` +
        `#/v2/executions/details/${escapeHtml(f.execution)}">Execution in the AWS console</a>`,
    );
  }
  body.push(`<pre>${escapeHtml(sortedJson(redact(f.input))).slice(0, 16384)}</pre>`);
  if ("stateInput" in f) {
    const stateInput = escapeHtml(sortedJson(redact(f.stateInput))).slice(0, 16384);
    body.push(`<h3>Failed state input (redacted)</h3><pre>${stateInput}</pre>`);
  }
  return {
    FromPerson: { Email: FROM_EMAIL },
    Subject: subject.split(/\s+/).filter(Boolean).join(" ").slice(0, 200),
    Body: body.join("\n").slice(0, 61440),
    Source: 1,
  };
}

async function connection(force = false) {
  const now = performance.now();
  if (force || secret.value === null || now - secret.at >= SECRET_TTL_MS) {
    const r = await secrets.send(new GetSecretValueCommand({ SecretId: SECRET_ID }));
    secret.value = JSON.parse(r.SecretString);
    secret.at = now;
  }
  return secret.value;
}

async function bearer(conn, stats) {
  if (token.value && performance.now() < token.refreshAt) return token.value;
  const client = conn.client_parameters ?? {};
  const id = conn.client_id ?? client.client_id;
  const key = conn.client_secret ?? client.client_secret;
  const r = await fetch(conn.authorization_endpoint, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${id}:${key}`).toString("base64")}` },
    body: new URLSearchParams({ grant_type: "client_credentials" }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!r.ok) throw new Error(`token endpoint answered HTTP ${r.status}`);
  const tok = await r.json();
  const life = Number(tok.expires_in ?? 300);
  token.value = tok.access_token;
  token.refreshAt = performance.now() + (life - Math.min(Math.max(life / 10, 1), 60)) * 1000;
  stats.token_fetches += 1;
  return token.value;
}

async function authHeaders(conn, stats) {
  if ("api_key_name" in conn) return { [conn.api_key_name]: conn.api_key_value };
  if ("username" in conn) {
    const raw = Buffer.from(`${conn.username}:${conn.password}`).toString("base64");
    return { authorization: `Basic ${raw}` };
  }
  return { authorization: `Bearer ${await bearer(conn, stats)}` };
}

export async function handler(event) {
  const started = performance.now();
  let failure = intake(event);
  if (failure === null) return { skipped: true, status: event.detail.status };
  // An EventBridge status change names no failed state: read it.
  if (failure.status) failure = await enrich(failure);
  const ticket = render(failure);
  const stats = { token_fetches: 0, attempts: 0 };
  let conn = await connection();
  const url = new URL(TICKET_API_URL);
  url.searchParams.set("sendAutoResponder", "false");
  let r;
  for (const refreshed of [false, true]) {
    stats.attempts += 1;
    r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(await authHeaders(conn, stats)) },
      body: JSON.stringify(ticket),
      signal: AbortSignal.timeout(10_000),
    });
    if ([401, 403, 407].includes(r.status) && !refreshed) {
      // As EventBridge does: a new token for OAuth, else re-read the secret
      // once in case it rotated.
      await r.arrayBuffer();
      token.value = null;
      if (!("authorization_endpoint" in conn)) conn = await connection(true);
      continue;
    }
    break;
  }
  if (!r.ok) throw new Error(`ticket API answered HTTP ${r.status}`);
  const uid = (await r.json()).Uid;
  log({
    outcome: "delivered",
    case_uid: uid,
    attempts: stats.attempts,
    token_fetches: stats.token_fetches,
    duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
    subject: ticket.Subject,
  });
  return { caseUid: uid, subject: ticket.Subject, attempts: stats.attempts };
}
