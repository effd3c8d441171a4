// wasim e2e (on-demand history): an unmodified Baileys 7.0.0-rc14 paired
// to an account with a seeded history (2 chats of 60 messages, so the
// first sync holds each chat's newest 20) calls fetchMessageHistory. The
// phone must read Baileys' own request (the same fields libwa sends: chat,
// oldest key, its time in ms, count) and answer with an ON_DEMAND history
// sync naming the request, which Baileys downloads and decodes into
// exactly the older messages of that chat. A request whose oldest id the phone does not know
// is answered from its time.
import { startWasim, pairByQr, check, watchdog, sleep } from './harness.mjs';

watchdog(90);
const sim = await startWasim(process.argv[2], { tls: true });
const A = '15550003301';
const PER_CHAT = 60;
let r = await sim.api('POST', '/_sim/accounts', { phone: A });
check(r.status === 201, 'account');
r = await sim.api('POST', '/_sim/history/seed', { phone: A, chats: 2, messages: 2 * PER_CHAT });
check(r.status === 200, 'history seeded');
const list = (await sim.api('GET', `/_sim/history/${A}`)).json.list;
const chat = list[1];
const msgs = chat.messages; // oldest first

// Baileys downloads history blobs from WhatsApp's media host, a fixed
// name: its fetches go to wasim's (plain HTTP port) instead
const mediaBase = sim.url.replace(/^ws:/, 'http:').replace(/\/ws\/chat$/, '');
const realFetch = globalThis.fetch;
globalThis.fetch = (u, o) => realFetch(String(u).replace(/^https:\/\/mmg\.whatsapp\.net/, mediaBase), o);
const sets = [];
const a = await pairByQr(sim, A, 'hist-demand', { tls: true,
  sockOpts: { shouldSyncHistoryMessage: () => true } });
a.sock.ev.on('messaging-history.set', (h) => sets.push(h));
const until = async (pred, ms) => {
  const e = Date.now() + ms;
  while (Date.now() < e) { if (pred()) return true; await sleep(50); }
  return false;
};
const idsOf = (h) => h.messages.filter((m) => m.key.remoteJid === chat.id).map((m) => m.key.id);
check(await until(() => sets.some((h) => idsOf(h).length > 0), 20000), 'the first sync reached Baileys');
const first = sets.flatMap(idsOf);
check(first.length === 20 && first.every((id) => msgs.slice(PER_CHAT - 20).some((m) => m.id === id)),
  `the first sync: the chat's newest 20 (${first.length})`);

const onDemand = (rid) => sets.find((h) => h.syncType === 6 && h.peerDataRequestSessionId === rid);
const same = (h, from, to) => {
  const got = h.messages.filter((m) => m.key.remoteJid === chat.id);
  const want = msgs.slice(from, to);
  const byId = new Map(got.map((m) => [m.key.id, m]));
  return got.length === want.length && want.every((m) => {
    const x = byId.get(m.id);
    return x && x.message?.conversation === m.text && Number(x.messageTimestamp) === m.t && x.key.fromMe === m.from_me;
  });
};

// 1. older than the oldest Baileys has (message 40): 25 more
const oldest = msgs[PER_CHAT - 20];
const rid = await a.sock.fetchMessageHistory(25, { remoteJid: chat.id, fromMe: oldest.from_me, id: oldest.id },
  oldest.t * 1000);
check(typeof rid === 'string' && rid.length > 0, `fetchMessageHistory sent (${rid})`);
let req;
for (let i = 0; i < 100 && !req; i++) {
  req = (await sim.api('GET', `/_sim/accounts/${A}/messages`)).json.messages.find((m) => m.id === rid);
  if (!req) await sleep(50);
}
// Baileys addresses it to our own JID, so it goes as a deviceSentMessage
check(req?.kind === 'dsm' && JSON.stringify(req.history_request) === JSON.stringify({
  chat: chat.id, oldest_id: oldest.id, oldest_from_me: oldest.from_me, oldest_ts_ms: oldest.t * 1000, count: 25,
}), `the phone read Baileys' request (${JSON.stringify(req)})`);
check(await until(() => onDemand(rid), 15000), `an ON_DEMAND history set naming the request (sets: ${
  JSON.stringify(sets.map((h) => [h.syncType, h.peerDataRequestSessionId, h.messages.length]))})`);
const h1 = onDemand(rid);
check(same(h1, PER_CHAT - 20 - 25, PER_CHAT - 20) && h1.messages.length === 25,
  `exactly messages 15..39 of the chat (${h1.messages.length} messages)`);

// 2. an oldest id the phone does not know: answered from the time (message 15's)
const rid2 = await a.sock.fetchMessageHistory(10, { remoteJid: chat.id, fromMe: false, id: 'NOT-SEEDED' },
  msgs[15].t * 1000);
check(await until(() => onDemand(rid2), 15000), 'an ON_DEMAND answer for an unknown oldest id');
check(same(onDemand(rid2), 5, 15), `from the time: messages 5..14 (${onDemand(rid2).messages.length})`);

await a.stop();
console.log('ok: wasim_history_demand');
process.exit(0);
