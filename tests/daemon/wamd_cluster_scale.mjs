// Cluster mode at scale (suite e2e): three wamd nodes on one private
// PostgreSQL server (tests/unit/store_pg.py), one wasim, N = 300 paired
// instances (seeded into the store by tests/bench/seed.mjs: real devices
// wasim knows, logged in by wamd as after a restart), two Baileys peers.
//   the nodes share the 300 out (100 each), every device online once ->
//   traffic both ways: each peer texts its half of the instances, one at a
//   time, then each instance texts its peer through its node ->
//   node K accepts a text for each of its instances, is SIGKILLed at once,
//   and the peers text K's instances while it is dead: they are online on
//   the two others within the lease time plus a few seconds; every send
//   accepted reaches its peer exactly once; every text to an instance is
//   one row of wamd_messages and one webhook event (MESSAGES_UPSERT, one
//   X-Wamd-Event-Id per message id; a redelivery of the same event id only
//   for K's instances, whose delivery K may have begun); wasim counts no
//   login that found another live connection of the device and no new
//   device ->
//   SIGSTOP of a survivor P past its lease: the other takes all of P's
//   (wasim replaces each frozen connection once: a stopped process's
//   sockets stay open, as for the real server); SIGCONT: P gives them up
//   (logs it, a connect through it names the owner) and, by an audit
//   trigger recording the writer's lease token and the lease epoch of every
//   row committed, wrote nothing for them after the takeover; no login
//   after the takeover found another live connection.
// argv: [node, script, wamd, wasim, wamd_seed]; WAMD_CLUSTER_N overrides N.
import { startWasim, pairByQr, check, watchdog, sleep } from '../sim/harness.mjs';
import { until, apiAt, clusterNodes, pgTest, hookReceiver, textOf } from './e2e_daemon_util.mjs';
import { seed } from '../bench/seed.mjs';
import { pool } from '../bench/wamd_bench.mjs';

watchdog(540);
// libsignal (the Baileys peers) prints every session it closes: 300 of them
console.info = () => {};
const t0 = Date.now();
const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const [wamdExe, wasimExe, seedExe] = process.argv.slice(2);
const { URI, psql } = pgTest();
const N = Number(process.env.WAMD_CLUSTER_N ?? 300);
const KEY = 'wasim-cluster-scale-key-5d1f';
const LEASE = 5; // seconds
const SLACK = 8; // "a few seconds" past the lease: a turn, the takes, the logins
const BASE = 15556000000;
const PEERS = ['15550009600', '15550009601'];
const NOW_MS = 'CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)';
const name = (i) => `s${i}`;
const phoneOf = (inst) => String(BASE + Number(inst.slice(1)));

const sim = await startWasim(wasimExe);
const peers = [];
for (const [k, phone] of PEERS.entries()) peers.push(await pairByQr(sim, phone, `peer${k}`));
const peerGot = new Map(); // key id -> times a peer got it
for (const p of peers) p.sock.ev.on('messages.upsert', ({ messages }) => {
  for (const m of messages) if (!m.key.fromMe) peerGot.set(m.key.id, (peerGot.get(m.key.id) ?? 0) + 1);
});
const hook = await hookReceiver();

const seeded = await seed({ wasim: `http://127.0.0.1:${sim.port}`, seedExe, store: URI, count: N, prefix: 's',
  phoneBase: BASE, prekeys: 10, batch: 100 });
console.log(`# seeded ${N} instances in ${seeded.elapsed_s.toFixed(1)} s (at ${since()})`);

const { nodes, startNode, ok } = clusterNodes({ wamdExe, sim, uri: URI, key: KEY, lease: LEASE, prefix: 'wamd-cscale',
  env: { WAMD_WEBHOOK_GLOBAL_URL: hook.url, WAMD_WEBHOOK_GLOBAL_EVENTS: 'MESSAGES_UPSERT'} });
const [A, B, C] = await Promise.all(['A', 'B', 'C'].map((n) => startNode(n)));
// 90 s a request: a node logging 100 instances in under ASan on a busy
// machine answers late
const api = (n, method, p, body) => apiAt(n.port, KEY, 90000)(method, p, body);
for (const n of [A, B, C]) ok(await until(async () => (await api(n, 'GET', '/')).status === 200, 30000), `node ${n.name} up`);

