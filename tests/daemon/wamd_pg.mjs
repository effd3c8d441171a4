// wamd on PostgreSQL end to end (suite e2e): the real session engine, wasim
// and a Baileys peer, with store=<postgresql URI> instead of the SQLite file.
// Runs under tests/unit/store_pg.py, which starts a private server and gives
// the database in WA_TEST_PG_URI and psql's folder in WA_TEST_PG_BINDIR.
//   a URI naming a missing database with a password: wamd exits 1 and the
//   password is in none of its output -> wamd on the database pairs by QR ->
//   texts both ways -> SIGTERM, start again: the instance is open without a
//   new scan, and texts still go both ways (Signal state was read back) ->
//   every text is a row of wamd_messages in PostgreSQL, and the data folder
//   holds no SQLite store.
// argv: [node, script, wamd, wasim]
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(220);
const [wamdExe, wasimExe] = process.argv.slice(2);
const URI = process.env.WA_TEST_PG_URI;
const BINDIR = process.env.WA_TEST_PG_BINDIR;
check(URI && BINDIR, 'run by store_pg.py (WA_TEST_PG_URI, WA_TEST_PG_BINDIR)');
const KEY = 'wasim-pg-key-3e81d0c6b2';
const PHONE = '15550008881';
const PEER_PHONE = '15550008882';
const SECRET = 'pg-pass-9d41c7e07b';

const psql = (sql) => execFileSync(path.join(BINDIR, 'psql'), [URI, '-X', '-A', '-t', '-q', '-c', sql],
  { encoding: 'utf8' }).trim();

const data = tmpDir('wamd-pg-');
const port = await freePort();
let log = '';
const runWamd = (store) => {
  const args = ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY, '--store', store];
  if (sim) args.push('--wa-url', sim.url, '--wa-trust-root', sim.root);
  const p = spawn(wamdExe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout.on('data', (d) => { log += d; });
  p.stderr.on('data', (d) => { log += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
  p.done = new Promise((res) => p.on('exit', (c, s) => res(c ?? s)));
  process.on('exit', () => { try { p.kill('SIGKILL'); } catch { /* gone */ } });
  return p;
};
const ok = (cond, msg) => { if (!cond) process.stderr.write(log.slice(-8000)); check(cond, msg); };
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  return { status: res.status, json: t ? JSON.parse(t) : null };
};
const waitUp = async () => {
  for (let i = 0; i < 200; i++) {
    try { if ((await api('GET', '/')).status === 200) return true; } catch { await sleep(50); }
  }
  return false;
};
const waitOpen = async () => {
  for (let i = 0; i < 300; i++) {
    if ((await api('GET', '/instance/connectionState/s1')).json?.instance?.state === 'open') return true;
    await sleep(100);
  }
  return false;
};

// 1. a store that cannot be opened: the URI (with its password) is not echoed
let sim = null;
{
  const u = new URL(URI.replace(/^postgresql:/, 'http:'));
  const bad = `postgresql://postgres:${SECRET}@/wa_no_such_db?host=${encodeURIComponent(u.searchParams.get('host'))}`;
  const w = runWamd(bad);
  const code = await w.done;
  ok(code === 1, `wamd refuses a store it cannot open (exit ${code})`);
  ok(/cannot open store \(PostgreSQL URI\)/.test(log) && /wa_no_such_db/.test(log),
    'the error says why (libpq names the database)');
  ok(!log.includes(SECRET), 'the password is in none of wamd\'s output');
  log = '';
}

sim = await startWasim(wasimExe);
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });
check((await sim.api('POST', '/_sim/accounts', { phone: PHONE })).status === 201, 'wasim account');

const textOf = (m) => m.message?.conversation ?? m.message?.extendedTextMessage?.text;
const stored = async (want) => {
  let t = [];
  for (let i = 0; i < 100; i++) {
    const f = await api('POST', '/chat/findMessages/s1', { where: {} });
    t = (f.json?.messages?.records ?? []).map(textOf);
    if (want.every((x) => t.includes(x))) return true;
    await sleep(100);
  }
  process.stderr.write(`findMessages: ${JSON.stringify(t)}\n`);
  return false;
};
// a text each way; returns the two key ids
const exchange = async (tag) => {
  const inText = `inbound ${tag} 5b2e`;
  const outText = `outbound ${tag} 90af`;
  const sent = await peer.sock.sendMessage(`${PHONE}@s.whatsapp.net`, { text: inText });
  const r = await api('POST', '/message/sendText/s1', { number: PEER_PHONE, text: outText });
  ok(r.status === 201, `sendText ${tag} (${r.status})`);
  let got = null;
  for (let i = 0; i < 200 && !got; i++) {
    got = peerMsgs.find((m) => m.key.id === r.json.key.id);
    if (!got) await sleep(100);
  }
  ok(got && textOf(got) === outText, `Baileys received the ${tag} text`);
  ok(await stored([inText, outText]), `findMessages reads both ${tag} texts`);
  return [[sent.key.id, inText], [r.json.key.id, outText]];
};

let wamd = runWamd(URI);
const rows = [];
try {
  ok(await waitUp(), 'wamd up on PostgreSQL');
  const r = await api('POST', '/instance/create', { instanceName: 's1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  ok(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/s1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: PHONE, qr })).status === 200, 'QR scanned');
  ok(await waitOpen(), 'instance open');
  rows.push(...await exchange('before restart'));
} finally {
  wamd.kill('SIGTERM');
}
ok(await wamd.done === 0, 'wamd exits cleanly');
// the linked devices of wamd's account (number and identity)
const linked = async () => ((await sim.api('GET', `/_sim/accounts/${PHONE}`)).json.devices ?? [])
  .filter((d) => d.device !== 0).map((d) => `${d.device}:${d.identity}`).join(',');
const before = await linked();
check(before.split(',').length === 1 && before !== '', `one linked device (${before})`);

wamd = runWamd(URI);
try {
  ok(await waitUp(), 'wamd up again');
  ok(await waitOpen(), 'the instance is open again with no new scan');
  rows.push(...await exchange('after restart'));
} finally {
  wamd.kill('SIGTERM');
}
ok(await wamd.done === 0, 'wamd exits cleanly after the restart');
check(await linked() === before, 'wasim: the same device, none linked by the restart');

// 3. the texts are rows in PostgreSQL, and nothing went to a SQLite file
for (const [id, text] of rows) {
  const n = psql(`SELECT count(*) FROM wamd_messages WHERE key_id = '${id}'`
    + ` AND position(convert_to('${text}', 'UTF8') in record) > 0`);
  check(n === '1', `wamd_messages holds "${text}" once (${n})`);
}
const files = fs.readdirSync(data);
check(!files.some((f) => f.startsWith('wamd.db')), `no SQLite store in the data folder (${files})`);
check(!log.includes('password'), 'nothing about a password in the log');
await peer.stop();
await sim.stop();
process.exit(0);
