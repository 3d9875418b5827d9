#!/usr/bin/env node
// Runs before `npm pack` and `npm publish`: builds dist/lib afresh from lib/
// (tsconfig.package.json: no bin, demo, tests or source maps), then checks
// the prebuilt notifier zips the package carries against assets/SHA256SUMS,
// their bootstrap's architecture, and assets/BUILD.json. A release needs
// both architectures built with the release profile (`make dist`); anything
// less is refused unless TICKET_BRIDGE_TEST_PACK=1 (the consumer test of
// `make test`, which packs the arm64 bootstrap it already built with its
// relaxed profile). `npm publish` refuses that variable (prepublishOnly).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const ARCHITECTURES = ['arm64', 'x86_64'];
const fail = (message) => {
  console.error(`prepack: ${message}`);
  process.exit(1);
};

if (process.env.npm_lifecycle_event === 'prepublishOnly') {
  if (process.env.TICKET_BRIDGE_TEST_PACK) fail('TICKET_BRIDGE_TEST_PACK is set: a test pack is never published');
  process.exit(0);
}

fs.rmSync(path.join(root, 'dist', 'lib'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.package.json')], { cwd: root, stdio: 'inherit' });

const { SUMS_FILE, elfArchitecture, prebuiltNotifierFileName, readSums, sha256Of, zipEntryHead } = require(path.join(root, 'dist', 'lib', 'notifier-code.js'));
const assets = path.join(root, 'assets');
const sumsFile = path.join(assets, SUMS_FILE);
const buildFile = path.join(assets, 'BUILD.json');
if (!fs.existsSync(sumsFile) || !fs.existsSync(buildFile)) {
  fail(`no ${path.relative(root, sumsFile)} or ${path.relative(root, buildFile)}: build the notifier zips first (make dist, from the repository root)`);
}
const sums = readSums(sumsFile);
const build = JSON.parse(fs.readFileSync(buildFile, 'utf8'));
const present = [];
for (const arch of ARCHITECTURES) {
  const name = prebuiltNotifierFileName({ name: arch });
  const zip = path.join(assets, name);
  if (!fs.existsSync(zip)) {
    if (sums.has(name)) fail(`${SUMS_FILE} lists ${name}, which is missing`);
    continue;
  }
  const expected = sums.get(name);
  if (!expected) fail(`${name} is not in ${SUMS_FILE}`);
  const actual = sha256Of(zip);
  if (actual !== expected) fail(`${name} has SHA-256 ${actual}, ${SUMS_FILE} says ${expected}`);
  const head = zipEntryHead(fs.readFileSync(zip), 'bootstrap');
  if (!Buffer.isBuffer(head)) fail(`${name} has no readable bootstrap at its root`);
  const built = elfArchitecture(head);
  if (built !== arch) fail(`${name} holds a bootstrap for ${built ?? 'no known architecture'}`);
  present.push(arch);
}
const release = build.profile === 'release' && ARCHITECTURES.every((arch) => present.includes(arch));
if (!release) {
  const what = `assets hold ${present.join(', ') || 'no zip'} built with the ${build.profile} profile`;
  if (process.env.TICKET_BRIDGE_TEST_PACK !== '1' || present.length === 0) {
    fail(`${what}; a package needs arm64 and x86_64 built with the release profile: run make dist (TICKET_BRIDGE_TEST_PACK=1 packs anyway, for tests)`);
  }
  console.error(`prepack: TEST PACK, not for release: ${what}`);
}
console.error(`prepack: dist/lib built; notifier zips ${present.join(', ')} match ${SUMS_FILE} (profile ${build.profile}, commit ${build.commit})`);