// every lease row: instance -> { owner node, epoch, open by its owner's word }
const leases = () => new Map(psql(`SELECT i.name, l.owner_node, l.epoch, l.conn_state = 'open' AND l.owner_token <> ''
  AND l.expires_at > ${NOW_MS} FROM wamd_leases l JOIN instances i ON i.id = l.instance_id`).split('\n').filter(Boolean)
  .map((l) => { const [inst, owner, epoch, open] = l.split('|'); return [inst, { owner, epoch: Number(epoch), open: open === 't' }]; }));
const byNode = (owner) => Object.values(nodes).find((n) => `node${n.name}` === owner);
const held = (L, n) => [...L.keys()].filter((i) => L.get(i).owner === `node${n.name}`);
// wasim's view: companion devices online, logins that found another live
// connection of the device (replaced), companions per seeded account
const simView = async () => {
  const accts = (await sim.api('GET', '/_sim/accounts')).json.accounts.filter((a) => Number(a.phone) >= BASE
    && Number(a.phone) < BASE + N);
  const devs = accts.flatMap((a) => a.devices.filter((d) => d.device !== 0).map((d) => ({ ...d, phone: a.phone })));
  return { accounts: accts.length, devices: devs.length, online: devs.filter((d) => d.online).length,
    replaced: devs.reduce((s, d) => s + d.replaced, 0), identities: devs.map((d) => d.identity).join() };
};

// 1. the nodes share the instances out; every device online once
ok(await until(async () => {
  const L = leases();
  return L.size === N && [...L.values()].every((l) => l.open) && [A, B, C].every((n) => held(L, n).length === N / 3)
    && (await simView()).online === N;
}, 90000), `all ${N} open, ${N / 3} on each node (${JSON.stringify([A, B, C].map((n) => held(leases(), n).length))})`);
const sv0 = await simView();
console.log(`# ${N} online on three nodes at ${since()}`);
ok(sv0.accounts === N && sv0.devices === N && sv0.replaced === 0, `wasim: one companion per account, none replaced (${JSON.stringify({ ...sv0, identities: undefined })})`);

const sent = new Map(); // key id of a send the API accepted -> instance
const toInst = new Map(); // key id of a peer's text -> instance
const sendFrom = async (n, inst, text) => {
  const r = await api(n, 'POST', `/message/sendText/${inst}`, { number: PEERS[Number(inst.slice(1)) % 2], text })
    .catch((e) => ({ status: String(e), json: null }));
  if (!(r.status === 201 && r.json?.key?.id)) ok(false, `${inst}: sendText through ${n.name} (${r.status} ${JSON.stringify(r.json)})`);
  sent.set(r.json.key.id, inst);
};
const textTo = async (inst, text) => {
  const m = await peers[Number(inst.slice(1)) % 2].sock.sendMessage(`${phoneOf(inst)}@s.whatsapp.net`, { text });
  toInst.set(m.key.id, inst);
};
const all = Array.from({ length: N }, (_, i) => name(i));
// each peer texts its instances one at a time (concurrent sendMessage calls
// of one Baileys socket to new numbers were seen to reach only the phone)
const textAll = (insts, tag) => Promise.all(peers.map((_, k) =>
  pool(insts.filter((i) => Number(i.slice(1)) % 2 === k), 1, (inst) => textTo(inst, `${tag} ${inst}`))));

// 2. traffic both ways, through each instance's node
let L = leases();
const tTraffic = Date.now();
// the peers' texts first (their storing waits out the logins' aftermath:
// history notifications, app state, contacts, every node's writes through
// the schema's one writer lock), then the instances': a peer's text that
// crosses an instance's first text to it can leave out the instance's
// companion (Baileys' own race, tests/bench/text_cross.mjs), which is not
// what this test is about
await textAll(all, 'hello 8b2c');
const stored = () => new Map(psql(`SELECT key_id, count(*) FROM wamd_messages WHERE from_me = 0 GROUP BY key_id`)
  .split('\n').filter(Boolean).map((l) => { const [id, c] = l.split('|'); return [id, Number(c)]; }));
const allArrived = (what) => until(() => [...sent.keys()].every((id) => peerGot.get(id) >= 1)
  && (() => { const s = stored(); return [...toInst.keys()].every((id) => s.get(id) >= 1); })(), what);
