// Cluster mode end to end (suite e2e): three wamd nodes on one private
// PostgreSQL server (tests/unit/store_pg.py gives WA_TEST_PG_URI and
// WA_TEST_PG_BINDIR), one wasim, a Baileys peer.
//   cluster options with a SQLite store: refused, exit 2 ->
//   A creates and pairs i1..i3, B creates and pairs i4; each texts both
//   ways; a connect of i1 through B answers 409 naming node A ->
//   SIGKILL A right after an accepted send, the peer texting i1 meanwhile:
//   i1..i3 open on B and C within the lease time plus a few seconds (both
//   take some: spread by load), no new pairing, wasim saw no device with two
//   connections at once, the send and the texts arrive exactly once, texts
//   both ways through the new owners ->
//   SIGSTOP the node holding most past its lease: the other takes them;
//   SIGCONT: it gives them up (log, its API), no row written by it after the
//   takeover (an audit trigger records the writer of every committed row),
//   no device reconnected by it, texts both ways through the new owner ->
//   every text in wamd_messages once; SIGTERM of the last: its leases are
//   free at once (expires_at 0).
// argv: [node, script, wamd, wasim]
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

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
const api = async (n, method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${n.port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(5000),
  });
  const t = await res.text();
  return { status: res.status, json: t ? JSON.parse(t) : null };
};
const until = async (pred, ms) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try { if (await pred()) return true; } catch { /* not up yet */ }
    await sleep(100);
  }
  return false;
};
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
psql(`CREATE TABLE test_audit (at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), app TEXT, tbl TEXT, iid BIGINT);
CREATE FUNCTION test_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
INSERT INTO test_audit (app, tbl, iid) VALUES (current_setting('application_name'), TG_TABLE_NAME,
  CASE WHEN TG_OP = 'DELETE' THEN OLD.instance_id ELSE NEW.instance_id END); RETURN NULL; END $$;
${['creds', 'sessions', 'prekeys', 'identity_keys', 'messages', 'outbox', 'webhook_queue', 'wamd_messages']
    .map((t) => `CREATE TRIGGER test_audit AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION test_audit();`).join('\n')}`);

