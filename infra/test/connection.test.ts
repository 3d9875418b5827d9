import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SecretValue, Stack, Tags } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import {
  FailureTicketBridge,
  OUTSETA_CONNECTION_HEADER,
  OUTSETA_CONNECTION_HEADER_VALUE,
  OutsetaConnection,
  OutsetaCredentials,
  ScopedHttpInvoke,
  WATCHED_EXECUTION_ACTIONS,
  WATCHED_MACHINE_ACTIONS,
  cfnConnectionOf,
  checkConnectionProperties,
  outsetaAuthorization,
  stateMachineArnFromName,
} from '../lib';
import { allStatements, asList, cfn, offlineApp, onlyResourceOfType, resourcesOfType, synthDemo, templateOf } from './support';

const TICKET_URL = 'https://acme.outseta.com/api/v1/support/cases';
const KEY_SECRET = SecretValue.secretsManager('ticket-bridge/outseta-auth');
const DYNAMIC_REF = '{{resolve:secretsmanager:ticket-bridge/outseta-auth:SecretString:::}}';
const DEMO_VARIANTS: Record<string, string>[] = [{}, { auth: 'apikey', outsetaDomain: 'acme.outseta.com', outsetaSecretName: 's', fromPersonUid: 'u' }];

function connectionProperties(stack: Stack) {
  return onlyResourceOfType(templateOf(stack).json, 'AWS::Events::Connection')[1].Properties!;
}

