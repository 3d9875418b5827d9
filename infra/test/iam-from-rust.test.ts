// The notifier's IAM equals what its Rust code calls. The called operations are
// derived from the sources (AWS SDK fluent calls: `.put_item()` ... `.send()`),
// named by the services' own API models (botocore: operation names, and the
// signing name that prefixes IAM actions), and compared with the synthesized
// policy. A code change that calls a new operation, or stops calling one,
// fails here until the construct's grants follow.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { SecretValue, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { FailureTicketBridge, FailureTicketHub, IDEMPOTENCY_TABLE_ACTIONS, OutsetaCredentials, WATCHED_EXECUTION_ACTIONS, WATCHED_MACHINE_ACTIONS } from '../lib';
import { serviceModel } from './api-model';
import { allStatements, asList, offlineApp, resourcesOfType, templateOf } from './support';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
/** The notifier's code: the core, its AWS adapters and its thin main (tests excluded: they set up fixtures). */
const SOURCE_DIRS = ['shared/core/src', 'shared/aws/src', 'functions/notifier/src'];
/** IAM prefix → the Rust SDK crate that calls it, to tell shared operation names apart. */
const SDK_CRATES: Record<string, string> = {
  dynamodb: 'aws_sdk_dynamodb',
  secretsmanager: 'aws_sdk_secretsmanager',
  sns: 'aws_sdk_sns',
  states: 'aws_sdk_sfn',
  sts: 'aws_sdk_sts',
};
/** The AWS services whose IAM this test owns, by botocore model name. */
const SERVICES = ['dynamodb', 'secretsmanager', 'sns', 'stepfunctions', 'sts'];
/**
 * Granted before the Rust side calls it: nothing now. (The history read was,
 * until the notifier called `GetExecutionHistory`; the set stays so the next
 * such grant has a place, and a test that keeps it honest.)
 */
const GRANTED_AHEAD_OF_CODE = new Set<string>([]);
/**
 * Called without any grant, because IAM does not control them: STS's
 * GetCallerIdentity always answers whoever signs the call ("No permissions are
 * required to perform this operation", STS API reference), and the notifier
 * calls it to learn its own account before deciding whether to assume a role.
 */
const NEEDS_NO_GRANT = new Set<string>(['sts:GetCallerIdentity']);

const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();

/** snake_case operation (as the Rust SDK names its fluent builders) → IAM actions of the services above. */
function operationIndex(): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const service of SERVICES) {
    const model = serviceModel(service);
    const prefix = model.metadata.signingName ?? model.metadata.endpointPrefix;
    for (const operation of Object.keys(model.operations)) {
      const key = snake(operation);
      index.set(key, [...(index.get(key) ?? []), `${prefix}:${operation}`]);
    }
  }
  return index;
}

function rustFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return rustFiles(full);
    return entry.name.endsWith('.rs') ? [full] : [];
  });
}

/** Drops `#[cfg(test)]` modules (brace-matched) and `//` comments: fixtures and prose are not calls. */
function productionCode(text: string): string {
  let code = text.replace(/\/\/[^\n]*/g, '');
  for (;;) {
    const at = code.search(/#\[cfg\(test\)\]\s*mod\s+\w+\s*\{/);
    if (at < 0) return code;
    let depth = 0;
    let end = code.indexOf('{', at);
    for (; end < code.length; end++) {
      if (code[end] === '{') depth++;
      else if (code[end] === '}' && --depth === 0) break;
    }
    code = code.slice(0, at) + code.slice(end + 1);
  }
}

/** IAM actions the notifier's code calls, with where. */
export function calledActions(): Map<string, string[]> {
  const index = operationIndex();
  const called = new Map<string, string[]>();
  for (const file of SOURCE_DIRS.flatMap((dir) => rustFiles(path.join(repoRoot, dir)))) {
    const code = productionCode(fs.readFileSync(file, 'utf8'));
    for (const match of code.matchAll(/\.([a-z][a-z0-9_]*)\(\)/g)) {
      const actions = index.get(match[1]);
      if (!actions) continue;
      // An SDK call: the builder chain reaches `.send()` before the statement ends.
      const rest = code.slice(match.index + match[0].length);
      const statementEnd = rest.search(/;|\n\s*\n/);
      if (!rest.slice(0, statementEnd < 0 ? undefined : statementEnd).includes('.send()')) continue;
      // An operation several services share (ListTagsForResource): the
      // one whose SDK crate the file names.
      const candidates = actions.length > 1 ? actions.filter((a) => code.includes(SDK_CRATES[a.split(':')[0]] ?? '\0')) : actions;
      assert.equal(candidates.length, 1, `${path.relative(repoRoot, file)}: .${match[1]}() is an operation of several services (${actions.join(', ')}); teach this test which`);
      const action = candidates[0];
      const where = `${path.relative(repoRoot, file)}:${code.slice(0, match.index).split('\n').length}`;
      called.set(action, [...(called.get(action) ?? []), where]);
    }
  }
  return called;
}

/**
 * What the notifier's role may do: a bridge with everything switched on
 * (table, fallback topic, a watched machine), and a hub (which adds
 * sts:AssumeRole on the spokes' reader role), together.
 */
function grantedActions(): Set<string> {
  const stack = new Stack(offlineApp(), 'Consumer');
  const bridge = new FailureTicketBridge(stack, 'Bridge', {
    ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases',
    fromPerson: { uid: 'u' },
    outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('outseta')),
  });
  const step = new sfn.Pass(stack, 'Step');
  bridge.watch(new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(step) }));
  const hub = new Stack(offlineApp(), 'Hub');
  new FailureTicketHub(hub, 'Hub', {
    organizationId: 'o-a1b2c3d4e5',
    ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases',
    fromPerson: { uid: 'u' },
    outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('outseta')),
  });
  return new Set([...notifierActions(stack), ...notifierActions(hub)]);
}

