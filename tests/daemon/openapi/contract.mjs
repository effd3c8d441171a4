// OpenAPI contract (run by openapi_contract.py): the document wamd serves
// is valid OpenAPI 3.1; it lists exactly the routes of the route table
// (GET /docs), each described; the descriptions file has no entry for a
// route wamd does not serve; and every JSON answer recorded by the daemon
// e2e tests validates against the schema of its operation and status.
// usage: node contract.mjs openapi.json docs.json wamd_openapi.json records.jsonl
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { validateAnswers } from './answers.mjs';

const require = createRequire(path.join(process.env.WAMD_OPENAPI_MODULES, 'x.js'));
const { Validator } = require('@seriousme/openapi-schema-validator');

const [docFile, routesFile, specFile, recFile] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(docFile, 'utf8'));
const routes = JSON.parse(readFileSync(routesFile, 'utf8')).routes;
const spec = JSON.parse(readFileSync(specFile, 'utf8'));
const records = readFileSync(recFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const fails = [];
const fail = (m) => { fails.push(m); console.error('FAIL:', m); };

// 1. a valid OpenAPI 3.1 document
const v = new Validator();
const res = await v.validate(doc);
if (!res.valid) fail('not a valid OpenAPI document: ' + JSON.stringify(res.errors).slice(0, 2000));
if (v.version !== '3.1') fail('OpenAPI version ' + v.version);

// 2. the route table and the document: the same (method, path) pairs
const served = new Set();
for (const r of routes) {
  for (const m of r.method.replace(' (WebSocket upgrade)', '').split('|')) {
    served.add(`${m} ${r.path.replace('[?instance={instance}]', '')}`);
  }
}
const documented = new Set();
for (const [p, item] of Object.entries(doc.paths)) {
  for (const [m, op] of Object.entries(item)) {
    documented.add(`${m.toUpperCase()} ${p}`);
    if (op['x-wamd-undocumented']) fail(`${m.toUpperCase()} ${p} has no description in daemon/wamd_openapi.json`);
    if (!op.summary || !op.responses) fail(`${m.toUpperCase()} ${p}: no summary or responses`);
  }
}
for (const k of served) if (!documented.has(k)) fail(`route ${k} is served but not in /openapi.json`);
for (const k of documented) if (!served.has(k)) fail(`/openapi.json lists ${k}, which GET /docs does not`);
for (const k of Object.keys(spec.operations)) if (!served.has(k)) fail(`daemon/wamd_openapi.json describes ${k}, which wamd does not serve`);

// 3. the recorded answers against the schemas
const { checked, ops: opsSeen, fails: bad } = validateAnswers(doc, records);
bad.forEach(fail);
console.log(`${checked} answers validated, ${opsSeen.size} operations covered of ${documented.size}`);
if (checked < 50 || opsSeen.size < 15) fail('too few recorded answers to mean anything');
if (fails.length) { console.error(`${fails.length} failure(s)`); process.exit(1); }
console.log('ok');
