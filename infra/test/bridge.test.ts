import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Duration, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import {
  FLUSH_EVENT,
  FailureTicketBridge,
  FailureTicketBridgeProps,
  IDEMPOTENCY_TABLE_ACTIONS,
  OutsetaCredentials,
  TICKET_FILED_CAUSE_PREFIX,
} from '../lib';
import {
  allStatements,
  asList,
  cfn,
  offlineApp,
  onlyResourceOfType,
  onlyStateMachine,
  onlyWatchRule,
  resourcesOfType,
  tasksCalling,
  templateOf,
} from './support';

const TICKET_URL = 'https://acme.outseta.com/api/v1/support/cases';

function bridgeStack(props: Partial<FailureTicketBridgeProps> = {}) {
  const stack = new Stack(offlineApp(), 'Consumer');
  const bridge = new FailureTicketBridge(stack, 'Bridge', {
    ticketApiUrl: TICKET_URL,
    fromPerson: { uid: 'dQGxEz94' },
    ...(props.connection || props.authorization ? {} : { outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('outseta-key')) }),
    ...props,
  });
  return { stack, bridge };
}

/** A consumer's machine: a Lambda task and a Parallel state, both caught by the bridge, and watched. */
function consumerMachine(props: Partial<FailureTicketBridgeProps> = {}, more?: (stack: Stack, bridge: FailureTicketBridge) => void) {
  const { stack, bridge } = bridgeStack(props);
  const work = new lambda.Function(stack, 'Work', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => 1;'),
  });
  const step = new tasks.LambdaInvoke(stack, 'Do work', { lambdaFunction: work, resultPath: '$.work' });
  const fanOut = new sfn.Parallel(stack, 'Fan out', { resultPath: sfn.JsonPath.DISCARD }).branch(new sfn.Pass(stack, 'Branch'));
  bridge.catchFailures([step, fanOut]);
  const machine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(step.next(fanOut)) });
  const rule = bridge.watch(machine);
  more?.(stack, bridge);
  return { stack, bridge, machine, rule, ...templateOf(stack) };
}

function notifierOf(json: ReturnType<typeof templateOf>['json']) {
  const found = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, r]) => r.Properties?.Environment?.Variables?.TICKET_API_URL);
  assert.equal(found.length, 1, 'one notifier');
  return found[0];
}

