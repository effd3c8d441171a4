// Validates JSON answers ({method, path, status, body}) against the schema
// of their operation and status in an OpenAPI 3.1 document (ajv, JSON
// Schema 2020-12). Shared by contract.mjs and the wasim e2e tests that
// record their answers (wamd_kinds, wamd_groups, wamd_media).
import { createRequire } from 'node:module';
import path from 'node:path';

export function validateAnswers(doc, records, modulesDir = process.env.WAMD_OPENAPI_MODULES) {
  const require = createRequire(path.join(modulesDir, 'x.js'));
  const Ajv2020 = require('ajv/dist/2020').default;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const fails = [];
  const compiled = new Map();
  const validator = (schema, key) => {
    if (!compiled.has(key)) compiled.set(key, ajv.compile({ allOf: [schema], components: doc.components }));
    return compiled.get(key);
  };
  const templates = Object.keys(doc.paths).map((p) => [p, new RegExp('^' + p.replace(/\./g, '\\.').replace(/\{[^}]+\}/g, '[^/]+') + '/?$')]);
  let checked = 0;
  const ops = new Set();
  for (const r of records) {
    const p = r.path.split('?')[0];
    const t = templates.find(([, re]) => re.test(p));
    const op = t && doc.paths[t[0]][r.method.toLowerCase()];
    let schema, key;
    if (!op) {
      // an unknown route or method: Evolution's 404 envelope
      schema = { $ref: '#/components/schemas/Error' };
      key = 'Error';
    } else {
      const resp = op.responses[String(r.status)] || op.responses.default;
      if (!resp) { fails.push(`${r.method} ${t[0]} answered ${r.status}, not in the document`); continue; }
      schema = resp.content?.['application/json']?.schema;
      if (!schema) { fails.push(`${r.method} ${t[0]} ${r.status}: no JSON schema`); continue; }
      key = `${r.method} ${t[0]} ${r.status}`;
      ops.add(`${r.method} ${t[0]}`);
    }
    const validate = validator(schema, key);
    if (!validate(r.body)) {
      fails.push(`${r.method} ${r.path} ${r.status}: ${ajv.errorsText(validate.errors)}; body ${JSON.stringify(r.body).slice(0, 300)}`);
    }
    checked++;
  }
  return { checked, ops, fails };
}

// For the wasim e2e tests: when meson hands the validators in
// (WAMD_OPENAPI_MODULES), every answer recorded validates against the
// document the same wamd serves, and the operations in mustCover were
// among them. Without the validators (run by hand) nothing is checked.
export async function checkRecordedAnswers(api, records, check, mustCover) {
  if (!process.env.WAMD_OPENAPI_MODULES) return;
  const doc = (await api('GET', '/openapi.json')).json;
  const { checked, ops, fails } = validateAnswers(doc, records);
  for (const f of fails.slice(0, 20)) console.error('FAIL:', f);
  check(fails.length === 0, `${checked} recorded answers validate against /openapi.json (${fails.length} do not)`);
  const missing = mustCover.filter((o) => !ops.has(o));
  check(missing.length === 0, `the answers cover ${mustCover.length} operations (missing: ${missing.join(', ')})`);
}