// 2. instances created through A (i1..i3) and B (i4), paired
const creator = { i1: A, i2: A, i3: A, i4: B };
for (const [inst, n] of Object.entries(creator)) {
  const r = await api(n, 'POST', '/instance/create', { instanceName: inst, integration: 'WHATSAPP-BAILEYS', qrcode: true });
  ok(r.status === 201, `${inst} created on node ${n.name} (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api(n, 'GET', `/instance/connect/${inst}`)).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: PHONES[inst], qr })).status === 200, `${inst}: QR scanned`);
}
for (const [inst, n] of Object.entries(creator)) ok(await until(() => isOpen(n, inst), 30000), `${inst} open on ${n.name}`);
const leases = () => Object.fromEntries(psql(`SELECT i.name, l.owner_node, l.epoch FROM wamd_leases l
  JOIN instances i ON i.id = l.instance_id ORDER BY i.name`).split('\n').filter(Boolean)
  .map((l) => { const [name, owner, epoch] = l.split('|'); return [name, { owner, epoch: Number(epoch) }]; }));
let L = leases();
ok(['i1', 'i2', 'i3'].every((i) => L[i].owner === 'nodeA') && L.i4.owner === 'nodeB', `the creator owns each (${JSON.stringify(L)})`);
const wrong = await api(B, 'GET', '/instance/connect/i1');
ok(wrong.status === 409 && JSON.stringify(wrong.json).includes('nodeA'), `B answers a connect of i1 with 409 naming A (${wrong.status} ${JSON.stringify(wrong.json)})`);

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
for (const [inst, n] of Object.entries(creator)) await exchange(n, inst, 'first');
const pairedDevices = {};
for (const [inst, phone] of Object.entries(PHONES)) pairedDevices[inst] = (await device(phone)).map((d) => d.identity).join();
const replacedNow = async () => {
  let s = 0;
  for (const phone of Object.values(PHONES)) for (const d of await device(phone)) s += d.replaced;
  return s;
};
ok(await replacedNow() === 0, 'no device had two connections so far');

// 3. SIGKILL A just after an accepted send; the peer texts i1 while nobody drives it
const pending = await api(A, 'POST', '/message/sendText/i2', { number: PEER, text: 'accepted before the kill 5a0e' });
ok(pending.status === 201, 'a send accepted by A');
A.p.kill('SIGKILL');
const tKill = Date.now();
await A.done;
const offline = [];
for (let k = 0; k < 3; k++) {
  const t = `while A is dead ${k} 19fb`;
  await peer.sock.sendMessage(`${PHONES.i1}@s.whatsapp.net`, { text: t });
  offline.push(t);
  sentTexts.push(['i1', t]);
}
const ownerOf = {};
const moved = await until(async () => {
  for (const inst of ['i1', 'i2', 'i3']) {
    if (ownerOf[inst]) continue;
    for (const n of [B, C]) if (await drives(n, inst)) ownerOf[inst] = n;
  }
  return Object.keys(ownerOf).length === 3;
}, (LEASE + 12) * 1000);
const failover = (Date.now() - tKill) / 1000;
ok(moved, `A's instances open on B and C (${Object.entries(ownerOf).map(([i, n]) => `${i}:${n.name}`)})`);
console.log(`# failover of 3 instances: ${failover.toFixed(1)} s (lease ${LEASE} s)`);
ok(failover <= LEASE + 8, `failover within the lease time plus a few seconds (${failover.toFixed(1)} s)`);
ok(new Set(Object.values(ownerOf)).size === 2, 'both survivors took some (spread by load)');
L = leases();
ok(['i1', 'i2', 'i3'].every((i) => L[i].owner === `node${ownerOf[i].name}` && L[i].epoch === 2), `leases moved, epoch 1 -> 2 (${JSON.stringify(L)})`);
for (const [inst, phone] of Object.entries(PHONES))
  ok((await device(phone)).map((d) => d.identity).join() === pairedDevices[inst], `${inst}: the same linked device, no new pairing`);
ok(await replacedNow() === 0, 'wasim: no device had two live connections at once through the failover');
ok(await until(() => peerMsgs.filter((m) => m.key.id === pending.json.key.id).length === 1, 20000)
  && peerMsgs.filter((m) => m.key.id === pending.json.key.id).length === 1, 'the send A accepted arrived once');
ok(await until(async () => {
  const recs = (await api(ownerOf.i1, 'POST', '/chat/findMessages/i1', { where: {} })).json?.messages?.records ?? [];
  return offline.every((t) => recs.some((m) => textOf(m) === t));
}, 20000), 'the texts sent while A was dead reached i1 on its new node');
for (const inst of ['i1', 'i2', 'i3']) await exchange(ownerOf[inst], inst, 'after failover');

// 4. SIGSTOP the node holding most, past its lease; then SIGCONT
const count = (n) => Object.values({ ...ownerOf, i4: B }).filter((x) => x === n).length;
const [P, Q] = count(B) >= count(C) ? [B, C] : [C, B];
const pausedInsts = Object.entries({ ...ownerOf, i4: B }).filter(([, n]) => n === P).map(([i]) => i);
P.p.kill('SIGSTOP');
const taken = await until(async () => {
  for (const inst of pausedInsts) if (!(await drives(Q, inst))) return false;
  return true;
}, (LEASE + 12) * 1000);
ok(taken, `node ${Q.name} took ${pausedInsts} from the paused ${P.name}`);
const tTaken = psql('SELECT clock_timestamp()');
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
await sleep(1500);
const ids = psql(`SELECT string_agg(id::text, ',') FROM instances WHERE name IN (${pausedInsts.map((i) => `'${i}'`).join()})`);
const late = psql(`SELECT count(*) FROM test_audit WHERE app = 'node${P.name}' AND iid IN (${ids}) AND at > '${tTaken}'`);
ok(late === '0', `no row of ${pausedInsts} committed by ${P.name} after ${Q.name} took them (${late})`);
ok(await replacedNow() === replacedBefore, `${P.name} did not connect the devices again after waking`);
for (const inst of pausedInsts) {
  const r = await api(P, 'GET', `/instance/connectionState/${inst}`);
  ok(r.status === 200 && r.json.instance.state === 'open', `${P.name} answers ${inst}'s state from the database: open on ${Q.name}`);
  await exchange(Q, inst, 'after the pause');
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
