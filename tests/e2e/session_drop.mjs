// libwa e2e (suite e2e): no message is lost or duplicated when the
// connection drops in the middle of a burst of sends.
//
// Our client (wa_client, one libwa session) sends bursts of N texts while
// wasim cuts its connection:
//  1. `drop` (close frame) right after the first server ack of the burst,
//     to Baileys 7.0.0-rc14 on account B (and B's phone, wasim device 0);
//  2. `drop_noclose` (TCP cut, no close frame), same peer;
//  3. `ack_drop`, then `drop`: to account C whose phone is offline (it holds
//     what reaches it and sends no receipt), so every message of the burst
//     is on the wire and routed but neither acked nor receipted when the
//     connection dies. After the reconnect our client sends the very same
//     recorded stanzas again (never a new ratchet step).
//  4. as 3, to B with both its devices offline and wasim's dedupe off
//     (`no_dedupe`): the second copies reach Baileys and B's phone.
// After each reconnect every message reaches each peer device exactly once
// (ids and texts; a second copy = failure) and its status reaches SENT.
//
// Duplicates: a resend can reach the server after the first copy was
// delivered (the ack was lost). What stops a second delivery:
//  - wasim acks a copy with the same (sender device, id, target device,
//    ciphertext) without routing it again (the dup_copies counter below
//    proves the resends of round 3 happened and were dropped there);
//  - were it delivered (round 4), the copy is byte-identical, so the peer's
//    Signal layer sees an old counter: Baileys (libsignal "Key used already
//    or never filled") nacks it and emits nothing, whatsmeow logs "Ignoring
//    message ... old counter", wasim's phone records it as `duplicate` -
//    none of them dedupes by message id, which is why libwa must never
//    re-encrypt a message to resend it. The app on the peer sees each
//    message once either way.
// argv: [node, script, wa_client, wasim]
import { startWasim, pairByQr, Client, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

const N = Number(process.env.WA_DROP_N || 50);
watchdog(170);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe);
const A = '15550004001', B = '15550004002', C = '15550004003';
const jidA = `${A}@s.whatsapp.net`;
const db = path.join(tmpDir('wa-drop-'), 'client.db');
let r = await sim.api('POST', '/_sim/accounts', { phone: A, push_name: 'Ours' });
check(r.status === 201, 'account A created');
r = await sim.api('POST', '/_sim/accounts', { phone: C, push_name: 'Carol' });
check(r.status === 201, 'account C (phone only) created');
const ST_SENT = 2, ST_DELIVERED = 3;

const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');
const ourDev = Number(/:(\d+)@/.exec(c.events.find((e) => e.ev === 'paired').jid)[1]);

const b = await pairByQr(sim, B, 'bob');
b.got = [];
b.sock.ev.on('messages.upsert', ({ messages }) => {
  for (const m of messages) if (!m.key.fromMe && m.message) b.got.push(m);
  b.poke();
});
const bText = (m) => m.message?.extendedTextMessage?.text ?? m.message?.conversation;

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}
function ourStatus(id) {
  let s = 0;
  for (const e of c.events) if (e.ev === 'message_status' && e.key.id === id) s = Math.max(s, e.status);
  return s;
}
const phoneMsgs = async (phone) => (await sim.api('GET', `/_sim/accounts/${phone}/messages`)).json.messages;
async function ourDevice() {
  const acct = (await sim.api('GET', `/_sim/accounts/${A}`)).json;
  return acct.devices.find((d) => d.device === ourDev);
}
async function fault(body) {
  const res = await sim.api('POST', '/_sim/fault', { phone: A, device: ourDev, ...body });
  if (res.status !== 200) fail(`fault ${JSON.stringify(body)}: ${JSON.stringify(res)}`);
}

// Queues n texts in one write (no waiting between them) and returns their
// ids in order once every send_text command answered.
async function burst(to, prefix, n) {
  const from = c.mark();
  const texts = [];
  let lines = '';
  for (let i = 0; i < n; i++) {
    texts.push(`${prefix} ${i}`);
    lines += JSON.stringify({ cmd: 'send_text', to, text: texts[i] }) + '\n';
  }
  c.proc.stdin.write(lines);
  await until(() => c.events.slice(from).filter((e) => e.ev === 'result' && e.cmd === 'send_text').length >= n,
    20000, `${n} send_text results`);
  const res = c.events.slice(from).filter((e) => e.ev === 'result' && e.cmd === 'send_text');
  if (!res.every((e) => e.ok)) fail(`send_text refused: ${JSON.stringify(res.find((e) => !e.ok))}`);
  return { ids: res.map((e) => e.id), texts, from };
}