describe('FailureTicketBridge: the notifier', () => {
  test('is a Rust function on provided.al2023, arm64 by default, with the environment contract', () => {
    const { stack } = bridgeStack();
    const { json } = templateOf(stack);
    const [, notifier] = notifierOf(json);
    const [connectionId] = onlyResourceOfType(json, 'AWS::Events::Connection');
    const [tableId] = onlyResourceOfType(json, 'AWS::DynamoDB::Table');
    const [topicId] = onlyResourceOfType(json, 'AWS::SNS::Topic');

    assert.equal(notifier.Properties!.Runtime, 'provided.al2023');
    assert.equal(notifier.Properties!.Handler, 'bootstrap');
    assert.deepEqual(notifier.Properties!.Architectures, ['arm64']);
    assert.deepEqual(notifier.Properties!.Environment.Variables, {
      TICKET_API_URL: TICKET_URL,
      CONNECTION_SECRET_ID: { 'Fn::GetAtt': [connectionId, 'SecretArn'] },
      FROM_PERSON_UID: 'dQGxEz94',
      IDEMPOTENCY_TABLE: { Ref: tableId },
      FALLBACK_TOPIC_ARN: { Ref: topicId },
      METRICS_NAMESPACE: 'TicketBridge',
    });
  });

  test('can run on x86_64 and files as a person given by email', () => {
    const { stack } = bridgeStack({ architecture: lambda.Architecture.X86_64, fromPerson: { email: 'ops@example.com' }, caseSource: 2, sendAutoResponder: false });
    const [, notifier] = notifierOf(templateOf(stack).json);
    assert.deepEqual(notifier.Properties!.Architectures, ['x86_64']);
    const vars = notifier.Properties!.Environment.Variables;
    assert.equal(vars.FROM_PERSON_EMAIL, 'ops@example.com');
    assert.equal(vars.FROM_PERSON_UID, undefined);
    assert.equal(vars.CASE_SOURCE, '2');
    assert.equal(vars.SEND_AUTO_RESPONDER, 'false');
  });

  test('may read the secret of its connection and no other secret', () => {
    const { stack } = bridgeStack();
    const { json } = templateOf(stack);
    const [connectionId] = onlyResourceOfType(json, 'AWS::Events::Connection');
    const [notifierId, notifier] = notifierOf(json);
    const roleId = notifier.Properties!.Role['Fn::GetAtt'][0];
    const secretStatements = allStatements(json).filter(
      ({ holder, statement }) =>
        json.Resources[holder].Properties?.Roles?.some((r: any) => r.Ref === roleId) &&
        asList<string>(statement.Action).some((a) => a.startsWith('secretsmanager:')),
    );
    assert.deepEqual(
      secretStatements.map(({ statement }) => statement),
      [{ Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: { 'Fn::GetAtt': [connectionId, 'SecretArn'] } }],
      `statements of ${notifierId}'s role`,
    );
  });

  test('uses an existing connection as given, without creating one', () => {
    const stack = new Stack(offlineApp(), 'Consumer');
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:events!connection/outseta/1234-AbCdEf';
    const connection = events.Connection.fromConnectionAttributes(stack, 'Existing', {
      connectionName: 'outseta',
      connectionArn: 'arn:aws:events:eu-west-1:111122223333:connection/outseta/1234',
      connectionSecretArn: secretArn,
    });
    new FailureTicketBridge(stack, 'Bridge', { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' }, connection });
    const { template, json } = templateOf(stack);
    template.resourceCountIs('AWS::Events::Connection', 0);
    assert.equal(notifierOf(json)[1].Properties!.Environment.Variables.CONNECTION_SECRET_ID, secretArn);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'secretsmanager:GetSecretValue', Resource: secretArn })]) },
    });
  });

  test('has reserved concurrency 2 by default, a chosen value, or none', () => {
    assert.equal(notifierOf(templateOf(bridgeStack().stack).json)[1].Properties!.ReservedConcurrentExecutions, 2);
    assert.equal(notifierOf(templateOf(bridgeStack({ reservedConcurrency: 1 }).stack).json)[1].Properties!.ReservedConcurrentExecutions, 1);
    assert.equal(
      'ReservedConcurrentExecutions' in notifierOf(templateOf(bridgeStack({ reservedConcurrency: null }).stack).json)[1].Properties!,
      false,
    );
  });

  test('sends async invocations that keep failing to the dead-letter queue', () => {
    const { json } = consumerMachine();
    const [queueId] = onlyResourceOfType(json, 'AWS::SQS::Queue');
    const [notifierId] = notifierOf(json);
    const [, config] = onlyResourceOfType(json, 'AWS::Lambda::EventInvokeConfig');
    assert.deepEqual(config.Properties!.FunctionName, { Ref: notifierId });
    assert.deepEqual(config.Properties!.DestinationConfig, { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } });
    // ... and may write there.
    assert.ok(
      allStatements(json).some(
        ({ statement }) => asList<string>(statement.Action).includes('sqs:SendMessage') && statement.Resource?.['Fn::GetAtt']?.[0] === queueId,
      ),
    );
  });

  test('alarms on its errors and on dead letters, into the SNS topic', () => {
    const { json } = consumerMachine({ alarmEmail: 'oncall@example.com' });
    const [notifierId] = notifierOf(json);
    const [queueId] = onlyResourceOfType(json, 'AWS::SQS::Queue');
    const [topicId] = onlyResourceOfType(json, 'AWS::SNS::Topic');
    const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties!);
    const errors = alarms.find((a) => a.MetricName === 'Errors');
    const dead = alarms.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
    assert.ok(errors && dead, 'both alarms exist');
    assert.equal(errors.Namespace, 'AWS/Lambda');
    assert.deepEqual(errors.Dimensions, [{ Name: 'FunctionName', Value: { Ref: notifierId } }]);
    assert.equal(dead.Namespace, 'AWS/SQS');
    assert.deepEqual(dead.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
    for (const alarm of [errors, dead]) {
      assert.equal(alarm.Threshold, 1);
      assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.deepEqual(alarm.AlarmActions, [{ Ref: topicId }]);
    }
    const [, subscription] = onlyResourceOfType(json, 'AWS::SNS::Subscription');
    assert.equal(subscription.Properties!.Protocol, 'email');
    assert.equal(subscription.Properties!.Endpoint, 'oncall@example.com');
  });

  test('subscribes nobody unless an email is given', () => {
    templateOf(bridgeStack().stack).template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('logs to a log group with a retention', () => {
    const { json } = templateOf(bridgeStack().stack);
    const [logGroupId, logGroup] = onlyResourceOfType(json, 'AWS::Logs::LogGroup');
    assert.equal(logGroup.Properties!.RetentionInDays, 30);
    assert.deepEqual(notifierOf(json)[1].Properties!.LoggingConfig, { LogGroup: { Ref: logGroupId }, LogFormat: 'JSON' });
  });

  test('rejects inconsistent settings', () => {
    const base = { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' } };
    const auth = events.Authorization.apiKey('x-api-key', SecretValue.secretsManager('k'));
    const outseta = OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('k'));
    assert.throws(() => new FailureTicketBridge(new Stack(offlineApp()), 'B', base), /exactly one of `connection`/);
    const stack = new Stack(offlineApp());
    const connection = new events.Connection(stack, 'C', { authorization: auth });
    assert.throws(() => new FailureTicketBridge(stack, 'B', { ...base, connection, authorization: auth }), /exactly one/);
    assert.throws(() => new FailureTicketBridge(new Stack(offlineApp()), 'B2', { ...base, outseta, authorization: auth }), /exactly one/);
    assert.throws(() => new FailureTicketBridge(new Stack(offlineApp()), 'B', { ...base, authorization: auth, fromPerson: { email: '' } }), /fromPerson/);
    assert.throws(() => new FailureTicketBridge(new Stack(offlineApp()), 'B', { ...base, authorization: auth, caseSource: 9 }), /1 to 5/);
  });
});

