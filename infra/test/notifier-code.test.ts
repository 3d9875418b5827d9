// Where the notifier's code comes from: the prebuilt zips (default), `code`,
// `fromSource`; the package root from every layout; the bootstrap checks.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { SecretValue, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { FailureTicketBridge, FailureTicketBridgeProps, OutsetaCredentials } from '../lib';
import {
  NOTIFIER_ASSETS_CONTEXT,
  PACKAGE_NAME,
  elfArchitecture,
  inspectBootstrap,
  packageRoot,
  readSums,
  zipEntryHead,
} from '../lib/notifier-code';
import { ELF_ARM64, ELF_X86_64, fakeNotifierAssets, offlineApp, resourcesOfType, sha256, tempDir, testNotifierAssets, writeZip } from './support';

const infraDir = path.resolve(__dirname, '..', '..');

function bridgeIn(stack: Stack, props: Partial<FailureTicketBridgeProps> = {}) {
  return new FailureTicketBridge(stack, 'Bridge', {
    ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases',
    fromPerson: { uid: 'u' },
    outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('outseta')),
    ...props,
  });
}

/** Synthesizes `stack`'s app and returns the notifier's code: its template entry and the staged asset file. */
function notifierCode(stack: Stack) {
  const assembly = (stack.node.root as ReturnType<typeof offlineApp>).synth();
  const template = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${stack.stackName}.template.json`), 'utf8'));
  const [[, fn]] = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, r]) => r.Properties?.Environment?.Variables?.TICKET_API_URL);
  const key: string = fn.Properties!.Code.S3Key;
  const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${stack.stackName}.assets.json`), 'utf8'));
  const source = manifest.files[key.replace(/\.zip$/, '')].source;
  return { fn, source, staged: path.join(assembly.directory, source.path) };
}

describe('the package root', () => {
  test('is infra/ from the compiled library (dist/lib) and from its sources (lib, as under ts-node)', () => {
    assert.equal(packageRoot(path.join(infraDir, 'dist', 'lib')), infraDir);
    assert.equal(packageRoot(path.join(infraDir, 'lib')), infraDir);
    assert.equal(packageRoot(), infraDir, 'this module itself');
    assert.equal(JSON.parse(fs.readFileSync(path.join(infraDir, 'package.json'), 'utf8')).name, PACKAGE_NAME);
  });

  test('is the installed package under node_modules, not the app around it', () => {
    const app = tempDir('infra-test-app-');
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'my-cdk-app' }));
    const installed = path.join(app, 'node_modules', PACKAGE_NAME);
    fs.mkdirSync(path.join(installed, 'dist', 'lib'), { recursive: true });
    fs.writeFileSync(path.join(installed, 'package.json'), JSON.stringify({ name: PACKAGE_NAME }));
    assert.equal(packageRoot(path.join(installed, 'dist', 'lib')), installed);
    assert.throws(() => packageRoot(path.join(app, 'lib')), /no package.json named "step-functions-ticket-bridge"/);
  });
});

