// FailureTicketHub and FailureTicketSpoke: what each stack lets in and out,
// their validation, and watch()'s refusal of machines its bus never hears from.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, BootstraplessSynthesizer, Duration, SecretValue, Stack, Stage, aws_cloudformation as cloudformation } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import {
  DEFAULT_HISTORY_ROLE_NAME,
  FailureTicketBridge,
  FailureTicketHub,
  FailureTicketHubProps,
  FailureTicketSpoke,
  FailureTicketSpokeProps,
  OutsetaCredentials,
  TICKET_FILED_CAUSE_PREFIX,
} from '../lib';
import { TicketBridgeHubStack, TicketBridgeSpokeStack } from '../demo/organization-stacks';
import { CfnTemplate, allStatements, asList, offlineApp, onlyResourceOfType, resourcesOfType, templateOf } from './support';

const ORG = 'o-a1b2c3d4e5';
const HUB_BUS = 'arn:aws:events:eu-west-1:111111111111:event-bus/ticket-bridge-hub';
const HUB_ROLE = 'arn:aws:iam::111111111111:role/TicketBridgeHub-NotifierRole';
const BRIDGE_PROPS = {
  ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases',
  fromPerson: { uid: 'dQGxEz94' },
  outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('outseta-key')),
};

function hubStack(props: Partial<FailureTicketHubProps> = {}, app: App = offlineApp()) {
  const stack = new Stack(app, 'Hub');
  const hub = new FailureTicketHub(stack, 'Hub', { ...BRIDGE_PROPS, organizationId: ORG, ...props });
  return { stack, hub, ...templateOf(stack) };
}

function spokeStack(props: Partial<FailureTicketSpokeProps> = {}) {
  const stack = new Stack(offlineApp(), 'Spoke');
  const spoke = new FailureTicketSpoke(stack, 'Spoke', { hubBusArn: HUB_BUS, hubNotifierRoleArn: HUB_ROLE, organizationId: ORG, ...props });
  return { stack, spoke, ...templateOf(stack) };
}

/** A template value with pseudo parameters as the tests' placeholders: `arn:<P>:states:<R>:<A>:...`. */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, any>;
  if (node?.['Fn::Join']) return (node['Fn::Join'][1] as unknown[]).map(flat).join(node['Fn::Join'][0]);
  if (node?.Ref === 'AWS::Partition') return '<P>';
  if (node?.Ref === 'AWS::Region') return '<R>';
  if (node?.Ref === 'AWS::AccountId') return '<A>';
  return JSON.stringify(value);
}

function notifierOf(json: CfnTemplate) {
  const found = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, r]) => r.Properties?.Environment?.Variables?.TICKET_API_URL);
  assert.equal(found.length, 1);
  return found[0];
}

function findings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}

