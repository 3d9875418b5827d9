// Reads state machine definitions out of a synthesized CloudFormation template.
//
// CDK renders a definition as an `Fn::Join` of JSON text and references
// (`Ref`, `Fn::GetAtt`). Offline there is no stack to resolve them against, so
// each reference becomes a fake but well-formed value that still says which
// resource it came from (the logical id sits in the ARN or host name). The
// local run maps those values back to resources; asl-validator sees valid ARNs.
//
// CommonJS so that both the ES-module runner and the compiled TypeScript tests load it.
'use strict';

const fs = require('node:fs');

const FAKE = Object.freeze({ partition: 'aws', region: 'us-east-1', account: '123456789012', urlSuffix: 'amazonaws.com' });

const PSEUDO = {
  'AWS::Partition': FAKE.partition,
  'AWS::Region': FAKE.region,
  'AWS::AccountId': FAKE.account,
  'AWS::URLSuffix': FAKE.urlSuffix,
  'AWS::StackName': 'LocalStack',
  'AWS::NoValue': undefined,
};

function loadTemplate(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function resourceOf(template, logicalId) {
  const resource = template.Resources && template.Resources[logicalId];
  if (!resource) throw new Error(`template has no resource ${logicalId}`);
  return resource;
}

function stateMachineName(template, logicalId) {
  const name = resourceOf(template, logicalId).Properties?.StateMachineName;
  return typeof name === 'string' ? name : logicalId;
}

/** The fake value of `Fn::GetAtt: [logicalId, attribute]`. */
function fakeAttribute(template, logicalId, attribute) {
  const { Type } = resourceOf(template, logicalId);
  const { partition: p, region: r, account: a } = FAKE;
  switch (`${Type}.${attribute}`) {
    case 'AWS::Lambda::Function.Arn':
      return `arn:${p}:lambda:${r}:${a}:function:${logicalId}`;
    case 'AWS::Lambda::Url.FunctionUrl':
      return `https://${logicalId.toLowerCase()}.lambda-url.${r}.on.aws/`;
    case 'AWS::Lambda::Url.FunctionArn':
      return `arn:${p}:lambda:${r}:${a}:function:${logicalId}`;
    case 'AWS::Events::Connection.Arn':
      return `arn:${p}:events:${r}:${a}:connection/${logicalId}/00000000-0000-0000-0000-000000000000`;
    case 'AWS::Events::Connection.SecretArn':
      return `arn:${p}:secretsmanager:${r}:${a}:secret:events!connection/${logicalId}/00000000-0000-0000-0000-000000000000-AbCdEf`;
    case 'AWS::StepFunctions::StateMachine.Arn':
      return `arn:${p}:states:${r}:${a}:stateMachine:${stateMachineName(template, logicalId)}`;
    case 'AWS::StepFunctions::StateMachine.Name':
      return stateMachineName(template, logicalId);
    case 'AWS::SQS::Queue.Arn':
      return `arn:${p}:sqs:${r}:${a}:${logicalId}`;
    case 'AWS::DynamoDB::Table.Arn':
      return `arn:${p}:dynamodb:${r}:${a}:table/${logicalId}`; // the table's name is its Ref, the logical id
    case 'AWS::SNS::Topic.TopicArn':
      return `arn:${p}:sns:${r}:${a}:${logicalId}`;
    case 'AWS::IAM::Role.Arn':
      return `arn:${p}:iam::${a}:role/${logicalId}`;
    default:
      return `arn:${p}:cloudformation:${r}:${a}:fake/${logicalId}/${attribute}`;
  }
}

/** The fake value of `Ref: logicalId`. */
function fakeRef(template, logicalId) {
  if (logicalId in PSEUDO) return PSEUDO[logicalId];
  if (template.Parameters && logicalId in template.Parameters) {
    const parameter = template.Parameters[logicalId];
    if (parameter.Default !== undefined) return parameter.Default;
    throw new Error(`parameter ${logicalId} has no default`);
  }
  const { Type } = resourceOf(template, logicalId);
  switch (Type) {
    case 'AWS::StepFunctions::StateMachine':
    case 'AWS::SNS::Topic':
    case 'AWS::Events::Connection':
      return fakeAttribute(template, logicalId, Type === 'AWS::SNS::Topic' ? 'TopicArn' : 'Arn');
    default:
      return logicalId; // functions, roles, secrets...: their name or id
  }
}

/** Resolves the intrinsic functions CDK uses in definitions and IAM documents. */
function resolve(template, value) {
  if (Array.isArray(value)) return value.map((item) => resolve(template, item));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [key] = keys;
    const arg = value[key];
    switch (key) {
      case 'Ref':
        return fakeRef(template, arg);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return fakeAttribute(template, logicalId, attribute);
      }
      case 'Fn::Join': {
        const [separator, parts] = arg;
        return resolve(template, parts).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = resolve(template, arg);
        return list[Number(index)];
      }
      case 'Fn::Split': {
        const [separator, source] = resolve(template, arg);
        return String(source).split(separator);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
        const bound = resolve(template, vars);
        return text.replace(/\$\{([^}!]+)\}/g, (_, name) => {
          if (name in bound) return bound[name];
          if (name.includes('.')) {
            const [logicalId, attribute] = name.split('.');
            return fakeAttribute(template, logicalId, attribute);
          }
          return fakeRef(template, name);
        });
      }
      default:
        if (key.startsWith('Fn::')) throw new Error(`cannot resolve ${key} offline`);
    }
  }
  return Object.fromEntries(keys.map((key) => [key, resolve(template, value[key])]));
}

/** Every state machine in the template, with its definition as a JSON object. */
function stateMachines(template) {
  return Object.entries(template.Resources || {})
    .filter(([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine')
    .map(([logicalId, resource]) => {
      const props = resource.Properties || {};
      let text;
      if (props.Definition !== undefined) text = JSON.stringify(resolve(template, props.Definition));
      else if (props.DefinitionString !== undefined) text = resolve(template, props.DefinitionString);
      else throw new Error(`${logicalId} has no inline definition (DefinitionS3Location is not supported)`);
      const substitutions = resolve(template, props.DefinitionSubstitutions || {});
      text = text.replace(/\$\{([^}]+)\}/g, (match, name) => (name in substitutions ? String(substitutions[name]) : match));
      return {
        logicalId,
        name: stateMachineName(template, logicalId),
        arn: fakeAttribute(template, logicalId, 'Arn'),
        definition: JSON.parse(text),
      };
    });
}

/** The logical id inside a fake Lambda ARN made by {@link fakeAttribute}, or undefined. */
function logicalIdFromFunctionArn(arn) {
  const match = /^arn:[^:]+:lambda:[^:]+:[^:]+:function:([^:]+)(:.*)?$/.exec(String(arn));
  return match ? match[1] : undefined;
}

/** The logical id inside a fake connection ARN made by {@link fakeAttribute}, or undefined. */
function logicalIdFromConnectionArn(arn) {
  const match = /^arn:[^:]+:events:[^:]+:[^:]+:connection\/([^/]+)\//.exec(String(arn));
  return match ? match[1] : undefined;
}

module.exports = {
  FAKE,
  loadTemplate,
  resolve,
  stateMachines,
  logicalIdFromFunctionArn,
  logicalIdFromConnectionArn,
};
