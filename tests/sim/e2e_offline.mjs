// wasim e2e (messaging 2): the offline queue. Bob's Baileys goes away;
// Alice sends 10 messages, which wasim keeps in Bob's device queue — across
// a restart of wasim itself (state dir). Bob's Baileys is then started again
// from its saved auth state, logs in, gets the 10 messages flushed with
// offline="1" before <ib><offline count/>, decrypts them all, and Alice sees
// every one reach DELIVERY_ACK. The queue is empty afterwards.
import { startWasim, pairByQr, Client, check, fail, watchdog, tmpDir, sleep } from './harness.mjs';
import { waitHistorySynced, goOnline, createAccount } from './e2e_msg_util.mjs';

const N = 10;
watchdog(90);
const t0 = Date.now();
const state = tmpDir('wasim-state-');
let sim = await startWasim(process.argv[2], { state });
const A = '15550004001', B = '15550004002';
const jidA = `${A}@s.whatsapp.net`, jidB = `${B}@s.whatsapp.net`;
await createAccount(sim, A, 'Alice');
await createAccount(sim, B, 'Bob');
const a = await pairByQr(sim, A, 'alice', { reconnect: true });
const b = await pairByQr(sim, B, 'bob');
for (const [c, name] of [[a, 'Alice'], [b, 'Bob']]) {
  await waitHistorySynced(c);
  await goOnline(c, name);
}
// DELIVERY_ACK per (message, receipting device): Bob's phone (device 0)
// stays online and acks at once; what matters is Bob's companion.
const status = {};
const bobDev1 = `${B}:1@s.whatsapp.net`;
const deliveredBy = (id, who) => status[`${id}/${who}`] >= 3;
const bump = (key, st) => {
  const k = `${key.id}/${key.remoteJid}`;
  status[k] = Math.max(status[k] ?? 0, st);
};
const onUpdates = (sock, c) => {
  sock.ev.on('messages.update', (ups) => {
    for (const { key, update } of ups) if (key.fromMe && typeof update.status === 'number') bump(key, update.status);
    c.poke();
  });
  // A receipt that arrives before Baileys emitted the upsert of the message
  // just sent (the phone answers at once) is merged into that upsert by
  // Baileys' event buffer. Its key names the chat, i.e. Bob's phone JID,
  // and only the phone can answer while Bob's companion is away.
  sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) if (m.key.fromMe && typeof m.status === 'number') bump(m.key, m.status);
    c.poke();
  });
};
onUpdates(a.sock, a);
const bGot = [];
b.sock.ev.on('messages.upsert', ({ messages }) => {
  for (const m of messages) if (!m.key.fromMe && m.message) bGot.push(m);
  b.poke();
});

// a first exchange while both are online (sessions exist before the gap)
const first = await a.sock.sendMessage(jidB, { text: 'are you there?' });
await b.waitFor(() => bGot.some((m) => m.key.id === first.key.id), 15000, 'first message at bob');
await a.waitFor(() => deliveredBy(first.key.id, bobDev1), 15000, 'first delivery ack');
check(true, 'online exchange works');

// Bob goes away
await b.stop();
await sleep(300);
let r = await sim.api('GET', `/_sim/accounts/${B}`);
check(r.json.devices[0].online === false, 'bob\'s device is offline');
const ids = [];
for (let i = 0; i < N; i++) ids.push((await a.sock.sendMessage(jidB, { text: `while you were away ${i}` })).key.id);
await sleep(500);
r = await sim.api('GET', `/_sim/accounts/${B}`);
const queuedIds = () => r.json.devices[0].queue.map((q) => q.id);
// (the phone's history notification may be queued too if Bob left within 1 s of his first login)
check(ids.every((id) => queuedIds().includes(id)), `wasim queued the ${N} messages for bob (${r.json.devices[0].queued} items)`);
check(ids.every((id) => !deliveredBy(id, bobDev1)), 'no delivery ack from bob\'s companion while it is away');
const why = setTimeout(async () => {
  console.error('missing phone acks for', ids.filter((id) => !deliveredBy(id, jidB)),
    'phone saw', JSON.stringify((await sim.api('GET', `/_sim/accounts/${B}/messages`)).json));
}, 8000);
await a.waitFor(() => ids.every((id) => deliveredBy(id, jidB)), 10000, 'delivery receipts from bob\'s phone');
clearTimeout(why);
check(true, 'bob\'s phone (online) acked them all');

// wasim restarts on the same state dir: the queue survives
check((await sim.stop()) === 0, 'wasim stopped cleanly');
sim = await startWasim(process.argv[2], { state });
r = await sim.api('GET', `/_sim/accounts/${B}`);
check(ids.every((id) => queuedIds().includes(id)), `restarted wasim still holds the ${N} queued messages`);
a.sim = sim;
await a.waitOpen(2, 30000);
onUpdates(a.sock, a); // the app's new socket after its reconnect

// Bob's app starts again from its saved auth state
const tBack = Date.now();
const b2 = new Client(sim, 'bob2');
b2.authDir = b.authDir;
const b2Got = [];
const sock = await b2.start();
sock.ev.on('messages.upsert', ({ messages, type }) => {
  for (const m of messages) if (!m.key.fromMe && m.message) b2Got.push({ m, type });
  b2.poke();
});
await b2.waitOpen(1, 30000);
await b2.waitFor(() => ids.every((id) => b2Got.some((x) => x.m.key.id === id)), 20000, `${N} queued messages at bob`);
const texts = ids.map((id) => {
  const m = b2Got.find((x) => x.m.key.id === id).m;
  return m.message.extendedTextMessage?.text ?? m.message.conversation;
});
check(texts.every((t, i) => t === `while you were away ${i}`), `bob decrypted all ${N} queued messages in order`);
check(b2Got.filter((x) => ids.includes(x.m.key.id)).every((x) => x.type === 'append'),
  'they came flagged offline (Baileys upserts them as append)');
check(b2.updates.some((u) => u.receivedPendingNotifications), 'then <ib><offline count/> ended the backlog');
const tFlush = Date.now() - tBack;
// Bob's fresh socket has not announced itself available, so its delivery
// receipts are type "inactive", which a Baileys sender ignores (as with the
// real service). Bob reads them: the read receipts reach Alice.
await b2.sock.readMessages(ids.map((id) => b2Got.find((x) => x.m.key.id === id).m.key));
await a.waitFor(() => ids.every((id) => status[`${id}/${bobDev1}`] === 4), 20000, 'read receipts for the queued messages');
check(true, 'alice saw READ from bob\'s companion for every queued message');
await sleep(300);
r = await sim.api('GET', `/_sim/accounts/${B}`);
check(r.json.devices[0].queued === 0, `bob's queue drained (queued=${r.json.devices[0].queued})`);

console.log(`figures: ${N} queued messages survived a wasim restart; login-to-all-decrypted ${tFlush} ms; total ${Date.now() - t0} ms`);
await a.stop();
await b2.stop();
check((await sim.stop()) === 0, 'wasim exited cleanly');
process.exit(0);
