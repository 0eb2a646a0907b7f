#!/usr/bin/env node
// Lint one BPMN diagram read from standard input with bpmnlint (node_modules) and the repository's
// .bpmnlintrc; print the findings as JSON [{id, rule, category, message}] on standard output.
// The web app's modeler runs it (web/modeler_lint.py) after its own safe parse of the XML.
'use strict';

const path = require('node:path');
const { readFileSync } = require('node:fs');

const root = path.resolve(__dirname, '..');
const requireHere = require('node:module').createRequire(path.join(root, 'package.json'));
const Linter = requireHere('bpmnlint/lib/linter');
const NodeResolver = requireHere('bpmnlint/lib/resolver/node-resolver');
const { BpmnModdle } = requireHere('bpmn-moddle');

async function main() {
  const config = JSON.parse(readFileSync(process.argv[2] || path.join(root, '.bpmnlintrc'), 'utf-8'));
  const xml = readFileSync(0, 'utf-8');
  let parsed;
  try {
    parsed = await new BpmnModdle().fromXML(xml);
  } catch (error) {
    return [{ id: null, rule: 'parse', category: 'error', message: String(error.message).split('\n')[0] }];
  }
  const linter = new Linter({ config, resolver: new NodeResolver({ require: requireHere }) });
  const reports = await linter.lint(parsed.rootElement);
  const found = [];
  for (const [rule, list] of Object.entries(reports)) {
    for (const report of list) {
      found.push({ id: report.id || null, rule, category: report.category, message: report.message });
    }
  }
  return found;
}

main().then(
  (found) => process.stdout.write(JSON.stringify(found)),
  (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(2); }
);
