// libwa e2e (suite e2e): a failed device-list (usync) or pre-key fetch
// before the first send to a contact. wasim's `iq_error` fault answers our
// next iqs of one xmlns with an error code (or not at all).
// Transient -> the message stays PENDING, first in the outbox, and is
// delivered later, with no ERROR event:
//  a. usync answered 503 twice: retried after 1 s, then 2 s, on the same
//     connection;
//  b. pre-key fetch (encrypt/<key>) answered 500: retried after 1 s;
//  c. usync never answered and the connection cut: retried after the
//     reconnect;
//  h. usync never answered, connection alive: retried 1 s after our iq
//     deadline (30 s), without a reconnect;
//  i. the backoff holds only its chat: while chat A's first message waits
//     out three usync 503s (1 + 2 + 4 s), a message to chat B (known
//     devices, no iq needed) is delivered, and A's two messages then leave
//     in order.
// Permanent -> ERROR with a reason (and the outbox moves on):
//  d. usync answered 404: "usync refused: 404";
//  e. a number that is not on WhatsApp: "not on WhatsApp";
//  f. pre-key fetch answered 406: "pre-key fetch refused: 406".
// Each case writes to a fresh account so our device-list cache is empty.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(140);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe);
const A = '15550006001';
const peers = { a: '15550006002', b: '15550006003', c: '15550006004', d: '15550006005', f: '15550006007', g: '15550006008',
  h: '15550006009', i: '15550006010', j: '15550006011' };
const NOBODY = '15550006999';
const db = path.join(tmpDir('wa-prep-'), 'client.db');
for (const p of [A, ...Object.values(peers)]) {
  const r = await sim.api('POST', '/_sim/accounts', { phone: p });
  check(r.status === 201, `account ${p} created`);
}
const ST_ERROR = 0, ST_PENDING = 1, ST_SENT = 2, ST_DELIVERED = 3;

const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root }).start();
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
const statusEvs = (id) => c.events.filter((e) => e.ev === 'message_status' && e.key.id === id);
const statuses = (id) => statusEvs(id).map((e) => e.status);
const ourStatus = (id) => Math.max(-1, ...statuses(id));
async function ourDevice() {
  const acct = (await sim.api('GET', `/_sim/accounts/${A}`)).json;
  return acct.devices.find((d) => d.device === ourDev);
}
async function fault(body) {
  const res = await sim.api('POST', '/_sim/fault', { phone: A, device: ourDev, ...body });
  if (res.status !== 200) fail(`fault ${JSON.stringify(body)}: ${JSON.stringify(res)}`);
}
const send = async (to, text) => {
  const res = await c.command({ cmd: 'send_text', to, text });
  if (!res.ok) fail(`send_text: ${res.err}`);
  return res.id;
};
async function delivered(id, ms, what) {
  await until(() => ourStatus(id) >= ST_DELIVERED, ms, what);
  check(JSON.stringify(statuses(id)) === JSON.stringify([ST_PENDING, ST_SENT, ST_DELIVERED]),
    `${what}: PENDING, SENT, DELIVERED and never ERROR`);
}
async function failed(id, reason, what) {
  await until(() => statuses(id).includes(ST_ERROR), 10000, what);
  const ev = statusEvs(id).find((e) => e.status === ST_ERROR);
  check(ev.reason === reason && typeof ev.error === 'string' && ev.error.startsWith('WA_E'),
    `${what}: ERROR with reason "${ev.reason}" (${ev.error})`);
  check(JSON.stringify(statuses(id)) === JSON.stringify([ST_PENDING, ST_ERROR]), `${what}: PENDING then ERROR only`);
}

