// Cluster mode, tenant-group and daemon-wide pacing windows across nodes
// (suite e2e): two wamd nodes on one private PostgreSQL server
// (tests/unit/store_pg.py), both on the pacing test clock at the same time,
// group acme limited to 3 a minute and the daemon-wide limit to 5 a
// minute, one wasim, a Baileys peer.
//   g1 created and paired on A, g2 on B (each node drives its own), both in
//   acme with 10 a minute of their own; g3 on B, in no group ->
//   two texts of g1 leave from A; of two texts of g2 on B one leaves and
//   one waits for the group's minute (B counts A's two: the group's
//   window shows 3 on both nodes); two of g3 leave but a third waits for
//   the daemon-wide minute (5 across the nodes) -> the minute over, the
//   held ones leave, each once -> a node C that starts then counts acme's
//   sends of A and B (its windows rebuilt from the store, the groups of the
//   other nodes' instances from their documents).
// argv: [node, script, wamd, wasim]
import { check, watchdog, sleep } from '../sim/harness.mjs';
import { until, apiAt, clusterNodes, pgTest, wasimWithPeer, textOf } from './e2e_daemon_util.mjs';

watchdog(100);
const [wamdExe, wasimExe] = process.argv.slice(2);
const { URI } = pgTest();
const KEY = 'wasim-cluster-pgroup-key-2e6a';
const LEASE = 3; // seconds
const PEER = '15550009400';
const PHONES = { g1: '15550009401', g2: '15550009402', g3: '15550009403' };
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MIN = 60000;

