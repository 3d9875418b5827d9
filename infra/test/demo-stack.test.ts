import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { demoStackPropsFromContext } from '../demo/demo-context';
import { DEMO_STATES } from '../demo/demo-stack';
import {
  CfnTemplate,
  allStatements,
  asList,
  cfn,
  onlyResourceOfType,
  onlyWatchRule,
  onlyStateMachine,
  resourcesOfType,
  synthDemo,
  tasksCalling,
} from './support';

const APIKEY_CONTEXT = {
  auth: 'apikey',
  outsetaDomain: 'acme.outseta.com',
  outsetaSecretName: 'ticket-bridge/outseta-auth',
  fromPersonUid: 'dQGxEz94',
};

/** Actions whose statements must never be unscoped (the point of the issue). */
const SENSITIVE = [
  'states:InvokeHTTPEndpoint',
  'events:RetrieveConnectionCredentials',
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
  // The notifier's idempotency table, and what a broader grant would add.
  'dynamodb:PutItem',
  'dynamodb:GetItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Scan',
  'dynamodb:Query',
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  // The fallback topic: undelivered tickets.
  'sns:Publish',
];

/** Whether an IAM action (case-insensitive, `*` and `?` wildcards) covers a sensitive action. */
function coversSensitive(action: string): boolean {
  const pattern = new RegExp(`^${action.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return SENSITIVE.some((sensitive) => pattern.test(sensitive));
}

const oauth = synthDemo();
const apikey = synthDemo(APIKEY_CONTEXT);

function functionsByBinary(json: CfnTemplate) {
  // RustFunction bundles the repository, so its functions are told apart by role.
  const fns = resourcesOfType(json, 'AWS::Lambda::Function');
  const find = (predicate: (vars: Record<string, unknown>) => boolean) => {
    const found = fns.filter(([, r]) => predicate(r.Properties?.Environment?.Variables ?? {}));
    assert.equal(found.length, 1);
    return found[0];
  };
  return {
    notifier: find((v) => 'TICKET_API_URL' in v),
    mockAuth: find((v) => 'CLIENT_SECRET' in v),
    mockApi: find((v) => 'SIGNING_KEY' in v && !('CLIENT_SECRET' in v)),
    demoStep: fns.find(([, r]) => r.Properties?.Runtime?.startsWith('nodejs'))!,
  };
}

function policyStatementsWith(json: CfnTemplate, action: string) {
  return allStatements(json).filter(({ statement }) => asList<string>(statement.Action).includes(action));
}

describe('demo stack (OAuth against the mock pair)', () => {
  const { json, template } = oauth;

  test('has the three Rust functions and the demo step', () => {
    const fns = functionsByBinary(json);
    for (const [, fn] of [fns.notifier, fns.mockAuth, fns.mockApi]) {
      assert.equal(fn.Properties!.Runtime, 'provided.al2023');
      assert.deepEqual(fn.Properties!.Architectures, ['arm64']);
    }
    assert.equal(fns.demoStep[1].Properties!.Runtime, 'nodejs24.x');
    assert.match(fns.demoStep[1].Properties!.Code.ZipFile, /input\.fail === true/);
  });

  test('serves mock-auth and mock-api from Function URLs', () => {
    const { mockAuth, mockApi } = functionsByBinary(json);
    const urls = resourcesOfType(json, 'AWS::Lambda::Url').map(([, u]) => u.Properties!);
    assert.deepEqual(urls.map((u) => u.TargetFunctionArn['Fn::GetAtt'][0]).sort(), [mockAuth[0], mockApi[0]].sort());
    for (const url of urls) assert.equal(url.AuthType, 'NONE'); // both check credentials themselves
  });

  test('keeps the mock secrets in Secrets Manager: generated, and referenced, never written out', () => {
    const secrets = resourcesOfType(json, 'AWS::SecretsManager::Secret');
    assert.equal(secrets.length, 2);
    for (const [, secret] of secrets) {
      assert.ok(secret.Properties!.GenerateSecretString, 'generated at deploy time');
      assert.equal(secret.Properties!.SecretString, undefined);
    }
    const dynamicRef = (id: string) => ({ 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: id }, ':SecretString:::}}']] });
    const [clientSecretId] = secrets.find(([id]) => id.startsWith('MockClientSecret'))!;
    const [signingKeyId] = secrets.find(([id]) => id.startsWith('MockSigningKey'))!;
    const { mockAuth, mockApi } = functionsByBinary(json);
    const authVars = mockAuth[1].Properties!.Environment.Variables;
    assert.deepEqual(authVars.CLIENT_SECRET, dynamicRef(clientSecretId));
    assert.deepEqual(authVars.SIGNING_KEY, dynamicRef(signingKeyId));
    assert.deepEqual(mockApi[1].Properties!.Environment.Variables.SIGNING_KEY, dynamicRef(signingKeyId));

    const [, connection] = onlyResourceOfType(json, 'AWS::Events::Connection');
    assert.deepEqual(connection.Properties!.AuthParameters.OAuthParameters.ClientParameters.ClientSecret, dynamicRef(clientSecretId));
  });

  test('authenticates with OAuth client credentials against mock-auth /token', () => {
    const [, connection] = onlyResourceOfType(json, 'AWS::Events::Connection');
    const { mockAuth } = functionsByBinary(json);
    const [authUrlId] = resourcesOfType(json, 'AWS::Lambda::Url').find(([, u]) => u.Properties!.TargetFunctionArn['Fn::GetAtt'][0] === mockAuth[0])!;
    assert.equal(connection.Properties!.AuthorizationType, 'OAUTH_CLIENT_CREDENTIALS');
    const oauthParams = connection.Properties!.AuthParameters.OAuthParameters;
    assert.deepEqual(oauthParams.AuthorizationEndpoint, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [authUrlId, 'FunctionUrl'] }, 'token']] });
    assert.equal(oauthParams.HttpMethod, 'POST');
    assert.equal(oauthParams.ClientParameters.ClientID, authVarsOf(json).CLIENT_ID);
    assert.deepEqual(oauthParams.OAuthHttpParameters.BodyParameters, [{ Key: 'grant_type', Value: 'client_credentials', IsValueSecret: false }]);
  });

  test('points the notifier at mock-api cases through the same connection', () => {
    const { notifier, mockApi } = functionsByBinary(json);
    const [connectionId] = onlyResourceOfType(json, 'AWS::Events::Connection');
    const vars = cfn.resolve(json, notifier[1].Properties!.Environment.Variables);
    const apiUrl = cfn.resolve(json, { 'Fn::GetAtt': [urlOf(json, mockApi[0]), 'FunctionUrl'] });
    assert.equal(vars.TICKET_API_URL, `${apiUrl}api/v1/support/cases`);
    assert.equal(vars.CONNECTION_SECRET_ID, cfn.resolve(json, { 'Fn::GetAtt': [connectionId, 'SecretArn'] }));
  });

  test('calls mock-api with an HTTP task through the connection, retrying a stale token', () => {
    const { definition } = onlyStateMachine(json);
    const [connectionId] = onlyResourceOfType(json, 'AWS::Events::Connection');
    const apiUrl = cfn.resolve(json, { 'Fn::GetAtt': [urlOf(json, functionsByBinary(json).mockApi[0]), 'FunctionUrl'] });
    const call = definition.States[DEMO_STATES.callApi];

    assert.equal(definition.StartAt, DEMO_STATES.callApi);
    assert.equal(call.Resource, 'arn:aws:states:::http:invoke');
    assert.deepEqual(call.Parameters, {
      ApiEndpoint: `${apiUrl}api/v1/data`,
      Method: 'POST', // the only method mock-api's /api/v1/data takes
      Authentication: { ConnectionArn: cfn.resolve(json, { 'Fn::GetAtt': [connectionId, 'Arn'] }) },
      RequestBody: { 'execution.$': '$$.Execution.Id', note: 'called through the EventBridge connection' },
    });
    assert.deepEqual(call.Retry, [{ ErrorEquals: ['States.Http.StatusCode.401'], IntervalSeconds: 2, MaxAttempts: 2 }]);
    assert.equal(call.Next, DEMO_STATES.runStep);
  });

  test('runs the demo step after the call and succeeds when nothing fails', () => {
    const { definition } = onlyStateMachine(json);
    const [stepId] = functionsByBinary(json).demoStep;
    assert.deepEqual(
      tasksCalling(definition, stepId).map(([name]) => name),
      [DEMO_STATES.runStep],
    );
    assert.equal(definition.States[DEMO_STATES.runStep].Next, DEMO_STATES.done);
    assert.equal(definition.States[DEMO_STATES.done].Type, 'Succeed');
  });

  test("catches every task's failure into a notifier task that names the task", () => {
    const { definition } = onlyStateMachine(json);
    const [notifierId] = functionsByBinary(json).notifier;
    const notifierTasks = new Set(tasksCalling(definition, notifierId).map(([name]) => name));
    const workTasks = Object.entries(definition.States).filter(([name, s]) => s.Type === 'Task' && !notifierTasks.has(name));
    assert.deepEqual(workTasks.map(([name]) => name).sort(), [DEMO_STATES.callApi, DEMO_STATES.runStep].sort());
    for (const [name, state] of workTasks) {
      assert.equal(state.Catch.length, 1, name);
      const [catcher] = state.Catch;
      assert.deepEqual(catcher.ErrorEquals, ['States.ALL']);
      assert.equal(catcher.ResultPath, '$.error');
      assert.ok(notifierTasks.has(catcher.Next), `${name} is caught into the notifier`);
      assert.equal(definition.States[catcher.Next].Parameters.failedState, name);
      assert.equal(definition.States[definition.States[catcher.Next].Next].Type, 'Fail');
    }
  });

  test('watches the demo machine', () => {
    const [machineId] = onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine');
    const [, rule] = onlyWatchRule(json);
    assert.deepEqual(rule.Properties!.EventPattern.detail.stateMachineArn, [{ Ref: machineId }]);
    assert.deepEqual(rule.Properties!.Targets[0].Arn, { 'Fn::GetAtt': [functionsByBinary(json).notifier[0], 'Arn'] });
  });

  test('lets the machine invoke HTTP endpoints only as itself, with this method and this endpoint', () => {
    const machine = onlyStateMachine(json);
    const statements = policyStatementsWith(json, 'states:InvokeHTTPEndpoint');
    assert.equal(statements.length, 1);
    const [{ holder, statement }] = statements;
    assert.deepEqual(asList(statement.Action), ['states:InvokeHTTPEndpoint']);
    // Built from the fixed name, it resolves to the machine's own ARN.
    assert.equal(cfn.resolve(json, statement.Resource), machine.arn);
    assert.deepEqual(cfn.resolve(json, statement.Condition), {
      StringEquals: { 'states:HTTPMethod': 'POST' },
      StringLike: { 'states:HTTPEndpoint': machine.definition.States[DEMO_STATES.callApi].Parameters.ApiEndpoint },
    });
    assert.ok(json.Resources[holder].Properties!.Roles.some((r: any) => r.Ref === roleOfMachine(json)));
  });

  test('lets the machine use the connection and read its secret, nothing more', () => {
    const [connectionId] = onlyResourceOfType(json, 'AWS::Events::Connection');
    const retrieve = policyStatementsWith(json, 'events:RetrieveConnectionCredentials');
    assert.deepEqual(
      retrieve.map(({ statement }) => statement.Resource),
      [{ 'Fn::GetAtt': [connectionId, 'Arn'] }],
    );
    const secretStatements = policyStatementsWith(json, 'secretsmanager:DescribeSecret');
    assert.deepEqual(
      secretStatements.map(({ statement }) => [asList<string>(statement.Action).sort(), statement.Resource]),
      [[['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], { 'Fn::GetAtt': [connectionId, 'SecretArn'] }]],
    );
  });

  test('has no role/machine cycle: the policy does not reference the machine', () => {
    const [machineId, machine] = onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine');
    const policies = asList(machine.DependsOn);
    assert.ok(policies.length > 0);
    for (const policyId of policies) {
      const text = JSON.stringify(json.Resources[policyId]);
      assert.ok(!text.includes(`"${machineId}"`), `${policyId} must not reference ${machineId}`);
    }
  });

  test('dedupes through its table and publishes undelivered tickets to the alarm topic, the notifier alone', () => {
    const [tableId, table] = onlyResourceOfType(json, 'AWS::DynamoDB::Table');
    const [topicId] = onlyResourceOfType(json, 'AWS::SNS::Topic');
    const [notifierId, notifier] = functionsByBinary(json).notifier;
    assert.equal(table.Properties!.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(table.Properties!.TimeToLiveSpecification, { AttributeName: 'expiration', Enabled: true });
    const vars = notifier.Properties!.Environment.Variables;
    assert.deepEqual(vars.IDEMPOTENCY_TABLE, { Ref: tableId });
    assert.deepEqual(vars.FALLBACK_TOPIC_ARN, { Ref: topicId });

    const notifierRole = notifier.Properties!.Role['Fn::GetAtt'][0];
    const holdersOf = (prefix: string) =>
      allStatements(json).filter(({ statement }) => asList<string>(statement.Action).some((a) => a.startsWith(prefix)));
    const dynamo = holdersOf('dynamodb:');
    assert.equal(dynamo.length, 1);
    assert.ok(json.Resources[dynamo[0].holder].Properties!.Roles.some((r: any) => r.Ref === notifierRole), `${notifierId}'s role`);
    assert.deepEqual(asList<string>(dynamo[0].statement.Action).sort(), ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    assert.equal(cfn.resolve(json, dynamo[0].statement.Resource), cfn.resolve(json, { 'Fn::GetAtt': [tableId, 'Arn'] }));
    const publish = holdersOf('sns:').filter(({ statement }) => statement.Effect === 'Allow');
    assert.deepEqual(
      publish.map(({ statement }) => [statement.Action, statement.Resource]),
      [['sns:Publish', { Ref: topicId }]],
    );
    assert.ok(json.Resources[publish[0].holder].Properties!.Roles.some((r: any) => r.Ref === notifierRole));
  });

  test('exports what a deployer needs', () => {
    for (const output of ['StateMachineArn', 'ConnectionArn', 'AlarmTopicArn', 'IdempotencyTableName', 'MockAuthUrl', 'MockApiUrl']) {
      template.hasOutput(output, {});
    }
  });
});