describe('OutsetaConnection', () => {
  test('is an API-key connection with a colon-free key and the credential as a secret Authorization header', () => {
    const stack = new Stack(offlineApp(), 'S');
    new OutsetaConnection(stack, 'Outseta', { credentials: OutsetaCredentials.fromKeySecret(KEY_SECRET) });
    const props = connectionProperties(stack);
    assert.equal(props.AuthorizationType, 'API_KEY');
    assert.deepEqual(props.AuthParameters.ApiKeyAuthParameters, { ApiKeyName: OUTSETA_CONNECTION_HEADER, ApiKeyValue: OUTSETA_CONNECTION_HEADER_VALUE });
    assert.deepEqual(props.AuthParameters.InvocationHttpParameters, {
      // CloudFormation replaces the reference inside the string at deploy time.
      HeaderParameters: [{ Key: 'Authorization', Value: `Outseta ${DYNAMIC_REF}`, IsValueSecret: true }],
    });
    assert.equal(props.KmsKeyIdentifier, undefined, "EventBridge's AWS owned key by default");
  });

  test('builds the header from the key and the secret apart (two JSON fields)', () => {
    const stack = new Stack(offlineApp(), 'S');
    const field = (jsonField: string) => SecretValue.secretsManager('outseta', { jsonField });
    new OutsetaConnection(stack, 'Outseta', { credentials: OutsetaCredentials.fromKeyAndSecret(field('apiKey'), field('secretKey')) });
    const [header] = connectionProperties(stack).AuthParameters.InvocationHttpParameters.HeaderParameters;
    assert.equal(header.Value, 'Outseta {{resolve:secretsmanager:outseta:SecretString:apiKey::}}:{{resolve:secretsmanager:outseta:SecretString:secretKey::}}');
  });

  test('a literal credential passes the API model: the colon sits in a header parameter, which allows it', () => {
    const stack = new Stack(offlineApp(), 'S');
    new OutsetaConnection(stack, 'Outseta', { credentials: OutsetaCredentials.fromKeySecret(SecretValue.unsafePlainText('k3y:s3cret')) });
    const props = connectionProperties(stack); // synthesis validated it
    assert.equal(props.AuthParameters.InvocationHttpParameters.HeaderParameters[0].Value, 'Outseta k3y:s3cret');
    const check = checkConnectionProperties(props);
    assert.deepEqual(check.problems, []);
    assert.ok(check.checked >= 4, `checked ${check.checked}`);
  });

  test('outsetaAuthorization gives the whole header value', () => {
    const stack = new Stack(offlineApp(), 'S');
    assert.equal(stack.resolve(outsetaAuthorization(SecretValue.unsafePlainText('a:b')).unsafeUnwrap()), 'Outseta a:b');
  });

  test('FailureTicketBridge `outseta` creates one, and the notifier reads its secret', () => {
    const stack = new Stack(offlineApp(), 'S');
    const bridge = new FailureTicketBridge(stack, 'Bridge', { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' }, outseta: OutsetaCredentials.fromKeySecret(KEY_SECRET) });
    assert.ok(bridge.connection instanceof OutsetaConnection);
    const props = connectionProperties(stack);
    assert.equal(props.AuthParameters.ApiKeyAuthParameters.ApiKeyName, OUTSETA_CONNECTION_HEADER);
  });
});

describe('literal connection parameters the EventBridge API would refuse fail synthesis', () => {
  const bridgeWith = (authorization: events.Authorization, headerParameters?: Record<string, events.HttpParameter>) => {
    const stack = new Stack(offlineApp(), 'S');
    const connection = new events.Connection(stack, 'Api', { authorization, headerParameters });
    new FailureTicketBridge(stack, 'Bridge', { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' }, connection });
    return () => Template.fromStack(stack);
  };

  test('the old recipe: "Outseta KEY:SECRET" as an API-key value, named by field, value not echoed', () => {
    const synth = bridgeWith(events.Authorization.apiKey('Authorization', SecretValue.unsafePlainText('Outseta k3y:s3cret')));
    assert.throws(synth, (error: Error) => {
      assert.match(error.message, /AuthParameters\.ApiKeyAuthParameters\.ApiKeyValue/);
      assert.match(error.message, /AuthHeaderParametersSensitive/);
      assert.match(error.message, /contains ":"/);
      assert.ok(!error.message.includes('s3cret'), 'the secret is not echoed');
      return true;
    });
  });

  test('a Basic password or an OAuth client secret with a colon, a header name with a space', () => {
    assert.throws(bridgeWith(events.Authorization.basic('user', SecretValue.unsafePlainText('pa:ss'))), /BasicAuthParameters\.Password/);
    assert.throws(
      bridgeWith(
        events.Authorization.oauth({
          authorizationEndpoint: 'https://auth.example.com/token',
          httpMethod: events.HttpMethod.POST,
          clientId: 'client',
          clientSecret: SecretValue.unsafePlainText('a:b'),
        }),
      ),
      /OAuthParameters\.ClientParameters\.ClientSecret/,
    );
    assert.throws(
      bridgeWith(events.Authorization.apiKey('x-api-key', SecretValue.secretsManager('k')), { 'Bad Header': events.HttpParameter.fromString('v') }),
      /InvocationHttpParameters\.HeaderParameters\[0\]\.Key "Bad Header"/,
    );
  });

  test('deploy-time values are counted, not judged', () => {
    const check = checkConnectionProperties({
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: DYNAMIC_REF } },
    });
    assert.deepEqual([check.checked, check.deployTime, check.problems.length], [1, 1, 0]);
  });
});

/** The statements of the role of the Lambda function whose environment has `TICKET_API_URL`, or of the state machine. */
function roleStatements(json: ReturnType<typeof templateOf>['json'], whose: 'notifier' | 'machine', service: string) {
  const [, holderResource] =
    whose === 'notifier'
      ? resourcesOfType(json, 'AWS::Lambda::Function').find(([, r]) => r.Properties?.Environment?.Variables?.TICKET_API_URL)!
      : onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine');
  const roleArn = whose === 'notifier' ? holderResource.Properties!.Role : holderResource.Properties!.RoleArn;
  const roleId = roleArn['Fn::GetAtt'][0];
  return allStatements(json)
    .filter(({ holder }) => json.Resources[holder].Properties?.Roles?.some((r: any) => r.Ref === roleId))
    .map(({ statement }) => statement)
    .filter((statement) => asList<string>(statement.Action).some((a) => a.startsWith(`${service}:`)));
}

describe('customer managed key of the connection', () => {
  test("AWS owned key (the default): no KMS permission for the notifier or the machine", () => {
    for (const context of DEMO_VARIANTS) {
      const { json } = synthDemo(context);
      assert.deepEqual(roleStatements(json, 'notifier', 'kms'), []);
      assert.deepEqual(roleStatements(json, 'machine', 'kms'), []);
      assert.equal(onlyResourceOfType(json, 'AWS::Events::Connection')[1].Properties!.KmsKeyIdentifier, undefined);
    }
  });

  test('customer managed key: kms:Decrypt for both roles, for the connection secret only, through Secrets Manager', () => {
    const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    for (const auth of DEMO_VARIANTS) {
      const { json } = synthDemo({ ...auth, connectionKmsKeyArn: keyArn });
      const [connectionId, connection] = onlyResourceOfType(json, 'AWS::Events::Connection');
      assert.equal(connection.Properties!.KmsKeyIdentifier, keyArn);
      for (const whose of ['notifier', 'machine'] as const) {
        const statements = roleStatements(json, whose, 'kms');
        assert.deepEqual(statements, [
          {
            Action: 'kms:Decrypt',
            Effect: 'Allow',
            Resource: keyArn,
            Condition: {
              StringEquals: {
                'kms:EncryptionContext:SecretARN': { 'Fn::GetAtt': [connectionId, 'SecretArn'] },
                'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
              },
            },
          },
        ], `${whose} (${JSON.stringify(auth)})`);
      }
    }
  });

  test('a key of this app on an Outseta connection, or passed for an imported connection', () => {
    const stack = new Stack(offlineApp(), 'S');
    const key = new kms.Key(stack, 'ConnectionKey');
    Tags.of(key).add('EventBridgeApiDestinations', 'true');
    new FailureTicketBridge(stack, 'Bridge', { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' }, outseta: OutsetaCredentials.fromKeySecret(KEY_SECRET), connectionKey: key });
    const { json } = templateOf(stack);
    const [keyId] = onlyResourceOfType(json, 'AWS::KMS::Key');
    assert.deepEqual(onlyResourceOfType(json, 'AWS::Events::Connection')[1].Properties!.KmsKeyIdentifier, { 'Fn::GetAtt': [keyId, 'Arn'] });
    const [statement] = roleStatements(json, 'notifier', 'kms');
    assert.deepEqual([statement.Action, statement.Resource], ['kms:Decrypt', { 'Fn::GetAtt': [keyId, 'Arn'] }]);

    const imported = new Stack(offlineApp(), 'I');
    const connection = events.Connection.fromConnectionAttributes(imported, 'C', {
      connectionName: 'outseta',
      connectionArn: 'arn:aws:events:eu-west-1:111122223333:connection/outseta/1234',
      connectionSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:events!connection/outseta/1234-AbCdEf',
    });
    const importedKey = kms.Key.fromKeyArn(imported, 'K', 'arn:aws:kms:eu-west-1:111122223333:key/abcd');
    new FailureTicketBridge(imported, 'Bridge', { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' }, connection, connectionKey: importedKey });
    assert.deepEqual(roleStatements(templateOf(imported).json, 'notifier', 'kms'), [
      {
        Action: 'kms:Decrypt',
        Effect: 'Allow',
        Resource: 'arn:aws:kms:eu-west-1:111122223333:key/abcd',
        Condition: {
          StringEquals: {
            'kms:EncryptionContext:SecretARN': 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:events!connection/outseta/1234-AbCdEf',
            'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com',
          },
        },
      },
    ]);
  });

  test('refuses a KmsKeyIdentifier that is not a key ARN: an alias cannot scope a grant', () => {
    const stack = new Stack(offlineApp(), 'S');
    const connection = new events.Connection(stack, 'C', { authorization: events.Authorization.apiKey('x-api-key', SecretValue.secretsManager('k')) });
    cfnConnectionOf(connection)!.kmsKeyIdentifier = 'alias/connections';
    assert.throws(
      () => new FailureTicketBridge(stack, 'Bridge', { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' }, connection }),
      /"alias\/connections" is not a key ARN/,
    );
  });
});

describe('watch()', () => {
  function bridgeAndMachine(type?: sfn.StateMachineType) {
    const stack = new Stack(offlineApp(), 'S');
    const bridge = new FailureTicketBridge(stack, 'Bridge', { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' }, outseta: OutsetaCredentials.fromKeySecret(KEY_SECRET) });
    const step = new sfn.Pass(stack, 'Step');
    const machine = new sfn.StateMachine(stack, 'Machine', {
      stateMachineName: 'orders',
      stateMachineType: type,
      definitionBody: sfn.DefinitionBody.fromChainable(step),
    });
    return { stack, bridge, machine };
  }

  test('refuses an Express machine: EventBridge gets no status change events from Express workflows', () => {
    const { bridge, machine } = bridgeAndMachine(sfn.StateMachineType.EXPRESS);
    assert.throws(() => bridge.watch(machine), /S\/Machine is an Express state machine.*Standard workflows only.*catchFailures/s);
    // A Standard machine is watched; the Catch path is for Express ones.
    const standard = bridgeAndMachine(sfn.StateMachineType.STANDARD);
    assert.doesNotThrow(() => standard.bridge.watch(standard.machine));
  });

  test('the Catch path works in an Express machine', () => {
    const stack = new Stack(offlineApp(), 'S');
    const bridge = new FailureTicketBridge(stack, 'Bridge', { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' }, outseta: OutsetaCredentials.fromKeySecret(KEY_SECRET) });
    const step = new sfn.Pass(stack, 'Step');
    const parallel = new sfn.Parallel(stack, 'Fan').branch(step);
    bridge.catchFailures([parallel]);
    new sfn.StateMachine(stack, 'Express', { stateMachineType: sfn.StateMachineType.EXPRESS, definitionBody: sfn.DefinitionBody.fromChainable(parallel) });
    const [, machine] = onlyResourceOfType(templateOf(stack).json, 'AWS::StepFunctions::StateMachine');
    assert.equal(machine.Properties!.StateMachineType, 'EXPRESS');
    assert.equal(cfn.stateMachines(templateOf(stack).json)[0].definition.States.Fan.Catch[0].Next, 'Fan-NotifyFailure');
  });

  test("lets the notifier read the history of the watched machine's executions and its tags, and of no other machine", () => {
    const { stack, bridge, machine } = bridgeAndMachine();
    bridge.watch(machine);
    bridge.watch(sfn.StateMachine.fromStateMachineArn(stack, 'Imported', 'arn:aws:states:eu-west-1:111122223333:stateMachine:billing'));
    const { json } = templateOf(stack);
    const statements = roleStatements(json, 'notifier', 'states');
    assert.deepEqual(statements.map((s) => asList<string>(s.Action)), [
      [...WATCHED_EXECUTION_ACTIONS],
      [...WATCHED_MACHINE_ACTIONS],
      [...WATCHED_EXECUTION_ACTIONS],
      [...WATCHED_MACHINE_ACTIONS],
    ]);
    assert.deepEqual(
      statements.map((s) => cfn.resolve(json, s.Resource)),
      [
        `arn:aws:states:${cfn.FAKE.region}:${cfn.FAKE.account}:execution:orders:*`,
        cfn.resolve(json, { Ref: onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine')[0] }),
        'arn:aws:states:eu-west-1:111122223333:execution:billing:*',
        'arn:aws:states:eu-west-1:111122223333:stateMachine:billing',
      ],
    );
    assert.deepEqual(WATCHED_EXECUTION_ACTIONS, ['states:GetExecutionHistory']);
    // In a policy of its own, which the function does not wait for: no dependency cycle.
    const [fnId, fn] = resourcesOfType(json, 'AWS::Lambda::Function').find(([, r]) => r.Properties?.Environment?.Variables?.TICKET_API_URL)!;
    const holders = allStatements(json).filter(({ statement }) => asList<string>(statement.Action).includes('states:GetExecutionHistory'));
    assert.ok(holders.every(({ holder }) => !asList(fn.DependsOn).includes(holder)), `${fnId} does not depend on the history policy`);
  });

  test('without watch() the notifier reads no history', () => {
    const { stack } = bridgeAndMachine();
    assert.deepEqual(roleStatements(templateOf(stack).json, 'notifier', 'states'), []);
  });
});

describe('grantConnectionKeyDecrypt', () => {
  test('grants the scoped kms:Decrypt to a role of your own, only with a customer managed key', () => {
    const stack = new Stack(offlineApp(), 'S');
    const key = new kms.Key(stack, 'Key');
    const bridge = new FailureTicketBridge(stack, 'Bridge', { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' }, outseta: OutsetaCredentials.fromKeySecret(KEY_SECRET), connectionKey: key });
    const machine = new sfn.StateMachine(stack, 'M', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P')) });
    assert.equal(bridge.grantConnectionKeyDecrypt(machine), true);
    const [statement] = roleStatements(templateOf(stack).json, 'machine', 'kms');
    assert.equal(statement.Action, 'kms:Decrypt');
    assert.ok(statement.Condition.StringEquals['kms:EncryptionContext:SecretARN']);

    const plain = new Stack(offlineApp(), 'P');
    const plainBridge = new FailureTicketBridge(plain, 'Bridge', { ticketApiUrl: TICKET_URL, fromPerson: { uid: 'u' }, outseta: OutsetaCredentials.fromKeySecret(KEY_SECRET) });
    const plainMachine = new sfn.StateMachine(plain, 'M', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(plain, 'P')) });
    assert.equal(plainBridge.grantConnectionKeyDecrypt(plainMachine), false);
    assert.deepEqual(roleStatements(templateOf(plain).json, 'machine', 'kms'), []);
  });
});

describe('ScopedHttpInvoke with an Outseta connection', () => {
  test('refuses an Authorization header in the task: Step Functions would refuse the definition', () => {
    const stack = new Stack(offlineApp(), 'S');
    const connection = new OutsetaConnection(stack, 'Outseta', { credentials: OutsetaCredentials.fromKeySecret(KEY_SECRET) });
    for (const headers of [{ Authorization: 'Outseta a:b' }, { 'authorization.$': '$.token' }]) {
      assert.throws(
        () => new ScopedHttpInvoke(stack, `Call${Object.keys(headers)[0]}`, { connection, method: 'GET', endpoint: 'https://acme.outseta.com/api/v1/support/cases', headers }),
        /cannot set the "[aA]uthorization(\.\$)?" header; put the credential in the connection/,
      );
    }
  });

  test('the machine may use the connection and decrypt its secret with the connection key', () => {
    const stack = new Stack(offlineApp(), 'S');
    const key = new kms.Key(stack, 'Key');
    const connection = new OutsetaConnection(stack, 'Outseta', { credentials: OutsetaCredentials.fromKeySecret(KEY_SECRET), kmsKey: key });
    const call = new ScopedHttpInvoke(stack, 'List', { connection, method: 'GET', endpoint: 'https://acme.outseta.com/api/v1/support/cases' });
    const machine = new sfn.StateMachine(stack, 'M', { stateMachineName: 'm', definitionBody: sfn.DefinitionBody.fromChainable(call) });
    call.grantInvoke(machine, stateMachineArnFromName(stack, 'm'));
    const { json } = templateOf(stack);
    const [keyId] = onlyResourceOfType(json, 'AWS::KMS::Key');
    const [statement] = roleStatements(json, 'machine', 'kms');
    assert.deepEqual([statement.Action, statement.Resource], ['kms:Decrypt', { 'Fn::GetAtt': [keyId, 'Arn'] }]);
  });
});