// before a failure: where the first text not stored got to (libwa's
// messages table, wasim's view of the instance's devices)
const explainMissing = async () => {
  const s = stored();
  const [id, i] = [...toInst].find(([k]) => !s.get(k)) ?? [];
  if (!id) return;
  console.log(`# text ${id} to ${i}: ${psql(`SELECT count(*) FROM messages WHERE msg_id = '${id}'`)} row(s) in messages;`
    + ` wasim: ${JSON.stringify((await sim.api('GET', `/_sim/accounts/${phoneOf(i)}`)).json?.devices)}`);
};
const missing = () => {
  const s = stored();
  return [...[...sent].filter(([id]) => !peerGot.get(id)).map(([, i]) => `send of ${i}`),
    ...[...toInst].filter(([id]) => !s.get(id)).map(([, i]) => `text to ${i}`)];
};
await allArrived(120000);
await explainMissing();
ok(await allArrived(1000), `the ${N} texts stored (missing: ${missing().slice(0, 20)})`);
console.log(`# each instance stored its peer's text at ${since()}`);
await pool(all, 8, (inst) => sendFrom(byNode(L.get(inst).owner), inst, `hello from ${inst} 3e1a`));
await allArrived(120000);
await explainMissing();
ok(await allArrived(1000), `the ${N} sends reached the peers, the ${N} texts stored (missing: ${missing().slice(0, 20)})`);
console.log(`# traffic both ways (${2 * N} texts) in ${((Date.now() - tTraffic) / 1000).toFixed(1)} s, done at ${since()}`);

// 3. K accepts a send per instance and is killed; the peers text its
// instances while it is dead
L = leases();
const K = B;
const kInsts = held(L, K);
const survivors = [A, C];
await pool(kInsts, 8, (inst) => sendFrom(K, inst, `accepted before the kill ${inst} 77d0`));
K.p.kill('SIGKILL');
const tKill = Date.now();
await K.done;
await textAll(kInsts, 'while the node is dead 19fb');
let failover = null;
ok(await until(() => {
  const l = leases();
  if (!kInsts.every((i) => l.get(i).open && survivors.includes(byNode(l.get(i).owner)))) return false;
  failover = (Date.now() - tKill) / 1000;
  return true;
}, (LEASE + SLACK + 20) * 1000), `${K.name}'s ${kInsts.length} instances open on the others`);
console.log(`# failover of ${kInsts.length} instances: ${failover.toFixed(1)} s (lease ${LEASE} s)`);
ok(failover <= LEASE + SLACK, `failover within the lease time plus ${SLACK} s (${failover.toFixed(1)} s)`);
L = leases();
ok(survivors.every((n) => held(L, n).length === N / 2), `spread by load: ${N / 2} on each survivor (${survivors.map((n) => held(L, n).length)})`);
ok(await until(async () => (await simView()).online === N, 20000), 'wasim: every device online again');
await allArrived(120000);
await explainMissing();
ok(await allArrived(1000), `the sends K accepted and the texts sent while it was dead arrived (missing: ${missing().slice(0, 20)})`);
await sleep(1000); // a second copy would come now
const sv1 = await simView();
ok(sv1.replaced === 0 && sv1.identities === sv0.identities, `wasim: no device had two live connections, no new device (replaced ${sv1.replaced})`);
const twice = [...sent.keys()].filter((id) => peerGot.get(id) !== 1);
ok(twice.length === 0, `every accepted send reached its peer exactly once (${twice.length} not once)`);
const checkStoredAndHooked = async () => {
  const s = stored();
  const notOnce = [...toInst.keys()].filter((id) => s.get(id) !== 1);
  ok(notOnce.length === 0, `every text to an instance is one wamd_messages row (${notOnce.length} not)`);
  const eventIds = new Map(); // message id -> Set of event ids
  let deliveries = 0;
  const redelivered = new Set();
  ok(await until(() => [...toInst.keys()].every((id) => hook.hooks.some((h) => h.data?.key?.id === id)), 30000),
    'a webhook for every text');
  hook.hooks.forEach((h, k) => {
    const id = h.data?.key?.id;
    if (h.event !== 'messages.upsert' || !toInst.has(id)) return;
    deliveries++;
    const ev = hook.heads[k]['x-wamd-event-id'];
    if (!eventIds.has(id)) eventIds.set(id, new Set());
    if (eventIds.get(id).has(ev)) redelivered.add(id);
    eventIds.get(id).add(ev);
  });
  const bad = [...toInst.keys()].filter((id) => eventIds.get(id)?.size !== 1);
  ok(bad.length === 0, `one webhook event per text (${bad.length} with none or several event ids)`);
  ok([...redelivered].every((id) => kInsts.includes(toInst.get(id))),
    `a redelivery only for the killed node's instances (${[...redelivered].map((id) => toInst.get(id))})`);
  return { deliveries, redelivered: redelivered.size };
};
const hk = await checkStoredAndHooked();
console.log(`# ${toInst.size} texts, ${hk.deliveries} webhook deliveries (${hk.redelivered} redelivered with the same event id)`);

