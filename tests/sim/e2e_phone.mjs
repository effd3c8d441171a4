// wasim e2e (messaging 3): the simulated phone is a real Signal participant.
//  - phone P (an account with no companion) sends a text with
//    POST /_sim/phone/send; the unmodified Baileys client of account A
//    receives and decrypts it, and P's phone gets its delivery receipt;
//  - Baileys sends to P: P's phone decrypts it (GET .../messages), answers
//    with a delivery receipt Baileys turns into DELIVERY_ACK, and A's own
//    phone decrypts the device-sent copy;
//  - A's own phone sends to P: Baileys (a companion of A) gets the
//    device-sent copy as a message from itself.
import { startWasim, pairByQr, check, fail, watchdog, sleep } from './harness.mjs';
import { waitHistorySynced, goOnline, createAccount } from './e2e_msg_util.mjs';

watchdog(60);
const t0 = Date.now();
const sim = await startWasim(process.argv[2]);
const A = '15550003001', P = '15550003002';
check((await sim.api('POST', '/_sim/accounts', { phone: P })).status === 201, 'phone-only account P created');
await createAccount(sim, A, 'Alice');
const a = await pairByQr(sim, A, 'alice');
await waitHistorySynced(a);
await goOnline(a, 'Alice');

const got = [];
const status = {};
a.sock.ev.on('messages.upsert', ({ messages }) => {
  for (const m of messages) {
    // while Baileys buffers events (until history sync), receipts for our own
    // just-sent message land in its buffered upsert instead of messages.update
    if (m.key.fromMe && typeof m.status === 'number') status[m.key.id] = Math.max(status[m.key.id] ?? 0, m.status);
    const text = m.message?.extendedTextMessage?.text ?? m.message?.conversation;
    if (text !== undefined) got.push({ text, key: m.key });
  }
  a.poke();
});
a.sock.ev.on('messages.update', (ups) => {
  for (const { key, update } of ups) {
    if (typeof update.status === 'number') status[key.id] = Math.max(status[key.id] ?? 0, update.status);
  }
  a.poke();
});
const jidA = `${A}@s.whatsapp.net`, jidP = `${P}@s.whatsapp.net`;

// 1. phone P -> Baileys
let r = await sim.api('POST', '/_sim/phone/send', { phone: P, to: A, text: 'hello from the phone' });
check(r.status === 200 && r.json.id, `phone send accepted (${JSON.stringify(r.json)})`);
const id1 = r.json.id;
await a.waitFor(() => got.some((m) => m.key.id === id1), 15000, 'the phone message at Baileys');
const m1 = got.find((m) => m.key.id === id1);
check(m1.text === 'hello from the phone' && !m1.key.fromMe && m1.key.remoteJid === jidP,
  `Baileys decrypted the phone's text from ${m1.key.remoteJid}`);

// 2. Baileys -> phone P
const sent = await a.sock.sendMessage(jidP, { text: 'hello phone' });
let msgs;
const why = setTimeout(async () => {
  console.error('phone P messages:', JSON.stringify((await sim.api('GET', `/_sim/accounts/${P}/messages`)).json));
}, 8000);
await a.waitFor(() => (status[sent.key.id] ?? 0) >= 3, 10000, 'delivery receipt from the phone');
clearTimeout(why);
msgs = (await sim.api('GET', `/_sim/accounts/${P}/messages`)).json.messages;
const atP = msgs.find((m) => m.id === sent.key.id);
check(atP && atP.text === 'hello phone' && atP.kind === 'message' && atP.from === `${A}:1@s.whatsapp.net`,
  `phone P decrypted Baileys' message (${JSON.stringify(atP)})`);
check(true, 'Baileys saw DELIVERY_ACK from the phone');
const ownA = (await sim.api('GET', `/_sim/accounts/${A}/messages`)).json.messages;
check(ownA.some((m) => m.id === sent.key.id && m.kind === 'dsm' && m.text === 'hello phone' && m.chat === jidP),
  'A\'s own phone decrypted the device-sent copy');

// the phone reads it: Baileys sees READ
r = await sim.api('POST', '/_sim/phone/read', { phone: P, ids: [sent.key.id] });
check(r.status === 200 && r.json.read === 1, 'phone P marks it read');
await a.waitFor(() => status[sent.key.id] === 4, 10000, 'read receipt from the phone');
check(true, 'Baileys saw READ from the phone');

