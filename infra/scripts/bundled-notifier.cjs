#!/usr/bin/env node
// Prints the path of the notifier's bootstrap in a cloud assembly that was
// synthesized with bundling (make lambda-build): the function whose
// environment has TICKET_API_URL, its code's asset, that asset's folder.
//   node scripts/bundled-notifier.cjs CDK_OUT
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: bundled-notifier.cjs CDK_OUT');
  process.exit(2);
}
const found = [];
for (const file of fs.readdirSync(outDir).filter((name) => name.endsWith('.template.json'))) {
  const template = JSON.parse(fs.readFileSync(path.join(outDir, file), 'utf8'));
  const assets = JSON.parse(fs.readFileSync(path.join(outDir, file.replace(/\.template\.json$/, '.assets.json')), 'utf8'));
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::Lambda::Function' || !resource.Properties?.Environment?.Variables?.TICKET_API_URL) continue;
    const key = resource.Properties.Code?.S3Key;
    const hash = typeof key === 'string' ? key.replace(/\.zip$/, '') : undefined;
    const source = hash && assets.files?.[hash]?.source;
    if (!source) throw new Error(`${file}: ${id} has no file asset as its code`);
    const bootstrap = path.join(outDir, source.path, 'bootstrap');
    if (!fs.existsSync(bootstrap)) throw new Error(`${file}: ${id}'s asset ${source.path} holds no bootstrap (was bundling skipped?)`);
    found.push(bootstrap);
  }
}
if (found.length !== 1) {
  console.error(`expected one notifier in ${outDir}, found ${found.length}`);
  process.exit(1);
}
console.log(found[0]);
