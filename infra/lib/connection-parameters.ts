import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { IConstruct } from 'constructs';

/**
 * What EventBridge's API accepts in one field of a connection
 * (`AWS::Events::Connection`, whose properties mirror the `CreateConnection` request).
 *
 * Source: the EventBridge API model as botocore ships it
 * (`botocore/data/events/2015-10-07/service-2.json`, shapes named in `shape`).
 * The values below are that model's, and `test/connection-model.test.ts` checks
 * every one of them against the pinned botocore release on each run, so they
 * cannot drift from it unnoticed. Patterns are Smithy patterns: not implicitly
 * anchored, so an unanchored one needs a match anywhere in the value.
 */
export interface ConnectionFieldRule {
  /** The API model's shape of the field. */
  readonly shape: string;
  /** @default no lower bound */
  readonly min?: number;
  /** @default no upper bound */
  readonly max?: number;
  /** @default any value */
  readonly pattern?: string;
  /** @default any value */
  readonly enum?: readonly string[];
  /** Whether the model marks the value sensitive (it is then never echoed in errors). @default false */
  readonly sensitive?: boolean;
}

// Shared shapes, as the model defines them (see ConnectionFieldRule).
const AUTH_HEADER: ConnectionFieldRule = {
  shape: 'AuthHeaderParameters',
  min: 1,
  max: 512,
  pattern: '^[ \\t]*[^\\x00-\\x1F:\\x7F]+([ \\t]+[^\\x00-\\x1F:\\x7F]+)*[ \\t]*$',
};
const AUTH_HEADER_SENSITIVE: ConnectionFieldRule = { ...AUTH_HEADER, shape: 'AuthHeaderParametersSensitive', sensitive: true };
const HTTP_PARAMETER_RULES = (prefix: string): Record<string, ConnectionFieldRule> => ({
  [`${prefix}.HeaderParameters[].Key`]: { shape: 'HeaderKey', max: 512, pattern: "^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$" },
  [`${prefix}.HeaderParameters[].Value`]: {
    shape: 'HeaderValueSensitive',
    max: 512,
    pattern: '^[ \\t]*[\\x20-\\x7E]+([ \\t]+[\\x20-\\x7E]+)*[ \\t]*$',
    sensitive: true,
  },
  [`${prefix}.QueryStringParameters[].Key`]: { shape: 'QueryStringKey', max: 512, pattern: '[^\\x00-\\x1F\\x7F]+' },
  [`${prefix}.QueryStringParameters[].Value`]: {
    shape: 'QueryStringValueSensitive',
    max: 512,
    pattern: '[^\\x00-\\x09\\x0B\\x0C\\x0E-\\x1F\\x7F]+',
    sensitive: true,
  },
  [`${prefix}.BodyParameters[].Key`]: { shape: 'String' },
  [`${prefix}.BodyParameters[].Value`]: { shape: 'SensitiveString', sensitive: true },
});

/**
 * The constraints of every literal a connection's template can carry, by path
 * in the `AWS::Events::Connection` properties (`[]` marks a list element).
 */
export const CONNECTION_FIELD_RULES: Readonly<Record<string, ConnectionFieldRule>> = {
  Name: { shape: 'ConnectionName', min: 1, max: 64, pattern: '[\\.\\-_A-Za-z0-9]+' },
  Description: { shape: 'ConnectionDescription', max: 512, pattern: '.*' },
  KmsKeyIdentifier: { shape: 'KmsKeyIdentifier', max: 2048, pattern: '^[a-zA-Z0-9_\\-/:]*$' },
  'AuthParameters.ApiKeyAuthParameters.ApiKeyName': AUTH_HEADER,
  'AuthParameters.ApiKeyAuthParameters.ApiKeyValue': AUTH_HEADER_SENSITIVE,
  'AuthParameters.BasicAuthParameters.Username': AUTH_HEADER,
  'AuthParameters.BasicAuthParameters.Password': AUTH_HEADER_SENSITIVE,
  'AuthParameters.OAuthParameters.AuthorizationEndpoint': {
    shape: 'HttpsEndpoint',
    min: 1,
    max: 2048,
    pattern: "^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$",
  },
  'AuthParameters.OAuthParameters.HttpMethod': { shape: 'ConnectionOAuthHttpMethod', enum: ['GET', 'POST', 'PUT'] },
  'AuthParameters.OAuthParameters.ClientParameters.ClientID': AUTH_HEADER,
  'AuthParameters.OAuthParameters.ClientParameters.ClientSecret': AUTH_HEADER_SENSITIVE,
  ...HTTP_PARAMETER_RULES('AuthParameters.InvocationHttpParameters'),
  ...HTTP_PARAMETER_RULES('AuthParameters.OAuthParameters.OAuthHttpParameters'),
};