const { sim, peer, peerMsgs } = await wasimWithPeer(wasimExe, PEER, PHONES.g1);
for (const p of [PHONES.g2, PHONES.g3]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const { startNode, ok } = clusterNodes({ wamdExe, sim, uri: URI, key: KEY, lease: LEASE, prefix: 'wamd-cpgroup',
  env: { WAMD_PACING: 'on', WAMD_TEST_CLOCK_MS: String(T0), WAMD_PACE_GROUPS: 'acme:3/0/0', WAMD_PACE_DAEMON_PER_MINUTE: '5' } });
const api = (n, method, p, body) => apiAt(n.port, KEY)(method, p, body);
const got = (text) => peerMsgs.filter((m) => textOf(m) === text);

const A = await startNode('A');
const B = await startNode('B');
for (const n of [A, B]) ok(await until(async () => (await api(n, 'GET', '/')).status === 200, 20000), `node ${n.name} up`);

// each instance created (so driven) by its node
for (const [name, n, group] of [['g1', A, 'acme'], ['g2', B, 'acme'], ['g3', B, null]]) {
  let r = await api(n, 'POST', '/instance/create', { instanceName: name, integration: 'WHATSAPP-BAILEYS', qrcode: true });
  ok(r.status === 201, `${name} created on ${n.name} (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api(n, 'GET', `/instance/connect/${name}`)).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: PHONES[name], qr })).status === 200, `${name}: QR scanned`);
  ok(await until(async () => (await api(n, 'GET', `/instance/connectionState/${name}`)).json?.instance?.state === 'open', 30000),
    `${name} open on ${n.name}`);
  r = await api(n, 'POST', `/wamd/pace/${name}`, { perMinute: 10, perHour: 0, perDay: 0, firstContactPerDay: 0, warmupStep: 0,
    gapMs: 0, jitterMs: 0, typing: false, available: false, group });
  ok(r.status === 201 && r.json.group === group, `${name}: 10/min of its own, group ${group} (${r.status})`);
}
ok((await api(A, 'GET', '/wamd/cluster')).json?.instances?.join() === 'g1'
  && (await api(B, 'GET', '/wamd/cluster')).json?.instances?.sort().join() === 'g2,g3', 'A drives g1, B g2 and g3');

const send = async (n, name, text) => {
  const r = await api(n, 'POST', `/message/sendText/${name}`, { number: PEER, text });
  ok(r.status === 201, `${name}: "${text}" accepted on ${n.name} (${r.status})`);
  return r.json.key.id;
};
const queue = async (n, name) => (await api(n, 'GET', `/wamd/paceQueue/${name}`)).json;
const groupSent = async (n, name) => (await api(n, 'GET', `/wamd/pace/${name}`)).json?.state?.group?.sentLastMinute;

// at once: often one loop turn, one statement, the same ms (each must count)
await Promise.all([send(A, 'g1', 'g1 one 5c0d'), send(A, 'g1', 'g1 two 5c0d')]);
ok(await until(async () => await groupSent(B, 'g2') === 2, 5000), `B counts A's two sends in acme (${await groupSent(B, 'g2')})`);
await send(B, 'g2', 'g2 one 5c0d');
const held = await send(B, 'g2', 'g2 two 5c0d');
let q = await queue(B, 'g2');
ok(q?.queued === 1 && q.messages[0].id === held && q.messages[0].expectedAtMs === T0 + MIN,
  `g2's second text waits for acme's minute (${JSON.stringify(q)?.slice(0, 300)})`);
ok(await until(async () => await groupSent(A, 'g1') === 3, 5000) && await groupSent(B, 'g2') === 3,
  'both nodes count 3 in acme\'s minute');
// the daemon-wide window: 3 sent so far across the nodes, 5 a minute
await send(B, 'g3', 'g3 one 5c0d');
await send(B, 'g3', 'g3 two 5c0d');
const held3 = await send(B, 'g3', 'g3 three 5c0d');
q = await queue(B, 'g3');
ok(q?.queued === 1 && q.messages[0].id === held3, `g3's third text waits for the daemon-wide minute (${JSON.stringify(q)?.slice(0, 300)})`);
const first = ['g1 one', 'g1 two', 'g2 one', 'g3 one', 'g3 two'].map((t) => `${t} 5c0d`);
ok(await until(() => first.every((t) => got(t).length === 1), 15000), 'the five not held reached the peer');
await sleep(500);
ok(!got('g2 two 5c0d').length && !got('g3 three 5c0d').length, 'the held ones did not');
ok(peerMsgs.filter((m) => / 5c0d$/.test(textOf(m) ?? '')).length === 5, 'five in the minute, across both nodes');

// the minute over: the held ones leave
for (const n of [A, B]) {
  const r = await api(n, 'POST', '/wamd/testClock', { nowMs: T0 + MIN });
  ok(r.status === 200, `${n.name}'s clock a minute on (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
}
ok(await until(() => got('g2 two 5c0d').length === 1 && got('g3 three 5c0d').length === 1, 15000), 'the held ones left after the minute');
await sleep(300);
for (const t of [...first, 'g2 two 5c0d', 'g3 three 5c0d']) ok(got(t).length === 1, `"${t}" once (${got(t).length})`);

// a node that starts rebuilds acme's window from the store with the other
// nodes' instances' groups (its clock at T0: the newest 3 of acme's 4 count)
const C = await startNode('C');
ok(await until(async () => (await api(C, 'GET', '/')).status === 200, 20000), 'node C up');
let r = await api(C, 'POST', '/instance/create', { instanceName: 'g4', integration: 'WHATSAPP-BAILEYS' });
ok(r.status === 201, `g4 created on C (${r.status})`);
r = await api(C, 'POST', '/wamd/pace/g4', { group: 'acme' });
ok(r.status === 201, `g4 in acme (${r.status})`);
ok(await groupSent(C, 'g4') === 3, `C counts acme's sends of A and B from the store (${await groupSent(C, 'g4')})`);

for (const n of [A, B, C]) n.p.kill('SIGTERM');
for (const n of [A, B, C]) ok(await n.done === 0, `node ${n.name} exits cleanly`);
await peer.stop();
await sim.stop();
process.exit(0);
