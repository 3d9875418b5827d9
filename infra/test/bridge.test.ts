import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SecretValue, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { FailureTicketBridge, FailureTicketBridgeProps, TICKET_FILED_CAUSE_PREFIX } from '../lib';
import {
  allStatements,
  asList,
  cfn,
  offlineApp,
  onlyResourceOfType,
  onlyStateMachine,
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
    ...(props.connection ? {} : { authorization: events.Authorization.apiKey('Authorization', SecretValue.secretsManager('outseta-key')) }),
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

    assert.equal(notifier.Properties!.Runtime, 'provided.al2023');
    assert.equal(notifier.Properties!.Handler, 'bootstrap');
    assert.deepEqual(notifier.Properties!.Architectures, ['arm64']);
    assert.deepEqual(notifier.Properties!.Environment.Variables, {
      TICKET_API_URL: TICKET_URL,
      CONNECTION_SECRET_ID: { 'Fn::GetAtt': [connectionId, 'SecretArn'] },
      FROM_PERSON_UID: 'dQGxEz94',
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
    const auth = events.Authorization.apiKey('Authorization', SecretValue.secretsManager('k'));
    assert.throws(() => new FailureTicketBridge(new Stack(offlineApp()), 'B', base), /exactly one of `connection`/);
    const stack = new Stack(offlineApp());
    const connection = new events.Connection(stack, 'C', { authorization: auth });
    assert.throws(() => new FailureTicketBridge(stack, 'B', { ...base, connection, authorization: auth }), /exactly one/);
    assert.throws(() => new FailureTicketBridge(new Stack(offlineApp()), 'B', { ...base, authorization: auth, fromPerson: { email: '' } }), /fromPerson/);
    assert.throws(() => new FailureTicketBridge(new Stack(offlineApp()), 'B', { ...base, authorization: auth, caseSource: 9 }), /1 to 5/);
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
    const [ruleId, rule] = onlyResourceOfType(json, 'AWS::Events::Rule');
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
    const [, permission] = onlyResourceOfType(json, 'AWS::Lambda::Permission');
    assert.equal(permission.Properties!.Principal, 'events.amazonaws.com');
    assert.deepEqual(permission.Properties!.SourceArn, { 'Fn::GetAtt': [ruleId, 'Arn'] });
  });

  test('skips failures whose catch chain already filed a ticket, and only those', () => {
    const { json } = consumerMachine();
    const [, rule] = onlyResourceOfType(json, 'AWS::Events::Rule');
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
    const rules = resourcesOfType(json, 'AWS::Events::Rule').map(([, r]) => r.Properties!.EventPattern.detail);
    assert.deepEqual(
      rules.map((d) => [d.stateMachineArn[0].Ref, d.status]),
      [
        [stack.getLogicalId(machine.node.defaultChild as sfn.CfnStateMachine), ['FAILED', 'TIMED_OUT', 'ABORTED']],
        [stack.getLogicalId(other!.node.defaultChild as sfn.CfnStateMachine), ['TIMED_OUT']],
      ],
    );
  });
});
