// libwa e2e (suite e2e): the server-ack deadline (wa_session_config
// ack_timeout_ms, 1.5 s here through wa_client --ack-timeout-ms).
//
// The peer is account C's phone, taken offline (it holds messages and
// sends no receipts), so only the server ack can move a message to SENT.
//  1. ack_drop: our message reaches wasim once, stays PENDING; after each
//     deadline the same recorded stanza goes out again on the SAME
//     connection (no reconnect); wasim acks-and-drops the byte-identical
//     copies (dup_copies); once acks flow again the next resend is acked and
//     the message becomes SENT (one SENT event).
//  2. ack_delay 4 s: the message is resent while the first ack is late; the
//     late ack makes it SENT and later acks change nothing.
//  3. C's phone back online decrypts each message exactly once (the resends
//     never reached it) and its receipts make them DELIVERED.
//  4. acks never come: after 3 resends on one connection (4 copies) the
//     next deadline recycles the connection (one disconnect, reconnect);
//     the message goes out again from the outbox on the new connection and,
//     once acks flow, becomes SENT and DELIVERED, decrypted once by C.
// Why resend on the same connection first: an unanswered message with a
// live connection (keep-alive pings answered) is a lost ack or a lost
// stanza; sending the recorded bytes again is idempotent for the peer (old
// Signal counter) and costs nothing else, while a dead connection is
// already torn down by the keep-alive, after which every unacked stanza is
// sent again anyway (session_drop). Why not forever: a server that answers
// pings but keeps dropping our messages is a broken connection, and a new
// one is cheap. whatsmeow gives up on the ack after its request timeout
// (ErrMessageTimedOut) without resending; Baileys does not wait for acks.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

const ACK_MS = 1500;
watchdog(110);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe);
const A = '15550005001', C = '15550005003';
const db = path.join(tmpDir('wa-ack-'), 'client.db');
for (const p of [A, C]) {
  const r = await sim.api('POST', '/_sim/accounts', { phone: p });
  check(r.status === 201, `account ${p} created`);
}
const ST_PENDING = 1, ST_SENT = 2, ST_DELIVERED = 3;

const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root, extra: ['--ack-timeout-ms', String(ACK_MS)] }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
let r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');
const ourDev = Number(/:(\d+)@/.exec(c.events.find((e) => e.ev === 'paired').jid)[1]);

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}
const statuses = (id) => c.events.filter((e) => e.ev === 'message_status' && e.key.id === id).map((e) => e.status);
const ourStatus = (id) => Math.max(0, ...statuses(id));
async function ourDevice() {
  const acct = (await sim.api('GET', `/_sim/accounts/${A}`)).json;
  return acct.devices.find((d) => d.device === ourDev);
}
async function fault(body) {
  const res = await sim.api('POST', '/_sim/fault', { phone: A, device: ourDev, ...body });
  if (res.status !== 200) fail(`fault ${JSON.stringify(body)}: ${JSON.stringify(res)}`);
}
const afterLogin = c.mark(); // the 515 restart after pairing is behind us
const disconnects = () => c.events.slice(afterLogin).filter((e) => e.ev === 'disconnected').length;

