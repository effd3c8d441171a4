// wa_version_fetch (suite e2e; real engine, wasim): wasim refuses client
// versions below 2.3000.1050000000 (min_version fault). A wamd told to ask a
// local stand-in for WhatsApp Web's sw.js claims the version it publishes and
// gets its QR; a wamd whose fetch fails (closed port) still starts, says so
// once, and the instance reports the refused version instead of looping.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(90);
const [wamdExe, wasimExe] = process.argv.slice(2);
// the shape WhatsApp Web's service worker has: escaped JSON inside a script
let swHits = 0;
const sw = http.createServer((req, res) => {
  swHits++;
  res.writeHead(200, { 'content-type': 'application/javascript' });
  res.end('self.__swData=JSON.parse(/*BTDS*/"{\\"dynamic_data\\":{\\"SiteData\\":{\\"server_revision\\":1,' +
    '\\"client_revision\\":1099999999}}}");importScripts("x.js");');
});
await new Promise((r) => sw.listen(0, '127.0.0.1', r));
const sim = await startWasim(wasimExe);
check((await sim.api('POST', '/_sim/fault', { action: 'min_version', version: '2.3000.1050000000' })).status === 200,
  'wasim refuses versions below 2.3000.1050000000');

const run = async (fetchUrl) => {
  const port = await freePort();
  let log = '';
  const p = spawn(wamdExe, ['--data', tmpDir('wamd-vf-'), '--listen', `127.0.0.1:${port}`, '--wa-url', sim.url,
    '--wa-trust-root', sim.root], {
    env: { ...process.env, WAMD_API_KEY: 'version-fetch-key-0123456789', WAMD_WA_VERSION_FETCH: 'true',
      WAMD_WA_VERSION_FETCH_URL: fetchUrl },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  p.stderr.on('data', (d) => { log += d; });
  const api = async (method, path, body) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { apikey: 'version-fetch-key-0123456789',
      'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, json: await r.json() };
  };
  for (let i = 0; i < 200; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* starting */ }
    await sleep(50);
  }
  return { p, api, log: () => log };
};
const stop = async (w) => {
  w.p.kill('SIGTERM');
  const code = await new Promise((res) => w.p.on('exit', (c, s) => res(c ?? s)));
  check(code === 0, `wamd exits cleanly (${code})`);
};

// 1. the fetch works: the published version is claimed, the server accepts it
let w = await run(`http://127.0.0.1:${sw.address().port}/sw.js`);
for (let i = 0; i < 100 && !/current version is/.test(w.log()); i++) await sleep(50);
check(/WhatsApp Web's current version is 2\.3000\.1099999999/.test(w.log()) && swHits === 1, 'fetched 2.3000.1099999999');
let r = await w.api('POST', '/instance/create', { instanceName: 'v1', qrcode: true });
if (!r.json.qrcode?.code) process.stderr.write(w.log().slice(-4000));
check(r.status === 201 && typeof r.json.qrcode?.code === 'string', 'QR: the server accepted the fetched version');
await stop(w);

// 2. the fetch fails: the start goes on, the refusal is reported, no loop
w = await run(`http://127.0.0.1:${await freePort()}/sw.js`);
for (let i = 0; i < 100 && !/wa_version_fetch: no version/.test(w.log()); i++) await sleep(50);
check(/wa_version_fetch: no version from .* instances claim the built-in version/.test(w.log()), 'a failed fetch is said once');
check(/started: 0 instance/.test(w.log()), 'and the start went on');
r = await w.api('POST', '/instance/create', { instanceName: 'v2', qrcode: true });
check(r.status === 201 && !r.json.qrcode?.code, 'no QR with the refused version');
let s = null;
for (let i = 0; i < 100; i++) {
  s = (await w.api('GET', '/instance/connectionState/v2')).json.instance;
  if (s.wamdReason && s.wamdReason.retrying === false) break;
  await sleep(100);
}
check(s.state === 'close' && /405/.test(s.wamdReason?.message ?? '') && /wa_version/.test(s.wamdReason.message),
  `the refusal is reported: ${JSON.stringify(s)}`);
await stop(w);
sw.close();
process.exit(0);
