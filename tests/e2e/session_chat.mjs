// libwa e2e (suite e2e): 1:1 messaging between our client (wa_client, one
// libwa session) and an unmodified Baileys 7.0.0-rc14 on another account,
// through wasim. Checks:
//  - 100 texts each way (ASCII, Cyrillic, emoji, RTL, one 64 KiB text): each
//    side receives the other's exact texts, once;
//  - receipts both ways: our messages reach DELIVERED then READ (Baileys
//    reads them), Baileys' messages reach DELIVERY_ACK then READ (we mark
//    them read); our client reports SENT (server ack) for every message;
//  - a reply (contextInfo.quotedMessage) and a reaction both ways, rendered
//    into message_json on our side;
//  - kill -9 of our client right after queueing messages: after a restart
//    messages Baileys sent while we were down arrive, and the messages we
//    had accepted are delivered to Baileys exactly once;
//  - our account's phone (wasim device 0) receives device-sent copies of
//    what we send, and a text the phone sends reaches us as from_me;
//    a text from the peer's phone arrives too;
//  - check_numbers (usync contact lookup) and chat states both ways;
//  - retry receipts both ways: after Baileys loses its session with us our
//    resend arrives once; after we lose ours, our retry receipt's keys give
//    Baileys a new session to us.
// argv: [node, script, wa_client, wasim]
import { startWasim, pairByQr, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const N = Number(process.env.WA_CHAT_N || 100);
watchdog(400);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe);
const A = '15550003001', B = '15550003002';
const jidA = `${A}@s.whatsapp.net`, jidB = `${B}@s.whatsapp.net`;
const db = path.join(tmpDir('wa-chat-'), 'client.db');
let r = await sim.api('POST', '/_sim/accounts', { phone: A, push_name: 'Ours' });
check(r.status === 201, 'account A created');
const opts = { db, url: sim.url, root: sim.root };

const DELIVERY_ACK = 3, READ = 4;
const ST_SENT = 2, ST_DELIVERED = 3, ST_READ = 4;

function texts(prefix) {
  const kinds = [
    (i) => `${prefix} ${i} plain ASCII`,
    (i) => `${prefix} ${i} Привет, как дела?`,
    (i) => `${prefix} ${i} emoji 👍🏽🎉👨‍👩‍👧`,
    (i) => `${prefix} ${i} مرحبا بالعالم שלום`,
  ];
  const out = [];
  for (let i = 0; i < N; i++) out.push(kinds[i % kinds.length](i));
  // one 64 KiB text
  const big = `${prefix} big `;
  out[N - 1] = big + 'x'.repeat(65536 - big.length);
  return out;
}

// ---- our client: pair by QR ----
let c = new WaClient(clientExe, opts).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');

// ---- Baileys on B ----
const b = await pairByQr(sim, B, 'bob');
b.creds.me = { ...b.creds.me, name: 'Bob' };
await b.sock.sendPresenceUpdate('available');
b.got = [];
b.status = {};
b.sock.ev.on('messages.upsert', ({ messages, type }) => {
  for (const m of messages) {
    if (m.key.fromMe || type !== 'notify' || !m.message) continue;
    b.got.push(m);
  }
  b.poke();
});
b.sock.ev.on('messages.update', (ups) => {
  for (const { key, update } of ups) {
    if (key.fromMe && typeof update.status === 'number') b.status[key.id] = Math.max(b.status[key.id] ?? 0, update.status);
  }
  b.poke();
});
const bText = (m) => m.message?.extendedTextMessage?.text ?? m.message?.conversation;
check((await c.command({ cmd: 'presence', presence: 'available' })).ok, 'our presence available');

function ourStatus(id) {
  let s = 0;
  for (const e of c.events) if (e.ev === 'message_status' && e.key.id === id) s = Math.max(s, e.status);
  return s;
}
// Polls cond (cheap to re-evaluate rarely; WaClient.wait re-runs its
// predicate per event, which is quadratic for conditions over all events and
// stalled Node long enough for Baileys' keep-alive to give up).
async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}
const ourGot = () => c.events.filter((e) => e.ev === 'message' && !e.key.from_me);

