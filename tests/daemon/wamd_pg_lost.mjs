// A lost PostgreSQL connection (suite e2e): the server ends wamd's session
// (pg_terminate_backend, what a server restart does to its clients) on a
// private server from tests/unit/store_pg.py, one wasim, a Baileys peer.
//   a cluster node A drives i1 (paired, a text stored) -> its connection
//   ended: A stops its session (wasim: the device offline) and exits 1
//   within a few seconds, saying why -> the peer texts i1 meanwhile ->
//   started again (as its supervisor would): i1 open without pairing, the
//   text sent while it was down stored once, texts both ways -> a wamd on
//   PostgreSQL outside cluster mode exits 1 alike.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import { check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort, until, apiAt, pgTest, wasimWithPeer, textOf } from './e2e_daemon_util.mjs';

watchdog(100);
const [wamdExe, wasimExe] = process.argv.slice(2);
const { URI, psql } = pgTest();
const KEY = 'wasim-pg-lost-key-4c9b';
const LEASE = 3; // seconds
const PEER = '15550009400';
const W1 = '15550009401';

const { sim, peer, peerMsgs } = await wasimWithPeer(wasimExe, PEER, W1);
const devices = async () => ((await sim.api('GET', `/_sim/accounts/${W1}`)).json.devices ?? []).filter((d) => d.device !== 0);

const procs = [];
process.on('exit', () => { for (const p of procs) try { p.kill('SIGKILL'); } catch { /* gone */ } });
const start = async (n, store, extra) => {
  n.log = '';
  n.p = spawn(wamdExe, ['--data', n.data, '--listen', `127.0.0.1:${n.port}`, '--api-key', KEY, '--store', store,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--log-level', 'info', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  n.p.stderr.on('data', (d) => { n.log += d; if (process.env.WAMD_VERBOSE) process.stderr.write(`[${n.name}] ${d}`); });
  n.done = new Promise((res) => n.p.on('exit', (c, s) => res(c ?? s)));
  procs.push(n.p);
  return n;
};
const A = { name: 'A', port: await freePort(), data: tmpDir('wamd-pglost-A-') };
const storeA = `${URI}&application_name=lostA`;
const argsA = ['--cluster', '--node-id', 'nodeA', '--lease-seconds', String(LEASE)];
const ok = (cond, msg) => { if (!cond) process.stderr.write(`---- node A\n${A.log.slice(-5000)}\n`); check(cond, msg); };
const api = apiAt(A.port, KEY);
const isOpen = async () => (await api('GET', '/instance/connectionState/i1')).json?.instance?.state === 'open';
const stored = async (text) => ((await api('POST', '/chat/findMessages/i1', { where: {} })).json?.messages?.records ?? [])
  .filter((m) => textOf(m) === text).length;
// the server ends the sessions of this application name; resolves when it did
const endSessions = (app) => psql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '${app}'`);

// 1. A drives i1
await start(A, storeA, argsA);
ok(await until(async () => (await api('GET', '/')).status === 200, 20000), 'node A up');
let r = await api('POST', '/instance/create', { instanceName: 'i1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
ok(r.status === 201, `i1 created (${r.status})`);
const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/i1')).json.code;
check((await sim.api('POST', '/_sim/scan', { phone: W1, qr })).status === 200, 'i1: QR scanned');
ok(await until(isOpen, 30000), 'i1 open');
await peer.sock.sendMessage(`${W1}@s.whatsapp.net`, { text: 'before the loss 2b7e' });
ok(await until(async () => await stored('before the loss 2b7e') === 1, 20000), 'i1 stored the peer\'s text');
const paired = (await devices()).map((d) => d.identity).join();
ok((await devices()).some((d) => d.online), 'wasim: the device online');

// 2. the server ends A's connection
ok(endSessions('lostA') === '1', 'the server ended A\'s session');
const t0 = Date.now();
const code = await Promise.race([A.done, sleep(8000).then(() => 'still running')]);
const took = (Date.now() - t0) / 1000;
console.log(`# exit after the lost connection: ${took.toFixed(1)} s`);
ok(code === 1, `A exits 1 (${code})`);
ok(took <= 3, `within a few seconds (${took.toFixed(1)} s)`);
ok(/database connection is lost/.test(A.log), 'A says why');
ok(await until(async () => (await devices()).every((d) => !d.online), 5000), 'wasim: the device offline');
await peer.sock.sendMessage(`${W1}@s.whatsapp.net`, { text: 'while A was down 81fa' });

// 3. started again: back without pairing, nothing lost
await start(A, storeA, argsA);
ok(await until(isOpen, (LEASE + 15) * 1000), 'i1 open again after the restart');
ok((await devices()).map((d) => d.identity).join() === paired, 'the same linked device, no new pairing');
ok(await until(async () => await stored('while A was down 81fa') === 1, 20000), 'the text sent while A was down stored once');
r = await api('POST', '/message/sendText/i1', { number: PEER, text: 'after the restart 5d03' });
ok(r.status === 201, `sendText after the restart (${r.status})`);
ok(await until(() => peerMsgs.some((m) => m.key.id === r.json.key.id), 20000), 'the peer got it');
A.p.kill('SIGTERM');
ok(await A.done === 0, 'A exits cleanly');

// 4. outside cluster mode: the same
psql('CREATE DATABASE wa_lost_plain');
const P = { name: 'P', port: await freePort(), data: tmpDir('wamd-pglost-P-') };
const plainUri = `${URI.replace(/^postgresql:\/\/\/[^?]+/, 'postgresql:///wa_lost_plain')}&application_name=lostP`;
await start(P, plainUri, []);
ok(await until(async () => (await fetch(`http://127.0.0.1:${P.port}/`)).status === 200, 20000), 'a plain node up');
ok(endSessions('lostP') === '1', 'the server ended its session');
const pc = await Promise.race([P.done, sleep(8000).then(() => 'still running')]);
ok(pc === 1 && /database connection is lost/.test(P.log), `the plain node exits 1 too (${pc})`);
await peer.stop();
await sim.stop();
process.exit(0);