/** Statements of the notifier's role (inline or attached), optionally only those with an action of `service`. */
function notifierStatements(json: ReturnType<typeof templateOf>['json'], service?: string) {
  const roleId = notifierOf(json)[1].Properties!.Role['Fn::GetAtt'][0];
  return allStatements(json)
    .filter(({ holder }) => json.Resources[holder].Properties?.Roles?.some((r: any) => r.Ref === roleId))
    .map(({ statement }) => statement)
    .filter((statement) => !service || asList<string>(statement.Action).some((a) => a.startsWith(`${service}:`)));
}

describe('FailureTicketBridge: one ticket per failure (idempotency table)', () => {
  test('creates an on-demand table keyed by `id`, with TTL on `expiration` and point-in-time recovery, deleted with the stack', () => {
    const { json } = templateOf(bridgeStack().stack);
    const [, table] = onlyResourceOfType(json, 'AWS::DynamoDB::Table');
    assert.equal(table.Properties!.BillingMode, 'PAY_PER_REQUEST');
    assert.equal(table.Properties!.ProvisionedThroughput, undefined);
    assert.deepEqual(table.Properties!.KeySchema, [{ AttributeName: 'id', KeyType: 'HASH' }]);
    assert.deepEqual(table.Properties!.AttributeDefinitions, [{ AttributeName: 'id', AttributeType: 'S' }]);
    assert.deepEqual(table.Properties!.TimeToLiveSpecification, { AttributeName: 'expiration', Enabled: true });
    assert.deepEqual(table.Properties!.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
    assert.equal(table.Properties!.TableName, undefined, 'CloudFormation names it: two bridges per account do not clash');
    assert.equal((table as any).DeletionPolicy, 'Delete');
    assert.equal((table as any).UpdateReplacePolicy, 'Delete');
  });

  test('keeps the table and turns off point-in-time recovery on request', () => {
    const { json } = templateOf(bridgeStack({ idempotency: { removalPolicy: RemovalPolicy.RETAIN, pointInTimeRecovery: false } }).stack);
    const [, table] = onlyResourceOfType(json, 'AWS::DynamoDB::Table');
    assert.equal((table as any).DeletionPolicy, 'Retain');
    assert.deepEqual(table.Properties!.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: false });
  });

  test('names the table to the notifier, with the chosen scope and TTL', () => {
    const { json } = templateOf(bridgeStack({ dedupeScope: 'state', idempotency: { ttl: Duration.hours(12) } }).stack);
    const [tableId] = onlyResourceOfType(json, 'AWS::DynamoDB::Table');
    const vars = notifierOf(json)[1].Properties!.Environment.Variables;
    assert.deepEqual(vars.IDEMPOTENCY_TABLE, { Ref: tableId });
    assert.equal(vars.DEDUPE_SCOPE, 'state');
    assert.equal(vars.IDEMPOTENCY_TTL_SECONDS, '43200');
    // Left to the notifier's defaults (scope error, 24 h) unless given.
    const defaults = notifierOf(templateOf(bridgeStack().stack).json)[1].Properties!.Environment.Variables;
    assert.equal('DEDUPE_SCOPE' in defaults, false);
    assert.equal('IDEMPOTENCY_TTL_SECONDS' in defaults, false);
  });

  test('lets the notifier Put, Get, Delete and Update items of that table, and nothing else in DynamoDB', () => {
    const { json } = templateOf(bridgeStack().stack);
    const [tableId] = onlyResourceOfType(json, 'AWS::DynamoDB::Table');
    const statements = notifierStatements(json, 'dynamodb');
    assert.equal(statements.length, 1);
    const [statement] = statements;
    assert.equal(statement.Effect, 'Allow');
    assert.deepEqual(asList<string>(statement.Action).sort(), ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    assert.deepEqual([...IDEMPOTENCY_TABLE_ACTIONS].sort(), asList<string>(statement.Action).sort());
    assert.equal(statement.Condition, undefined);
    // The table's own ARN: not "*", not its indexes or streams.
    assert.deepEqual(statement.Resource, { 'Fn::GetAtt': [tableId, 'Arn'] });
    const arn = cfn.resolve(json, statement.Resource);
    assert.equal(arn, `arn:${cfn.FAKE.partition}:dynamodb:${cfn.FAKE.region}:${cfn.FAKE.account}:table/${cfn.resolve(json, { Ref: tableId })}`);
    assert.ok(!arn.includes('*'));
    // Nobody else in the template gets any DynamoDB action.
    const everywhere = allStatements(json).filter(({ statement: s }) => asList<string>(s.Action).some((a) => a.startsWith('dynamodb:')));
    assert.equal(everywhere.length, 1);
  });

  test('uses an existing table as given: no new table, its name, its ARN only', () => {
    const stack = new Stack(offlineApp(), 'Consumer');
    const table = dynamodb.Table.fromTableName(stack, 'Existing', 'shared-idempotency');
    new FailureTicketBridge(stack, 'Bridge', {
      ticketApiUrl: TICKET_URL,
      fromPerson: { uid: 'u' },
      outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('k')),
      idempotency: { table },
    });
    const { template, json } = templateOf(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    assert.equal(notifierOf(json)[1].Properties!.Environment.Variables.IDEMPOTENCY_TABLE, 'shared-idempotency');
    const [statement] = notifierStatements(json, 'dynamodb');
    assert.equal(cfn.resolve(json, statement.Resource), `arn:${cfn.FAKE.partition}:dynamodb:${cfn.FAKE.region}:${cfn.FAKE.account}:table/shared-idempotency`);
    assert.equal(notifierStatements(json, 'kms').length, 0);
  });

  test("may use an existing table's customer managed key", () => {
    const stack = new Stack(offlineApp(), 'Consumer');
    const key = new kms.Key(stack, 'TableKey');
    const table = dynamodb.Table.fromTableAttributes(stack, 'Existing', { tableName: 'encrypted-idempotency', encryptionKey: key });
    new FailureTicketBridge(stack, 'Bridge', {
      ticketApiUrl: TICKET_URL,
      fromPerson: { uid: 'u' },
      outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('k')),
      idempotency: { table },
    });
    const { json } = templateOf(stack);
    const [keyId] = onlyResourceOfType(json, 'AWS::KMS::Key');
    const kmsStatements = notifierStatements(json, 'kms');
    assert.equal(kmsStatements.length, 1);
    assert.deepEqual(kmsStatements[0].Resource, { 'Fn::GetAtt': [keyId, 'Arn'] });
    assert.ok(asList<string>(kmsStatements[0].Action).every((a) => a.startsWith('kms:') && a !== 'kms:*'));
    assert.deepEqual(asList<string>(notifierStatements(json, 'dynamodb')[0].Action).sort(), [...IDEMPOTENCY_TABLE_ACTIONS].sort());
  });

  test('idempotency: false removes the table, its variable and its permission', () => {
    const { json, template } = templateOf(bridgeStack({ idempotency: false }).stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    const vars = notifierOf(json)[1].Properties!.Environment.Variables;
    assert.equal('IDEMPOTENCY_TABLE' in vars, false);
    assert.equal('IDEMPOTENCY_TTL_SECONDS' in vars, false);
    assert.equal(allStatements(json).filter(({ statement }) => asList<string>(statement.Action).some((a) => a.startsWith('dynamodb:'))).length, 0);
    // The scope still shapes the notifier's in-container dedupe.
    const scoped = notifierOf(templateOf(bridgeStack({ idempotency: false, dedupeScope: 'execution' }).stack).json)[1];
    assert.equal(scoped.Properties!.Environment.Variables.DEDUPE_SCOPE, 'execution');
    // ... and `true` is the default.
    templateOf(bridgeStack({ idempotency: true }).stack).template.resourceCountIs('AWS::DynamoDB::Table', 1);
  });

  test('rejects an unknown scope, a TTL under a second, and table options with an existing table', () => {
    assert.throws(() => bridgeStack({ dedupeScope: 'run' as any }), /dedupeScope.*execution, state, error/);
    assert.throws(() => bridgeStack({ idempotency: { ttl: Duration.millis(500) } }), /idempotency\.ttl/);
    assert.throws(() => bridgeStack({ idempotency: { ttl: Duration.seconds(0) } }), /idempotency\.ttl/);
    const stack = new Stack(offlineApp(), 'Consumer');
    const table = dynamodb.Table.fromTableName(stack, 'Existing', 'shared-idempotency');
    assert.throws(
      () =>
        new FailureTicketBridge(stack, 'Bridge', {
          ticketApiUrl: TICKET_URL,
          fromPerson: { uid: 'u' },
          outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('k')),
          idempotency: { table, removalPolicy: RemovalPolicy.RETAIN },
        }),
      /existing `table`/,
    );
  });
});