try {
  // warm-up: sessions with C's phone and our own phone exist
  const w = await c.command({ cmd: 'send_text', to: C, text: 'warm-up' });
  await until(() => ourStatus(w.id) >= ST_DELIVERED, 20000, 'warm-up delivered');
  r = await sim.api('POST', '/_sim/phone/offline', { phone: C, on: true });
  check(r.status === 200, "C's phone offline (no receipts)");

  // ---- 1. acks dropped ----
  await fault({ action: 'ack_drop' });
  const d0 = await ourDevice();
  const m1 = await c.command({ cmd: 'send_text', to: C, text: 'waiting for an ack' });
  const t1 = Date.now();
  await until(async () => (await ourDevice()).msgs_in > d0.msgs_in, 5000, 'the message at wasim');
  // two more deadlines: at least two resends, nothing acked yet
  await until(async () => (await ourDevice()).msgs_in - d0.msgs_in >= 3, 4 * ACK_MS + 3000, 'two resends');
  const tResend = Date.now() - t1;
  const d1 = await ourDevice();
  check(tResend >= 2 * ACK_MS - 200, `resent only after the deadlines (${tResend} ms for 2 resends, deadline ${ACK_MS} ms)`);
  check(d1.dup_copies - d0.dup_copies >= 2 * (d1.msgs_in - d0.msgs_in - 1),
    `the resends were byte-identical: wasim acked-and-dropped them (${d1.dup_copies - d0.dup_copies} copies)`);
  check(JSON.stringify(statuses(m1.id)) === JSON.stringify([ST_PENDING]), 'without an ack the message stays PENDING');
  check(disconnects() === 0, 'resent on the same connection (no reconnect)');
  await fault({ action: 'ack_drop', on: false });
  await until(() => ourStatus(m1.id) >= ST_SENT, 2 * ACK_MS + 3000, 'SENT once acks flow again');
  const d2 = await ourDevice();
  await sleep(2 * ACK_MS);
  const d3 = await ourDevice();
  check(d3.msgs_in === d2.msgs_in, `no resend once acked (${d2.msgs_in - d0.msgs_in} stanzas in all)`);
  check(JSON.stringify(statuses(m1.id)) === JSON.stringify([ST_PENDING, ST_SENT]), 'one SENT event');

  // ---- 2. a late ack ----
  await fault({ action: 'ack_delay', ms: 4000 });
  const m2 = await c.command({ cmd: 'send_text', to: C, text: 'late ack' });
  await until(async () => (await ourDevice()).msgs_in - d3.msgs_in >= 2, 2 * ACK_MS + 3000, 'a resend before the late ack');
  check(ourStatus(m2.id) === ST_PENDING, 'still PENDING while the ack is late');
  await until(() => ourStatus(m2.id) >= ST_SENT, 6000, 'SENT by the late ack');
  await fault({ action: 'clear' });
  await sleep(2 * ACK_MS);
  check(JSON.stringify(statuses(m2.id)) === JSON.stringify([ST_PENDING, ST_SENT]), 'late ack: one SENT event, later acks ignored');

  // ---- 3. the phone got each message once ----
  r = await sim.api('POST', '/_sim/phone/offline', { phone: C, on: false });
  check(r.status === 200 && r.json.held === 2, `C's phone held one copy of each (${r.json.held})`);
  await until(() => ourStatus(m1.id) >= ST_DELIVERED && ourStatus(m2.id) >= ST_DELIVERED, 10000, 'DELIVERED');
  const pc = (await sim.api('GET', `/_sim/accounts/${C}/messages`)).json.messages;
  for (const [m, text] of [[m1, 'waiting for an ack'], [m2, 'late ack']]) {
    const got = pc.filter((x) => x.id === m.id);
    check(got.length === 1 && got[0].kind === 'message' && got[0].text === text, `"${text}" decrypted once at C's phone`);
  }
  check(disconnects() === 0, 'one connection through cases 1-3');

  // ---- 4. no acks at all: the connection is recycled ----
  r = await sim.api('POST', '/_sim/phone/offline', { phone: C, on: true });
  check(r.status === 200, "C's phone offline again (its receipts would count as acks)");
  await fault({ action: 'ack_drop' });
  const d4 = await ourDevice();
  const m4mark = c.mark();
  const t4 = Date.now();
  const m4 = await c.command({ cmd: 'send_text', to: C, text: 'no acks at all' });
  await c.wait((e) => e.ev === 'disconnected', 6 * ACK_MS + 5000, 'the connection recycled', m4mark);
  const tRecycle = Date.now() - t4;
  const d5 = await ourDevice();
  check(d5.msgs_in - d4.msgs_in === 4 && tRecycle >= 4 * ACK_MS - 200,
    `recycled after the 4th deadline (${tRecycle} ms), having sent 4 copies on one connection (${d5.msgs_in - d4.msgs_in})`);
  check(c.events.slice(m4mark).find((e) => e.ev === 'disconnected').reason === 'TIMEOUT', 'the disconnect reason is TIMEOUT');
  await c.wait((e) => e.ev === 'connected', 20000, 'reconnect after the recycle', m4mark);
  await until(async () => (await ourDevice()).msgs_in - d4.msgs_in >= 5, 5000, 'resent on the new connection');
  check(ourStatus(m4.id) === ST_PENDING, 'still PENDING without acks');
  await fault({ action: 'ack_drop', on: false });
  await until(() => ourStatus(m4.id) >= ST_SENT, 2 * ACK_MS + 5000, 'SENT once acks flow');
  r = await sim.api('POST', '/_sim/phone/offline', { phone: C, on: false });
  check(r.status === 200 && r.json.held === 1, `C's phone held one copy (${r.json.held})`);
  await until(() => ourStatus(m4.id) >= ST_DELIVERED, 10000, 'DELIVERED');
  check(JSON.stringify(statuses(m4.id)) === JSON.stringify([ST_PENDING, ST_SENT, ST_DELIVERED]),
    'recycled: PENDING, SENT, DELIVERED, one event each');
  const pc4 = (await sim.api('GET', `/_sim/accounts/${C}/messages`)).json.messages.filter((x) => x.id === m4.id);
  check(pc4.length === 1 && pc4[0].text === 'no acks at all', `decrypted once at C's phone (${pc4.length})`);
  check(disconnects() === 1, 'exactly one recycle');
  const code = await c.quit();
  check(code === 0, `client exits cleanly (${code})`);
} catch (e) {
  fail(e.stack || e.message);
}
await sim.stop();
process.exit(0);