try {
  // ---- 100 texts each way ----
  const ta = texts('a->b'), tb = texts('b->a');
  const sentA = [], sentB = [];
  const t1 = Date.now();
  for (let i = 0; i < N; i++) {
    const res = await c.command({ cmd: 'send_text', to: B, text: ta[i] });
    if (!res.ok) fail(`send_text ${i}: ${res.err}`);
    sentA.push(res.id);
    // Baileys loses session writes when it decrypts a message of ours while
    // it encrypts on the same session (two key-store transactions overlap;
    // its counters then repeat and we cannot read what follows, and it
    // cannot answer our retry receipt from its cache, see the report), so
    // it only sends once it has decrypted ours.
    await b.waitFor(() => b.got.length >= i + 1, 20000, `message ${i} at Baileys`);
    const mb = await b.sock.sendMessage(jidA, { text: tb[i] });
    sentB.push(mb.key.id);
  }
  await b.waitFor(() => b.got.length >= N, 60000, `${N} messages at Baileys`);
  await until(() => ourGot().length >= N, 60000, `${N} messages at our client`);
  const tDeliver = Date.now() - t1;
  const gotB = b.got.map(bText);
  check(JSON.stringify([...gotB].sort()) === JSON.stringify([...ta].sort()), `Baileys received our ${N} texts exactly`);
  const gotA = ourGot().map((e) => e.text);
  check(JSON.stringify([...gotA].sort()) === JSON.stringify([...tb].sort()), `we received Baileys' ${N} texts exactly`);
  check(ourGot().every((e) => e.key.remote_jid === jidB && e.push_name === 'Bob'), 'our events name the chat and push name');
  check(ourGot().every((e) => e.type === 'extendedTextMessage' && e.message.extendedTextMessage.text === e.text),
    'message_json carries extendedTextMessage.text');

  await until(() => sentA.every((id) => ourStatus(id) >= ST_DELIVERED), 30000, 'DELIVERED on our side');
  check(sentA.every((id) => c.events.some((e) => e.ev === 'message_status' && e.key.id === id && e.status === ST_SENT)),
    'every message of ours was acked by the server (SENT)');
  await b.waitFor(() => sentB.every((id) => (b.status[id] ?? 0) >= DELIVERY_ACK), 30000, 'delivery receipts at Baileys');
  check(true, 'delivery receipts flow both ways');

  // read receipts both ways
  await b.sock.readMessages(b.got.map((m) => m.key));
  await until(() => sentA.every((id) => ourStatus(id) >= ST_READ), 30000, 'READ on our side');
  const keys = ourGot().map((e) => ({ remote_jid: e.key.remote_jid, id: e.key.id, from_me: false }));
  check((await c.command({ cmd: 'mark_read', keys })).ok, 'mark_read accepted');
  await b.waitFor(() => sentB.every((id) => b.status[id] === READ), 30000, 'READ at Baileys');
  check(true, 'read receipts flow both ways');
  console.log(`figures: ${2 * N} messages delivered in ${tDeliver} ms (incl. a 64 KiB text each way)`);

  // ---- reply and reaction, both ways ----
  const target = b.got[1];
  let res = await c.command({ cmd: 'send_text', to: B, text: 'a reply',
    quoted: { remote_jid: jidB, from_me: false, id: target.key.id }, quoted_text: bText(target) });
  const nb = b.got.length;
  await b.waitFor(() => b.got.length > nb, 20000, 'reply at Baileys');
  const rep = b.got[nb].message?.extendedTextMessage;
  check(rep?.text === 'a reply' && rep.contextInfo?.stanzaId === target.key.id &&
    rep.contextInfo?.quotedMessage?.conversation === bText(target), 'Baileys sees our reply with the quoted message');
  res = await c.command({ cmd: 'send_reaction', key: { remote_jid: jidB, from_me: false, id: target.key.id }, emoji: '👍' });
  check(res.ok, 'reaction queued');
  await b.waitFor(() => b.got.some((m) => m.message?.reactionMessage?.text === '👍'), 20000, 'reaction at Baileys');
  const rm = b.got.find((m) => m.message?.reactionMessage).message.reactionMessage;
  check(rm.key.id === target.key.id, 'Baileys sees our reaction on its message');

  const mine = b.got[0];
  let m0 = c.mark();
  await b.sock.sendMessage(jidA, { text: 'their reply' }, { quoted: mine });
  const { ev: er } = await c.wait((e) => e.ev === 'message' && e.text === 'their reply', 20000, 'reply at our client', m0);
  check(er.message.extendedTextMessage.contextInfo.stanzaId === mine.key.id &&
    er.message.extendedTextMessage.contextInfo.quotedMessage !== undefined, 'message_json carries contextInfo of the reply');
  await b.sock.sendMessage(jidA, { react: { text: '❤️', key: { remoteJid: jidA, fromMe: false, id: sentA[2] } } });
  const { ev: ere } = await c.wait((e) => e.ev === 'message' && e.type === 'reactionMessage', 20000, 'reaction at our client', m0);
  check(ere.message.reactionMessage.text === '❤️' && ere.message.reactionMessage.key.id === sentA[2],
    'message_json carries the reactionMessage');

  // ---- phones ----
  const pa = (await sim.api('GET', `/_sim/accounts/${A}/messages`)).json.messages;
  const dsm = pa.filter((m) => m.kind === 'dsm');
  check(dsm.length >= N, `our phone decrypted the device-sent copies (${dsm.length})`);
  m0 = c.mark();
  r = await sim.api('POST', '/_sim/phone/send', { phone: A, to: B, text: 'from our phone' });
  check(r.status === 200, 'our phone sent');
  await c.wait((e) => e.ev === 'message' && e.text === 'from our phone', 20000, 'own phone copy', m0);
  check(c.events.slice(m0).find((e) => e.ev === 'message' && e.text === 'from our phone').key.from_me,
    'a message from our phone arrives as from_me in the peer chat');
  r = await sim.api('POST', '/_sim/phone/send', { phone: B, to: A, text: 'from their phone' });
  await c.wait((e) => e.ev === 'message' && e.text === 'from their phone', 20000, 'peer phone message', m0);
  check(true, "a message from the peer's phone arrives");

  // ---- number lookup, chat states ----
  m0 = c.mark();
  check((await c.command({ cmd: 'check_numbers', numbers: [B, '+1 555 999 9999'] })).ok, 'check_numbers accepted');
  const { ev: nums } = await c.wait((e) => e.ev === 'numbers', 10000, 'numbers result', m0);
  const nb0 = nums.results[0], nb1 = nums.results[1];
  check(nums.ok && nb0.exists && nb0.jid === jidB && nb0.lid?.endsWith('@lid') && !nb1.exists && nb1.jid === null,
    `check_numbers: ${B} exists (with its LID), an unknown number does not`);
  // more numbers than the cache's first sizes (it grows 4, 8, 16, ...):
  // asked twice, the second answer (from the cache) equals the first
  {
    const many = [B, ...Array.from({ length: 11 }, (_, i) => `+1 555 988 ${String(1000 + i)}`)];
    const ask = async () => {
      const m = c.mark();
      check((await c.command({ cmd: 'check_numbers', numbers: many })).ok, 'check_numbers of 12 accepted');
      return (await c.wait((e) => e.ev === 'numbers', 10000, 'numbers result (12)', m)).ev.results;
    };
    const first = await ask(), again = await ask();
    check(first.length === 12 && first[0].exists && first.slice(1).every((x) => !x.exists) &&
      JSON.stringify(first) === JSON.stringify(again), 'check_numbers of 12, twice: the same answers');
  }
  // the same chat addressed by LID: same device sessions, Baileys gets it
  const nbl = b.got.length;
  let lr = await c.command({ cmd: 'send_text', to: nb0.lid, text: 'to your LID' });
  check(lr.ok, 'send to a LID chat queued');
  await b.waitFor(() => b.got.length > nbl && b.got.some((x) => bText(x) === 'to your LID'), 20000, 'LID-addressed text at Baileys');
  await c.wait((e) => e.ev === 'message_status' && e.key.id === lr.id && e.status >= ST_DELIVERED, 20000, 'LID message delivered', m0);
  check(c.events.some((e) => e.ev === 'message_status' && e.key.id === lr.id && e.key.remote_jid === jidB && e.key.remote_lid === nb0.lid),
    'a LID-addressed message reports both the PN and the LID of the chat');
  await b.sock.sendPresenceUpdate('composing', jidA);
  await c.wait((e) => e.ev === 'presence' && e.presence === 'composing' && e.jid.startsWith(B), 10000, 'composing at our client', m0);
  check(true, "Baileys' chat state reaches us as a presence event");
  const pres = [];
  b.sock.ev.on('presence.update', (u) => { pres.push(u); b.poke(); });
  check((await c.command({ cmd: 'presence', to: B, presence: 'composing' })).ok, 'chat state sent');
  await b.waitFor(() => pres.some((u) => Object.values(u.presences ?? {}).some((p) => p.lastKnownPresence === 'composing')),
    10000, 'composing at Baileys');
  check(true, 'our chat state reaches Baileys');

  // ---- retry receipts both ways ----
  // Baileys loses its session with our device: it cannot read our next
  // message, sends a retry receipt, and we resend on a fresh session.
  const lidA = (await sim.api('GET', `/_sim/accounts/${A}`)).json.lid.split('@')[0];
  await b.sock.authState.keys.set({ session: { [`${lidA}_1.1`]: null, [`${A}.1`]: null } });
  m0 = c.mark();
  lr = await c.command({ cmd: 'send_text', to: B, text: 'after Baileys lost its session' });
  await b.waitFor(() => b.got.some((x) => bText(x) === 'after Baileys lost its session'), 30000, 'resent message at Baileys');
  await sleep(500);
  check(b.got.filter((x) => bText(x) === 'after Baileys lost its session').length === 1,
    'a retry receipt from Baileys makes us resend on a new session (received once)');
  // we lose our sessions: our retry receipt (with our keys) makes Baileys resend
  { const code = await c.quit(); check(code === 0, 'client quit before its sessions are wiped'); }
  execFileSync('sqlite3', [db, 'DELETE FROM sessions;']);
  c = new WaClient(clientExe, opts).start();
  await c.wait((e) => e.ev === 'connected', 20000, 'login with wiped sessions');
  // Our retry receipt carries a fresh bundle (<keys>); Baileys builds a new
  // session from it. (It cannot resend that very message here: its recent-
  // message cache is keyed by the bare chat JID while the forwarded retry
  // receipt names our device, and the harness gives it no getMessage.)
  // The next message it sends then decrypts on the session built from our keys.
  await b.sock.sendMessage(jidA, { text: 'after we lost our sessions' });
  await sleep(1500);
  await b.sock.sendMessage(jidA, { text: 'after our retry receipt' });
  await c.wait((e) => e.ev === 'message' && e.text === 'after our retry receipt', 30000, 'message after our retry receipt');
  check(!c.events.some((e) => e.ev === 'message' && e.text === 'after we lost our sessions') ||
    c.events.filter((e) => e.ev === 'message' && e.text === 'after we lost our sessions').length === 1,
    'without sessions, our retry receipt (with keys) lets Baileys build a new session to us');

  // ---- kill -9 mid-stream ----
  const K = 10;
  const killIds = [];
  for (let i = 0; i < K; i++) {
    res = await c.command({ cmd: 'send_text', to: B, text: `before kill ${i}` });
    killIds.push(res.id);
  }
  c.proc.kill('SIGKILL');
  await c.exited;
  // Baileys first finishes decrypting whatever of ours got out before the
  // kill: decrypting while it encrypts on the same session loses a session
  // write (its decrypt and send transactions hold different locks and each
  // commits its own copy of the session record), so its next message repeats
  // a counter; we reject that as a duplicate and send a retry receipt it
  // cannot answer (seen under load: 'Received message with old counter'). So
  // wait until wasim saw our connection end (every frame we got out is then
  // routed) and Baileys acked everything queued for it (it acks after the
  // decrypt transaction committed).
  for (const end = Date.now() + 20000; ; await sleep(100)) {
    const ours = (await sim.api('GET', `/_sim/accounts/${A}`)).json;
    const acct = (await sim.api('GET', `/_sim/accounts/${B}`)).json;
    if (ours.devices.every((d) => !d.online) && acct.devices.every((d) => d.queued === 0)) break;
    if (Date.now() > end) fail("wasim did not see us go or Baileys' queue at wasim did not drain");
  }
  for (let i = 0; i < K; i++) await b.sock.sendMessage(jidA, { text: `while down ${i}` });
  c = new WaClient(clientExe, opts).start();
  await c.wait((e) => e.ev === 'connected', 20000, 'login after kill');
  await until(() => ourGot().filter((e) => e.text.startsWith('while down')).length >= K, 30000, 'queued messages after restart');
  check(new Set(ourGot().filter((e) => e.text.startsWith('while down')).map((e) => e.text)).size === K &&
    ourGot().filter((e) => e.text.startsWith('while down')).length === K, `the ${K} messages sent while we were down arrived once`);
  const beforeKill = () => b.got.filter((m) => bText(m)?.startsWith('before kill'));
  await b.waitFor(() => beforeKill().length >= K, 30000, 'accepted messages delivered after restart');
  await sleep(2000);
  const bk = beforeKill().map(bText);
  check(bk.length === K && new Set(bk).size === K, `the ${K} messages accepted before the kill reached Baileys exactly once (${bk.length})`);
  check(JSON.stringify(beforeKill().map((m) => m.key.id).sort()) === JSON.stringify([...killIds].sort()), 'with the ids we returned');
  { const code = await c.quit(); check(code === 0, `client exits cleanly (${code}) ${code === 0 ? '' : c.stderr.slice(-3000)}`); }
} catch (e) {
  fail(e.stack || e.message);
}
await b.stop();
await sim.stop();
process.exit(0);