describe('FailureTicketBridge: undelivered tickets (SNS fallback)', () => {
  test('go to the alarm topic by default: the email subscriber gets them', () => {
    const { json } = templateOf(bridgeStack({ alarmEmail: 'oncall@example.com' }).stack);
    const [topicId] = onlyResourceOfType(json, 'AWS::SNS::Topic');
    const [, subscription] = onlyResourceOfType(json, 'AWS::SNS::Subscription');
    assert.deepEqual(subscription.Properties!.TopicArn, { Ref: topicId });
    assert.deepEqual(notifierOf(json)[1].Properties!.Environment.Variables.FALLBACK_TOPIC_ARN, { Ref: topicId });
  });

  test('the notifier may publish to that topic only, and needs no key for it', () => {
    const { json } = templateOf(bridgeStack().stack);
    const [topicId, topic] = onlyResourceOfType(json, 'AWS::SNS::Topic');
    assert.equal(topic.Properties!.KmsMasterKeyId, undefined, 'unencrypted: sns:Publish is all it takes');
    assert.deepEqual(notifierStatements(json, 'sns'), [{ Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: topicId } }]);
    assert.equal(notifierStatements(json, 'kms').length, 0);
    // Granted on the role, not through a topic policy open to others.
    const publish = allStatements(json).filter(
      ({ statement }) => statement.Effect === 'Allow' && asList<string>(statement.Action).some((a) => a.startsWith('sns:')),
    );
    assert.equal(publish.length, 1);
    assert.equal(json.Resources[publish[0].holder].Type, 'AWS::IAM::Policy');
  });

  test('the topic refuses publishing without TLS', () => {
    const { json } = templateOf(bridgeStack().stack);
    const [topicId] = onlyResourceOfType(json, 'AWS::SNS::Topic');
    const [, policy] = onlyResourceOfType(json, 'AWS::SNS::TopicPolicy');
    assert.deepEqual(policy.Properties!.Topics, [{ Ref: topicId }]);
    assert.deepEqual(policy.Properties!.PolicyDocument.Statement, [
      {
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: '*',
        Resource: { Ref: topicId },
        Sid: 'AllowPublishThroughSSLOnly',
      },
    ]);
  });

  test('go to a topic of your own, while alarms stay on the alarm topic', () => {
    const stack = new Stack(offlineApp(), 'Consumer');
    const ownTopic = new sns.Topic(stack, 'Undelivered');
    new FailureTicketBridge(stack, 'Bridge', {
      ticketApiUrl: TICKET_URL,
      fromPerson: { uid: 'u' },
      outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('k')),
      fallbackTopic: ownTopic,
    });
    const { json } = templateOf(stack);
    const ownId = stack.getLogicalId(ownTopic.node.defaultChild as sns.CfnTopic);
    const [alarmTopicId] = resourcesOfType(json, 'AWS::SNS::Topic').find(([id]) => id !== ownId)!;
    assert.deepEqual(notifierOf(json)[1].Properties!.Environment.Variables.FALLBACK_TOPIC_ARN, { Ref: ownId });
    assert.deepEqual(notifierStatements(json, 'sns'), [{ Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: ownId } }]);
    for (const [, alarm] of resourcesOfType(json, 'AWS::CloudWatch::Alarm')) {
      assert.deepEqual(alarm.Properties!.AlarmActions, [{ Ref: alarmTopicId }]);
    }
  });

  test("may use an encrypted topic's key to publish", () => {
    const stack = new Stack(offlineApp(), 'Consumer');
    const key = new kms.Key(stack, 'TopicKey');
    const topic = new sns.Topic(stack, 'Undelivered', { masterKey: key });
    new FailureTicketBridge(stack, 'Bridge', {
      ticketApiUrl: TICKET_URL,
      fromPerson: { uid: 'u' },
      outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('k')),
      fallbackTopic: topic,
    });
    const { json } = templateOf(stack);
    const [keyId] = onlyResourceOfType(json, 'AWS::KMS::Key');
    assert.deepEqual(notifierStatements(json, 'kms'), [
      { Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
    ]);
  });

  test('fallbackTopic: false publishes nowhere', () => {
    const { json } = templateOf(bridgeStack({ fallbackTopic: false }).stack);
    assert.equal('FALLBACK_TOPIC_ARN' in notifierOf(json)[1].Properties!.Environment.Variables, false);
    assert.equal(notifierStatements(json, 'sns').length, 0);
    onlyResourceOfType(json, 'AWS::SNS::Topic'); // the alarms still have theirs
  });
});

