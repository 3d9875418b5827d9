#!/usr/bin/env node
// Writes each state machine definition of the given templates to OUTDIR as
// <template>.<logicalId>.asl.json, references replaced by fake ARNs, for
// asl-validator (which takes plain ASL, not CloudFormation).
//   node scripts/extract-asl.cjs OUTDIR TEMPLATE...
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const cfn = require('../test/local-sfn/cfn.cjs');

const [outDir, ...templates] = process.argv.slice(2);
if (!outDir || templates.length === 0) {
  console.error('usage: extract-asl.cjs OUTDIR TEMPLATE...');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
let count = 0;
for (const file of templates) {
  for (const machine of cfn.stateMachines(cfn.loadTemplate(file))) {
    const source = `${path.basename(path.dirname(path.resolve(file)))}.${path.basename(file, '.template.json')}`;
    const target = path.join(outDir, `${source}.${machine.logicalId}.asl.json`);
    fs.writeFileSync(target, JSON.stringify(machine.definition, null, 2) + '\n');
    console.log(target);
    count += 1;
  }
}
if (count === 0) {
  console.error('no state machine found');
  process.exit(1);
}
