// cdk-nag 3's AWS Solutions checks (pinned in devDependencies) on a bare
// bridge, on both demo stacks and on bridges with every option that adds
// resources or grants: no finding may be left unacknowledged, and every
// acknowledgment carries a reason. (bin/app.ts also runs the checks as a
// validation plugin, so `cdk synth` of the demo fails on a finding.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SecretValue, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { FailureTicketBridge, FailureTicketBridgeProps, OutsetaCredentials } from '../lib';
import { flattenCfnReference } from '../lib/nag';
import { offlineApp, synthDemo } from './support';

/** cdk-nag's own flattening, to hold ours to it. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nagFlatten: (value: unknown) => string = require('cdk-nag/lib/utils/flatten-cfn-reference').flattenCfnReference;

const APIKEY_CONTEXT = {
  auth: 'apikey',
  outsetaDomain: 'acme.outseta.com',
  outsetaSecretName: 'ticket-bridge/outseta-auth',
  fromPersonUid: 'dQGxEz94',
};

/** Unacknowledged findings of the AWS Solutions pack under `scope`, one line each. */
function findings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}

/** Every acknowledgment under `scope`: [path, id, reason]. */
function acknowledgments(scope: IConstruct): [string, string, string][] {
  return scope.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]): [string, string, string] => [c.node.path, id, reason])),
    );
}

function bareBridge(props: Partial<FailureTicketBridgeProps> = {}) {
  const stack = new Stack(offlineApp(), 'Consumer');
  const bridge = new FailureTicketBridge(stack, 'Bridge', {
    ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases',
    fromPerson: { uid: 'u' },
    outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('outseta')),
    ...props,
  });
  return { stack, bridge };
}

describe('cdk-nag AwsSolutionsChecks: zero unacknowledged findings', () => {
  test('a bare bridge', (t) => {
    const { stack } = bareBridge();
    assert.deepEqual(findings(stack), []);
    for (const [at, id, reason] of acknowledgments(stack)) if (id.startsWith('Annotation::')) t.diagnostic(`${at}: ${id.slice('Annotation::'.length)}: ${reason}`);
  });

  test('the OAuth demo stack', () => {
    assert.deepEqual(findings(synthDemo().stack), []);
  });

  test('the API-key demo stack', () => {
    assert.deepEqual(findings(synthDemo(APIKEY_CONTEXT).stack), []);
  });

  test('a bridge with everything that adds a grant: tracing, dashboard, log group, keys, catch chains, watched machines', () => {
    const stack = new Stack(offlineApp(), 'Consumer');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const table = new dynamodb.Table(stack, 'Claims', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
    const fallback = new sns.Topic(stack, 'Undelivered', { masterKey: key, enforceSSL: true });
    const bridge = new FailureTicketBridge(stack, 'Bridge', {
      ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases',
      fromPerson: { uid: 'u' },
      outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('outseta')),
      tracing: true,
      dashboard: true,
      logGroup: logs.LogGroup.fromLogGroupName(stack, 'Logs', '/acme/ticket-bridge'),
      idempotency: { table },
      fallbackTopic: fallback,
      alarmTopic: new sns.Topic(stack, 'Alarms', { masterKey: key, enforceSSL: true }),
    });
    // A machine of the app with a generated name, whose task is caught; and one imported by ARN.
    const pass = new sfn.Pass(stack, 'Step');
    const wait = new tasks.EvaluateExpression(stack, 'Compute', { expression: '$.a + 1' });
    bridge.catchFailures([wait]);
    const machine = new sfn.StateMachine(stack, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(pass.next(wait)),
      logs: { destination: new logs.LogGroup(stack, 'MachineLogs'), level: sfn.LogLevel.ALL },
      tracingEnabled: true,
    });
    bridge.watch(machine);
    bridge.watch(sfn.StateMachine.fromStateMachineArn(stack, 'Imported', 'arn:aws:states:eu-west-1:123456789012:stateMachine:nightly-load'));
    // The consumer's own machine role and the expression Lambda have findings of their own (their
    // wildcards, the managed policy): left out, unless they name the bridge's notifier.
    const ours = findings(stack).filter((f) => f.includes('BridgeNotifier') || !/ at Consumer\/(Machine|Eval)/.test(f));
    assert.deepEqual(ours, []);
  });
});

describe('the acknowledgments', () => {
  test('each carries a reason a reviewer can judge (a sentence, not a label)', () => {
    const all = [...acknowledgments(bareBridge({ tracing: true }).stack), ...acknowledgments(synthDemo().stack)];
    assert.ok(all.length > 0);
    for (const [at, id, reason] of all) {
      assert.ok(reason.length >= 60, `${at}: ${id}: "${reason}"`);
      assert.match(id, /^(Annotation|AwsSolutions)::AwsSolutions-[A-Z]+\d+(\[.+\])?$/, at);
    }
  });

  test('are made once per construct and finding, however many catch chains cause it', () => {
    const { stack, bridge } = bareBridge();
    const states = ['A', 'B', 'C'].map((id) => new tasks.EvaluateExpression(stack, id, { expression: '$.a + 1' }));
    bridge.catchFailures(states);
    const onStack = acknowledgments(stack).filter(([at]) => at === 'Consumer');
    assert.equal(onStack.length, 2, 'the bare and the namespaced id, once');
    assert.match(onStack[0][1], /^Annotation::AwsSolutions-IAM5\[Resource::<BridgeNotifier[0-9A-F]+\.Arn>:\*\]$/);
  });

  test('are made where the resource is made: on the bridge\'s own constructs, or for a finding the bridge itself causes', () => {
    const { stack } = bareBridge();
    const machine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P')) });
    (stack.node.findChild('Bridge') as FailureTicketBridge).watch(machine);
    for (const [at] of acknowledgments(stack)) {
      assert.ok(at.startsWith('Consumer/Bridge/') || at === 'Consumer', at);
    }
  });

  test('no blanket acknowledgment: a wildcard the bridge did not grant is still reported', () => {
    const { stack, bridge } = bareBridge();
    bridge.notifier.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::some-bucket/*'] }));
    assert.deepEqual(findings(stack), ['AwsSolutions-IAM5[Resource::arn:aws:s3:::some-bucket/*] at Consumer/Bridge/NotifierRole/DefaultPolicy/Resource']);
  });

  test('the finding ids are computed as cdk-nag prints them', () => {
    const stack = new Stack();
    const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'i.h', code: lambda.Code.fromInline('x') });
    const samples: unknown[] = [
      'arn:aws:s3:::b/*',
      stack.resolve(`${fn.functionArn}:*`),
      stack.resolve(Stack.of(stack).formatArn({ service: 'states', resource: 'execution', resourceName: 'm:*', arnFormat: 'arn:aws:states:eu-west-1:123456789012:execution:m:*' as any })),
      { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:x:*' },
      { 'Fn::ImportValue': 'Shared-Arn' },
      { Ref: 'AWS::Partition' },
      { 'Fn::If': ['c', 'a', 'b'] },
    ];
    for (const sample of samples) assert.equal(flattenCfnReference(sample), nagFlatten(sample), JSON.stringify(sample));
  });
});