/** The actions of the services above that the notifier's role of `stack` is granted. */
function notifierActions(stack: Stack): string[] {
  const { json } = templateOf(stack);
  const [, notifier] = resourcesOfType(json, 'AWS::Lambda::Function').find(([, r]) => r.Properties?.Environment?.Variables?.TICKET_API_URL)!;
  const roleId = notifier.Properties!.Role['Fn::GetAtt'][0];
  const prefixes = SERVICES.map((service) => serviceModel(service).metadata.signingName ?? serviceModel(service).metadata.endpointPrefix);
  return allStatements(json)
    .filter(({ holder }) => json.Resources[holder].Properties?.Roles?.some((r: any) => r.Ref === roleId))
    .flatMap(({ statement }) => asList<string>(statement.Action))
    .filter((action) => prefixes.includes(action.split(':')[0]));
}

describe('the notifier may do exactly what its Rust code calls', () => {
  const called = calledActions();
  const granted = grantedActions();

  test('the Rust sources were read and call the AWS SDK', (t) => {
    t.diagnostic(`called: ${[...called].map(([action, where]) => `${action} (${where.join(', ')})`).join('; ')}`);
    assert.ok(called.has('secretsmanager:GetSecretValue'), 'the connection secret is read through the SDK');
  });

  test('every called operation is granted (nothing fails with AccessDenied at run time)', () => {
    // watch() grants the history read in its own policy on the watched
    // machines' executions only (bridge.test.ts checks that statement).
    const missing = [...called.keys()].filter((action) => !granted.has(action) && !GRANTED_AHEAD_OF_CODE.has(action) && !NEEDS_NO_GRANT.has(action));
    assert.deepEqual(missing, [], `called but not granted: ${missing.map((a) => `${a} at ${called.get(a)!.join(', ')}`).join('; ')}`);
  });

  test('nothing is granted that the code does not call', () => {
    const unused = [...granted].filter((action) => !called.has(action) && !GRANTED_AHEAD_OF_CODE.has(action));
    assert.deepEqual(unused, [], 'granted but never called');
  });

  test('STS: the hub grants sts:AssumeRole, which the notifier calls; GetCallerIdentity is called and needs no grant', () => {
    assert.ok(called.has('sts:AssumeRole'), 'the notifier assumes the reader role (shared/aws/src/accounts.rs)');
    assert.ok(granted.has('sts:AssumeRole'), 'FailureTicketHub grants it');
    for (const action of NEEDS_NO_GRANT) {
      assert.ok(called.has(action), `${action} is listed as needing no grant, and is called`);
      assert.ok(!granted.has(action), `${action} needs no grant, and none is given`);
    }
  });

  test("DynamoDB: the construct's table actions are the called ones, exactly", () => {
    const dynamodb = [...called.keys()].filter((action) => action.startsWith('dynamodb:')).sort();
    assert.deepEqual([...IDEMPOTENCY_TABLE_ACTIONS].sort(), dynamodb);
  });

  test('nothing is granted ahead of the code, and the watch grants are called', () => {
    assert.deepEqual([...GRANTED_AHEAD_OF_CODE], []);
    for (const action of [...WATCHED_EXECUTION_ACTIONS, ...WATCHED_MACHINE_ACTIONS]) {
      assert.ok(called.has(action), `${action} is granted by watch() and called by the notifier`);
    }
  });
});

describe('deriving calls from Rust', () => {
  test('sees a fluent call that reaches send(), ignores tests, comments and non-SDK methods', () => {
    const code = productionCode(
      [
        'let out = client',
        '    .update_item()',
        '    .table_name(t)',
        '    .send()',
        '    .await?;',
        '// client.scan().send() in a comment',
        'let q = url.query();',
        '#[cfg(test)]',
        'mod tests { fn f() { c.query().send(); } }',
      ].join('\n'),
    );
    assert.match(code, /update_item/);
    assert.doesNotMatch(code, /scan|c\.query/);
    assert.equal(snake('GetExecutionHistory'), 'get_execution_history');
    assert.equal(snake('TransactWriteItems'), 'transact_write_items');
  });
});