describe('FailureTicketBridge.catchFailures', () => {
  test('routes every caught state through its own notifier task into a Fail state', () => {
    const { json } = consumerMachine();
    const { definition } = onlyStateMachine(json);
    const [notifierId] = notifierOf(json);

    for (const failed of ['Do work', 'Fan out']) {
      assert.deepEqual(definition.States[failed].Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: `${failed}-NotifyFailure` }]);
      const notify = definition.States[`${failed}-NotifyFailure`];
      assert.equal(cfn.logicalIdFromFunctionArn(notify.Resource), notifierId);
      // The notifier's catch payload contract.
      assert.deepEqual(notify.Parameters, {
        'error.$': '$.error',
        'execution.$': '$$.Execution.Id',
        'stateMachine.$': '$$.StateMachine.Name',
        failedState: failed,
        'startTime.$': '$$.Execution.StartTime',
        // Part of the notifier's dedupe key: a redriven execution keeps its ARN.
        'redriveCount.$': '$$.Execution.RedriveCount',
        'input.$': '$',
      });
      assert.equal(notify.ResultPath, '$.ticket');
      assert.equal(notify.Next, `${failed}-Failed`);
      assert.deepEqual(notify.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.notifierError', Next: `${failed}-FailedNoTicket` }]);

      const done = definition.States[`${failed}-Failed`];
      assert.equal(done.Type, 'Fail');
      assert.equal(done.ErrorPath, '$.error.Error');
      assert.ok(done.Cause.startsWith(TICKET_FILED_CAUSE_PREFIX));
      assert.deepEqual(definition.States[`${failed}-FailedNoTicket`], {
        Type: 'Fail',
        Comment: 'The notifier failed too: re-raise the original error so the watch rule reports it',
        ErrorPath: '$.error.Error',
        CausePath: '$.error.Cause',
      });
    }
    assert.equal(tasksCalling(definition, notifierId).length, 2);
  });

  test('retries the notifier on throttling and TicketDeliveryFailed, never on errors a retry cannot fix', () => {
    const { definition } = onlyStateMachine(consumerMachine().json);
    const retried = definition.States['Do work-NotifyFailure'].Retry.flatMap((r: any) => r.ErrorEquals);
    assert.ok(retried.includes('Lambda.TooManyRequestsException'));
    assert.ok(retried.includes('TicketDeliveryFailed'));
    for (const permanent of ['InvalidFailureEvent', 'ConfigError', 'ConnectionSecretError', 'AuthError', 'TicketRejected', 'States.ALL']) {
      assert.ok(!retried.includes(permanent), `${permanent} is not retried`);
    }
  });

  test('refuses state names that would push the chain past 80 characters', () => {
    const { stack, bridge } = bridgeStack();
    const long = new sfn.Pass(stack, 'x'.repeat(70));
    assert.throws(() => bridge.failureChain(stack, long.stateId), /longer than 80 characters/);
  });
});