describe('demo stack (API key against a real Outseta account)', () => {
  const { json, template } = apikey;

  test('creates no mocks and reads the API key from Secrets Manager at deploy time, by the Outseta recipe', () => {
    template.resourceCountIs('AWS::Lambda::Url', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const [, connection] = onlyResourceOfType(json, 'AWS::Events::Connection');
    assert.equal(connection.Properties!.AuthorizationType, 'API_KEY');
    // The API key part is a colon-free placeholder: EventBridge refuses ":" there.
    assert.deepEqual(connection.Properties!.AuthParameters.ApiKeyAuthParameters, {
      ApiKeyName: 'X-Outseta-Connection',
      ApiKeyValue: 'header-parameter',
    });
    // The credential: a secret header parameter, "Outseta " + the secret's "<key>:<secret>".
    assert.deepEqual(connection.Properties!.AuthParameters.InvocationHttpParameters, {
      HeaderParameters: [
        {
          Key: 'Authorization',
          Value: 'Outseta {{resolve:secretsmanager:ticket-bridge/outseta-auth:SecretString:::}}',
          IsValueSecret: true,
        },
      ],
    });
  });

  test('files tickets in the Outseta account as the given person', () => {
    const notifiers = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, r]) => r.Properties?.Environment?.Variables?.TICKET_API_URL);
    assert.equal(notifiers.length, 1);
    const vars = notifiers[0][1].Properties!.Environment.Variables;
    assert.equal(vars.TICKET_API_URL, 'https://acme.outseta.com/api/v1/support/cases');
    assert.equal(vars.FROM_PERSON_UID, 'dQGxEz94');
  });

  test('only reads from Outseta in the HTTP task, and may only do that', () => {
    const call = onlyStateMachine(json).definition.States[DEMO_STATES.callApi];
    assert.equal(call.Parameters.Method, 'GET');
    assert.equal(call.Parameters.ApiEndpoint, 'https://acme.outseta.com/api/v1/support/cases');
    const [{ statement }] = policyStatementsWith(json, 'states:InvokeHTTPEndpoint');
    assert.deepEqual(statement.Condition, {
      StringEquals: { 'states:HTTPMethod': 'GET' },
      StringLike: { 'states:HTTPEndpoint': 'https://acme.outseta.com/api/v1/support/cases' },
    });
    assert.equal(cfn.resolve(json, statement.Resource), onlyStateMachine(json).arn);
  });
});

