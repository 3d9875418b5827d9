// Runs the real synthesized demo definition through run.mjs against tiny local
// HTTP servers standing in for the notifier's Invoke API, mock-auth and mock-api.
// Needs cdk.out/TicketBridgeDemo.template.json (scripts/test.sh synthesizes it first).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { clientCredentialsTokens, httpInvokeTask, invokeApiFunction, TaskError } from './handlers.mjs';
import { main } from './run.mjs';

const infraDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const templatePath = path.join(infraDir, 'cdk.out', 'TicketBridgeDemo.template.json');

function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer(async (req, res) => {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      handler(req, Buffer.concat(chunks).toString('utf8'), res);
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Stand-ins with the contracts of the real services, recording what they got. */
const stub = {
  notifierCalls: [],
  notifierAnswer: () => ({ status: 200, body: { caseUid: 'case-1' } }),
  tokenRequests: [],
  apiRequests: [],
  apiAnswer: () => ({ status: 200, body: { data: [1, 2, 3] } }),
  issued: 0,
};
let servers;
let env;

before(async () => {
  assert.ok(fs.existsSync(templatePath), `${templatePath} is missing: synthesize first (scripts/test.sh does)`);
  const notifier = await listen((req, body, res) => {
    stub.notifierCalls.push({ url: req.url, payload: JSON.parse(body) });
    const answer = stub.notifierAnswer();
    json(res, answer.status, answer.body, answer.headers);
  });
  const auth = await listen((req, body, res) => {
    stub.tokenRequests.push({ authorization: req.headers.authorization, body, contentType: req.headers['content-type'] });
    const expected = 'Basic ' + Buffer.from('demo-client:s3cret').toString('base64');
    if (req.method !== 'POST' || req.headers.authorization !== expected || body !== 'grant_type=client_credentials') {
      return json(res, 401, { error: 'invalid_client' });
    }
    stub.issued += 1;
    json(res, 200, { access_token: `token-${stub.issued}`, token_type: 'Bearer', expires_in: 300 });
  });
  const api = await listen((req, body, res) => {
    stub.apiRequests.push({ method: req.method, url: req.url, authorization: req.headers.authorization, body });
    if (req.method !== 'POST') return json(res, 405, { Message: 'Method not allowed' }); // as mock-api's /api/v1/data
    const answer = stub.apiAnswer(req);
    json(res, answer.status, answer.body);
  });
  servers = [notifier, auth, api];
  env = {
    TEMPLATE: templatePath,
    NOTIFIER_INVOKE_URL: `${notifier.url}/2015-03-31/functions/notifier/invocations`,
    MOCK_AUTH_TOKEN_URL: `${auth.url}/token`,
    MOCK_API_BASE_URL: `${api.url}/`,
    CLIENT_ID: 'demo-client',
    CLIENT_SECRET: 's3cret',
    RETRY_INTERVAL_MS: '1',
  };
});

after(() => {
  for (const { server } of servers ?? []) server.close();
});

beforeEach(() => {
  stub.notifierCalls = [];
  stub.tokenRequests = [];
  stub.apiRequests = [];
  stub.issued = 0;
  stub.notifierAnswer = () => ({ status: 200, body: { caseUid: 'case-1' } });
  stub.apiAnswer = () => ({ status: 200, body: { data: [1, 2, 3] } });
});

describe('local run of the synthesized demo state machine', () => {
  test('a failing step is caught, reported once to the notifier, and ends in its Fail state', async () => {
    const { report, ok } = await main(env);

    assert.equal(ok, true, JSON.stringify(report));
    assert.equal(report.status, 'FAILED');
    assert.equal(report.stateName, 'RunStep-Failed');
    assert.equal(report.error, 'DemoStepFailed');
    assert.match(report.cause, /^Failure ticket filed by FailureTicketBridge for state RunStep/);
    assert.deepEqual(report.visited, ['CallApi', 'RunStep', 'RunStep-NotifyFailure', 'RunStep-Failed']);
    assert.deepEqual(report.ticket, { caseUid: 'case-1' });

    // The HTTP task went to mock-api's path with a token from mock-auth, and its RequestBody.
    assert.equal(stub.apiRequests.length, 1);
    const [call] = stub.apiRequests;
    assert.deepEqual([call.method, call.url, call.authorization], ['POST', '/api/v1/data', 'Bearer token-1']);
    assert.equal(stub.tokenRequests.length, 1);
    assert.equal(stub.tokenRequests[0].contentType, 'application/x-www-form-urlencoded');

    // The notifier got the catch payload of the notifier contract.
    assert.equal(stub.notifierCalls.length, 1);
    const { url, payload } = stub.notifierCalls[0];
    assert.equal(url, '/2015-03-31/functions/notifier/invocations');
    assert.equal(payload.failedState, 'RunStep');
    assert.equal(JSON.parse(call.body).execution, payload.execution, 'the same execution id reached the API');
    assert.equal(payload.stateMachine, 'TicketBridgeDemo-demo');
    assert.match(payload.execution, /^arn:aws:states:us-east-1:123456789012:execution:TicketBridgeDemo-demo:local-/);
    assert.ok(!Number.isNaN(Date.parse(payload.startTime)), payload.startTime);
    assert.equal(payload.redriveCount, 0, 'the dedupe key includes the redrive count');
    assert.equal(payload.error.Error, 'DemoStepFailed');
    const cause = JSON.parse(payload.error.Cause);
    assert.equal(cause.errorType, 'DemoStepFailed');
    assert.equal(cause.errorMessage, report.input.message);
    // "input" is the failed state's input: the execution input plus the HTTP result.
    assert.equal(payload.input.fail, true);
    assert.deepEqual(payload.input.api, { status: 200, body: { data: [1, 2, 3] } });
  });

  test('a 401 from the API drops the token and the Retry succeeds with a new one', async () => {
    stub.apiAnswer = () => (stub.apiRequests.length === 1 ? { status: 401, body: { error: 'expired' } } : { status: 200, body: {} });
    const { report, ok } = await main(env);

    assert.equal(ok, true, JSON.stringify(report));
    assert.deepEqual(
      stub.apiRequests.map((r) => r.authorization),
      ['Bearer token-1', 'Bearer token-2'],
    );
    assert.equal(stub.tokenRequests.length, 2);
  });

  test('an API failure is caught at CallApi and names that state', async () => {
    stub.apiAnswer = () => ({ status: 500, body: { error: 'boom' } });
    const { report, ok } = await main(env);

    assert.equal(ok, false, 'the expected Fail state is the demo step one');
    assert.equal(report.stateName, 'CallApi-Failed');
    assert.equal(report.error, 'States.Http.StatusCode.500');
    assert.equal(stub.notifierCalls.length, 1);
    assert.equal(stub.notifierCalls[0].payload.failedState, 'CallApi');
    assert.equal(stub.notifierCalls[0].payload.error.Error, 'States.Http.StatusCode.500');
  });

  test('a notifier error keeps the original error and cause, for the watch rule to report', async () => {
    stub.notifierAnswer = () => ({ status: 500, body: { errorType: 'TicketRejected', errorMessage: 'FromPerson unknown' } });
    const { report, ok } = await main(env);

    assert.equal(ok, false);
    assert.equal(report.stateName, 'RunStep-FailedNoTicket');
    assert.equal(report.error, 'DemoStepFailed');
    assert.equal(JSON.parse(report.cause).errorMessage, report.input.message);
    assert.equal(stub.notifierCalls.length, 1, 'TicketRejected is not retried');
  });

  test('TicketDeliveryFailed is retried by the state machine', async () => {
    stub.notifierAnswer = () =>
      stub.notifierCalls.length === 1
        ? { status: 500, body: { errorType: 'TicketDeliveryFailed', errorMessage: 'upstream 503' } }
        : { status: 200, body: { caseUid: 'case-2' } };
    const { report, ok } = await main(env);

    assert.equal(ok, true, JSON.stringify(report));
    assert.equal(stub.notifierCalls.length, 2);
    assert.deepEqual(report.ticket, { caseUid: 'case-2' });
  });

  test('a redriven execution passes its redrive count to the notifier', async () => {
    const { report, ok } = await main({ ...env, REDRIVE_COUNT: '2' });

    assert.equal(ok, true, JSON.stringify(report));
    assert.equal(stub.notifierCalls.length, 1);
    assert.equal(stub.notifierCalls[0].payload.redriveCount, 2);
  });

  test('without "fail" the execution succeeds and files nothing', async () => {
    const { report, ok } = await main({ ...env, EXECUTION_INPUT: '{"fail": false}' });

    assert.equal(ok, false);
    assert.equal(report.status, 'SUCCEEDED');
    assert.equal(report.stateName, 'Done');
    assert.equal(stub.notifierCalls.length, 0);
  });
});

describe('local stand-ins', () => {
  test('a function error flagged only by X-Amz-Function-Error fails the task with its type', async () => {
    const { server, url } = await listen((req, body, res) =>
      json(res, 200, { errorType: 'AuthError', errorMessage: 'token refused' }, { 'x-amz-function-error': 'Unhandled' }),
    );
    try {
      await assert.rejects(invokeApiFunction(url)({}), (error) => {
        assert.ok(error instanceof TaskError);
        assert.equal(error.name, 'AuthError');
        assert.deepEqual(JSON.parse(error.message), { errorType: 'AuthError', errorMessage: 'token refused' });
        return true;
      });
    } finally {
      server.close();
    }
  });

  test('an unreachable Invoke API is a setup error, not a function error', async () => {
    const { server, url } = await listen(() => {});
    server.close();
    await new Promise((resolve) => server.on('close', resolve));
    await assert.rejects(invokeApiFunction(url)({}), { name: 'LocalInvokeError' });
  });

  test('tokens are cached until they expire', async () => {
    let now = 0;
    let issued = 0;
    const fetchImpl = async () => new Response(JSON.stringify({ access_token: `t${++issued}`, expires_in: 60 }), { status: 200 });
    const tokens = clientCredentialsTokens({ tokenUrl: 'http://x/token', clientId: 'a', clientSecret: 'b', fetchImpl, now: () => now });
    assert.equal(await tokens.get(), 't1');
    now = 50_000;
    assert.equal(await tokens.get(), 't1');
    now = 56_000; // within 5 s of expiry: refresh early, as a client should
    assert.equal(await tokens.get(), 't2');
  });

  test('a rejected token request fails the HTTP task as the connection would', async () => {
    const fetchImpl = async () => new Response('{"error":"invalid_client"}', { status: 401 });
    const tokens = clientCredentialsTokens({ tokenUrl: 'http://x/token', clientId: 'a', clientSecret: 'b', fetchImpl });
    const task = httpInvokeTask({ baseUrl: 'http://api', tokens, fetchImpl });
    await assert.rejects(task({ ApiEndpoint: 'https://h/api/v1/data', Method: 'GET' }), { name: 'States.Http.AccessDenied' });
  });

  test('query parameters and JSON bodies reach the API', async () => {
    const seen = [];
    const fetchImpl = async (target, init) => {
      seen.push({ target: String(target), init });
      return new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const tokens = { get: async () => 'tok', invalidate() {} };
    const task = httpInvokeTask({ baseUrl: 'http://127.0.0.1:9000/lambda-url/mock-api/', tokens, fetchImpl });
    const result = await task({
      ApiEndpoint: 'https://abc.lambda-url.us-east-1.on.aws/api/v1/support/cases',
      Method: 'POST',
      QueryParameters: { sendAutoResponder: 'false' },
      RequestBody: { Subject: 's' },
    });
    assert.equal(seen[0].target, 'http://127.0.0.1:9000/lambda-url/mock-api/api/v1/support/cases?sendAutoResponder=false');
    assert.equal(seen[0].init.body, '{"Subject":"s"}');
    assert.equal(seen[0].init.headers.authorization, 'Bearer tok');
    assert.deepEqual(result.ResponseBody, { ok: true });
    assert.equal(result.StatusCode, 200);
  });
});
