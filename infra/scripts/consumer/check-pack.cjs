#!/usr/bin/env node
// The tarball's file list (`npm pack --json`): the library, its types, the
// prebuilt notifier zips with their sums, README, LICENSE and CHANGELOG;
// no demo, tests, scripts, sources or source maps.
//   node check-pack.cjs PACK_JSON
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');

const [pack] = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const files = pack.files.map((f) => f.path).sort();
const allowed = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/lib\/[\w-]+\.(js|d\.ts)|assets\/(notifier-(arm64|x86_64)\.zip|SHA256SUMS|BUILD\.json))$/;
assert.deepEqual(files.filter((f) => !allowed.test(f)), [], 'files a user should not get');
for (const needed of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/failure-ticket-bridge.d.ts', 'assets/SHA256SUMS', 'assets/BUILD.json']) {
  assert.ok(files.includes(needed), `${needed} is in the package`);
}
assert.ok(files.some((f) => /^assets\/notifier-(arm64|x86_64)\.zip$/.test(f)), 'a prebuilt notifier is in the package');
for (const demo of ['demo-stack', 'demo-context']) assert.ok(!files.some((f) => f.includes(demo)), `no ${demo}`);
assert.equal(pack.name, 'step-functions-ticket-bridge');
console.log(`${pack.filename}: ${files.length} files, ${(pack.size / 1e6).toFixed(1)} MB packed, ${(pack.unpackedSize / 1e6).toFixed(1)} MB unpacked`);
for (const f of files) console.log(`  ${f}`);