// 3. A's own phone -> P: Baileys (A's companion) sees it as its own message
r = await sim.api('POST', '/_sim/phone/send', { phone: A, to: P, text: 'sent on the phone' });
check(r.status === 200, 'A\'s phone sends to P');
const id3 = r.json.id;
await a.waitFor(() => got.some((m) => m.key.id === id3), 15000, 'own-device copy at Baileys');
const m3 = got.find((m) => m.key.id === id3);
check(m3.key.fromMe && m3.key.remoteJid === jidP && m3.text === 'sent on the phone',
  'Baileys shows the phone-sent message as fromMe in the chat with P');
await sleep(200);
msgs = (await sim.api('GET', `/_sim/accounts/${P}/messages`)).json.messages;
check(msgs.some((m) => m.id === id3 && m.text === 'sent on the phone' && m.from === jidA), 'P\'s phone got it too');

// 4. retry: P's phone forgets its sessions with A; A's next message fails to
// decrypt there, the phone's retry receipt reaches A, Baileys refetches the
// phone's bundle and resends under the same id, and wasim delivers the
// resend (same id, new ciphertext) instead of dropping it as a duplicate
r = await sim.api('POST', '/_sim/phone/forget', { phone: P, peer: A });
check(r.status === 200 && r.json.deleted >= 1, `P's phone dropped ${r.json.deleted} session(s) with A`);
const sent4 = await a.sock.sendMessage(jidP, { text: 'after you forgot me' });
let seen4;
for (let i = 0; i < 100 && !seen4; i++) {
  await sleep(100);
  msgs = (await sim.api('GET', `/_sim/accounts/${P}/messages`)).json.messages;
  seen4 = msgs.find((m) => m.id === sent4.key.id && m.kind === 'message');
}
check(msgs.some((m) => m.id === sent4.key.id && m.kind === 'undecryptable'), 'the first copy did not decrypt at the phone');
check(seen4 && seen4.text === 'after you forgot me', 'the resend after the retry receipt decrypted at the phone');

// 5. the LID namespace: Baileys writes to P's LID, P's phone writes to A's LID
const lidP = (await sim.api('GET', `/_sim/accounts/${P}`)).json.lid + '@lid';
const lidA = (await sim.api('GET', `/_sim/accounts/${A}`)).json.lid + '@lid';
const sent5 = await a.sock.sendMessage(lidP, { text: 'by lid' });
await a.waitFor(() => (status[sent5.key.id] ?? 0) >= 3, 15000, 'delivery receipt for the LID-addressed message');
msgs = (await sim.api('GET', `/_sim/accounts/${P}/messages`)).json.messages;
const at5 = msgs.find((m) => m.id === sent5.key.id);
check(at5 && at5.text === 'by lid' && at5.from.endsWith(':1@lid'), `phone got the LID-addressed message from ${at5?.from}`);
r = await sim.api('POST', '/_sim/phone/send', { phone: P, to: lidA, text: 'back by lid' });
check(r.status === 200, 'phone sends to A\'s LID');
const id5 = r.json.id;
await a.waitFor(() => got.some((m) => m.key.id === id5), 15000, 'LID-addressed phone message at Baileys');
const m5 = got.find((m) => m.key.id === id5);
check(m5.text === 'back by lid' && m5.key.remoteJid === lidP && m5.key.remoteJidAlt === jidP,
  `Baileys got it from ${m5.key.remoteJid} (alt ${m5.key.remoteJidAlt})`);

// hostile control input
r = await sim.api('POST', '/_sim/phone/send', { phone: '999', to: A, text: 'x' });
check(r.status === 404, 'unknown sender account refused');
r = await sim.api('POST', '/_sim/phone/send', { phone: P, to: A });
check(r.status === 400, 'missing text refused');
check((await sim.api('GET', `/_sim/accounts/999/messages`)).status === 404, 'messages of an unknown account: 404');

console.log(`figures: 6 messages phone<->Baileys (one through a retry, two by LID), total ${Date.now() - t0} ms`);
await a.stop();
const code = await sim.stop();
check(code === 0, `wasim exited cleanly (${code})`);
process.exit(0);
