// Cluster mode, streams on a node that does not drive their instance
// (suite e2e): two wamd nodes on one private PostgreSQL server
// (tests/unit/store_pg.py), one wasim, nothing paired.
//   No stream on B: instances created on A with a QR, their events on A's
//   own stream, and A relays none (wamd_cluster_events_relayed_total stays
//   0) -> a stream opens on B: 400 ms later it shows the next instance's
//   QR from A ->
//   it closes: A relays none again.
//   i1 created on A, two read tokens; B streams i1 with each and with the
//   admin key -> one token revoked through A: B closes that token's stream
//   ("token revoked") within seconds, the other token's and the admin's
//   stay open -> i1 deleted through A: B closes the rest ("instance
//   deleted").
// argv: [node, script, wamd, wasim]
import { createRequire } from 'node:module';
import { check, watchdog, startWasim } from '../sim/harness.mjs';
import { baileysPath } from '../interop/baileys.mjs';
import { until, apiAt, clusterNodes, pgTest } from './e2e_daemon_util.mjs';

const WebSocket = createRequire(baileysPath('package.json'))('ws');
watchdog(60);
const [wamdExe, wasimExe] = process.argv.slice(2);
const { URI } = pgTest();
const KEY = 'wasim-cluster-streams-key-41d9';
const sim = await startWasim(wasimExe);
const { startNode, ok } = clusterNodes({ wamdExe, sim, uri: URI, key: KEY, lease: 3, prefix: 'wamd-cstreams' });
const api = (n, method, p, body) => apiAt(n.port, KEY)(method, p, body);
const up = async (n) => ok(await until(async () => (await api(n, 'GET', '/')).status === 200, 20000), `node ${n.name} up`);

// a stream with its close (code, reason) once it ends
const stream = async (n, key, query = 'instance=i1&') => {
  const s = { closed: null, evs: [] };
  s.w = new WebSocket(`ws://127.0.0.1:${n.port}/ws/events?${query}apikey=${key}`);
  s.w.on('message', (d) => { try { s.evs.push(JSON.parse(String(d))); } catch { /* not JSON */ } });
  s.w.on('close', (code, reason) => { s.closed = { code, reason: String(reason) }; });
  await new Promise((res, rej) => { s.w.on('open', res); s.w.on('error', rej); });
  return s;
};

const A = await startNode('A');
const B = await startNode('B');
await up(A);
await up(B);
const relayed = async () => {
  const m = await fetch(`http://127.0.0.1:${A.port}/metrics`, { headers: { apikey: KEY } });
  const v = /^wamd_cluster_events_relayed_total (\d+)$/m.exec(await m.text());
  ok(v, 'A reports wamd_cluster_events_relayed_total');
  return Number(v[1]);
};
const onA = await stream(A, KEY, '');
const qrOf = (s, name) => s.evs.some((e) => e.event === 'qrcode.updated' && e.instance === name);
const withQr = async (name) => {
  const c = await api(A, 'POST', '/instance/create', { instanceName: name, integration: 'WHATSAPP-BAILEYS', qrcode: true });
  ok(c.status === 201, `${name} created on A (${c.status})`);
  ok(await until(() => qrOf(onA, name), 10000), `A's own stream shows ${name}'s QR`);
};
// a node relays everything for its first lease (it has not heard every node yet)
await new Promise((res) => setTimeout(res, 3500));
const before = await relayed();
await withQr('q1');
await withQr('q2');
ok(await relayed() === before, `no stream on B: A relays none of their events (${before} -> ${await relayed()})`);
const onB = await stream(B, KEY, '');
await new Promise((res) => setTimeout(res, 400)); // A reads B's notification within a 250 ms tick
await withQr('q3');
ok(await until(() => qrOf(onB, 'q3'), 5000), `B's new stream shows q3's QR from A (${JSON.stringify(onB.evs.map((e) => e.event))})`);
const during = await relayed();
ok(during > before, `A relayed them (${before} -> ${during})`);
onB.w.close();
ok(await until(() => onB.closed, 3000), 'B\'s stream closed');
await new Promise((res) => setTimeout(res, 300));
const after = await relayed();
await withQr('q4');
ok(await relayed() === after, `B's stream gone: A relays none again (${after} -> ${await relayed()})`);
onA.w.close();
let r = await api(A, 'POST', '/instance/create', { instanceName: 'i1', integration: 'WHATSAPP-BAILEYS' });
ok(r.status === 201, `i1 created on A (${r.status})`);
const mint = async () => {
  const m = await api(A, 'POST', '/wamd/token/i1', { scopes: ['read'] });
  ok(m.status === 201 && m.json?.token, `a read token (${m.status} ${JSON.stringify(m.json)})`);
  return m.json.token;
};
const tok1 = await mint();
const tok2 = await mint();
const s1 = await stream(B, tok1);
const s2 = await stream(B, tok2);
const sa = await stream(B, KEY);

// a token revoked through the owner: B closes its stream only
r = await api(A, 'DELETE', '/wamd/token/i1', { token: tok1 });
ok(r.status === 200 && r.json?.revoked === true, `tok1 revoked through A (${r.status} ${JSON.stringify(r.json)})`);
const t0 = Date.now();
ok(await until(() => s1.closed, 5000), 'B closed the stream of the revoked token');
console.log(`# revoked on A to B's stream closed: ${Date.now() - t0} ms`);
ok(s1.closed.reason === 'token revoked', `its close reason (${JSON.stringify(s1.closed)})`);
ok(/closing the events stream of instance i1: token revoked/.test(B.log), 'B logged why');
ok(!s2.closed && !sa.closed, 'the other token\'s and the admin\'s streams stay open');

// the instance deleted through the owner: B closes the rest
r = await api(A, 'DELETE', '/instance/delete/i1');
ok(r.status === 200, `i1 deleted through A (${r.status})`);
ok(await until(() => s2.closed && sa.closed, 5000), 'B closed the streams of the deleted instance');
ok(s2.closed.reason === 'instance deleted' && sa.closed.reason === 'instance deleted',
  `their close reasons (${JSON.stringify([s2.closed, sa.closed])})`);

for (const n of [A, B]) n.p.kill('SIGTERM');
for (const n of [A, B]) ok(await n.done === 0, `node ${n.name} exits cleanly`);
await sim.stop();
process.exit(0);
