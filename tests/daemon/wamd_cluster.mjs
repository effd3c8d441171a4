// Cluster mode end to end (suite e2e): three wamd nodes on one private
// PostgreSQL server (tests/unit/store_pg.py gives WA_TEST_PG_URI and
// WA_TEST_PG_BINDIR), one wasim, a Baileys peer.
//   cluster options with a SQLite store: refused, exit 2 ->
//   A creates and pairs i1..i3, B creates and pairs i4, each creator
//   holding the first lease; the nodes settle on their fair share (A hands
//   one over once the others have been live a lease); each texts both ways;
//   a connect through a node that does not drive the instance answers 409
//   naming the owner ->
//   SIGKILL the node K holding two right after an accepted send, the peer
//   texting one of them meanwhile: they open on the others within the lease
//   time plus a few seconds (each survivor at its share), no new pairing,
//   wasim saw no device with two connections at once, the send and the
//   texts arrive exactly once, texts both ways through the new owners ->
//   SIGSTOP a survivor P past its lease: the other (Q) takes its instances;
//   SIGCONT: it gives them up (log, 409 naming Q); once live a lease again
//   Q hands its share back; no row written by P after the takeover under
//   a lease not its own (an audit trigger records the writer and the lease
//   epoch of every committed row), no device with two connections, texts
//   both ways through the owners ->
//   every text in wamd_messages once; SIGTERM of Q: its leases are free at
//   once (expires_at 0) and P takes all four.
// argv: [node, script, wamd, wasim]
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import { startWasim, pairByQr, check, watchdog, tmpDir } from '../sim/harness.mjs';
import { freePort, until, apiAt } from './e2e_daemon_util.mjs';

watchdog(170);
const [wamdExe, wasimExe] = process.argv.slice(2);
const URI = process.env.WA_TEST_PG_URI;
const BINDIR = process.env.WA_TEST_PG_BINDIR;
check(URI && BINDIR, 'run by store_pg.py (WA_TEST_PG_URI, WA_TEST_PG_BINDIR)');
const KEY = 'wasim-cluster-key-71c0e9d2a4';
const LEASE = 5; // seconds
const PEER = '15550009100';
const PHONES = { i1: '15550009101', i2: '15550009102', i3: '15550009103', i4: '15550009104' };

const psql = (sql) => execFileSync(path.join(BINDIR, 'psql'), [URI, '-X', '-A', '-t', '-q', '-c', sql],
  { encoding: 'utf8' }).trim();

