// libwa e2e (suite e2e): privacy tokens with wasim's WASIM_REAL=tctoken
// (an account that issued its token to a contact refuses, with error 463,
// that contact's 1:1 messages without it). Our client (A) and an
// unmodified Baileys 7.0.0-rc14 (B) on first contact:
//  1. B writes first (A issued nothing: accepted) and then issues its
//     token to A; the privacy_token notification reaches our client.
//  2. A's reply carries B's token as <tctoken> and is delivered (on a libwa
//     that drops the notification it is refused with 463 and ends ERROR);
//     A then issues its own token to B (wasim lists the grant).
//  3. B's next message carries A's token (Baileys stored it) and arrives.
// Nothing is refused on either side.
// argv: [node, script, wa_client, wasim]
import { startWasim, pairByQr, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(150);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe, { real: 'tctoken' });
const A = '15550009501', B = '15550009502';
const jidA = `${A}@s.whatsapp.net`, jidB = `${B}@s.whatsapp.net`;
const db = path.join(tmpDir('wa-tctoken-'), 'client.db');
let r = await sim.api('POST', '/_sim/accounts', { phone: A });
check(r.status === 201, 'account A created');
const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');

const b = await pairByQr(sim, B, 'bob');
b.got = [];
b.sock.ev.on('messages.upsert', ({ messages }) => {
  for (const m of messages) if (!m.key.fromMe && m.message) b.got.push(m);
});
const acct = async (p) => (await sim.api('GET', `/_sim/accounts/${p}`)).json;
async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}
const text = (m) => m.message?.conversation ?? m.message?.extendedTextMessage?.text;

// 1. B first
let from = c.mark();
await b.sock.sendMessage(jidA, { text: 'hello from bob' });
await c.wait((e) => e.ev === 'message' && e.text === 'hello from bob', 15000, "B's first message", from);
await until(async () => (await acct(B)).tctokens_issued.includes(A), 10000, 'B issuing its token to A');
check(true, 'B issued its privacy token to A');
await sleep(500); // the notification reaches our client

// 2. our reply must carry B's token
from = c.mark();
const s = await c.command({ cmd: 'send_text', to: jidB, text: 'reply from A' });
check(s.ok, 'reply queued');
const st = await c.wait((e) => e.ev === 'message_status' && e.key.id === s.id && (e.status >= 2 || e.status === 0 || e.error),
  15000, 'our reply acked or refused', from);
check((await acct(A)).tctoken_refused === 0, `our reply was not refused (status event ${JSON.stringify(st.ev)})`);
await until(async () => b.got.some((m) => text(m) === 'reply from A'), 15000, 'B receiving our reply');
check(true, 'B received our reply');
await until(async () => (await acct(A)).tctokens_issued.includes(B), 10000, 'A issuing its token to B');
check(true, 'we issued our privacy token to B');
await sleep(500);

// 3. B again, now with our token required
from = c.mark();
await b.sock.sendMessage(jidA, { text: 'second from bob' });
await c.wait((e) => e.ev === 'message' && e.text === 'second from bob', 15000, "B's second message", from);
check((await acct(B)).tctoken_refused === 0, "B's messages were never refused");
check((await acct(A)).tctoken_refused === 0, 'ours were never refused');
await b.close?.();
check((await c.quit()) === 0, 'client exits cleanly');
console.log('ok: session_tctoken');
process.exit(0);