describe('least privilege across every synthesized template', () => {
  for (const [mode, { json }] of Object.entries({ oauth, apikey, x86: synthDemo({ arch: 'x86_64' }) })) {
    test(`${mode}: no "*" resource with a sensitive action, and no "*" action`, () => {
      const statements = allStatements(json);
      assert.ok(statements.length > 5);
      for (const { holder, statement } of statements) {
        const actions = asList<string>(statement.Action);
        assert.ok(!actions.includes('*'), `${holder} has Action "*"`);
        const resources = asList<unknown>(statement.Resource);
        for (const action of actions) {
          if (coversSensitive(action) && statement.Effect === 'Allow') {
            assert.ok(resources.length > 0, `${holder}: ${action} without a resource`);
            for (const resource of resources) {
              assert.ok(typeof resource !== 'string' || !resource.includes('*'), `${holder}: ${action} on ${JSON.stringify(resource)}`);
            }
          }
        }
      }
    });
  }
});

describe('sensitive action matching', () => {
  test('sees exact actions, service wildcards and partial wildcards, in any case', () => {
    for (const action of ['dynamodb:PutItem', 'dynamodb:*', 'dynamodb:Put*', 'DynamoDB:putitem', 'sns:Publish', 'sns:*', 'sns:Pub?ish', 'secretsmanager:Get*']) {
      assert.ok(coversSensitive(action), action);
    }
    for (const action of ['dynamodb:DescribeTable', 'sns:Subscribe', 'sqs:SendMessage', 'logs:*', 'kms:Decrypt']) {
      assert.ok(!coversSensitive(action), action);
    }
  });
});