let sim = null;
const nodes = {};
const startNode = async (name, extra = []) => {
  const n = { name, port: await freePort(), data: tmpDir(`wamd-cluster-${name}-`), log: '' };
  const args = ['--data', n.data, '--listen', `127.0.0.1:${n.port}`, '--api-key', KEY,
    '--store', `${URI}&application_name=node${name}`, '--cluster', '--node-id', `node${name}`,
    '--lease-seconds', String(LEASE), ...extra];
  if (sim) args.push('--wa-url', sim.url, '--wa-trust-root', sim.root);
  n.p = spawn(wamdExe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  n.p.stdout.on('data', (d) => { n.log += d; });
  n.p.stderr.on('data', (d) => { n.log += d; if (process.env.WAMD_VERBOSE) process.stderr.write(`[${name}] ${d}`); });
  n.done = new Promise((res) => n.p.on('exit', (c, s) => res(c ?? s)));
  process.on('exit', () => { try { n.p.kill('SIGCONT'); n.p.kill('SIGKILL'); } catch { /* gone */ } });
  nodes[name] = n;
  return n;
};
const logs = () => Object.values(nodes).map((n) => `---- node ${n.name}\n${n.log.slice(-5000)}`).join('\n');
const ok = (cond, msg) => { if (!cond) process.stderr.write(logs()); check(cond, msg); };
const api = (n, method, p, body) => apiAt(n.port, KEY)(method, p, body);
const isOpen = async (n, inst) => (await api(n, 'GET', `/instance/connectionState/${inst}`)).json?.instance?.state === 'open';
// any node answers connectionState from the database (the owner's word,
// while its lease holds): that n drives inst is its lease
const drives = async (n, inst) => psql(`SELECT l.owner_node FROM wamd_leases l JOIN instances i ON i.id = l.instance_id
  WHERE i.name = '${inst}' AND l.owner_token <> ''`) === `node${n.name}` && isOpen(n, inst);

// 1. cluster options need a PostgreSQL store
{
  const data = tmpDir('wamd-cluster-sqlite-');
  const p = spawn(wamdExe, ['--data', data, '--cluster', '--node-id', 'x'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const code = await new Promise((res) => p.on('exit', (c) => res(c)));
  check(code === 2 && /cluster mode needs a PostgreSQL store/.test(out), `SQLite + cluster refused (exit ${code}: ${out.trim()})`);
}

sim = await startWasim(wasimExe);
const peer = await pairByQr(sim, PEER, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });
for (const phone of Object.values(PHONES))
  check((await sim.api('POST', '/_sim/accounts', { phone })).status === 201, `wasim account ${phone}`);
const textOf = (m) => m.message?.conversation ?? m.message?.extendedTextMessage?.text;
const device = async (phone) => ((await sim.api('GET', `/_sim/accounts/${phone}`)).json.devices ?? [])
  .filter((d) => d.device !== 0);

const A = await startNode('A');
const B = await startNode('B');
const C = await startNode('C');
for (const n of [A, B, C]) ok(await until(async () => (await api(n, 'GET', '/')).status === 200, 20000), `node ${n.name} up`);

// the test's audit: who committed each row of the fenced tables (an AFTER
// trigger writes inside the writer's own transaction)
// and the instance's lease epoch it wrote under
psql(`CREATE TABLE test_audit (at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), app TEXT, tbl TEXT, iid BIGINT, ep BIGINT);
CREATE FUNCTION test_audit() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE iid BIGINT; BEGIN
iid := CASE WHEN TG_OP = 'DELETE' THEN OLD.instance_id ELSE NEW.instance_id END;
INSERT INTO test_audit (app, tbl, iid, ep) VALUES (current_setting('application_name'), TG_TABLE_NAME, iid,
  (SELECT epoch FROM wamd_leases WHERE instance_id = iid)); RETURN NULL; END $$;
${['creds', 'sessions', 'prekeys', 'identity_keys', 'messages', 'outbox', 'webhook_queue', 'wamd_messages']
    .map((t) => `CREATE TRIGGER test_audit AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION test_audit();`).join('\n')}`);

// 2. instances created through A (i1..i3) and B (i4), paired; the creator
// takes the first lease; then the nodes settle on their fair share (2 of 4
// at most each: A hands one over once the others have been live a lease)
const creator = { i1: A, i2: A, i3: A, i4: B };
const leases = () => Object.fromEntries(psql(`SELECT i.name, l.owner_node, l.epoch FROM wamd_leases l
  JOIN instances i ON i.id = l.instance_id ORDER BY i.name`).split('\n').filter(Boolean)
  .map((l) => { const [name, owner, epoch] = l.split('|'); return [name, { owner, epoch: Number(epoch) }]; }));
const byName = (owner) => Object.values(nodes).find((n) => `node${n.name}` === owner);
for (const [inst, n] of Object.entries(creator)) {
  const r = await api(n, 'POST', '/instance/create', { instanceName: inst, integration: 'WHATSAPP-BAILEYS', qrcode: true });
  ok(r.status === 201, `${inst} created on node ${n.name} (${r.status})`);
  const l = leases()[inst];
  ok(l.owner === `node${n.name}` && l.epoch === 1, `${inst}: its creator holds the first lease (${JSON.stringify(l)})`);
  const qr = r.json.qrcode?.code ?? (await api(n, 'GET', `/instance/connect/${inst}`)).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: PHONES[inst], qr })).status === 200, `${inst}: QR scanned`);
}
// every instance driven by the node holding its lease, no node above `share`
const settled = async (live, share) => {
  const l = leases();
  for (const n of live) if (Object.values(l).filter((x) => x.owner === `node${n.name}`).length > share) return false;
  for (const inst of Object.keys(PHONES)) {
    const n = byName(l[inst]?.owner);
    if (!n || !live.includes(n) || !(await drives(n, inst))) return false;
  }
  return true;
};
ok(await until(() => settled([A, B, C], 2), (2 * LEASE + 20) * 1000), 'the four open, two at most on a node');
let L = leases();
const ownerNow = (inst) => byName(leases()[inst].owner);
console.log(`# settled: ${Object.entries(L).map(([i, l]) => `${i}:${l.owner}/${l.epoch}`).join(' ')}`);
{
  const [inst] = Object.keys(L);
  const other = [A, B, C].find((n) => `node${n.name}` !== L[inst].owner);
  const wrong = await api(other, 'GET', `/instance/connect/${inst}`);
  ok(wrong.status === 409 && JSON.stringify(wrong.json).includes(L[inst].owner),
    `${other.name} answers a connect of ${inst} with 409 naming ${L[inst].owner} (${wrong.status} ${JSON.stringify(wrong.json)})`);
}

