// Cluster mode and send pacing (suite e2e): two wamd nodes on one private
// PostgreSQL server (tests/unit/store_pg.py), both on the pacing test clock
// at the same time, one wasim, a Baileys peer.
//   node A creates and pairs i1; B answers its reads (connectionState,
//   findMessages/Chats/Contacts, fetchInstances; with its token too) from
//   the database as A does, a connect through B is 409 naming A ->
//   i1 paced at 2/min; a bulk job of five texts and a
//   text scheduled ten minutes ahead; two of the job's texts leave ->
//   SIGKILL A: B takes i1 after the lease, with the job (two sent, its next
//   text queued) and the scheduled text in its queue -> B's clock moves on
//   eleven minutes: the three other texts of the job and the scheduled one
//   leave from B, each once, in order, the scheduled one with the id A
//   answered; the job is done on B -> a send straight through on B, SIGTERM
//   at once: its row is written before B gives the lease up.
// argv: [node, script, wamd, wasim]
import { check, watchdog, sleep } from '../sim/harness.mjs';
import { until, apiAt, clusterNodes, pgTest, wasimWithPeer, textOf } from './e2e_daemon_util.mjs';

watchdog(110);
const [wamdExe, wasimExe] = process.argv.slice(2);
const { URI, psql } = pgTest();
const KEY = 'wasim-cluster-pace-key-5b1e';
const LEASE = 3; // seconds
const PEER = '15550009200';
const W1 = '15550009201';
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MIN = 60000;

const { sim, peer, peerMsgs } = await wasimWithPeer(wasimExe, PEER, W1);

const { startNode, ok } = clusterNodes({ wamdExe, sim, uri: URI, key: KEY, lease: LEASE, prefix: 'wamd-cpace', env: { WAMD_PACING: 'on', WAMD_TEST_CLOCK_MS: String(T0) } });
const api = (n, method, p, body) => apiAt(n.port, KEY)(method, p, body);
const isOpen = async (n) => (await api(n, 'GET', '/instance/connectionState/i1')).json?.instance?.state === 'open';
const jobTexts = [0, 1, 2, 3, 4].map((k) => `job ${k} of five 4d1e`);
const got = (text) => peerMsgs.filter((m) => textOf(m) === text);

const A = await startNode('A');
const B = await startNode('B');
for (const n of [A, B]) ok(await until(async () => (await api(n, 'GET', '/')).status === 200, 20000), `node ${n.name} up`);