try {
  // bad fault requests are refused
  for (const bad of [{ xmlns: 'usync', code: 200 }, { code: 503 }, { xmlns: 'x'.repeat(40), code: 503 },
    { xmlns: 'usync', code: 503, count: 5000 }, { xmlns: 'usync', code: 'x' }]) {
    const res = await sim.api('POST', '/_sim/fault', { phone: A, device: ourDev, action: 'iq_error', ...bad });
    check(res.status === 400, `iq_error fault refuses ${JSON.stringify(bad).slice(0, 60)}`);
  }

  // a. usync 503 twice
  await fault({ action: 'iq_error', xmlns: 'usync', code: 503, count: 2 });
  let t = Date.now();
  const ia = await send(peers.a, 'after two usync 503');
  await delivered(ia, 15000, 'usync 503 x2');
  check(Date.now() - t >= 2500 && (await ourDevice()).iq_error_left === 0,
    `both usyncs failed first, delivered after the 1 s + 2 s backoff (${Date.now() - t} ms)`);

  // b. pre-key fetch 500
  await fault({ action: 'iq_error', xmlns: 'encrypt', child: 'key', code: 500, count: 1 });
  t = Date.now();
  const ib = await send(peers.b, 'after a pre-key 500');
  await delivered(ib, 15000, 'pre-key fetch 500');
  check(Date.now() - t >= 800 && (await ourDevice()).iq_error_left === 0, `pre-key fetch failed first (${Date.now() - t} ms)`);

  // c. usync unanswered, connection cut
  await fault({ action: 'iq_error', xmlns: 'usync', code: 0, count: 1 });
  const mark = c.mark();
  const ic = await send(peers.c, 'after a lost usync');
  await until(async () => (await ourDevice()).iq_error_left === 0, 5000, 'the usync swallowed');
  await sleep(300);
  check(JSON.stringify(statuses(ic)) === JSON.stringify([ST_PENDING]), 'waiting for the usync: PENDING');
  await fault({ action: 'drop_noclose' });
  await c.wait((e) => e.ev === 'connected', 20000, 'reconnect', mark);
  await delivered(ic, 15000, 'usync lost with the connection');

  // d. usync 404
  await fault({ action: 'iq_error', xmlns: 'usync', code: 404, count: 1 });
  const id = await send(peers.d, 'usync 404');
  await failed(id, 'usync refused: 404', 'usync 404');

  // e. not on WhatsApp
  const ie = await send(NOBODY, 'to nobody');
  await failed(ie, 'not on WhatsApp', 'a number not on WhatsApp');

  // f. pre-key fetch 406
  await fault({ action: 'iq_error', xmlns: 'encrypt', child: 'key', code: 406, count: 1 });
  const iff = await send(peers.f, 'pre-key 406');
  await failed(iff, 'pre-key fetch refused: 406', 'pre-key fetch 406');

  // the outbox moved on after the failures
  const ig = await send(peers.g, 'after the failures');
  await delivered(ig, 15000, 'next message');
  // a failed message stays failed after a reconnect (not retried)
  const m2 = c.mark();
  await fault({ action: 'drop' });
  await c.wait((e) => e.ev === 'connected', 20000, 'reconnect', m2);
  await sleep(1500);
  check([id, ie, iff].every((x) => JSON.stringify(statuses(x)) === JSON.stringify([ST_PENDING, ST_ERROR])),
    'ERROR is final: nothing retried after a reconnect');

  // i. per-chat backoff: B first gets a message, so its devices are cached
  const j0 = await send(peers.j, 'B warm-up');
  await delivered(j0, 15000, 'B warm-up');
  await fault({ action: 'iq_error', xmlns: 'usync', code: 503, count: 3 });
  const mi = c.mark();
  t = Date.now();
  const ia1 = await send(peers.i, 'A first');
  const ia2 = await send(peers.i, 'A second');
  const ib1 = await send(peers.j, 'B while A waits');
  await delivered(ib1, 15000, 'B while A is in backoff');
  // (A's backoff ends 7 s in; with the old global hold B waited for it)
  const left = (await ourDevice()).iq_error_left;
  check(ourStatus(ia1) === ST_PENDING && ourStatus(ia2) === ST_PENDING,
    `B delivered after ${Date.now() - t} ms while both A messages are still PENDING (${left} usync failure(s) to go)`);
  await delivered(ia1, 20000, 'A first after its backoff');
  await delivered(ia2, 20000, 'A second after A first');
  check(Date.now() - t >= 6500, `A waited out 1 + 2 + 4 s of backoff (${Date.now() - t} ms)`);
  const sentAt = (id) => c.events.findIndex((e, k) => k >= mi && e.ev === 'message_status' && e.key.id === id && e.status === ST_SENT);
  check(sentAt(ib1) < sentAt(ia1) && sentAt(ia1) < sentAt(ia2), 'server acks: B, then A first, then A second');
  const pi = (await sim.api('GET', `/_sim/accounts/${peers.i}/messages`)).json.messages.map((m) => m.id);
  check(pi.indexOf(ia1) >= 0 && pi.indexOf(ia1) < pi.indexOf(ia2), "A's phone got A first before A second");

  // h. usync never answered on a live connection: our iq deadline (30 s)
  // passes, the message is retried 1 s later on the same connection (it
  // used to wait for the next reconnect)
  await fault({ action: 'iq_error', xmlns: 'usync', code: 0, count: 1 });
  const m3 = c.mark();
  t = Date.now();
  const ih = await send(peers.h, 'after a usync timeout');
  await delivered(ih, 45000, 'usync timed out');
  check(Date.now() - t >= 30000 && !c.events.slice(m3).some((e) => e.ev === 'disconnected'),
    `delivered after the iq deadline without a reconnect (${Date.now() - t} ms)`);
  const pg = (await sim.api('GET', `/_sim/accounts/${peers.a}/messages`)).json.messages;
  check(pg.filter((m) => m.id === ia).length === 1, 'the retried message reached its phone once');
  const code = await c.quit();
  check(code === 0, `client exits cleanly (${code})`);
} catch (e) {
  fail(e.stack || e.message);
}
await sim.stop();
process.exit(0);
