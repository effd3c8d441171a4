// libwa e2e (suite e2e): a send refused with error 463 (wasim's
// WASIM_REAL=tctoken: the contact issued its token to us, our message does
// not carry it). As Baileys 7.0.0-rc14: the message ends ERROR and is not
// resent (a resend is one more reach-out), and our own token is issued to
// that contact at once, even though we already issued it this week (the
// weekly rule alone would not issue it again).
//  1. A (our client) writes first to B (unmodified Baileys): delivered; A
//     issues its token to B (once).
//  2. B answers (carrying A's token) and issues its token to A.
//  3. A loses B's token (its row's token is cleared in the database while
//     the client is stopped; when it last issued its own stays).
//  4. A writes again: refused with 463, status ERROR; wasim then sees A
//     issue its token to B a second time; nothing is resent.
// argv: [node, script, wa_client, wasim]
import { startWasim, pairByQr, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

watchdog(150);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe, { real: 'tctoken' });
const A = '15550009601', B = '15550009602';
const jidB = `${B}@s.whatsapp.net`, jidA = `${A}@s.whatsapp.net`;
const db = path.join(tmpDir('wa-tctoken463-'), 'client.db');
let r = await sim.api('POST', '/_sim/accounts', { phone: A });
check(r.status === 201, 'account A created');
const opts = { db, url: sim.url, root: sim.root };
let c = new WaClient(clientExe, opts).start();
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

// 1. A first
let s = await c.command({ cmd: 'send_text', to: jidB, text: 'hello from A' });
check(s.ok, 'first message queued');
await until(async () => b.got.some((m) => text(m) === 'hello from A'), 15000, 'B receiving our first message');
await until(async () => (await acct(A)).tctoken_issues?.[B] === 1, 10000, 'A issuing its token to B');
check(true, 'A issued its token to B once');

// 2. B answers and issues its token to A
let from = c.mark();
await b.sock.sendMessage(jidA, { text: 'hello from bob' });
await c.wait((e) => e.ev === 'message' && e.text === 'hello from bob', 15000, "B's answer", from);
await until(async () => (await acct(B)).tctokens_issued.includes(A), 10000, 'B issuing its token to A');
await sleep(500); // the notification reaches our client
check((await c.quit()) === 0, 'client stopped');
const q = (sql) => execFileSync('sqlite3', [db, sql], { encoding: 'utf8' }).trim();
check(q('SELECT count(*) FROM privacy_tokens WHERE token IS NOT NULL AND sender_t > 0') === '1',
  "the client stored B's token and when it issued its own");

// 3. the token is lost
q('UPDATE privacy_tokens SET token = NULL, token_t = 0');
c = new WaClient(clientExe, opts).start();
await c.wait((e) => e.ev === 'connected', 20000, 'reconnected');

// 4. refused with 463, then our token is issued again
from = c.mark();
s = await c.command({ cmd: 'send_text', to: jidB, text: 'without a token' });
check(s.ok, 'second message queued');
const { ev: st } = await c.wait((e) => e.ev === 'message_status' && e.key.id === s.id && e.status !== 1,
  15000, 'the second message refused', from);
check(st.status === 0 && /463/.test(st.reason ?? ''), `status ERROR with the 463 (${JSON.stringify(st)})`);
check((await acct(A)).tctoken_refused === 1, 'wasim refused it once');
await until(async () => (await acct(A)).tctoken_issues?.[B] === 2, 10000, 'A issuing its token to B again after the 463');
check(true, 'A issued its token to B again after the 463');
await sleep(2000);
const a2 = await acct(A);
check(a2.tctoken_refused === 1, `not resent (refused ${a2.tctoken_refused} times)`);
check(a2.tctoken_issues[B] === 2, `one issuance per refusal (${a2.tctoken_issues[B]})`);
check(!b.got.some((m) => text(m) === 'without a token'), 'B never received the refused message');
await b.close?.();
check((await c.quit()) === 0, 'client exits cleanly');
console.log('ok: session_tctoken_463');
process.exit(0);
