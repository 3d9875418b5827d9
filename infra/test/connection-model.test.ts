// Every literal connection parameter of every template we synthesize, checked
// against EventBridge's own API model (botocore's events service-2.json), and
// our synth-time rule table checked against the same model.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { SecretValue, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import { CONNECTION_FIELD_RULES, FailureTicketBridge, OutsetaConnection, OutsetaCredentials, checkConnectionProperties } from '../lib';
import { botocoreVersion, checkAgainstModel, serviceModel, shapeAt } from './api-model';
import { CfnTemplate, offlineApp, resourcesOfType, synthDemo, templateOf } from './support';

const events2015 = serviceModel('events');
const ROOT = 'CreateConnectionRequest';
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const APIKEY = { auth: 'apikey', outsetaDomain: 'acme.outseta.com', outsetaSecretName: 'ticket-bridge/outseta-auth', fromPersonUid: 'dQGxEz94' };

/** Every template this repository synthesizes: the demo in each variant, construct set-ups, and what `cdk synth` wrote. */
function templates(): [string, CfnTemplate][] {
  const found: [string, CfnTemplate][] = [
    ['demo oauth', synthDemo().json],
    ['demo apikey', synthDemo(APIKEY).json],
    ['demo oauth + connection key', synthDemo({ connectionKmsKeyArn: KEY_ARN }).json],
    ['demo apikey + connection key', synthDemo({ ...APIKEY, connectionKmsKeyArn: KEY_ARN }).json],
  ];
  const construct = (name: string, build: (stack: Stack) => void) => {
    const stack = new Stack(offlineApp(), 'Consumer');
    build(stack);
    found.push([name, templateOf(stack).json]);
  };
  const base = { ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases', fromPerson: { uid: 'u' } };
  construct('bridge outseta (secret)', (s) => new FailureTicketBridge(s, 'B', { ...base, outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('o')) }));
  construct('bridge outseta (literal)', (s) => new FailureTicketBridge(s, 'B', { ...base, outseta: OutsetaCredentials.fromKeySecret(SecretValue.unsafePlainText('k3y:s3cret')) }));
  construct('bridge outseta (key + secret, customer key)', (s) =>
    new FailureTicketBridge(s, 'B', {
      ...base,
      outseta: OutsetaCredentials.fromKeyAndSecret(SecretValue.unsafePlainText('k3y'), SecretValue.unsafePlainText('s3cret')),
      connectionKey: new kms.Key(s, 'K'),
    }),
  );
  construct('outseta connection, named', (s) => new OutsetaConnection(s, 'C', { connectionName: 'outseta-tickets', credentials: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('o')) }));
  // What cdk synth wrote (scripts/test.sh synthesizes both demo modes before the tests).
  const infraDir = path.resolve(__dirname, '..', '..');
  for (const dir of fs.readdirSync(infraDir).filter((name) => name.startsWith('cdk.out'))) {
    for (const file of fs.readdirSync(path.join(infraDir, dir)).filter((name) => name.endsWith('.template.json'))) {
      found.push([`${dir}/${file}`, JSON.parse(fs.readFileSync(path.join(infraDir, dir, file), 'utf8')) as CfnTemplate]);
    }
  }
  return found;
}

