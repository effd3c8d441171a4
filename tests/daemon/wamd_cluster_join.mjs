// Cluster mode, rebalancing when a node joins (suite e2e): wamd nodes on
// one private PostgreSQL server (tests/unit/store_pg.py), one wasim, a
// Baileys peer.
//   node A alone creates and pairs i1..i4, and creates i5 whose QR nobody
//   scans -> B joins: two of the paired ones move to B within a lease and a
//   turn, each handed over as SIGTERM does (A stops its session, then gives
//   its lease up; B takes it, epoch + 1), the other two and i5 (still to be
//   paired: its QR is A's) stay on A untouched (same epoch); no pairing,
//   wasim saw no device
//   with two connections; the moved ones exchange texts through B; two
//   more turns later nothing has moved again.
// argv: [node, script, wamd, wasim]
import { startWasim, pairByQr, check, watchdog, sleep } from '../sim/harness.mjs';
import { until, apiAt, clusterNodes, pgTest, textOf } from './e2e_daemon_util.mjs';

watchdog(110);
const [wamdExe, wasimExe] = process.argv.slice(2);
const { URI, psql } = pgTest();
const KEY = 'wasim-cluster-join-key-2e8a';
const LEASE = 3; // seconds
const PEER = '15550009300';
const PHONES = { i1: '15550009301', i2: '15550009302', i3: '15550009303', i4: '15550009304' };

const sim = await startWasim(wasimExe);
const { startNode, ok } = clusterNodes({ wamdExe, sim, uri: URI, key: KEY, lease: LEASE, prefix: 'wamd-cjoin' });
const peer = await pairByQr(sim, PEER, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });
for (const phone of Object.values(PHONES))
  check((await sim.api('POST', '/_sim/accounts', { phone })).status === 201, `wasim account ${phone}`);
const devices = async (phone) => ((await sim.api('GET', `/_sim/accounts/${phone}`)).json.devices ?? []).filter((d) => d.device !== 0);
const replaced = async () => {
  let s = 0;
  for (const phone of Object.values(PHONES)) for (const d of await devices(phone)) s += d.replaced;
  return s;
};

const api = (n, method, p, body) => apiAt(n.port, KEY)(method, p, body);
const leases = () => Object.fromEntries(psql(`SELECT i.name, l.owner_node, l.epoch FROM wamd_leases l
  JOIN instances i ON i.id = l.instance_id WHERE l.owner_token <> '' ORDER BY i.name`).split('\n').filter(Boolean)
  .map((l) => { const [name, owner, epoch] = l.split('|'); return [name, { owner, epoch: Number(epoch) }]; }));
// n drives inst: its lease, and open in n's own session
const drives = async (n, inst) => leases()[inst]?.owner === `node${n.name}`
  && (await api(n, 'GET', `/instance/connectionState/${inst}`)).json?.instance?.state === 'open';

// 1. A alone: four instances
const A = await startNode('A');
ok(await until(async () => (await api(A, 'GET', '/')).status === 200, 20000), 'node A up');
for (const inst of Object.keys(PHONES)) {
  const r = await api(A, 'POST', '/instance/create', { instanceName: inst, integration: 'WHATSAPP-BAILEYS', qrcode: true });
  ok(r.status === 201, `${inst} created on A (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api(A, 'GET', `/instance/connect/${inst}`)).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: PHONES[inst], qr })).status === 200, `${inst}: QR scanned`);
}
for (const inst of Object.keys(PHONES)) ok(await until(() => drives(A, inst), 30000), `${inst} open on A`);
{
  const r = await api(A, 'POST', '/instance/create', { instanceName: 'i5', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  ok(r.status === 201 && r.json.qrcode?.code, `i5 created on A, a QR given out (${r.status})`);
}
await sleep(2 * LEASE * 1000 / 3); // two turns alone: A keeps all four
let L = leases();
ok(Object.values(L).length === 5 && Object.values(L).every((l) => l.owner === 'nodeA' && l.epoch === 1), `A holds all five (${JSON.stringify(L)})`);
const paired = {};
for (const [inst, phone] of Object.entries(PHONES)) paired[inst] = (await devices(phone)).map((d) => d.identity).join();

// 2. B joins: two move, one at a time through the handover
const B = await startNode('B');
const tJoin = Date.now();
ok(await until(async () => {
  const l = leases();
  const onB = Object.keys(l).filter((i) => l[i].owner === 'nodeB');
  if (onB.length !== 2) return false;
  for (const i of onB) if (!(await drives(B, i))) return false;
  return true;
}, (LEASE + 10) * 1000), 'two instances moved to B and are open there');
console.log(`# rebalanced 2 of 5 onto a new node in ${((Date.now() - tJoin) / 1000).toFixed(1)} s (lease ${LEASE} s)`);
L = leases();
const moved = Object.keys(L).filter((i) => L[i].owner === 'nodeB');
const stayed = Object.keys(L).filter((i) => L[i].owner === 'nodeA');
ok(stayed.length === 3 && stayed.includes('i5') && stayed.every((i) => L[i].epoch === 1) && moved.every((i) => L[i].epoch === 2),
  `the other two and i5 stay on A, untouched; the moved ones at epoch 2 (${JSON.stringify(L)})`);
for (const i of stayed.filter((x) => x !== 'i5')) ok(await drives(A, i), `${i} still open on A`);
ok(moved.every((i) => new RegExp(`instance ${i}: handed over`).test(A.log)), 'A logs each handover');
ok(await replaced() === 0, 'wasim: no device had two live connections at once');
for (const [inst, phone] of Object.entries(PHONES))
  ok((await devices(phone)).map((d) => d.identity).join() === paired[inst], `${inst}: the same linked device, no new pairing`);

// 3. the moved ones work through B
for (const inst of moved) {
  const inText = `to ${inst} after the move 3a7c`;
  await peer.sock.sendMessage(`${PHONES[inst]}@s.whatsapp.net`, { text: inText });
  const r = await api(B, 'POST', `/message/sendText/${inst}`, { number: PEER, text: `from ${inst} on B 91d0` });
  ok(r.status === 201, `${inst}: sendText on B (${r.status})`);
  ok(await until(() => peerMsgs.some((m) => m.key.id === r.json.key.id), 20000), `the peer got ${inst}'s text from B`);
  ok(await until(async () => (await api(B, 'POST', `/chat/findMessages/${inst}`, { where: {} })).json?.messages?.records
    ?.some((m) => textOf(m) === inText), 20000), `${inst} stored the peer's text on B`);
}

// 4. stable: two more turns, nothing moves
await sleep(2 * LEASE * 1000 / 3 + 500);
ok(JSON.stringify(leases()) === JSON.stringify(L), `nothing moved again (${JSON.stringify(leases())})`);
for (const n of [A, B]) {
  n.p.kill('SIGTERM');
  ok(await n.done === 0, `${n.name} exits cleanly`);
}
await peer.stop();
await sim.stop();
process.exit(0);
