// The web console in cluster mode, in headless Chromium (suite e2e): two
// wamd nodes on one private PostgreSQL server (tests/unit/store_pg.py).
//   A creates i1 (not paired); B's console lists it "on nodeA" and its
//   daemon panel names B and counts what each node drives -> A drained:
//   B takes i1, and B's console lists it "on nodeB".
// Needs Debian's chromium (CHROMIUM to override) and puppeteer-core
// (WAMD_CONSOLE_MODULES).
// argv: [node, script, wamd, wasim]
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startWasim, check, fail, watchdog } from '../sim/harness.mjs';
import { until, apiAt, clusterNodes } from './e2e_daemon_util.mjs';

watchdog(80);
const [wamdExe, wasimExe] = process.argv.slice(2);
const URI = process.env.WA_TEST_PG_URI;
check(URI, 'run by store_pg.py (WA_TEST_PG_URI)');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(chromium))
  fail(`${chromium} not found: the console test needs Chromium (Debian: apt install chromium, or scripts/install-deps --test)`);
const require = createRequire(path.join(process.env.WAMD_CONSOLE_MODULES || '.', 'x.js'));
const puppeteer = require('puppeteer-core');
const KEY = 'cluster-console-admin-key-2f9a71';
const LEASE = 3;

const sim = await startWasim(wasimExe);
const { startNode, ok } = clusterNodes({ wamdExe, sim, uri: URI, key: KEY, lease: LEASE, prefix: 'wamd-ccons' });
const api = (n, method, p, body) => apiAt(n.port, KEY)(method, p, body);

const A = await startNode('A');
const B = await startNode('B');
for (const n of [A, B]) ok(await until(async () => (await api(n, 'GET', '/')).status === 200, 20000), `node ${n.name} up`);
const r = await api(A, 'POST', '/instance/create', { instanceName: 'i1', integration: 'WHATSAPP-BAILEYS' });
ok(r.status === 201, `i1 created on A (${r.status})`);

const browser = await puppeteer.launch({
  executablePath: chromium, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
const errors = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const textOf = (sel) => page.$eval(sel, (e) => e.textContent);
  const shows = async (sel, want) => {
    try {
      await page.waitForFunction((s, w) => { const e = document.querySelector(s); return e && e.textContent.includes(w); },
        { timeout: 10000 }, sel, want);
      return true;
    } catch { return false; }
  };
  await page.goto(`http://127.0.0.1:${B.port}/console`);
  await page.waitForSelector('#login:not([hidden])');
  await page.type('#key', KEY);
  await page.click('#login button');
  await page.waitForSelector('#daemon:not([hidden])');
  ok(await shows('#instances', 'i1') && await shows('#instances', 'on nodeA'),
    `B's console lists A's instance with its node (${await textOf('#instances')})`);
  ok(await shows('#status', 'nodeB') && (await textOf('#status')).includes('nodeA 1'),
    `B's daemon panel: this node, and what each node drives (${await textOf('#status')})`);

  ok((await api(A, 'POST', '/wamd/cluster/drain')).json?.draining === true, 'A drained');
  ok(await until(async () => (await api(B, 'GET', '/wamd/cluster')).json?.owners?.i1 === 'nodeB', (LEASE + 8) * 1000),
    'B took i1');
  await page.reload();
  await page.waitForSelector('#daemon:not([hidden])');
  ok(await shows('#instances', 'on nodeB'), `after the drain B's console lists i1 on B (${await textOf('#instances')})`);
  ok(errors.length === 0, `no error in the page (${errors.join('; ')})`);
} finally {
  await browser.close();
}
for (const n of [A, B]) n.p.kill('SIGTERM');
for (const n of [A, B]) ok(await n.done === 0, `node ${n.name} exits cleanly`);
await sim.stop();
process.exit(0);