describe('the prebuilt notifier (default code)', () => {
  test('is the zip for the architecture, checked against SHA256SUMS, and its S3 object is that zip', () => {
    const sums = readSums(path.join(testNotifierAssets(), 'SHA256SUMS'));
    for (const [architecture, file] of [
      [lambda.Architecture.ARM_64, 'notifier-arm64.zip'],
      [lambda.Architecture.X86_64, 'notifier-x86_64.zip'],
    ] as const) {
      const stack = new Stack(offlineApp(), 'Consumer');
      bridgeIn(stack, { architecture });
      const { fn, source, staged } = notifierCode(stack);
      assert.deepEqual(fn.Properties!.Architectures, [architecture.name]);
      assert.equal(fn.Properties!.Runtime, 'provided.al2023');
      assert.equal(fn.Properties!.Handler, 'bootstrap');
      assert.equal(source.packaging, 'file', 'uploaded as it is, not re-zipped');
      assert.equal(sha256(staged), sums.get(file));
    }
  });

  test('missing (a clone without make dist): synthesis fails saying what to do', () => {
    const empty = tempDir('infra-test-no-assets-');
    const stack = new Stack(offlineApp({ [NOTIFIER_ASSETS_CONTEXT]: empty }), 'Consumer');
    assert.throws(() => bridgeIn(stack, { architecture: lambda.Architecture.X86_64 }), /no prebuilt notifier for x86_64 at .*notifier-x86_64\.zip.*make dist.*`code`.*`fromSource`/);
  });

  test('changed after its sum was written: synthesis fails', () => {
    const dir = fakeNotifierAssets();
    writeZip(path.join(dir, 'notifier-arm64.zip'), [{ name: 'bootstrap', data: Buffer.concat([ELF_ARM64, Buffer.from('tampered')]) }]);
    const stack = new Stack(offlineApp({ [NOTIFIER_ASSETS_CONTEXT]: dir }), 'Consumer');
    assert.throws(() => bridgeIn(stack), /notifier-arm64\.zip has SHA-256 [0-9a-f]{64}, but .*SHA256SUMS says [0-9a-f]{64}/);
  });

  test('listed in no sums file: synthesis fails', () => {
    const dir = fakeNotifierAssets();
    fs.writeFileSync(path.join(dir, 'SHA256SUMS'), '');
    const stack = new Stack(offlineApp({ [NOTIFIER_ASSETS_CONTEXT]: dir }), 'Consumer');
    assert.throws(() => bridgeIn(stack), /lists no SHA-256 for notifier-arm64\.zip/);
  });

  test('holding the other architecture: synthesis fails', () => {
    const dir = fakeNotifierAssets();
    const zip = writeZip(path.join(dir, 'notifier-arm64.zip'), [{ name: 'bootstrap', data: ELF_X86_64 }]);
    fs.writeFileSync(path.join(dir, 'SHA256SUMS'), `${sha256(zip)}  notifier-arm64.zip\n`);
    const stack = new Stack(offlineApp({ [NOTIFIER_ASSETS_CONTEXT]: dir }), 'Consumer');
    assert.throws(() => bridgeIn(stack), /the prebuilt notifier .* holds a bootstrap built for x86_64, but `architecture` is arm64/);
  });
});

describe('`code`: any lambda.Code', () => {
  test('is used as given, with the runtime and handler of a bootstrap', () => {
    const dir = tempDir('infra-test-code-');
    fs.writeFileSync(path.join(dir, 'bootstrap'), Buffer.concat([ELF_ARM64, Buffer.alloc(100)]), { mode: 0o755 });
    const stack = new Stack(offlineApp(), 'Consumer');
    bridgeIn(stack, { code: lambda.Code.fromAsset(dir) });
    const { fn, source, staged } = notifierCode(stack);
    assert.equal(fn.Properties!.Runtime, 'provided.al2023');
    assert.equal(source.packaging, 'zip');
    assert.ok(fs.existsSync(path.join(staged, 'bootstrap')));
  });

  test('built for the other architecture (a folder or a zip): synthesis fails naming `code`', () => {
    const dir = tempDir('infra-test-code-');
    fs.writeFileSync(path.join(dir, 'bootstrap'), ELF_X86_64);
    const zip = writeZip(path.join(tempDir('infra-test-zip-'), 'n.zip'), [{ name: 'bootstrap', data: ELF_ARM64 }]);
    assert.throws(
      () => bridgeIn(new Stack(offlineApp(), 'A'), { code: lambda.Code.fromAsset(dir) }),
      /`code` \(.*\) holds a bootstrap built for x86_64, but `architecture` is arm64; pass `architecture: lambda.Architecture.X86_64`/,
    );
    assert.throws(
      () => bridgeIn(new Stack(offlineApp(), 'B'), { code: lambda.Code.fromAsset(zip), architecture: lambda.Architecture.X86_64 }),
      /`code` \(.*n\.zip\) holds a bootstrap built for arm64, but `architecture` is x86_64/,
    );
    // The matching architecture passes.
    bridgeIn(new Stack(offlineApp(), 'C'), { code: lambda.Code.fromAsset(zip) });
  });

  test('a zip without bootstrap at its root: synthesis fails naming `code`', () => {
    const zip = writeZip(path.join(tempDir('infra-test-zip-'), 'n.zip'), [{ name: 'target/bootstrap', data: ELF_ARM64 }]);
    assert.throws(() => bridgeIn(new Stack(offlineApp(), 'A'), { code: lambda.Code.fromAsset(zip) }), /`code` \(.*n\.zip\) has no file named bootstrap at its root/);
  });

  test('code that cannot be read before deployment (S3) is taken on trust', () => {
    const stack = new Stack(offlineApp(), 'Consumer');
    const bucket = s3.Bucket.fromBucketName(stack, 'Releases', 'my-releases');
    bridgeIn(stack, { code: lambda.Code.fromBucket(bucket, 'notifier-arm64.zip') });
    const json = (stack.node.root as ReturnType<typeof offlineApp>).synth().getStackArtifact('Consumer').template;
    const [[, fn]] = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, r]) => r.Properties?.Environment?.Variables?.TICKET_API_URL);
    assert.deepEqual(fn.Properties!.Code, { S3Bucket: 'my-releases', S3Key: 'notifier-arm64.zip' });
  });

  test('not together with `fromSource`', () => {
    assert.throws(
      () => {
        const stack = new Stack(offlineApp(), 'A');
        const code = lambda.Code.fromBucket(s3.Bucket.fromBucketName(stack, 'Releases', 'my-releases'), 'notifier-arm64.zip');
        bridgeIn(stack, { code, fromSource: { manifestPath: 'Cargo.toml' } });
      },
      /pass `code` or `fromSource`, not both/,
    );
  });
});