const sentTexts = []; // [instance, text]
// a text each way through node n
const exchange = async (n, inst, tag) => {
  const inText = `in ${inst} ${tag} 7c1d`;
  const outText = `out ${inst} ${tag} e42b`;
  await peer.sock.sendMessage(`${PHONES[inst]}@s.whatsapp.net`, { text: inText });
  const r = await api(n, 'POST', `/message/sendText/${inst}`, { number: PEER, text: outText });
  ok(r.status === 201, `${inst} sendText ${tag} on ${n.name} (${r.status} ${JSON.stringify(r.json)})`);
  ok(await until(() => peerMsgs.some((m) => m.key.id === r.json.key.id), 20000), `the peer got ${inst}'s ${tag} text`);
  ok(await until(async () => (await api(n, 'POST', `/chat/findMessages/${inst}`, { where: {} })).json?.messages?.records
    ?.some((m) => textOf(m) === inText), 20000), `${inst} stored the peer's ${tag} text`);
  sentTexts.push([inst, inText], [inst, outText]);
};
for (const inst of Object.keys(PHONES)) await exchange(ownerNow(inst), inst, 'first');
const pairedDevices = {};
for (const [inst, phone] of Object.entries(PHONES)) pairedDevices[inst] = (await device(phone)).map((d) => d.identity).join();
const replacedNow = async () => {
  let s = 0;
  for (const phone of Object.values(PHONES)) for (const d of await device(phone)) s += d.replaced;
  return s;
};
ok(await replacedNow() === 0, 'no device had two connections so far (the handover included)');

// 3. SIGKILL the node K holding two, just after an accepted send; the peer
// texts one of them while nobody drives it
L = leases();
const K = [A, B, C].find((n) => Object.values(L).filter((x) => x.owner === `node${n.name}`).length === 2);
const kInsts = Object.keys(L).filter((i) => L[i].owner === `node${K.name}`);
const survivors = [A, B, C].filter((n) => n !== K);
const pending = await api(K, 'POST', `/message/sendText/${kInsts[1]}`, { number: PEER, text: 'accepted before the kill 5a0e' });
ok(pending.status === 201, `a send accepted by ${K.name}`);
K.p.kill('SIGKILL');
const tKill = Date.now();
await K.done;
const offline = [];
for (let k = 0; k < 3; k++) {
  const t = `while ${K.name} is dead ${k} 19fb`;
  await peer.sock.sendMessage(`${PHONES[kInsts[0]]}@s.whatsapp.net`, { text: t });
  offline.push(t);
  sentTexts.push([kInsts[0], t]);
}
const moved = await until(async () => {
  const l = leases();
  for (const inst of kInsts) {
    const n = byName(l[inst].owner);
    if (n === K || !(await drives(n, inst))) return false;
  }
  return true;
}, (LEASE + 12) * 1000);
const failover = (Date.now() - tKill) / 1000;
const L2 = leases();
ok(moved, `${K.name}'s instances open on the others (${JSON.stringify(L2)})`);
console.log(`# failover of ${kInsts.length} instances: ${failover.toFixed(1)} s (lease ${LEASE} s)`);
ok(failover <= LEASE + 8, `failover within the lease time plus a few seconds (${failover.toFixed(1)} s)`);
ok(survivors.every((n) => Object.values(L2).filter((x) => x.owner === `node${n.name}`).length === 2),
  'spread by load: each survivor holds its share (2)');
ok(kInsts.every((i) => L2[i].epoch === L[i].epoch + 1), `their epochs grew by one (${JSON.stringify(L2)})`);
for (const [inst, phone] of Object.entries(PHONES))
  ok((await device(phone)).map((d) => d.identity).join() === pairedDevices[inst], `${inst}: the same linked device, no new pairing`);
ok(await replacedNow() === 0, 'wasim: no device had two live connections at once through the failover');
ok(await until(() => peerMsgs.filter((m) => m.key.id === pending.json.key.id).length === 1, 20000)
  && peerMsgs.filter((m) => m.key.id === pending.json.key.id).length === 1, `the send ${K.name} accepted arrived once`);
