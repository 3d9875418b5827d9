import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { demoStackPropsFromContext } from '../demo/demo-context';
import { DemoStack } from '../demo/demo-stack';
import { NOTIFIER_ASSETS_CONTEXT, SUMS_FILE } from '../lib/notifier-code';

/** The first bytes of a 64-bit little-endian ELF executable for a machine (62 x86_64, 183 aarch64). */
export function elfHead(machine: number): Buffer {
  const head = Buffer.alloc(64);
  head.writeUInt32BE(0x7f454c46, 0);
  head[4] = 2; // 64-bit
  head[5] = 1; // little endian
  head[6] = 1;
  head.writeUInt16LE(2, 16); // ET_EXEC
  head.writeUInt16LE(machine, 18);
  return head;
}
export const ELF_ARM64 = elfHead(183);
export const ELF_X86_64 = elfHead(62);

/** Writes a zip (entries deflated unless `store`, Unix mode 0755) as Lambda reads it. */
export function writeZip(file: string, entries: { name: string; data: Buffer; store?: boolean }[]): string {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data, store } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const method = store ? 0 : 8;
    const compressed = store ? data : zlib.deflateRawSync(data);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4); // made by Unix, zip 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(((0o100755 << 16) >>> 0), 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, compressed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + compressed.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  fs.writeFileSync(file, Buffer.concat([...locals, ...centrals, end]));
  return file;
}

export const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Stand-ins for the prebuilt notifier zips (`make dist` builds the real ones):
 * a `bootstrap` with the ELF header of each architecture, and their sums.
 */
export function fakeNotifierAssets(): string {
  const dir = tempDir('infra-test-assets-');
  const lines = [
    writeZip(path.join(dir, 'notifier-arm64.zip'), [{ name: 'bootstrap', data: Buffer.concat([ELF_ARM64, Buffer.alloc(4096, 1)]) }]),
    writeZip(path.join(dir, 'notifier-x86_64.zip'), [{ name: 'bootstrap', data: Buffer.concat([ELF_X86_64, Buffer.alloc(4096, 2)]) }]),
  ].map((file) => `${sha256(file)}  ${path.basename(file)}\n`);
  fs.writeFileSync(path.join(dir, SUMS_FILE), lines.join(''));
  return dir;
}

let assets: string | undefined;
/** The folder of {@link fakeNotifierAssets}, made once per test process. */
export function testNotifierAssets(): string {
  assets ??= fakeNotifierAssets();
  return assets;
}

/**
 * An app that synthesizes without building the Rust functions (no cargo, no
 * Docker), with the prebuilt notifier zips taken from test stand-ins.
 */
export function offlineApp(context: Record<string, string> = {}): App {
  return new App({ postCliContext: { 'aws:cdk:bundling-stacks': [] }, context: { [NOTIFIER_ASSETS_CONTEXT]: testNotifierAssets(), ...context } });
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
