// wasim e2e (messaging 1): two unmodified Baileys clients on two accounts
// pair by QR, restart after 515, log in, upload pre-keys, and exchange 20
// text messages each way through wasim. Each side must receive every text
// intact (decrypted by Baileys' own libsignal), and the sender must see
// every message reach DELIVERY_ACK and then READ through forwarded receipts
// (messages.update). Prints the figures.
import { startWasim, pairByQr, check, fail, watchdog, sleep } from './harness.mjs';
import { waitHistorySynced, goOnline, createAccount } from './e2e_msg_util.mjs';

const N = 20;
watchdog(90);
const t0 = Date.now();
// Under the real-server switches, privacy tokens stay off here: two Baileys
// rc14 clients writing to each other at full speed re-issue their tokens on
// almost every send (each side's stored token entry is rewritten by the
// other's notification and loses its issue time), and the stream of
// privacy_token notifications interleaved with decryption corrupts Baileys'
// own sessions ("Over 2000 messages into the future", "Key used already")
// with nothing refused or duplicated by wasim. A client-side race; the
// token rules are covered by session_tctoken and session_tctoken_463.
const real = process.env.WASIM_REAL;
const noTokens = (v) => (v === 'all' ? 'hist_sync,offline_batch' : v.split(',').filter((x) => x !== 'tctoken').join(','));
const sim = await startWasim(process.argv[2], real ? { real: noTokens(real) } : {});
const A = '15550002001', B = '15550002002';
await createAccount(sim, A, 'Alice');
await createAccount(sim, B, 'Bob');
const a = await pairByQr(sim, A, 'alice');
const b = await pairByQr(sim, B, 'bob');
check(true, `both paired and logged in (${Date.now() - t0} ms)`);

// Active delivery receipts need an 'available' presence, which Baileys only
// sends once it knows its push name (a real phone syncs it via app state).
for (const [c, name] of [[a, 'Alice'], [b, 'Bob']]) {
  await waitHistorySynced(c);
  await goOnline(c, name);
}

function track(c) {
  c.got = [];      // texts received from the peer, in arrival order
  c.status = {};   // id -> highest status seen on our own messages
  c.sock.ev.on('messages.upsert', ({ messages, type }) => {
    for (const m of messages) {
      // receipts that arrive while Baileys buffers events update the
      // buffered upsert of our own message instead of messages.update
      if (m.key.fromMe && typeof m.status === 'number') c.status[m.key.id] = Math.max(c.status[m.key.id] ?? 0, m.status);
      if (m.key.fromMe || type !== 'notify') continue;
      const text = m.message?.extendedTextMessage?.text ?? m.message?.conversation;
      if (text !== undefined) c.got.push({ text, key: m.key });
    }
    c.poke();
  });
  c.byDev = {};    // `${id}/${receipting device}` -> status (the peer's phone acks too)
  c.sock.ev.on('messages.update', (ups) => {
    for (const { key, update } of ups) {
      if (key.fromMe && typeof update.status === 'number') {
        c.status[key.id] = Math.max(c.status[key.id] ?? 0, update.status);
        const k = `${key.id}/${key.remoteJid}`;
        c.byDev[k] = Math.max(c.byDev[k] ?? 0, update.status);
      }
    }
    c.poke();
  });
}
track(a);
track(b);

const DELIVERY_ACK = 3, READ = 4;
const jidA = `${A}@s.whatsapp.net`, jidB = `${B}@s.whatsapp.net`;
const sent = { a: [], b: [] };
const t1 = Date.now();
// Alice opens the conversation and Bob answers only once he has it, then
// both send at full speed, interleaved. When two Baileys clients' very first
// pkmsgs cross, the side that processes the other's pkmsg after building its
// own session can lose a session ("No matching sessions" / "Invalid PreKey
// ID"), and its retry receipt does not help: Baileys looks the message up in
// its retry cache under the receipt's `from`, which names a device, while it
// stored it under the chat JID. A client-side limitation, so not tested here.
sent.a.push((await a.sock.sendMessage(jidB, { text: 'a->b 0 ✓ ünïcödé' })).key.id);
await b.waitFor(() => b.got.length >= 1, 10000, 'first message at bob');
for (let i = 0; i < N; i++) {
  if (i > 0) sent.a.push((await a.sock.sendMessage(jidB, { text: `a->b ${i} ✓ ünïcödé` })).key.id);
  sent.b.push((await b.sock.sendMessage(jidA, { text: `b->a ${i}` })).key.id);
}
await b.waitFor(() => b.got.length >= N, 30000, `${N} messages at bob (got ${b.got.length})`);
await a.waitFor(() => a.got.length >= N, 30000, `${N} messages at alice (got ${a.got.length})`);
const tDeliver = Date.now() - t1;
const want = (p) => Array.from({ length: N }, (_, i) => p(i));
check(JSON.stringify(b.got.map((m) => m.text).sort()) === JSON.stringify(want((i) => `a->b ${i} ✓ ünïcödé`).sort()),
  `bob received all ${N} texts from alice intact`);
check(JSON.stringify(a.got.map((m) => m.text).sort()) === JSON.stringify(want((i) => `b->a ${i}`).sort()),
  `alice received all ${N} texts from bob intact`);
