#!/usr/bin/env node
// Runs the synthesized demo state machine locally with aws-local-stepfunctions,
// against the real notifier, mock-auth and mock-api served by `cargo lambda watch`.
//
//   node test/local-sfn/run.mjs            (Node 22, or Node 20 with the polyfill below)
//
// Environment:
//   NOTIFIER_INVOKE_URL   Lambda Invoke API URL of the notifier,
//                         e.g. http://127.0.0.1:9000/2015-03-31/functions/notifier/invocations
//   MOCK_AUTH_TOKEN_URL   token endpoint of mock-auth (POST, Basic auth, grant_type=client_credentials)
//   MOCK_API_BASE_URL     base URL of mock-api; the HTTP task's path (/api/v1/data) is appended
//   CLIENT_ID, CLIENT_SECRET   credentials mock-auth accepts
//   TEMPLATE              template to read (default cdk.out/TicketBridgeDemo.template.json)
//   STATE_MACHINE         logical id, if the template has more than one state machine
//   EXECUTION_INPUT       JSON input (default: asks the demo step to fail, see defaultInput)
//   EXPECT_FAIL_STATE     Fail state the run must end in (default: the one reached after
//                         the failing step's catch chain filed its ticket)
//   RETRY_INTERVAL_MS     every Retry waits this long instead of its IntervalSeconds (default 100)
//   REDRIVE_COUNT         $$.Execution.RedriveCount of the run (default 0, as for an execution never redriven)
//
// Prints one JSON line: {status, error, cause, stateName, input, visited, ticket}.
// Exit 0 when the execution failed in the expected Fail state; 1 otherwise; 2 on bad setup.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  TaskError,
  clientCredentialsTokens,
  httpInvokeTask,
  inProcessNodeFunction,
  invokeApiFunction,
} from './handlers.mjs';

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22); this is the whole of it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const require = createRequire(import.meta.url);
const cfn = require('./cfn.cjs');
const here = path.dirname(fileURLToPath(import.meta.url));
const infraDir = path.resolve(here, '..', '..');
const demoStepSource = path.join(infraDir, 'lambda', 'demo-step', 'index.js');

const HTTP_INVOKE = /^arn:[^:]+:states:::http:invoke$/;
const LAMBDA_INVOKE = /^arn:[^:]+:states:::lambda:invoke$/;

/** The execution input the run sends by default: the demo step's "fail now" contract. */
export function defaultInput() {
  return {
    fail: true,
    errorType: 'DemoStepFailed',
    message: `Local run ${randomUUID()}: failure requested by the execution input`,
  };
}

/** What a Lambda function in the template is, as far as the local run is concerned. */
export function functionRole(resource) {
  const vars = resource.Properties?.Environment?.Variables ?? {};
  if ('TICKET_API_URL' in vars && 'CONNECTION_SECRET_ID' in vars) return 'notifier';
  const zip = resource.Properties?.Code?.ZipFile;
  if (typeof zip === 'string' && zip.trim() === fs.readFileSync(demoStepSource, 'utf8').trim()) return 'demo-step';
  return 'unknown';
}

/** All Task states, including those inside Parallel branches and Map processors. */
function* taskStates(definition) {
  for (const [name, state] of Object.entries(definition.States ?? {})) {
    if (state.Type === 'Task') yield [name, state];
    for (const branch of state.Branches ?? []) yield* taskStates(branch);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) yield* taskStates(processor);
  }
}

/**
 * One local handler per Task state, keyed by state name, from the resources the
 * states call. Throws (setup error) for a task it cannot run locally.
 */
export function buildTaskHandlers(template, definition, services) {
  const functionHandler = (logicalId, stateName) => {
    const resource = template.Resources?.[logicalId];
    if (!resource || resource.Type !== 'AWS::Lambda::Function') {
      throw new Error(`state ${stateName} calls ${logicalId}, which is not a Lambda function of this template`);
    }
    const role = functionRole(resource);
    if (role === 'notifier') return services.notifier;
    if (role === 'demo-step') return services.demoStep;
    throw new Error(`state ${stateName} calls ${logicalId}, which the local run cannot stand in for`);
  };

  const handlers = {};
  for (const [name, state] of taskStates(definition)) {
    const resource = String(state.Resource);
    if (HTTP_INVOKE.test(resource)) {
      const connectionArn = state.Parameters?.Authentication?.ConnectionArn;
      const connectionId = cfn.logicalIdFromConnectionArn(connectionArn);
      const type = connectionId && template.Resources?.[connectionId]?.Properties?.AuthorizationType;
      if (type !== 'OAUTH_CLIENT_CREDENTIALS') {
        throw new Error(`state ${name}: the local run supports OAuth client-credentials connections only (got ${type ?? connectionArn})`);
      }
      handlers[name] = services.http;
    } else if (LAMBDA_INVOKE.test(resource)) {
      // Optimised integration: input {FunctionName, Payload}, result wraps the output in Payload.
      handlers[name] = async (input) => {
        const target = String(input?.FunctionName ?? '');
        const logicalId = cfn.logicalIdFromFunctionArn(target) ?? target;
        const output = await functionHandler(logicalId, name)(input?.Payload ?? null);
        return { ExecutedVersion: '$LATEST', Payload: output, StatusCode: 200 };
      };
    } else {
      const logicalId = cfn.logicalIdFromFunctionArn(resource);
      if (!logicalId) throw new Error(`state ${name}: no local stand-in for resource ${resource}`);
      handlers[name] = functionHandler(logicalId, name);
    }
  }
  return handlers;
}

/**
 * The Fail state an execution ends in when `failingState` fails and its catch
 * chain files a ticket: Catch -> notifier task -> Fail.
 */