ok(await until(async () => {
  const recs = (await api(ownerNow(kInsts[0]), 'POST', `/chat/findMessages/${kInsts[0]}`, { where: {} })).json?.messages?.records ?? [];
  return offline.every((t) => recs.some((m) => textOf(m) === t));
}, 20000), `the texts sent while ${K.name} was dead reached ${kInsts[0]} on its new node`);
for (const inst of kInsts) await exchange(ownerNow(inst), inst, 'after failover');

// 4. SIGSTOP a survivor P past its lease; then SIGCONT
const [P, Q] = survivors;
L = leases();
const pausedInsts = Object.keys(L).filter((i) => L[i].owner === `node${P.name}`);
P.p.kill('SIGSTOP');
const taken = await until(async () => {
  for (const inst of pausedInsts) if (!(await drives(Q, inst))) return false;
  return true;
}, (LEASE + 12) * 1000);
ok(taken, `node ${Q.name} took ${pausedInsts} from the paused ${P.name}`);
const tTaken = psql('SELECT clock_timestamp()');
const takenEpoch = leases();
const replacedBefore = await replacedNow();
await exchange(Q, pausedInsts[0], 'while paused');
P.p.kill('SIGCONT');
ok(await until(async () => {
  for (const i of pausedInsts) {
    const r = await api(P, 'GET', `/instance/connect/${i}`);
    if (r.status !== 409 || !JSON.stringify(r.json).includes(`node${Q.name}`)) return false;
  }
  return true;
}, 5000), `${P.name} gave ${pausedInsts} up after waking (a connect through it names ${Q.name})`);
ok(/lost its lease to another node/.test(P.log), `${P.name} logs the lost leases`);
// once P has been live a lease again, Q hands it its share back (rebalancing)
ok(await until(() => settled([P, Q], 2), (2 * LEASE + 20) * 1000), `${P.name} has its share again, handed over by ${Q.name}`);
ok(/handed over/.test(Q.log), `${Q.name} logs the handover`);
for (const inst of pausedInsts) {
  const ids = psql(`SELECT id FROM instances WHERE name = '${inst}'`);
  // rows P committed after the takeover under a lease epoch not its own
  const late = psql(`SELECT count(*) FROM test_audit WHERE app = 'node${P.name}' AND iid = ${ids} AND at > '${tTaken}'
    AND ep <= ${takenEpoch[inst].epoch}`);
  ok(late === '0', `no row of ${inst} committed by ${P.name} after ${Q.name} took it, until it was handed back (${late})`);
}
ok(await replacedNow() === replacedBefore, 'no device had two connections through the pause and the handover back');
for (const inst of pausedInsts) {
  const r = await api(P, 'GET', `/instance/connectionState/${inst}`);
  ok(r.status === 200 && r.json.instance.state === 'open', `${P.name} answers ${inst}'s state: open`);
  await exchange(ownerNow(inst), inst, 'after the pause');
}

// 5. every text is one row of wamd_messages
for (const [inst, text] of sentTexts) {
  const n = psql(`SELECT count(*) FROM wamd_messages m JOIN instances i ON i.id = m.instance_id WHERE i.name = '${inst}'`
    + ` AND position(convert_to('${text}', 'UTF8') in m.record) > 0`);
  ok(n === '1', `wamd_messages holds "${text}" of ${inst} once (${n})`);
}
const dups = psql('SELECT count(*) FROM (SELECT 1 FROM wamd_messages GROUP BY instance_id, key_id, from_me HAVING count(*) > 1) d');
ok(dups === '0', 'no duplicate message record');

// 6. SIGTERM hands over at once
Q.p.kill('SIGTERM');
ok(await Q.done === 0, `${Q.name} exits cleanly`);
const held = psql(`SELECT count(*) FROM wamd_leases WHERE owner_node = 'node${Q.name}' AND owner_token <> ''`);
ok(held === '0', `${Q.name}'s leases are free at once (${held} held)`);
ok(await until(async () => psql(`SELECT count(*) FROM wamd_leases WHERE owner_node = 'node${P.name}' AND owner_token <> ''`) === '4'
  && (await api(P, 'GET', `/instance/connectionState/${pausedInsts[0]}`)).json?.instance?.state === 'open',
  (LEASE + 10) * 1000), `${P.name} takes them back after the handover`);
P.p.kill('SIGTERM');
ok(await P.done === 0, `${P.name} exits cleanly`);
await peer.stop();
await sim.stop();
process.exit(0);
