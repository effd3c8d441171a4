// Runs the script of GET /openapi (the API page) against a minimal DOM
// stand-in and the served /openapi.json: every operation must be rendered
// (method and path), and the filter box must hide what does not match.
// usage: node page.mjs page.html openapi.json
import { readFileSync } from 'node:fs';

const [pageFile, docFile] = process.argv.slice(2);
const html = readFileSync(pageFile, 'utf8');
const doc = JSON.parse(readFileSync(docFile, 'utf8'));
const script = html.match(/<script>([\s\S]*)<\/script>/)[1];

class El {
  constructor(tag) { this.tag = tag; this.children = []; this.dataset = {}; this.hidden = false; this.textContent = ''; }
  append(...k) { for (const c of k) this.children.push(typeof c === 'string' ? { text: c } : c); }
  text() { return [this.textContent, ...this.children.map((c) => (c instanceof El ? c.text() : c.text))].join(' '); }
}
const byId = { t: new El('h1'), d: new El('p'), ops: new El('div'), q: new El('input') };
globalThis.document = { createElement: (t) => new El(t), getElementById: (id) => byId[id] };
let fetched = null;
globalThis.fetch = async (url) => { fetched = url; return { json: async () => doc }; };
new Function(script)();
await new Promise((r) => setTimeout(r, 50));

const fails = [];
if (fetched !== 'openapi.json') fails.push('the page fetches ' + fetched);
const ops = byId.ops.children.filter((d) => d.dataset.k);
let n = 0;
for (const [p, item] of Object.entries(doc.paths)) {
  for (const m of Object.keys(item)) {
    n++;
    if (!ops.some((d) => d.text().includes(m.toUpperCase()) && d.text().includes(p))) fails.push(`not rendered: ${m} ${p}`);
  }
}
if (ops.length !== n) fails.push(`${ops.length} operations rendered, ${n} in the document`);
if (!byId.t.textContent.includes(doc.info.version)) fails.push('title without the version');
byId.q.oninput({ target: { value: '/metrics' } });
const shown = ops.filter((d) => !d.hidden).map((d) => d.dataset.k.split(' ').slice(0, 2).join(' '));
if (!shown.includes('get /metrics') || shown.length >= ops.length) fails.push('filter: ' + shown.join(', '));
for (const f of fails) console.error('FAIL:', f);
if (fails.length) process.exit(1);
console.log(`page: ${n} operations rendered, filter works`);
