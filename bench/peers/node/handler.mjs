// The Node.js peer: the notifier as teams typically write it in Node today.
//
// The AWS SDK v3 reads the EventBridge connection secret, the built-in
// fetch POSTs the case. It does the same job as the Rust notifier and the
// Python peer (handler.py), line for line where the languages allow: the
// same event shapes, a decoded Lambda or ECS cause, an escaped HTML body
// with a summary, a console link and redacted input, the OAuth
// client-credentials flow with a refresh on 401, and one JSON log line per
// invocation.
//
// Written the *good* way: the client, the parsed secret (same TTL) and the
// token (refreshed 10 % early) are cached at module scope for the warm
// container, so the comparison is not won against a strawman.
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

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

const secrets = new SecretsManagerClient({});
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
    ["Started", f.startTime],
    ["Error", error],
    ["Error type", d.type],
    ["Message", d.message],
    ["Request ID", d.request],
  ];
  const body = [
    `<h2>Step Functions failure: ${e(machine)}</h2>`,
    `<p><strong>${e(error)}</strong>: ${e(d.message || "")}</p>`,
    `<table>${rows
      .filter(([, v]) => v)
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
  const failure = intake(event);
  if (failure === null) return { skipped: true, status: event.detail.status };
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
