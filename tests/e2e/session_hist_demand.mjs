// libwa e2e (suite e2e): the deadline of an on-demand history request.
//  1. A request the phone answers (older messages of a seeded chat) comes
//     back as an ON_DEMAND history sync, and no timeout is reported for it.
//  2. A request the phone never answers (a chat it has no history of) is
//     reported once, after the configured deadline, as history_demand with
//     WA_ETIMEOUT, the request's id and chat.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(60);
const [clientExe, wasimExe] = process.argv.slice(2);
// the on-demand answer is a blob on the media host, which is https only
const sim = await startWasim(wasimExe, { tls: true });
const A = '15550009401';
const WA_ETIMEOUT = -13, DEADLINE_MS = 1500;
let r = await sim.api('POST', '/_sim/accounts', { phone: A, push_name: 'Alice Demand' });
check(r.status === 201, 'account created');
r = await sim.api('POST', '/_sim/history/seed', { phone: A, chats: 2, messages: 20 });
check(r.status === 200, 'history seeded');
const chat = (await sim.api('GET', `/_sim/history/${A}`)).json.list[0];
const db = path.join(tmpDir('wa-hdemand-'), 'client.db');
const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
  extra: ['--insecure', '--hist-demand-timeout-ms', String(DEADLINE_MS)] }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
check((await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr })).status === 200, 'phone scanned the QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');
await c.wait((e) => e.ev === 'history' && e.last, 15000, 'the initial history');

async function ask(body, what) {
  const from = c.mark();
  c.send({ cmd: 'fetch_history', count: 5, ...body });
  const { ev } = await c.wait((e) => e.ev === 'result' && e.cmd === 'fetch_history', 5000, what, from);
  check(ev.ok && /^[0-9A-F]{16,}$/.test(ev.id ?? ''), `${what}: sent (${JSON.stringify(ev)})`);
  return { id: ev.id, from };
}

// 1. answered: no timeout
const old = chat.messages[Math.floor(chat.messages.length / 2)];
let q = await ask({ chat: chat.id, oldest_id: old.id, oldest_from_me: old.from_me, oldest_ts_ms: old.t * 1000 },
  'a request the phone answers');
await c.wait((e) => e.ev === 'history' && e.sync_type === 'ON_DEMAND' && e.last, 15000, 'the on-demand answer', q.from);
await sleep(DEADLINE_MS + 700);
check(!c.events.slice(q.from).some((e) => e.ev === 'history_demand'), 'no timeout reported for an answered request');

// 2. unanswered: reported once, after the deadline
const lost = '15550009499@s.whatsapp.net';
const t0 = Date.now();
q = await ask({ chat: lost, oldest_id: '3EB0AAAAAAAAAAAAAAAA', oldest_ts_ms: 1765000000000 }, 'a request the phone ignores');
const { ev } = await c.wait((e) => e.ev === 'history_demand', DEADLINE_MS + 5000, 'the timeout', q.from);
const took = Date.now() - t0;
check(ev.error === WA_ETIMEOUT && ev.request_id === q.id && ev.chat === lost,
  `reported with WA_ETIMEOUT, its id and chat (${JSON.stringify(ev)})`);
check(took >= DEADLINE_MS - 100, `not before the deadline (${took} ms)`);
await sleep(DEADLINE_MS + 500);
check(c.events.slice(q.from).filter((e) => e.ev === 'history_demand').length === 1, 'reported once');
check((await c.quit()) === 0, 'client exits cleanly');
console.log('ok: session_hist_demand');
process.exit(0);
