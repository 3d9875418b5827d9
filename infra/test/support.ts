import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { demoStackPropsFromContext } from '../demo/demo-context';
import { DemoStack } from '../demo/demo-stack';

/** An app that synthesizes without building the Rust functions (no cargo, no Docker). */
export function offlineApp(context: Record<string, string> = {}): App {
  return new App({ postCliContext: { 'aws:cdk:bundling-stacks': [] }, context });
}

/** The demo stack as `cdk synth -c ...` builds it. */
export function synthDemo(context: Record<string, string> = {}): { stack: DemoStack; template: Template; json: CfnTemplate } {
  const app = offlineApp(context);
  const { stackName, props } = demoStackPropsFromContext((key) => app.node.tryGetContext(key));
  const stack = new DemoStack(app, stackName, props);
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() as CfnTemplate };
}

export function templateOf(stack: Stack): { template: Template; json: CfnTemplate } {
  const template = Template.fromStack(stack);
  return { template, json: template.toJSON() as CfnTemplate };
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, any>;
  DependsOn?: string | string[];
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}
export interface StateMachineDefinition {
  StartAt: string;
  States: Record<string, Record<string, any>>;
}

interface CfnModule {
  FAKE: { partition: string; region: string; account: string };
  resolve(template: CfnTemplate, value: unknown): any;
  stateMachines(template: CfnTemplate): { logicalId: string; name: string; arn: string; definition: StateMachineDefinition }[];
  logicalIdFromFunctionArn(arn: string): string | undefined;
}

/** The same template resolver the local run uses (plain CommonJS, shared with run.mjs). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const cfn: CfnModule = require(path.resolve(__dirname, '..', '..', 'test', 'local-sfn', 'cfn.cjs'));

export function onlyStateMachine(json: CfnTemplate) {
  const machines = cfn.stateMachines(json);
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  return machines[0];
}

export function resourcesOfType(json: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

export function onlyResourceOfType(json: CfnTemplate, type: string): [string, CfnResource] {
  const found = resourcesOfType(json, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/** The one rule with an event pattern (a watch rule), beside schedules such as the incident flush. */
export function onlyWatchRule(json: CfnTemplate): [string, CfnResource] {
  const found = resourcesOfType(json, 'AWS::Events::Rule').filter(([, r]) => r.Properties?.EventPattern);
  if (found.length !== 1) throw new Error(`expected one watch rule, found ${found.length}`);
  return found[0];
}

export interface FoundStatement {
  /** Logical id of the resource holding the statement. */
  holder: string;
  statement: Record<string, any>;
}

/** Every IAM/resource policy statement in the template, wherever it is declared. */
export function allStatements(json: CfnTemplate): FoundStatement[] {
  const found: FoundStatement[] = [];
  const add = (holder: string, document: any) => {
    for (const statement of [document?.Statement ?? []].flat()) found.push({ holder, statement });
  };
  for (const [id, resource] of Object.entries(json.Resources)) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::SQS::QueuePolicy':
      case 'AWS::SNS::TopicPolicy':
        add(id, props.PolicyDocument);
        break;
      case 'AWS::IAM::Role':
        add(id, props.AssumeRolePolicyDocument);
        for (const policy of props.Policies ?? []) add(id, policy.PolicyDocument);
        break;
      case 'AWS::SecretsManager::ResourcePolicy':
        add(id, props.ResourcePolicy);
        break;
    }
  }
  return found;
}

export const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Tasks of the definition that call the given Lambda function (by logical id). */
export function tasksCalling(definition: StateMachineDefinition, functionLogicalId: string): [string, Record<string, any>][] {
  return Object.entries(definition.States).filter(
    ([, state]) => state.Type === 'Task' && cfn.logicalIdFromFunctionArn(state.Resource) === functionLogicalId,
  );
}