// 4. SIGSTOP a survivor past its lease; the other takes its instances
const [P, Q] = survivors;
L = leases();
const pInsts = held(L, P);
psql(`CREATE TABLE test_audit (at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), tok TEXT, tbl TEXT, iid BIGINT, ep BIGINT);
CREATE FUNCTION test_audit() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE iid BIGINT; BEGIN
iid := CASE WHEN TG_OP = 'DELETE' THEN OLD.instance_id ELSE NEW.instance_id END;
INSERT INTO test_audit (tok, tbl, iid, ep) VALUES (current_setting('wamd.owner_token', true), TG_TABLE_NAME, iid,
  (SELECT epoch FROM wamd_leases WHERE instance_id = iid)); RETURN NULL; END $$;
${['creds', 'sessions', 'prekeys', 'identity_keys', 'messages', 'outbox', 'webhook_queue', 'wamd_messages']
    .map((t) => `CREATE TRIGGER test_audit AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION test_audit();`).join('\n')}`);
const pTok = psql(`SELECT token FROM wamd_nodes WHERE node_id = 'node${P.name}'`);
ok(pTok !== '', `${P.name}'s token`);
P.p.kill('SIGSTOP');
const tStop = Date.now();
ok(await until(() => { const l = leases(); return pInsts.every((i) => l.get(i).owner === `node${Q.name}` && l.get(i).open); },
  (LEASE + SLACK + 30) * 1000), `${Q.name} took and opened all ${pInsts.length} of the paused ${P.name}'s`);
console.log(`# takeover of ${pInsts.length} from the paused node: ${((Date.now() - tStop) / 1000).toFixed(1)} s`);
const tTaken = psql('SELECT clock_timestamp()');
const taken = leases();
// the paused node's sockets stay open (a frozen process, not a dead one):
// wasim replaces each of them once when Q logs the device in, as the
// server does; after that no login may find another live connection
const svTaken = await simView();
ok(svTaken.replaced <= pInsts.length, `wasim: at most the frozen connection of each taken device replaced (${svTaken.replaced})`);
// the peers text P's instances, now on Q, while P sleeps
await textAll(pInsts.slice(0, 20), 'while the node is paused 40aa');
P.p.kill('SIGCONT');
ok(await until(async () => /lost its lease to another node/.test(P.log)
  && (await api(P, 'GET', `/instance/connect/${pInsts[0]}`)).status === 409, 20000), `${P.name} gave its instances up after waking (logs it)`);
{
  const r = await api(P, 'GET', `/instance/connect/${pInsts[pInsts.length - 1]}`);
  ok(r.status === 409 && JSON.stringify(r.json).includes(`node${Q.name}`), `a connect through ${P.name} names ${Q.name} (${r.status})`);
}
await sleep(2000); // whatever P would still write, it would have tried by now
await allArrived(60000);
await explainMissing();
ok(await allArrived(1000), `the texts sent while P was paused are stored (missing: ${missing().slice(0, 20)})`);
// rows P committed after the takeover under an epoch up to the one Q took
// them at (a row under a later epoch would be one handed back to P)
const takenAt = pInsts.map((i) => `('${i}', ${taken.get(i).epoch})`).join(',');
const lateRows = `FROM test_audit a JOIN instances i ON i.id = a.iid JOIN (VALUES ${takenAt}) t(name, ep) ON t.name = i.name
  WHERE a.tok = '${pTok}' AND a.at > '${tTaken}' AND a.ep <= t.ep`;
const late = psql(`SELECT count(*) ${lateRows}`);
const lateOwn = psql(`SELECT string_agg(DISTINCT i.name || ':' || a.tbl, ',') ${lateRows}`);
ok(late === '0', `${P.name} committed no row after ${Q.name} took its instances (${late}: ${lateOwn})`);
ok(pInsts.every((i) => taken.get(i).epoch > L.get(i).epoch), `${P.name}'s instances under new epochs`);
const sv2 = await simView();
ok(sv2.replaced === svTaken.replaced && sv2.identities === sv0.identities,
  `wasim: no device with two connections after ${P.name} woke (replaced ${svTaken.replaced} -> ${sv2.replaced})`);
await checkStoredAndHooked();

for (const n of [P, Q]) {
  n.p.kill('SIGTERM');
  ok(await n.done === 0, `${n.name} exits cleanly`);
}
for (const p of peers) await p.stop();
hook.server.close();
await sim.stop();
console.log(`# done at ${since()}`);
process.exit(0);