// 1. i1 on A
let r = await api(A, 'POST', '/instance/create', { instanceName: 'i1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
ok(r.status === 201, `i1 created on A (${r.status})`);
const qr = r.json.qrcode?.code ?? (await api(A, 'GET', '/instance/connect/i1')).json.code;
check((await sim.api('POST', '/_sim/scan', { phone: W1, qr })).status === 200, 'i1: QR scanned');
ok(await until(() => isOpen(A), 30000), 'i1 open on A');
const token = r.json.hash;

// 2. B answers reads of i1 from the database; what drives the session stays with A
await peer.sock.sendMessage(`${W1}@s.whatsapp.net`, { text: 'read me anywhere 6f0d' });
const find = (n, what) => api(n, 'POST', `/chat/${what}/i1`, { where: {} });
ok(await until(async () => (await find(A, 'findMessages')).json?.messages?.records?.some((m) => textOf(m) === 'read me anywhere 6f0d'), 20000),
  'i1 stored the peer\'s text on A');
ok(await until(async () => (await api(B, 'GET', '/instance/connectionState/i1')).json?.instance?.state === 'open', 5000),
  'B answers i1\'s connectionState: open, as A wrote it');
for (const what of ['findMessages', 'findChats', 'findContacts']) {
  const [a, b] = [await find(A, what), await find(B, what)];
  ok(a.status === b.status && JSON.stringify(a.json) === JSON.stringify(b.json),
    `B answers ${what} of i1 as A does (${b.status} ${JSON.stringify(b.json).slice(0, 200)})`);
}
const asToken = async (n, p) => {
  const res = await fetch(`http://127.0.0.1:${n.port}${p}`, { headers: { apikey: token }, signal: AbortSignal.timeout(5000) });
  return { status: res.status, json: await res.json() };
};
r = await asToken(B, '/instance/connectionState/i1');
ok(r.status === 200 && r.json.instance?.state === 'open', `i1's own token reads it on B (${r.status} ${JSON.stringify(r.json)})`);
const fa = await api(A, 'GET', '/instance/fetchInstances');
const fb = await api(B, 'GET', '/instance/fetchInstances');
ok(fb.status === 200 && fb.json.length === 1 && fb.json[0].name === 'i1' && fb.json[0].connectionStatus === 'open'
  && JSON.stringify(fa.json) === JSON.stringify(fb.json), `B lists i1 as A does (${JSON.stringify(fb.json).slice(0, 300)})`);
r = await api(B, 'GET', '/instance/connect/i1');
ok(r.status === 409 && JSON.stringify(r.json).includes('nodeA'), `connecting i1 through B: 409 naming A (${r.status} ${JSON.stringify(r.json)})`);
r = await api(B, 'GET', '/instance/connectionState/nope');
ok(r.status === 404, `an unknown instance is 404 on B (${r.status})`);

// 3. pacing on A
r = await api(A, 'POST', '/wamd/pace/i1', { perMinute: 2, perHour: 0, perDay: 0, firstContactPerDay: 0, warmupStep: 0,
  gapMs: 0, jitterMs: 0, typing: false, available: false });
ok(r.status === 201 && r.json.perMinute === 2, `i1: 2/min (${r.status})`);
r = await api(A, 'POST', '/message/sendText/i1', { number: PEER, text: 'scheduled 8b2f', sendAt: T0 + 10 * MIN });
ok(r.status === 201 && r.json.status === 'PENDING', `a text scheduled at +10 min (${r.status} ${JSON.stringify(r.json)})`);
const schedId = r.json.key.id;
r = await api(A, 'POST', '/wamd/bulk/i1', { template: 'job {{k}} of five 4d1e',
  recipients: [0, 1, 2, 3, 4].map((k) => ({ number: PEER, variables: { k } })) });
ok(r.status === 201 && r.json.total === 5, `a bulk job of five on A (${r.status} ${JSON.stringify(r.json)})`);
const jobId = r.json.id;
r = await api(A, 'POST', '/wamd/testClock', { nowMs: T0 }); // on the test clock, releases happen here
ok(r.status === 200 && r.json.released.length === 2, `two of the job's texts released on A (${JSON.stringify(r.json)})`);
ok(await until(() => got(jobTexts[0]).length && got(jobTexts[1]).length, 20000), 'two of the job\'s texts left from A');
ok(await until(async () => (await api(A, 'GET', `/wamd/bulk/i1?id=${jobId}`)).json?.sent === 2, 5000), 'A counts two sent');
await sleep(300);
ok(!got(jobTexts[2]).length, 'the third waits for the next minute');

// 4. SIGKILL A: B takes i1 with its queue
A.p.kill('SIGKILL');
await A.done;
// (B answers reads of i1 from the start; its own routes once it drives i1)
ok(await until(async () => (await api(B, 'GET', `/wamd/bulk/i1?id=${jobId}`)).status === 200 && await isOpen(B),
  (LEASE + 12) * 1000), 'B drives i1, open');
r = await api(B, 'GET', `/wamd/bulk/i1?id=${jobId}`);
ok(r.status === 200 && r.json.state === 'running' && r.json.sent === 2 && r.json.pending === 3 && /^3EB0/.test(r.json.queuedId),
  `B has the job: two sent, the next queued (${r.status} ${JSON.stringify(r.json)})`);
r = await api(B, 'GET', '/wamd/paceQueue/i1');
const queuedIds = (r.json?.messages ?? []).map((x) => x.id);
ok(r.status === 200 && queuedIds.includes(schedId), `B's queue holds the scheduled text (${JSON.stringify(r.json)})`);

// 5. B's clock moves on: the rest leaves from B
r = await api(B, 'POST', '/wamd/testClock', { nowMs: T0 + 11 * MIN });
const rel = r.json?.released ?? [];
ok(r.status === 200 && rel.length === 4, `B released four on its way to +11 min (${r.status} ${JSON.stringify(r.json)})`);
// 2/min counted across the nodes: A's two at T0 hold the third to T0 + 1 min
ok(rel.every((e, k) => k === 0 || e.atMs >= rel[k - 1].atMs) && rel[0].atMs >= T0 + MIN
  && rel.filter((e) => e.atMs < T0 + 2 * MIN).length <= 2 && rel[3].id === schedId && rel[3].atMs === T0 + 10 * MIN,
  `at their times: the window kept across the nodes, the scheduled one at +10 min (${JSON.stringify(rel)})`);
ok(await until(() => jobTexts.every((t) => got(t).length) && peerMsgs.some((m) => m.key.id === schedId), 20000),
  'the job\'s three other texts and the scheduled one reached the peer');
await sleep(500);
ok(jobTexts.every((t) => got(t).length === 1), `each of the job's texts arrived once (${jobTexts.map((t) => got(t).length)})`);
const order = jobTexts.map((t) => peerMsgs.indexOf(got(t)[0]));
ok(order.every((v, k) => k === 0 || v > order[k - 1]), `in list order (${order})`);
ok(peerMsgs.filter((m) => m.key.id === schedId).length === 1 && textOf(peerMsgs.find((m) => m.key.id === schedId)) === 'scheduled 8b2f',
  'the scheduled text arrived once with the id A answered');
r = await api(B, 'GET', `/wamd/bulk/i1?id=${jobId}`);
ok(r.json?.state === 'done' && r.json.sent === 5 && r.json.failed === 0, `the job is done on B (${JSON.stringify(r.json)})`);

// 6. a send no limit holds goes straight out; its row (written in batches
// 100 ms apart) is still written when SIGTERM comes right after it
const sentRows = () => psql("SELECT count(*) FROM wamd_pace p JOIN instances i ON i.id = p.instance_id WHERE i.name = 'i1' AND p.state = 1");
ok(sentRows() === '6', `six sends of i1 recorded (${sentRows()})`);
r = await api(B, 'POST', '/message/sendText/i1', { number: PEER, text: 'straight 0c3a' });
ok(r.status === 201, `a send on B (${r.status})`);
const q = (await api(B, 'GET', '/wamd/paceQueue/i1')).json;
ok(q?.queued === 0, `it went straight through (${JSON.stringify(q)})`);
B.p.kill('SIGTERM');
ok(await B.done === 0, 'B exits cleanly');
ok(sentRows() === '7', `the straight send recorded before B gave its lease up (${sentRows()})`);
await peer.stop();
await sim.stop();
process.exit(0);