describe(`connection parameters against the EventBridge API model (botocore ${botocoreVersion()})`, () => {
  test('every literal of every synthesized connection is one the API accepts', (t) => {
    let connections = 0;
    let checked = 0;
    let deployTime = 0;
    for (const [name, json] of templates()) {
      for (const [id, resource] of resourcesOfType(json, 'AWS::Events::Connection')) {
        const result = checkAgainstModel(events2015, ROOT, resource.Properties);
        assert.deepEqual(result.problems, [], `${name}: ${id}`);
        connections += 1;
        checked += result.checked;
        deployTime += result.deployTime;
      }
    }
    const summary = `${connections} connections: ${checked} literal values checked, ${deployTime} deploy-time values (references, dynamic references) skipped`;
    t.diagnostic(summary);
    console.log(`connection-model: ${summary}`);
    assert.ok(connections >= 8 && checked >= 30 && deployTime >= 5, summary);
  });

  test('the check bites: the old recipe, "Outseta KEY:SECRET" as the API-key value, is refused', () => {
    const stack = new Stack(offlineApp(), 'Old');
    // A bare events.Connection: nothing of ours validates it, so it synthesizes.
    new events.Connection(stack, 'C', { authorization: events.Authorization.apiKey('Authorization', SecretValue.unsafePlainText('Outseta KEY:SECRET')) });
    const [[, resource]] = resourcesOfType(templateOf(stack).json, 'AWS::Events::Connection');
    const result = checkAgainstModel(events2015, ROOT, resource.Properties);
    assert.equal(result.problems.length, 1, result.problems.join('\n'));
    assert.match(result.problems[0], /^AuthParameters\.ApiKeyAuthParameters\.ApiKeyValue \(AuthHeaderParametersSensitive\) \(value not shown\): does not match/);
    // ... while the same text as a header parameter value is fine.
    const header = checkAgainstModel(events2015, ROOT, { AuthParameters: { InvocationHttpParameters: { HeaderParameters: [{ Key: 'Authorization', Value: 'Outseta KEY:SECRET', IsValueSecret: true }] } } });
    assert.deepEqual(header.problems, []);
  });

  test('and it knows every field: a misspelt member is reported', () => {
    const result = checkAgainstModel(events2015, ROOT, { AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x', ApiKeyVal: 'y' } } });
    assert.deepEqual(result.problems, ['AuthParameters.ApiKeyAuthParameters.ApiKeyVal: not a member of CreateConnectionApiKeyAuthRequestParameters in the API model']);
  });
});

describe("the construct's synth-time rules are the API model's", () => {
  for (const [fieldPath, rule] of Object.entries(CONNECTION_FIELD_RULES)) {
    test(fieldPath, () => {
      const { name, shape } = shapeAt(events2015, ROOT, fieldPath);
      assert.equal(rule.shape, name);
      assert.deepEqual(
        { min: rule.min, max: rule.max, pattern: rule.pattern, enum: rule.enum, sensitive: rule.sensitive ?? false },
        { min: shape.min, max: shape.max, pattern: shape.pattern, enum: shape.enum, sensitive: shape.sensitive ?? false },
      );
    });
  }

  test('and cover every string field of a connection request the template can carry', () => {
    // Walk the model from the request: every string leaf (except the enum of the
    // authorization type and the private-connectivity ARNs) has a rule.
    const leaves: string[] = [];
    const walk = (shapeName: string, at: string, depth: number) => {
      const shape = events2015.shapes[shapeName];
      if (depth > 8) return;
      if (shape.type === 'structure') for (const [key, member] of Object.entries(shape.members ?? {})) walk(member.shape, at ? `${at}.${key}` : key, depth + 1);
      else if (shape.type === 'list') walk(shape.member!.shape, `${at}[]`, depth + 1);
      else if (shape.type === 'string') leaves.push(at);
    };
    walk(ROOT, '', 0);
    const uncovered = leaves.filter((leaf) => !(leaf in CONNECTION_FIELD_RULES) && !/ConnectivityParameters|^AuthorizationType$/.test(leaf));
    assert.deepEqual(uncovered, []);
  });

  test('and agree with the model on sample values', () => {
    const samples: [string, string][] = [
      ['AuthParameters.ApiKeyAuthParameters.ApiKeyValue', 'Outseta KEY:SECRET'],
      ['AuthParameters.ApiKeyAuthParameters.ApiKeyValue', 'header-parameter'],
      ['AuthParameters.InvocationHttpParameters.HeaderParameters[].Value', 'Outseta KEY:SECRET'],
      ['AuthParameters.InvocationHttpParameters.HeaderParameters[].Key', 'Bad Header'],
      ['AuthParameters.OAuthParameters.HttpMethod', 'PATCH'],
      ['Name', 'has space'],
    ];
    for (const [fieldPath, value] of samples) {
      const segments = fieldPath.split('.');
      const build = (i: number): unknown => {
        if (i === segments.length) return value;
        const segment = segments[i];
        return segment.endsWith('[]') ? { [segment.slice(0, -2)]: [build(i + 1)] } : { [segment]: build(i + 1) };
      };
      const properties = build(0) as Record<string, unknown>;
      const ours = checkConnectionProperties(properties).problems.length > 0;
      const model = checkAgainstModel(events2015, ROOT, properties).problems.length > 0;
      assert.equal(ours, model, `${fieldPath} = ${JSON.stringify(value)}`);
    }
  });
});