check(b.got.every((m) => m.key.remoteJid === jidA || m.key.remoteJid?.endsWith('@lid')), 'chat jid is the sender');

const bDev = `${B}:1@s.whatsapp.net`, aDev = `${A}:1@s.whatsapp.net`;
await a.waitFor(() => sent.a.every((id) => (a.byDev[`${id}/${bDev}`] ?? 0) >= DELIVERY_ACK), 20000, 'delivery acks at alice');
await b.waitFor(() => sent.b.every((id) => (b.byDev[`${id}/${aDev}`] ?? 0) >= DELIVERY_ACK), 20000, 'delivery acks at bob');
check(true, 'every message reached DELIVERY_ACK from the peer\'s companion on the sending side');

// read receipts: each side marks what it received as read
await b.sock.readMessages(b.got.map((m) => m.key));
await a.sock.readMessages(a.got.map((m) => m.key));
await a.waitFor(() => sent.a.every((id) => a.status[id] === READ), 20000, 'read receipts at alice');
await b.waitFor(() => sent.b.every((id) => b.status[id] === READ), 20000, 'read receipts at bob');
check(true, 'every message reached READ on the sending side');
const tAll = Date.now() - t1;

// the server's queues drain once the receipts arrived
await sleep(300);
for (const p of [A, B]) {
  const r = await sim.api('GET', `/_sim/accounts/${p}`);
  check(r.json.devices[0].queued === 0, `${p}: nothing left queued for device 1 (${r.json.devices[0].queued})`);
}
// both phones saw the DSM copies of what their companion sent
const pa = (await sim.api('GET', `/_sim/accounts/${A}/messages`)).json.messages;
check(pa.filter((m) => m.kind === 'dsm').length === N && pa.filter((m) => m.kind === 'message' && !m.from_me).length === N,
  `alice's phone decrypted ${N} own-device copies and ${N} messages from bob`);

// presence and chat state
const pres = [];
a.sock.ev.on('presence.update', (u) => { pres.push(u); a.poke(); });
await a.sock.presenceSubscribe(jidB);
await a.waitFor(() => pres.some((u) => u.id === jidB && u.presences[jidB]?.lastKnownPresence === 'available'), 5000, 'bob available');
check(true, 'presence subscribe answers with bob\'s current availability');
await b.sock.sendPresenceUpdate('composing', jidA);
await a.waitFor(() => pres.some((u) => u.id === jidB && u.presences[jidB]?.lastKnownPresence === 'composing'), 5000, 'bob composing');
check(true, 'bob\'s typing indicator reaches alice');
await b.sock.sendPresenceUpdate('unavailable');
await a.waitFor(() => pres.some((u) => u.id === jidB && u.presences[jidB]?.lastKnownPresence === 'unavailable'
  && u.presences[jidB]?.lastSeen > 0), 5000, 'bob unavailable');
check(true, 'bob going unavailable reaches his subscriber with last seen');
await b.sock.sendPresenceUpdate('available');

// a second companion for bob: alice's cached device list is updated by the
// devices notification, so her next message reaches both of bob's devices,
// and what the new device sends reaches alice and (as a device-sent copy)
// bob's first device
const tab = await pairByQr(sim, B, 'bob-tablet');
await waitHistorySynced(tab);
const tabGot = [];
tab.sock.ev.on('messages.upsert', ({ messages }) => {
  for (const m of messages) {
    const text = m.message?.extendedTextMessage?.text ?? m.message?.conversation;
    if (text !== undefined) tabGot.push({ text, key: m.key });
  }
  tab.poke();
});
const bOwn = [];
b.sock.ev.on('messages.upsert', ({ messages }) => {
  for (const m of messages) {
    const text = m.message?.extendedTextMessage?.text ?? m.message?.conversation;
    if (m.key.fromMe && text !== undefined) bOwn.push({ text, key: m.key });
  }
  b.poke();
});
await sleep(300);
const mt = await a.sock.sendMessage(jidB, { text: 'to both of your devices' });
await tab.waitFor(() => tabGot.some((m) => m.key.id === mt.key.id), 20000, 'alice\'s message at bob\'s new device');
await b.waitFor(() => b.got.some((m) => m.key.id === mt.key.id), 20000, 'alice\'s message at bob\'s first device');
check(true, 'after the devices notification alice fans out to both of bob\'s companions');
const mt2 = await tab.sock.sendMessage(jidA, { text: 'from the tablet' });
await a.waitFor(() => a.got.some((m) => m.key.id === mt2.key.id && m.text === 'from the tablet'), 20000, 'tablet message at alice');
await b.waitFor(() => bOwn.some((m) => m.key.id === mt2.key.id && m.text === 'from the tablet' && m.key.remoteJid === jidA),
  20000, 'device-sent copy at bob\'s first device');
check(true, 'the new device\'s message reaches alice and, as fromMe, bob\'s other device');

console.log(`figures: ${2 * N} messages, delivered in ${tDeliver} ms, delivered+read in ${tAll} ms, total ${Date.now() - t0} ms`);
await a.stop();
await b.stop();
await tab.stop();
const code = await sim.stop();
check(code === 0, `wasim exited cleanly (${code})`);
process.exit(0);