describe('FailureTicketBridge.watch', () => {
  test('sends FAILED, TIMED_OUT and ABORTED executions of the machine to the notifier', () => {
    const { json } = consumerMachine();
    const [ruleId, rule] = onlyWatchRule(json);
    const [machineId] = onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine');
    const [notifierId] = notifierOf(json);
    const [queueId] = onlyResourceOfType(json, 'AWS::SQS::Queue');
    const pattern = rule.Properties!.EventPattern;

    assert.deepEqual(pattern.source, ['aws.states']);
    assert.deepEqual(pattern['detail-type'], ['Step Functions Execution Status Change']);
    assert.deepEqual(pattern.detail.stateMachineArn, [{ Ref: machineId }]);
    assert.deepEqual(pattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED']);
    assert.deepEqual(rule.Properties!.Targets, [
      {
        Arn: { 'Fn::GetAtt': [notifierId, 'Arn'] },
        Id: 'Target0',
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
        RetryPolicy: { MaximumEventAgeInSeconds: 21600, MaximumRetryAttempts: 8 },
      },
    ]);
    const permissions = resourcesOfType(json, 'AWS::Lambda::Permission').filter(
      ([, p]) => JSON.stringify(p.Properties!.SourceArn) === JSON.stringify({ 'Fn::GetAtt': [ruleId, 'Arn'] }),
    );
    assert.equal(permissions.length, 1);
    assert.equal(permissions[0][1].Properties!.Principal, 'events.amazonaws.com');
  });

  test('skips failures whose catch chain already filed a ticket, and only those', () => {
    const { json } = consumerMachine();
    const [, rule] = onlyWatchRule(json);
    const { definition } = onlyStateMachine(json);
    const alternatives = rule.Properties!.EventPattern.detail.$or;

    // Executions without a cause (timeouts, aborts) still match.
    assert.deepEqual(alternatives.slice(1), [{ cause: [null] }, { cause: [{ exists: false }] }]);
    const [{ cause: [{ 'anything-but': { prefix } }] }] = alternatives;
    // The prefix the rule skips is what the ticket-filed Fail states set, and the
    // no-ticket Fail states cannot set it (they re-raise the original cause).
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Fail') continue;
      if (name.endsWith('-Failed')) assert.ok(state.Cause.startsWith(prefix), name);
      else assert.equal(state.Cause, undefined, name);
    }
  });

  test('can watch several machines with one notifier', () => {
    let other: sfn.StateMachine | undefined;
    const { stack, machine, json } = consumerMachine({}, (scope, bridge) => {
      other = new sfn.StateMachine(scope, 'Other', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(scope, 'Noop')) });
      bridge.watch(other, ['TIMED_OUT']);
    });
    const rules = resourcesOfType(json, 'AWS::Events::Rule')
      .filter(([, r]) => r.Properties!.EventPattern)
      .map(([, r]) => r.Properties!.EventPattern.detail);
    assert.deepEqual(
      rules.map((d) => [d.stateMachineArn[0].Ref, d.status]),
      [
        [stack.getLogicalId(machine.node.defaultChild as sfn.CfnStateMachine), ['FAILED', 'TIMED_OUT', 'ABORTED']],
        [stack.getLogicalId(other!.node.defaultChild as sfn.CfnStateMachine), ['TIMED_OUT']],
      ],
    );
  });
});

