#!/usr/bin/env node
// Runs inside the scratch app of scripts/test-package.sh, after `cdk synth`
// (cdk.out/Pipeline.*) with no Rust toolchain on PATH:
//   node check.cjs REPO_ASSETS_DIR
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const [repoAssets] = process.argv.slice(2);
const pkg = path.join(__dirname, 'node_modules', 'step-functions-ticket-bridge');
const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const sumsOf = (file) =>
  new Map(
    fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(/ +\*?/).reverse()),
  );
const ok = (what) => console.log(`ok: ${what}`);

// The synthesized notifier runs the packaged zip.
const out = path.join(__dirname, 'cdk.out');
const template = JSON.parse(fs.readFileSync(path.join(out, 'Pipeline.template.json'), 'utf8'));
const notifiers = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.TICKET_API_URL);
assert.equal(notifiers.length, 1, 'one notifier');
const [[notifierId, notifier]] = notifiers;
assert.deepEqual(notifier.Properties.Architectures, ['arm64']);
assert.equal(notifier.Properties.Runtime, 'provided.al2023');
assert.equal(notifier.Properties.Handler, 'bootstrap');
const hash = notifier.Properties.Code.S3Key.replace(/\.zip$/, '');
const asset = JSON.parse(fs.readFileSync(path.join(out, 'Pipeline.assets.json'), 'utf8')).files[hash];
assert.equal(asset.source.packaging, 'file', 'the zip is uploaded as it is');
const staged = path.join(out, asset.source.path);
const packagedSums = sumsOf(path.join(pkg, 'assets', 'SHA256SUMS'));
assert.equal(sha256(staged), packagedSums.get('notifier-arm64.zip'), "the staged asset's SHA-256 is the package's SHA256SUMS entry");
assert.equal(sha256(path.join(pkg, 'assets', 'notifier-arm64.zip')), packagedSums.get('notifier-arm64.zip'));
assert.deepEqual(packagedSums, sumsOf(path.join(repoAssets, 'SHA256SUMS')), 'the package carries the sums make wrote');
ok(`${notifierId} runs ${asset.source.path}, sha256 ${packagedSums.get('notifier-arm64.zip')} = assets/SHA256SUMS`);

// A bootstrap for arm64 at the root of the zip.
const code = require(path.join(pkg, 'dist', 'lib', 'notifier-code.js'));
const head = code.zipEntryHead(fs.readFileSync(staged), 'bootstrap');
assert.ok(Buffer.isBuffer(head), 'bootstrap at the root of the zip');
assert.equal(code.elfArchitecture(head), 'arm64');
ok('the zip holds an arm64 ELF named bootstrap at its root');

// One aws-cdk-lib: the package uses the app's (a peer), so instanceof holds.
assert.ok(!fs.existsSync(path.join(pkg, 'node_modules', 'aws-cdk-lib')), 'no second aws-cdk-lib under the package');
assert.ok(!fs.existsSync(path.join(pkg, 'node_modules', 'constructs')), 'no second constructs under the package');
const { App, Stack, SecretValue } = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const bridgeLib = require('step-functions-ticket-bridge');
const stackWith = (props) => {
  const stack = new Stack(new App(), 'Check');
  return new bridgeLib.FailureTicketBridge(stack, 'Tickets', {
    ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases',
    fromPerson: { uid: 'u' },
    outseta: bridgeLib.OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('s')),
    ...props,
  });
};
assert.ok(stackWith({}).notifier instanceof lambda.Function, "the notifier is an instance of the app's lambda.Function");
ok('one aws-cdk-lib, shared with the app');

// The other architecture: synthesized when the package carries it, else a clear error.
const x86 = packagedSums.has('notifier-x86_64.zip');
if (x86) {
  assert.equal(stackWith({ architecture: lambda.Architecture.X86_64 }).notifier.architecture, lambda.Architecture.X86_64);
  ok('x86_64 from its own zip');
} else {
  assert.throws(() => stackWith({ architecture: lambda.Architecture.X86_64 }), /no prebuilt notifier for x86_64 .*make dist/);
  ok('a test pack without x86_64 says so at synth time');
}

// Only the entry point is importable; cargo-lambda-cdk is optional and absent.
assert.throws(() => require('step-functions-ticket-bridge/dist/lib/failure-ticket-bridge.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
assert.throws(() => require.resolve('cargo-lambda-cdk'), { code: 'MODULE_NOT_FOUND' });
assert.throws(() => stackWith({ fromSource: { manifestPath: 'Cargo.toml' } }), /`fromSource` builds the notifier with cargo-lambda-cdk, which is not installed: npm install --save-dev cargo-lambda-cdk/);
ok('exports hold the entry point only; fromSource without cargo-lambda-cdk says what to install');
for (const name of ['FailureTicketBridge', 'OutsetaConnection', 'OutsetaCredentials', 'ScopedHttpInvoke', 'prebuiltNotifierCode', 'BRIDGE_ALARMS']) {
  assert.ok(name in bridgeLib, `exports ${name}`);
}
ok('exports FailureTicketBridge, OutsetaConnection and the rest');