describe('`fromSource`: cargo-lambda-cdk', () => {
  test('builds the notifier binary of the given workspace for the architecture (bundling skipped here)', () => {
    const stack = new Stack(offlineApp(), 'Consumer');
    const bridge = bridgeIn(stack, { architecture: lambda.Architecture.X86_64, fromSource: { manifestPath: path.join(infraDir, '..', 'Cargo.toml') } });
    assert.equal(bridge.notifier.constructor.name, 'RustFunction');
    assert.equal(bridge.notifier.architecture, lambda.Architecture.X86_64);
    const { fn } = notifierCode(stack);
    assert.equal(fn.Properties!.Runtime, 'provided.al2023');
    assert.equal(fn.Properties!.Handler, 'bootstrap');
    assert.equal(fn.Properties!.MemorySize, 256);
  });
});

describe('reading a bootstrap', () => {
  test('the ELF machine says the architecture; anything else says nothing', () => {
    assert.equal(elfArchitecture(ELF_ARM64), 'arm64');
    assert.equal(elfArchitecture(ELF_X86_64), 'x86_64');
    assert.equal(elfArchitecture(Buffer.from('#!/bin/sh\nexec ./notifier\n')), undefined);
    assert.equal(elfArchitecture(Buffer.alloc(8)), undefined);
  });

  test('a zip entry, deflated or stored, is read from its first bytes', () => {
    const zip = fs.readFileSync(writeZip(path.join(tempDir('infra-test-zip-'), 'a.zip'), [
      { name: 'README', data: Buffer.from('hello') },
      { name: 'bootstrap', data: Buffer.concat([ELF_ARM64, Buffer.alloc(200_000, 7)]) },
    ]));
    const head = zipEntryHead(zip, 'bootstrap');
    assert.ok(Buffer.isBuffer(head));
    assert.deepEqual(head, ELF_ARM64);
    assert.equal(zipEntryHead(zip, 'missing'), undefined);
    assert.equal(zipEntryHead(Buffer.from('not a zip at all, not even close to one'), 'bootstrap'), 'unreadable');
    const stored = fs.readFileSync(writeZip(path.join(tempDir('infra-test-zip-'), 's.zip'), [{ name: 'bootstrap', data: ELF_X86_64, store: true }]));
    assert.deepEqual(zipEntryHead(stored, 'bootstrap'), ELF_X86_64);
  });

  test('what cannot be inspected before deployment is not guessed at', () => {
    assert.equal(inspectBootstrap(lambda.Code.fromInline('x')), undefined);
    assert.equal(inspectBootstrap(lambda.Code.fromAsset(path.join(infraDir, 'lib'))), undefined, 'a folder still to be bundled');
  });
});