describe('demo context flags', () => {
  const read = (context: Record<string, string>) => demoStackPropsFromContext((key) => context[key]);

  test('default to OAuth, arm64, stack TicketBridgeDemo', () => {
    const { stackName, props } = read({});
    assert.equal(stackName, 'TicketBridgeDemo');
    assert.deepEqual(props.auth, { kind: 'oauth' });
    assert.equal(props.architecture?.name, 'arm64');
  });

  test('switch architecture for every function', () => {
    const { json } = synthDemo({ arch: 'x86_64' });
    for (const [, fn] of resourcesOfType(json, 'AWS::Lambda::Function')) assert.deepEqual(fn.Properties!.Architectures, ['x86_64']);
  });

  test('drop reserved concurrency with reservedConcurrency=none', () => {
    const { json } = synthDemo({ reservedConcurrency: 'none' });
    assert.equal('ReservedConcurrentExecutions' in functionsByBinary(json).notifier[1].Properties!, false);
  });

  test('refuse incomplete or malformed settings', () => {
    assert.throws(() => read({ auth: 'apikey' }), /outsetaDomain/);
    assert.throws(() => read({ ...APIKEY_CONTEXT, fromPersonUid: '' }), /fromPersonEmail/);
    assert.throws(() => read({ ...APIKEY_CONTEXT, outsetaDomain: 'https://acme.outseta.com/' }), /host name/);
    assert.throws(() => read({ auth: 'basic' }), /oauth or apikey/);
    assert.throws(() => read({ arch: 'arm' }), /arm64 or x86_64/);
    assert.throws(() => read({ reservedConcurrency: '0' }), /positive integer/);
    assert.throws(() => read({ fromPersonUid: 'a', fromPersonEmail: 'b@example.com' }), /only one/);
    assert.throws(() => read({ connectionKmsKeyArn: 'alias/mine' }), /KMS key ARN/);
    assert.throws(() => demoStackPropsFromContext((key) => (key === 'auth' ? { kind: 'oauth' } : undefined)), /-c auth must be a string/);
  });
});

function urlOf(json: CfnTemplate, functionId: string): string {
  const [urlId] = resourcesOfType(json, 'AWS::Lambda::Url').find(([, u]) => u.Properties!.TargetFunctionArn['Fn::GetAtt'][0] === functionId)!;
  return urlId;
}

function authVarsOf(json: CfnTemplate) {
  return functionsByBinary(json).mockAuth[1].Properties!.Environment.Variables;
}

function roleOfMachine(json: CfnTemplate): string {
  const [, machine] = onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine');
  return machine.Properties!.RoleArn['Fn::GetAtt'][0];
}