/** Why `value` breaks `rule`, or `undefined` when the API accepts it. */
export function ruleViolation(rule: ConnectionFieldRule, value: string): string | undefined {
  const length = [...value].length;
  if (rule.min !== undefined && length < rule.min) return `is ${length} characters long, the minimum is ${rule.min}`;
  if (rule.max !== undefined && length > rule.max) return `is ${length} characters long, the maximum is ${rule.max}`;
  if (rule.enum && !rule.enum.includes(value)) return `must be one of ${rule.enum.join(', ')}`;
  if (rule.pattern !== undefined && !new RegExp(rule.pattern).test(value)) {
    const hint = rule.pattern.includes(':\\x7F') && value.includes(':') ? ' (it contains ":", which this field refuses)' : '';
    return `does not match the API's pattern ${rule.pattern}${hint}`;
  }
  return undefined;
}

/** One literal that the API would refuse. */
export interface ConnectionFieldProblem {
  /** Path in the `AWS::Events::Connection` properties, e.g. `AuthParameters.ApiKeyAuthParameters.ApiKeyValue`. */
  readonly path: string;
  readonly shape: string;
  readonly message: string;
}

/** What {@link checkConnectionProperties} saw. */
export interface ConnectionCheck {
  readonly problems: ConnectionFieldProblem[];
  /** Literal values checked against a rule. */
  readonly checked: number;
  /** Values that are CloudFormation expressions or dynamic references, known only at deploy time. */
  readonly deployTime: number;
}

/** Whether a template value is only known at deploy time: an intrinsic function or a `{{resolve:...}}` reference. */
export function isDeployTimeValue(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('{{resolve:');
  return typeof value === 'object' && value !== null && !Array.isArray(value) && isIntrinsic(value);
}

/**
 * Checks every literal of a connection's CloudFormation properties (the
 * resolved template JSON) against {@link CONNECTION_FIELD_RULES}. Values known
 * only at deploy time are counted, not checked.
 */
export function checkConnectionProperties(properties: Record<string, unknown>): ConnectionCheck {
  const problems: ConnectionFieldProblem[] = [];
  let checked = 0;
  let deployTime = 0;
  const visit = (value: unknown, rulePath: string, path: string) => {
    const rule = CONNECTION_FIELD_RULES[rulePath];
    if (rule) {
      if (isDeployTimeValue(value)) {
        deployTime += 1;
        return;
      }
      if (typeof value !== 'string') return;
      checked += 1;
      const violation = ruleViolation(rule, value);
      if (violation) {
        const shown = rule.sensitive ? '(value not shown)' : JSON.stringify(value);
        problems.push({ path, shape: rule.shape, message: `${path} ${shown} ${violation} (EventBridge API shape ${rule.shape})` });
      }
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${rulePath}[]`, `${path}[${index}]`));
    } else if (typeof value === 'object' && value !== null && !isIntrinsic(value)) {
      for (const [key, child] of Object.entries(value)) {
        visit(child, rulePath ? `${rulePath}.${key}` : key, path ? `${path}.${key}` : key);
      }
    }
  };
  visit(properties, '', '');
  return { problems, checked, deployTime };
}

function isIntrinsic(value: object): boolean {
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

/** The `AWS::Events::Connection` resource of a connection defined in this app, if it is one. */
export function cfnConnectionOf(connection: events.IConnection): events.CfnConnection | undefined {
  if (connection instanceof events.CfnConnection) return connection;
  return (connection as IConstruct).node.children.find((child): child is events.CfnConnection => child instanceof events.CfnConnection);
}

const VALIDATED = new WeakSet<events.CfnConnection>();

/**
 * Makes synthesis fail, naming the field, when a connection defined in this
 * app holds a literal value EventBridge's API would refuse (CloudFormation
 * would only find out at deploy time, as `CREATE_FAILED`). Connections imported
 * by ARN are not ours to check.
 */
export function validateConnectionParameters(connection: events.IConnection): void {
  const resource = cfnConnectionOf(connection);
  if (!resource || VALIDATED.has(resource)) return;
  VALIDATED.add(resource);
  resource.node.addValidation({
    validate: () => {
      // The resource's CloudFormation JSON, as the template will hold it.
      const rendered = Stack.of(resource).resolve((resource as unknown as { _toCloudFormation(): object })._toCloudFormation()) as {
        Resources: Record<string, { Properties?: Record<string, unknown> }>;
      };
      const properties = Object.values(rendered.Resources)[0]?.Properties ?? {};
      return checkConnectionProperties(properties).problems.map((problem) => `EventBridge connection ${connection.node.path}: ${problem.message}`);
    },
  });
}