describe('FailureTicketHub', () => {
  test('synthesizes a bridge, a bus and a rule on it; exposes bus, notifier and bridge', () => {
    const { hub, json } = hubStack();
    assert.ok(hub.bridge instanceof FailureTicketBridge);
    assert.equal(hub.notifier, hub.bridge.notifier);
    assert.ok(hub.bus instanceof events.EventBus);
    onlyResourceOfType(json, 'AWS::Events::EventBus');
  });

  test('the bus lets events:PutEvents in from the organization only', () => {
    const { json } = hubStack();
    const [busId] = onlyResourceOfType(json, 'AWS::Events::EventBus');
    const [, policy] = onlyResourceOfType(json, 'AWS::Events::EventBusPolicy');
    assert.deepEqual(policy.Properties!.EventBusName, { Ref: busId });
    const statement = policy.Properties!.Statement;
    assert.equal(statement.Effect, 'Allow');
    assert.equal(statement.Action, 'events:PutEvents');
    assert.deepEqual(statement.Resource, { 'Fn::GetAtt': [busId, 'Arn'] });
    assert.deepEqual(statement.Condition, { StringEquals: { 'aws:PrincipalOrgID': ORG } });
  });

  test("the rule on the bus sends the watched statuses to the notifier with watch()'s DLQ and retries", () => {
    const { json } = hubStack();
    const [busId] = onlyResourceOfType(json, 'AWS::Events::EventBus');
    const [notifierId] = notifierOf(json);
    const [queueId] = onlyResourceOfType(json, 'AWS::SQS::Queue');
    const rules = resourcesOfType(json, 'AWS::Events::Rule').filter(([, r]) => r.Properties?.EventPattern);
    assert.equal(rules.length, 1);
    const [, rule] = rules[0];
    assert.deepEqual(rule.Properties!.EventBusName, { Ref: busId });
    const pattern = rule.Properties!.EventPattern;
    assert.deepEqual(pattern.source, ['aws.states']);
    assert.deepEqual(pattern['detail-type'], ['Step Functions Execution Status Change']);
    assert.deepEqual(pattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED']);
    assert.equal(pattern.detail.stateMachineArn, undefined, 'every machine of the organization');
    assert.deepEqual(pattern.detail.$or[0], { cause: [{ 'anything-but': { prefix: TICKET_FILED_CAUSE_PREFIX } }] });
    const [target] = rule.Properties!.Targets;
    assert.deepEqual(target.Arn, { 'Fn::GetAtt': [notifierId, 'Arn'] });
    assert.deepEqual(target.DeadLetterConfig, { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    assert.deepEqual(target.RetryPolicy, { MaximumEventAgeInSeconds: 21600, MaximumRetryAttempts: 8 });
  });

  test('recoveryNotes add SUCCEEDED and turn the notes on', () => {
    const { json } = hubStack({ recoveryNotes: true });
    const [, rule] = resourcesOfType(json, 'AWS::Events::Rule').find(([, r]) => r.Properties?.EventPattern)!;
    assert.deepEqual(rule.Properties!.EventPattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED', 'SUCCEEDED']);
    assert.equal(notifierOf(json)[1].Properties!.Environment.Variables.RECOVERY_NOTES, 'true');
    assert.throws(() => hubStack({ recoveryNotes: true, idempotency: false }), /FailureTicketHub: `recoveryNotes`/);
  });

  test('resolveAfterSuccesses adds SUCCEEDED and closes cases after that many successes', () => {
    const { json } = hubStack({ resolveAfterSuccesses: 3, reopenWindow: Duration.hours(2) });
    const [, rule] = resourcesOfType(json, 'AWS::Events::Rule').find(([, r]) => r.Properties?.EventPattern)!;
    assert.deepEqual(rule.Properties!.EventPattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED', 'SUCCEEDED']);
    const vars = notifierOf(json)[1].Properties!.Environment.Variables;
    assert.deepEqual([vars.RESOLVE_AFTER_SUCCESSES, vars.REOPEN_WINDOW_SECONDS], ['3', '7200']);
    assert.throws(() => hubStack({ resolveAfterSuccesses: 3, idempotency: false }), /FailureTicketHub: `resolveAfterSuccesses`/);
  });

  test('the notifier may assume the reader role in the organization, and knows its name and the account names', () => {
    const { json } = hubStack({ historyRoleName: 'Reader', accountNames: { '222222222222': 'staging' } });
    const [, notifier] = notifierOf(json);
    const roleId = notifier.Properties!.Role['Fn::GetAtt'][0];
    const assume = allStatements(json).filter(({ statement }) => asList(statement.Action).includes('sts:AssumeRole') && statement.Principal === undefined);
    assert.equal(assume.length, 1);
    const { holder, statement } = assume[0];
    assert.ok(json.Resources[holder].Properties!.Roles.some((r: any) => r.Ref === roleId));
    assert.equal(flat(statement.Resource), 'arn:<P>:iam::*:role/Reader');
    assert.deepEqual(statement.Condition, { StringEquals: { 'aws:ResourceOrgID': ORG } });
    const env = notifier.Properties!.Environment.Variables;
    assert.equal(env.HISTORY_ROLE_NAME, 'Reader');
    assert.deepEqual(JSON.parse(env.ACCOUNT_NAMES), { '222222222222': 'staging' });
    assert.equal(notifierOf(hubStack().json)[1].Properties!.Environment.Variables.HISTORY_ROLE_NAME, DEFAULT_HISTORY_ROLE_NAME);
    assert.equal(notifierOf(hubStack().json)[1].Properties!.Environment.Variables.ACCOUNT_NAMES, undefined);
  });

  test('fixed names give the ARNs the spokes need before the hub is deployed', () => {
    const { json } = hubStack({ eventBusName: 'ticket-bridge-hub', notifierRoleName: 'ticket-bridge-hub-notifier' });
    const [, notifier] = notifierOf(json);
    const roleId = notifier.Properties!.Role['Fn::GetAtt'][0];
    assert.equal(json.Resources[roleId].Properties!.RoleName, 'ticket-bridge-hub-notifier');
    assert.equal(onlyResourceOfType(json, 'AWS::Events::EventBus')[1].Properties!.Name, 'ticket-bridge-hub');
  });

  test("the organization may invoke the notifier (spokes' Catch paths)", () => {
    const { json } = hubStack();
    const [notifierId] = notifierOf(json);
    const org = resourcesOfType(json, 'AWS::Lambda::Permission').filter(([, r]) => r.Properties?.PrincipalOrgID);
    assert.equal(org.length, 1);
    const props = org[0][1].Properties!;
    assert.equal(props.Action, 'lambda:InvokeFunction');
    assert.equal(props.PrincipalOrgID, ORG);
    assert.equal(props.Principal, '*');
    assert.deepEqual(props.FunctionName, { 'Fn::GetAtt': [notifierId, 'Arn'] });
  });

  test('invalid props fail naming the prop', () => {
    for (const organizationId of ['o-short', 'O-A1B2C3D4E5', 'a1b2c3d4e5f6', `o-${'a'.repeat(33)}`, 'o-a1b2c3d4e_']) {
      assert.throws(() => hubStack({ organizationId }), /FailureTicketHub: `organizationId`/, organizationId);
    }
    assert.throws(() => hubStack({ organizationId: undefined as unknown as string }), /`organizationId` is required/);
    assert.throws(() => hubStack({ historyRoleName: 'no spaces' }), /`historyRoleName`/);
    assert.throws(() => hubStack({ accountNames: { '2222': 'x' } }), /`accountNames` keys/);
    assert.throws(() => hubStack({ accountNames: { '222222222222': '' } }), /`accountNames` value/);
    assert.throws(() => hubStack({ environment: { HISTORY_ROLE_NAME: 'x' } }), /`historyRoleName` instead/);
    assert.throws(() => hubStack({ notifierRoleName: 'a/b' }), /FailureTicketHub: `notifierRoleName`/);
    assert.throws(() => hubStack({ eventBusName: 'a/b' }), /FailureTicketHub: `eventBusName`/);
    hubStack({ organizationId: `o-${'a1'.repeat(16)}` });
  });
});

describe('FailureTicketSpoke', () => {
  test('a rule on the default bus forwards the watched statuses to the hub bus through a role', () => {
    const { json } = spokeStack();
    const [ruleId, rule] = onlyResourceOfType(json, 'AWS::Events::Rule');
    assert.equal(rule.Properties!.EventBusName, undefined, 'the default bus');
    const pattern = rule.Properties!.EventPattern;
    assert.deepEqual(pattern.source, ['aws.states']);
    assert.deepEqual(pattern['detail-type'], ['Step Functions Execution Status Change']);
    assert.deepEqual(pattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED']);
    const [target] = rule.Properties!.Targets;
    assert.equal(target.Arn, HUB_BUS);
    const roleId = target.RoleArn['Fn::GetAtt'][0];
    assert.ok(ruleId);
    const granted = allStatements(json).filter(({ holder }) => holder === roleId || json.Resources[holder].Properties?.Roles?.some((r: any) => r.Ref === roleId));
    const trust = granted.filter(({ holder }) => holder === roleId).map(({ statement }) => statement);
    assert.deepEqual(trust, [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' } }]);
    const permissions = granted.filter(({ holder }) => holder !== roleId).map(({ statement }) => statement);
    assert.deepEqual(permissions, [{ Action: 'events:PutEvents', Effect: 'Allow', Resource: HUB_BUS }]);
  });

  test('the reader role trusts only the hub notifier role, in the organization, and reads history and tags only', () => {
    const { json } = spokeStack();
    const roles = resourcesOfType(json, 'AWS::IAM::Role').filter(([, r]) => r.Properties?.RoleName === DEFAULT_HISTORY_ROLE_NAME);
    assert.equal(roles.length, 1);
    const [roleId, role] = roles[0];
    assert.deepEqual(role.Properties!.AssumeRolePolicyDocument.Statement, [
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: HUB_ROLE }, Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } } },
    ]);
    const statements = allStatements(json)
      .filter(({ holder, statement }) => (holder === roleId && !statement.Principal) || json.Resources[holder].Properties?.Roles?.some((r: any) => r.Ref === roleId))
      .map(({ statement }) => [asList(statement.Action), asList(statement.Resource).map(flat)]);
    assert.deepEqual(statements, [
      [['states:GetExecutionHistory'], ['arn:<P>:states:<R>:<A>:execution:*:*']],
      [['states:ListTagsForResource'], ['arn:<P>:states:<R>:<A>:stateMachine:*']],
    ]);
  });

  test('a name prefix narrows the reader role and the rule', () => {
    const { json } = spokeStack({ stateMachineNamePrefix: 'orders-', historyRoleName: 'Reader' });
    const [roleId, role] = resourcesOfType(json, 'AWS::IAM::Role').find(([, r]) => r.Properties?.RoleName === 'Reader')!;
    assert.ok(role);
    const resources = allStatements(json)
      .filter(({ holder, statement }) => holder === roleId && !statement.Principal)
      .flatMap(({ statement }) => asList(statement.Resource).map(flat));
    assert.deepEqual(resources, ['arn:<P>:states:<R>:<A>:execution:orders-*:*', 'arn:<P>:states:<R>:<A>:stateMachine:orders-*']);
    const [, rule] = onlyResourceOfType(json, 'AWS::Events::Rule');
    const [matcher] = rule.Properties!.EventPattern.detail.stateMachineArn;
    assert.equal(flat(matcher.prefix), 'arn:<P>:states:<R>:<A>:stateMachine:orders-');
  });

  test('createHistoryRole: false leaves the role out; historyRegions widen it', () => {
    assert.equal(resourcesOfType(spokeStack({ createHistoryRole: false }).json, 'AWS::IAM::Role').length, 1, 'the forwarding role only');
    const { json } = spokeStack({ historyRegions: ['eu-west-1', 'us-east-1'] });
    const [roleId] = resourcesOfType(json, 'AWS::IAM::Role').find(([, r]) => r.Properties?.RoleName)!;
    const resources = allStatements(json)
      .filter(({ holder, statement }) => holder === roleId && !statement.Principal)
      .flatMap(({ statement }) => asList(statement.Resource).map(flat));
    assert.deepEqual(resources, [
      'arn:<P>:states:eu-west-1:<A>:execution:*:*',
      'arn:<P>:states:us-east-1:<A>:execution:*:*',
      'arn:<P>:states:eu-west-1:<A>:stateMachine:*',
      'arn:<P>:states:us-east-1:<A>:stateMachine:*',
    ]);
  });

  test('invalid props fail naming the prop', () => {
    const cases: [Partial<FailureTicketSpokeProps>, RegExp][] = [
      [{ organizationId: 'org-1' }, /FailureTicketSpoke: `organizationId`/],
      [{ hubBusArn: 'ticket-bridge-hub' }, /FailureTicketSpoke: `hubBusArn`/],
      [{ hubBusArn: 'arn:aws:sqs:eu-west-1:111111111111:queue' }, /`hubBusArn`/],
      [{ hubBusArn: '' }, /`hubBusArn` is required/],
      [{ hubNotifierRoleArn: 'arn:aws:iam::111111111111:user/bob' }, /FailureTicketSpoke: `hubNotifierRoleArn`/],
      [{ historyRoleName: 'a'.repeat(65) }, /`historyRoleName`/],
      [{ stateMachineNamePrefix: 'orders*' }, /`stateMachineNamePrefix`/],
      [{ stateMachineNamePrefix: '' }, /`stateMachineNamePrefix`/],
      [{ historyRegions: ['Europe'] }, /`historyRegions`/],
    ];
    for (const [props, message] of cases) assert.throws(() => spokeStack(props), message, JSON.stringify(props));
  });
});

describe('watch() and other accounts', () => {
  const inAccount = () => {
    const stack = new Stack(offlineApp(), 'Consumer', { env: { account: '111111111111', region: 'eu-west-1' } });
    return { stack, bridge: new FailureTicketBridge(stack, 'Bridge', BRIDGE_PROPS) };
  };

  test('a machine of another account on the default bus fails at synth, pointing to the hub and spoke', () => {
    const { stack, bridge } = inAccount();
    const foreign = sfn.StateMachine.fromStateMachineArn(stack, 'Foreign', 'arn:aws:states:eu-west-1:222222222222:stateMachine:orders');
    assert.throws(() => bridge.watch(foreign), (e: Error) => /account 222222222222/.test(e.message) && /FailureTicketSpoke/.test(e.message) && /FailureTicketHub/.test(e.message));
    const otherRegion = sfn.StateMachine.fromStateMachineArn(stack, 'Elsewhere', 'arn:aws:states:us-east-1:111111111111:stateMachine:orders');
    assert.throws(() => bridge.watch(otherRegion), /region us-east-1/);
  });

  test('the same machine on a given bus is watched there; one of this account on the default bus as before', () => {
    const { stack, bridge } = inAccount();
    const bus = new events.EventBus(stack, 'Org');
    bridge.watch(sfn.StateMachine.fromStateMachineArn(stack, 'Foreign', 'arn:aws:states:eu-west-1:222222222222:stateMachine:orders'), { eventBus: bus });
    bridge.watch(sfn.StateMachine.fromStateMachineArn(stack, 'Local', 'arn:aws:states:eu-west-1:111111111111:stateMachine:nightly'));
    const { json } = templateOf(stack);
    const [busId] = onlyResourceOfType(json, 'AWS::Events::EventBus');
    const rules = resourcesOfType(json, 'AWS::Events::Rule').filter(([, r]) => r.Properties?.EventPattern);
    const byMachine = Object.fromEntries(rules.map(([, r]) => [r.Properties!.EventPattern.detail.stateMachineArn[0], r.Properties!.EventBusName]));
    assert.deepEqual(byMachine, {
      'arn:aws:states:eu-west-1:222222222222:stateMachine:orders': { Ref: busId },
      'arn:aws:states:eu-west-1:111111111111:stateMachine:nightly': undefined,
    });
  });
});

describe('the example hub and spoke stacks (bin/organization.ts)', () => {
  const stacks = () => {
    const app = offlineApp();
    const hub = new TicketBridgeHubStack(app, 'TicketBridgeHub', {
      organizationId: ORG,
      outsetaDomain: 'acme.outseta.com',
      outsetaSecretName: 'ticket-bridge/outseta-auth',
      fromPersonEmail: 'ops@example.com',
    });
    const spoke = new TicketBridgeSpokeStack(app, 'TicketBridgeSpoke', { organizationId: ORG, hubBusArn: HUB_BUS, hubNotifierRoleArn: HUB_ROLE });
    return { hub, spoke };
  };

  test('cdk-nag AwsSolutionsChecks: zero unacknowledged findings on the hub and the spoke', () => {
    const { hub, spoke } = stacks();
    assert.deepEqual(findings(hub), []);
    assert.deepEqual(findings(spoke), []);
    assert.deepEqual(findings(spokeStack({ stateMachineNamePrefix: 'orders-', historyRegions: ['eu-west-1', 'us-east-1'] }).stack), []);
    assert.deepEqual(findings(hubStack({ recoveryNotes: true, historyRoleName: 'Reader' }).stack), []);
  });

  test('the hub outputs what the spokes take', () => {
    const { json } = templateOf(stacks().hub);
    const outputs = (json as unknown as { Outputs: Record<string, unknown> }).Outputs;
    assert.ok(outputs.HubBusArn && outputs.HubNotifierRoleArn && outputs.NotifierArn);
  });
});

describe("the README's StackSet recipe", () => {
  test('the spoke template stands alone (no assets, no bootstrap check) and fits a StackSet templateBody', () => {
    const app = offlineApp();
    const spokeStage = new Stage(app, 'SpokeTemplate');
    const spokeStack = new Stack(spokeStage, 'TicketBridgeSpoke', { synthesizer: new BootstraplessSynthesizer() });
    new FailureTicketSpoke(spokeStack, 'Spoke', { organizationId: ORG, hubBusArn: HUB_BUS, hubNotifierRoleArn: HUB_ROLE });
    const artifact = spokeStage.synth().getStackArtifact(spokeStack.artifactId);
    const template = artifact.template as { Parameters?: Record<string, unknown>; Rules?: Record<string, unknown> };
    assert.equal(artifact.assets.length, 0, 'nothing to upload to member accounts');
    assert.equal(template.Rules?.CheckBootstrapVersion, undefined, 'member accounts need no CDK bootstrap');
    assert.deepEqual(Object.keys(template.Parameters ?? {}), []);
    const body = JSON.stringify(template);
    assert.ok(body.length < 51200, `templateBody is limited to 51,200 bytes, got ${body.length}`);

    const admin = new Stack(app, 'TicketBridgeSpokes');
    new cloudformation.CfnStackSet(admin, 'Spokes', {
      stackSetName: 'ticket-bridge-spoke',
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: 'SELF',
      capabilities: ['CAPABILITY_NAMED_IAM'],
      managedExecution: { Active: true },
      operationPreferences: { failureToleranceCount: 0, maxConcurrentPercentage: 25 },
      templateBody: body,
      stackInstancesGroup: [{ deploymentTargets: { organizationalUnitIds: ['ou-ab12-cdef3456'] }, regions: ['eu-west-1'] }],
    });
    const [, stackSet] = onlyResourceOfType(templateOf(admin).json, 'AWS::CloudFormation::StackSet');
    const resources = Object.values((JSON.parse(stackSet.Properties!.TemplateBody) as CfnTemplate).Resources);
    assert.ok(resources.some((r) => r.Type === 'AWS::IAM::Role' && r.Properties?.RoleName === DEFAULT_HISTORY_ROLE_NAME));
  });
});