// exactly-once check of a burst against a list of received (id, text)
function exactlyOnce(got, ids, texts, who) {
  const byId = new Map();
  for (const g of got) byId.set(g.id, [...(byId.get(g.id) ?? []), g.text]);
  const missing = ids.filter((id) => !byId.has(id));
  const dups = ids.filter((id) => (byId.get(id) ?? []).length > 1);
  const wrong = ids.filter((id, i) => byId.has(id) && byId.get(id)[0] !== texts[i]);
  check(missing.length === 0 && dups.length === 0 && wrong.length === 0,
    `${who}: all ${ids.length} arrived exactly once with their texts (missing ${missing.length}, duplicated ${dups.length}, wrong ${wrong.length})`);
}

async function reconnected(from, action) {
  const { index } = await c.wait((e) => e.ev === 'disconnected', 15000, `disconnect after ${action}`, from);
  await c.wait((e) => e.ev === 'connected', 20000, `reconnect after ${action}`, index);
}

try {
  // warm-up: sessions with B's devices exist, so the burst is all sends
  const w = await c.command({ cmd: 'send_text', to: B, text: 'warm-up' });
  await b.waitFor(() => b.got.some((m) => bText(m) === 'warm-up'), 20000, 'warm-up at Baileys');

  for (const action of ['drop', 'drop_noclose']) {
    const dropAt = c.mark();
    const { ids, texts, from } = await burst(B, `${action} burst`, N);
    const idset = new Set(ids);
    await c.wait((e) => e.ev === 'message_status' && idset.has(e.key.id) && e.status >= ST_SENT, 20000,
      `first SENT of the ${action} burst`, from);
    await fault({ action });
    const unsent = ids.filter((id) => ourStatus(id) < ST_SENT).length;
    console.log(`${action}: ${unsent} of ${N} not yet acked when the connection was cut`);
    await reconnected(dropAt, action);
    const mine = () => b.got.filter((m) => idset.has(m.key.id));
    await b.waitFor(() => new Set(mine().map((m) => m.key.id)).size === N, 30000, `${action} burst at Baileys`);
    await until(async () => ids.every((id) => ourStatus(id) >= ST_SENT), 30000, `SENT for the ${action} burst`);
    await until(async () => new Set((await phoneMsgs(B)).filter((m) => idset.has(m.id)).map((m) => m.id)).size === N,
      20000, `${action} burst at B's phone`);
    await sleep(1500); // room for a late duplicate
    exactlyOnce(mine().map((m) => ({ id: m.key.id, text: bText(m) })), ids, texts, `${action}: Baileys`);
    const pb = (await phoneMsgs(B)).filter((m) => idset.has(m.id));
    check(pb.every((m) => m.kind === 'message'), `${action}: B's phone decrypted every copy (no undecryptable)`);
    exactlyOnce(pb.map((m) => ({ id: m.id, text: m.text })), ids, texts, `${action}: B's phone`);
    check(ids.every((id) => ourStatus(id) >= ST_SENT), `${action}: every message reached SENT on our side`);
    check(!c.events.some((e) => e.ev === 'message_status' && idset.has(e.key.id) && e.status === 0),
      `${action}: no message went to ERROR`);
  }

  // ---- round 3: on the wire, routed, unacked, no receipt; then cut ----
  r = await sim.api('POST', '/_sim/phone/offline', { phone: C, on: true });
  check(r.status === 200, "C's phone offline");
  await fault({ action: 'ack_drop' });
  const before = await ourDevice();
  const { ids, texts, from } = await burst(C, 'unacked burst', N);
  const idset = new Set(ids);
  // N stanzas reached wasim (plus the usync / pre-key iqs, not counted)
  await until(async () => (await ourDevice()).msgs_in - before.msgs_in >= N, 20000, 'the burst on the wire');
  await sleep(500);
  check(ids.every((id) => ourStatus(id) === 1), 'without acks and receipts every message stays PENDING');
  const onWire = await ourDevice();
  check(onWire.msgs_in - before.msgs_in === N && onWire.dup_copies === before.dup_copies,
    `each message went out once (${onWire.msgs_in - before.msgs_in} stanzas)`);
  await fault({ action: 'ack_drop', on: false });
  const dropAt = c.mark();
  await fault({ action: 'drop' });
  await reconnected(dropAt, 'ack_drop + drop');
  await until(async () => ids.every((id) => ourStatus(id) >= ST_SENT), 30000, 'SENT after the reconnect');
  const after = await ourDevice();
  // every message has two targets: C's phone and our own phone (device-sent copy)
  check(after.msgs_in - onWire.msgs_in >= N && after.dup_copies - onWire.dup_copies >= 2 * N,
    `after the reconnect the ${N} recorded stanzas were sent again (${after.msgs_in - onWire.msgs_in}) and wasim ` +
    `dropped the copies it had delivered (${after.dup_copies - onWire.dup_copies})`);
  check(c.events.slice(from).filter((e) => e.ev === 'message_status' && idset.has(e.key.id) && e.status === ST_SENT).length === N,
    'one SENT event per message');
  r = await sim.api('POST', '/_sim/phone/offline', { phone: C, on: false });
  check(r.status === 200 && r.json.held === N, `C's phone back online with ${r.json.held} held messages`);
  await until(async () => ids.every((id) => ourStatus(id) >= ST_DELIVERED), 20000, 'DELIVERED from C');
  await sleep(1000);
  const pc = (await phoneMsgs(C)).filter((m) => idset.has(m.id));
  check(pc.every((m) => m.kind === 'message'), "C's phone decrypted every message");
  exactlyOnce(pc.map((m) => ({ id: m.id, text: m.text })), ids, texts, "ack_drop + drop: C's phone");
  const pa = (await phoneMsgs(A)).filter((m) => idset.has(m.id) && m.kind === 'dsm');
  exactlyOnce(pa.map((m) => ({ id: m.id, text: m.text })), ids, texts, 'ack_drop + drop: our own phone (device-sent copies)');

  // ---- round 4: the worst case, a server that routes every copy ----
  // Both of B's devices are offline (Baileys stopped, phone held), acks are
  // dropped, wasim's dedupe is off: after the cut our resends reach B's
  // devices as second, byte-identical copies.
  const N4 = 20;
  await b.stop();
  await until(async () => !(await sim.api('GET', `/_sim/accounts/${B}`)).json.devices.some((d) => d.online), 10000, "B's Baileys offline");
  r = await sim.api('POST', '/_sim/phone/offline', { phone: B, on: true });
  check(r.status === 200, "B's phone offline");
  await fault({ action: 'no_dedupe' });
  await fault({ action: 'ack_drop' });
  const b4 = await ourDevice();
  const q = await burst(B, 'no dedupe', N4);
  const q4 = new Set(q.ids);
  await until(async () => (await ourDevice()).msgs_in - b4.msgs_in >= N4, 20000, 'round 4 on the wire');
  await fault({ action: 'ack_drop', on: false });
  const drop4 = c.mark();
  await fault({ action: 'drop' });
  await reconnected(drop4, 'no_dedupe + drop');
  await until(async () => q.ids.every((id) => ourStatus(id) >= ST_SENT), 30000, 'round 4 SENT');
  const a4 = await ourDevice();
  check(a4.msgs_in - b4.msgs_in >= 2 * N4 && a4.dup_copies === b4.dup_copies,
    `each message went out twice (${a4.msgs_in - b4.msgs_in} stanzas) and wasim routed every copy`);
  const b2 = new Client(sim, 'bob2');
  b2.authDir = b.authDir;
  b2.got = [];
  const sock2 = await b2.start();
  sock2.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) if (!m.key.fromMe && m.message) b2.got.push(m);
    b2.poke();
  });
  await b2.waitOpen(1, 30000);
  r = await sim.api('POST', '/_sim/phone/offline', { phone: B, on: false });
  check(r.status === 200 && r.json.held >= 2 * N4, `B's phone back with ${r.json.held} held copies`);
  const mine4 = () => b2.got.filter((m) => q4.has(m.key.id));
  await b2.waitFor(() => new Set(mine4().map((m) => m.key.id)).size === N4, 30000, 'round 4 at Baileys');
  await until(async () => q.ids.every((id) => ourStatus(id) >= ST_DELIVERED), 20000, 'round 4 DELIVERED');
  await until(async () => (await sim.api('GET', `/_sim/accounts/${B}`)).json.devices.every((d) => d.queued === 0), 20000,
    "Baileys answered every copy (B's queue empty)");
  await sleep(1500);
  exactlyOnce(mine4().map((m) => ({ id: m.key.id, text: bText(m) })), q.ids, q.texts,
    'no_dedupe: Baileys (the second copy is nacked as an old counter, no event)');
  const p4 = (await phoneMsgs(B)).filter((m) => q4.has(m.id));
  exactlyOnce(p4.filter((m) => m.kind === 'message').map((m) => ({ id: m.id, text: m.text })), q.ids, q.texts,
    "no_dedupe: B's phone");
  check(q.ids.every((id) => p4.some((m) => m.id === id && m.kind === 'duplicate')) && !p4.some((m) => m.kind === 'undecryptable'),
    "no_dedupe: B's phone saw each second copy as an old counter and dropped it (no retry receipt)");
  await b2.stop();
  check(w.ok, 'warm-up accepted');
  const code = await c.quit();
  check(code === 0, `client exits cleanly (${code})`);
} catch (e) {
  fail(e.stack || e.message);
}
await sim.stop();
process.exit(0);