export function expectedFailState(definition, failingState) {
  const states = definition.States ?? {};
  const notify = states[failingState]?.Catch?.[0]?.Next;
  const next = notify && states[notify]?.Next;
  if (!next || states[next]?.Type !== 'Fail') {
    throw new Error(`state ${failingState} has no Catch -> task -> Fail chain`);
  }
  return next;
}

/** The state that calls the demo step, i.e. the one the default input makes fail. */
export function demoStepState(template, definition) {
  for (const [name, state] of taskStates(definition)) {
    const target = LAMBDA_INVOKE.test(String(state.Resource)) ? state.Parameters?.FunctionName : state.Resource;
    const logicalId = cfn.logicalIdFromFunctionArn(target);
    if (logicalId && functionRole(template.Resources?.[logicalId] ?? {}) === 'demo-step') return name;
  }
  throw new Error('no state calls the demo step');
}

/**
 * Runs one execution. Returns {status, error, cause, stateName, visited, outputs}
 * where stateName is the state the execution ended in.
 */
export async function runExecution({ machine, handlers, input, retryIntervalMs = 100, redriveCount = 0 }) {
  const { StateMachine } = await import('aws-local-stepfunctions');
  const sm = new StateMachine(machine.definition);
  const retryIntervalOverrides = {};
  for (const [name, state] of Object.entries(machine.definition.States)) {
    if (state.Retry) retryIntervalOverrides[name] = retryIntervalMs;
  }
  const executionName = `local-${randomUUID()}`;
  const startTime = new Date().toISOString();
  const context = {
    Execution: {
      Id: machine.arn.replace(':stateMachine:', ':execution:') + `:${executionName}`,
      Name: executionName,
      Input: input,
      StartTime: startTime,
      // Step Functions sets it on every execution: 0 until the execution is redriven.
      RedriveCount: redriveCount,
      RoleArn: `arn:aws:iam::${cfn.FAKE.account}:role/local`,
    },
    StateMachine: { Id: machine.arn, Name: machine.name },
  };
  const execution = sm.run(input, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides },
    context,
  });

  const visited = [];
  const outputs = {};
  let lastState;
  const logging = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') {
        lastState = event.state.name;
        visited.push(event.state.name);
      } else if (event.type === 'StateExited') {
        outputs[event.state.name] = event.state.output;
      }
    }
  })();

  let result;
  try {
    const output = await execution.result;
    result = { status: 'SUCCEEDED', error: null, cause: null, output };
  } catch (error) {
    const failure = error?.cause ?? error;
    const status = error?.name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : error?.name === 'ExecutionAbortedError' ? 'ABORTED' : 'FAILED';
    result = { status, error: failure?.name ?? null, cause: failure?.message ?? null };
  }
  await logging.catch(() => {});
  return { ...result, stateName: lastState ?? null, visited, outputs, executionId: context.Execution.Id };
}

function requireEnv(env, name) {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export async function main(env = process.env) {
  const templatePath = path.resolve(infraDir, env.TEMPLATE ?? path.join('cdk.out', 'TicketBridgeDemo.template.json'));
  const template = cfn.loadTemplate(templatePath);
  const machines = cfn.stateMachines(template);
  const machine = env.STATE_MACHINE ? machines.find((m) => m.logicalId === env.STATE_MACHINE) : machines.length === 1 ? machines[0] : undefined;
  if (!machine) throw new Error(`pick one of ${machines.map((m) => m.logicalId).join(', ') || '(none)'} with STATE_MACHINE`);

  const { handler } = require(demoStepSource);
  const tokens = clientCredentialsTokens({
    tokenUrl: requireEnv(env, 'MOCK_AUTH_TOKEN_URL'),
    clientId: requireEnv(env, 'CLIENT_ID'),
    clientSecret: requireEnv(env, 'CLIENT_SECRET'),
  });
  const services = {
    notifier: invokeApiFunction(requireEnv(env, 'NOTIFIER_INVOKE_URL')),
    demoStep: inProcessNodeFunction(handler),
    http: httpInvokeTask({ baseUrl: requireEnv(env, 'MOCK_API_BASE_URL'), tokens }),
  };
  const handlers = buildTaskHandlers(template, machine.definition, services);

  const input = env.EXECUTION_INPUT ? JSON.parse(env.EXECUTION_INPUT) : defaultInput();
  const expected = env.EXPECT_FAIL_STATE ?? expectedFailState(machine.definition, demoStepState(template, machine.definition));
  const retryIntervalMs = env.RETRY_INTERVAL_MS !== undefined ? Number(env.RETRY_INTERVAL_MS) : 100;

  const redriveCount = env.REDRIVE_COUNT !== undefined ? Number(env.REDRIVE_COUNT) : 0;
  if (!Number.isInteger(redriveCount) || redriveCount < 0) throw new Error(`REDRIVE_COUNT must be a whole number, got ${env.REDRIVE_COUNT}`);

  const run = await runExecution({ machine, handlers, input, retryIntervalMs, redriveCount });
  const ticketState = Object.keys(run.outputs).find((name) => machine.definition.States[name]?.Next === run.stateName);
  const report = {
    status: run.status,
    error: run.error,
    cause: run.cause,
    stateName: run.stateName,
    expectedStateName: expected,
    input,
    visited: run.visited,
    ticket: ticketState ? (run.outputs[ticketState]?.ticket ?? null) : null,
  };
  return { report, ok: run.status === 'FAILED' && run.stateName === expected };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    ({ report, ok }) => {
      process.stdout.write(JSON.stringify(report) + '\n');
      process.exitCode = ok ? 0 : 1;
    },
    (error) => {
      process.stderr.write(`local-sfn: ${error instanceof TaskError ? `${error.name}: ` : ''}${error.message}\n`);
      process.exitCode = 2;
    },
  );
}