describe('FailureTicketBridge: incidents', () => {
  const flushRules = (json: ReturnType<typeof templateOf>['json']) =>
    resourcesOfType(json, 'AWS::Events::Rule').filter(([, r]) => r.Properties!.ScheduleExpression);

  test('a schedule sends the flush event to the notifier every 5 minutes, with the notifier defaults', () => {
    const { stack, bridge } = bridgeStack();
    const { json } = templateOf(stack);
    const [notifierId, notifier] = notifierOf(json);
    const [[ruleId, rule]] = flushRules(json);
    assert.equal(rule.Properties!.ScheduleExpression, 'rate(5 minutes)');
    assert.deepEqual(rule.Properties!.Targets, [
      {
        Arn: { 'Fn::GetAtt': [notifierId, 'Arn'] },
        Id: 'Target0',
        Input: JSON.stringify(FLUSH_EVENT),
        RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 2 },
      },
    ]);
    assert.deepEqual(FLUSH_EVENT, { ticketBridge: 'flush' });
    assert.ok(bridge.flushRule);
    const permissions = resourcesOfType(json, 'AWS::Lambda::Permission').filter(
      ([, p]) => JSON.stringify(p.Properties!.SourceArn) === JSON.stringify({ 'Fn::GetAtt': [ruleId, 'Arn'] }),
    );
    assert.equal(permissions.length, 1);
    // Defaults are the notifier's own: no variables written.
    const vars = notifier.Properties!.Environment.Variables;
    for (const name of ['INCIDENT_GROUPING', 'INCIDENT_WINDOW_SECONDS', 'INCIDENT_REPLY_INTERVAL_SECONDS', 'REPLY_AGENT_NAME', 'RECOVERY_NOTES', 'DESK_REQUESTS_PER_SECOND']) {
      assert.equal(name in vars, false, name);
    }
  });

  test('typed settings become the notifier environment and the schedule', () => {
    const { stack } = bridgeStack({
      incidents: {
        grouping: 'error',
        window: Duration.days(3),
        replyInterval: Duration.minutes(2),
        agentName: 'Pipeline bot',
        deskRequestsPerSecond: 2,
        flushPeriod: Duration.minutes(10),
      },
    });
    const { json } = templateOf(stack);
    const vars = notifierOf(json)[1].Properties!.Environment.Variables;
    assert.equal(vars.INCIDENT_GROUPING, 'error');
    assert.equal(vars.INCIDENT_WINDOW_SECONDS, '259200');
    assert.equal(vars.INCIDENT_REPLY_INTERVAL_SECONDS, '120');
    assert.equal(vars.REPLY_AGENT_NAME, 'Pipeline bot');
    assert.equal(vars.DESK_REQUESTS_PER_SECOND, '2');
    assert.equal(flushRules(json)[0][1].Properties!.ScheduleExpression, 'rate(10 minutes)');
  });

  test('grouping off, or no table, means no schedule; asking for incidents without a table fails at synth', () => {
    const off = bridgeStack({ incidents: { grouping: 'off' } });
    const offJson = templateOf(off.stack).json;
    assert.equal(flushRules(offJson).length, 0);
    assert.equal(off.bridge.flushRule, undefined);
    assert.equal(notifierOf(offJson)[1].Properties!.Environment.Variables.INCIDENT_GROUPING, 'off');
    assert.equal(flushRules(templateOf(bridgeStack({ idempotency: false }).stack).json).length, 0);
    assert.throws(() => bridgeStack({ idempotency: false, incidents: { grouping: 'state' } }), /need the idempotency table/);
    assert.throws(() => bridgeStack({ idempotency: false, incidents: { replyInterval: Duration.seconds(30) } }), /need the idempotency table/);
  });

  test('rejects settings the notifier or EventBridge would refuse', () => {
    const cases: [FailureTicketBridgeProps['incidents'], RegExp][] = [
      [{ grouping: 'machine' as never }, /grouping` must be one of state, error, off/],
      [{ window: Duration.seconds(0) }, /window` must be a whole number of seconds, at least 1/],
      [{ replyInterval: Duration.millis(1500) }, /replyInterval` must be a whole number of seconds/],
      [{ flushPeriod: Duration.seconds(30) }, /flushPeriod` must be a whole number of minutes/],
      [{ agentName: 'x'.repeat(101) }, /agentName` must be one non-empty line/],
      [{ agentName: 'two\nlines' }, /agentName` must be one non-empty line/],
      [{ deskRequestsPerSecond: 2.5 }, /deskRequestsPerSecond` must be a whole number from 0 to 1000, got 2.5/],
      [{ deskRequestsPerSecond: -1 }, /deskRequestsPerSecond` must be a whole number from 0 to 1000/],
    ];
    for (const [incidents, message] of cases) assert.throws(() => bridgeStack({ incidents }), message);
  });

  test('rejects a window the flush cannot beat: shorter than replyInterval + flushPeriod, or twice replyInterval', () => {
    const tooShort: [FailureTicketBridgeProps['incidents'], RegExp][] = [
      // The defaults: a 60 s interval and a 5-minute flush.
      [{ window: Duration.minutes(5) }, /`incidents\.window` \(300 s\) must be at least `incidents\.replyInterval` \+ `incidents\.flushPeriod` \(60 s \+ 300 s\)/],
      [{ window: Duration.minutes(30), flushPeriod: Duration.minutes(30) }, /`incidents\.window` \(1800 s\)/],
      [{ window: Duration.hours(1), replyInterval: Duration.minutes(40) }, /twice `incidents\.replyInterval` \(4800 s\)/],
      // The default window (7 days) against an interval of a week.
      [{ replyInterval: Duration.days(7) }, /`incidents\.window` \(604800 s, the default\)/],
    ];
    for (const [incidents, message] of tooShort) assert.throws(() => bridgeStack({ incidents }), message);
    for (const incidents of [
      { window: Duration.minutes(6) },
      { window: Duration.minutes(12), replyInterval: Duration.minutes(2), flushPeriod: Duration.minutes(10) },
      { window: Duration.seconds(600), replyInterval: Duration.seconds(300), flushPeriod: Duration.minutes(5) },
    ]) {
      const vars = notifierOf(templateOf(bridgeStack({ incidents }).stack).json)[1].Properties!.Environment.Variables;
      assert.equal(vars.INCIDENT_WINDOW_SECONDS, String(incidents.window.toSeconds()));
    }
  });

  test('watch({ recoveryNotes: true }) adds SUCCEEDED to the rule and turns recovery notes on', () => {
    const { stack, bridge } = bridgeStack();
    const machine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Step')) });
    bridge.watch(machine, { recoveryNotes: true });
    const { json } = templateOf(stack);
    const [, rule] = onlyWatchRule(json);
    assert.deepEqual(rule.Properties!.EventPattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED', 'SUCCEEDED']);
    // A success has no cause: the alternatives without one let it through.
    assert.deepEqual(rule.Properties!.EventPattern.detail.$or.slice(1), [{ cause: [null] }, { cause: [{ exists: false }] }]);
    assert.equal(notifierOf(json)[1].Properties!.Environment.Variables.RECOVERY_NOTES, 'true');
  });

  test('watch({ resolveAfterSuccesses, reopenWindow }) adds SUCCEEDED and sets the notifier\'s lifecycle variables', () => {
    const { stack, bridge } = bridgeStack();
    const machine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Step')) });
    bridge.watch(machine, { resolveAfterSuccesses: 3, reopenWindow: Duration.hours(6) });
    const { json } = templateOf(stack);
    assert.deepEqual(onlyWatchRule(json)[1].Properties!.EventPattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED', 'SUCCEEDED']);
    const vars = notifierOf(json)[1].Properties!.Environment.Variables;
    assert.equal(vars.RESOLVE_AFTER_SUCCESSES, '3');
    assert.equal(vars.REOPEN_WINDOW_SECONDS, '21600');
    assert.equal('RECOVERY_NOTES' in vars, false, 'closing a case is not the recovery note');
  });

  test('resolveAfterSuccesses is one value per bridge, whole, and needs incidents', () => {
    const { stack, bridge } = bridgeStack();
    const machine = (id: string) =>
      new sfn.StateMachine(stack, id, { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, `${id}Step`)) });
    bridge.watch(machine('A'), { resolveAfterSuccesses: 2 });
    bridge.watch(machine('B'), { resolveAfterSuccesses: 2 });
    assert.throws(() => bridge.watch(machine('C'), { resolveAfterSuccesses: 5 }), /RESOLVE_AFTER_SUCCESSES is already 2/);
    assert.throws(() => bridge.watch(machine('D'), { resolveAfterSuccesses: 1.5 }), /whole number from 1 to 1000/);
    assert.throws(() => bridge.watch(machine('E'), { reopenWindow: Duration.hours(1) }), /whole number from 1 to 1000, got 0/);
    assert.throws(
      () => bridge.watch(machine('F'), { resolveAfterSuccesses: 2, reopenWindow: Duration.millis(1500) }),
      /reopenWindow` must be a whole number of seconds/,
    );
    const without = bridgeStack({ idempotency: false });
    const m = new sfn.StateMachine(without.stack, 'M', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(without.stack, 'S')) });
    assert.throws(() => without.bridge.watch(m, { resolveAfterSuccesses: 2 }), /need the idempotency table/);
  });

  test('watch takes its statuses as a list or as an option', () => {
    const { stack, bridge } = bridgeStack();
    const machine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Step')) });
    bridge.watch(machine, { statuses: ['TIMED_OUT'] });
    const { json } = templateOf(stack);
    assert.deepEqual(onlyWatchRule(json)[1].Properties!.EventPattern.detail.status, ['TIMED_OUT']);
    assert.equal('RECOVERY_NOTES' in notifierOf(json)[1].Properties!.Environment.Variables, false);
  });

  test('recovery notes need incidents', () => {
    const { stack, bridge } = bridgeStack({ idempotency: false });
    const machine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Step')) });
    assert.throws(() => bridge.watch(machine, { recoveryNotes: true }), /need the idempotency table and a grouping other than off/);
    assert.equal('RECOVERY_NOTES' in notifierOf(templateOf(stack).json)[1].Properties!.Environment.Variables, false);
  });
});
