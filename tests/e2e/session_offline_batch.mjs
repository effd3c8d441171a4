// libwa e2e (suite e2e): an offline backlog delivered in batches, with
// wasim's WASIM_REAL=offline_batch (at login the server sends only
// <ib><offline_preview count/>, then each <ib><offline_batch count/> the
// client sends gets that many queued stanzas, and <ib><offline/> follows
// the last; live messages wait behind the backlog). 1,000 texts from C's
// phone reach our stopped client; after the restart every one arrives,
// once, in the order sent, over 10+ requested batches, with a progress
// line per batch (libwa's debug log), and a live message sent afterwards
// arrives too. A client that ignores the preview gets nothing (stall).
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

const N = Number(process.env.WA_OFFLINE_N || 1000);
watchdog(280);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe, { real: 'offline_batch' });
const A = '15550009601', C = '15550009603';
const jidA = `${A}@s.whatsapp.net`;
const db = path.join(tmpDir('wa-offbatch-'), 'client.db');
for (const p of [A, C]) {
  const r = await sim.api('POST', '/_sim/accounts', { phone: p });
  check(r.status === 201, `account ${p} created`);
}
const opts = { db, url: sim.url, root: sim.root, extra: ['--log', 'debug'] };
let c = new WaClient(clientExe, opts).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
let r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');
const ourDev = Number(/:(\d+)@/.exec(c.events.find((e) => e.ev === 'paired').jid)[1]);
const dev = async () => (await sim.api('GET', `/_sim/accounts/${A}`)).json.devices.find((d) => d.device === ourDev);
await sleep(1500); // the phone's history notification, answered live
check((await c.quit()) === 0, 'client stopped');

const t0 = Date.now();
const ids = [];
for (let i = 0; i < N; i++) {
  const s = await sim.api('POST', '/_sim/phone/send', { phone: C, to: jidA, text: `backlog ${i}` });
  if (s.status !== 200) fail(`phone send ${i}: ${s.status}`);
  ids.push(s.json.id);
}
const queued = (await dev()).queued;
check(queued >= N, `${queued} stanzas queued for our device (${Date.now() - t0} ms)`);

c = new WaClient(clientExe, opts).start();
const t1 = Date.now();
await c.wait((e) => e.ev === 'connected', 20000, 'reconnected');
const end = Date.now() + 180000;
const got = () => c.events.filter((e) => e.ev === 'message' && e.text?.startsWith('backlog '));
while (got().length < N) {
  if (Date.now() > end) fail(`only ${got().length}/${N} backlog messages arrived; wasim: ${JSON.stringify(await dev())}`);
  await sleep(200);
}
const ms = Date.now() - t1;
const texts = got().map((e) => e.text);
check(texts.length === N, `all ${N} arrived once (${ms} ms)`);
check(texts.every((t, i) => t === `backlog ${i}`), 'in the order sent');
check(got().every((e, i) => e.key.id === ids[i]), 'with the ids the phone sent');
const d = await dev();
check(d.offline_batches >= Math.ceil(N / 100), `${d.offline_batches} batches requested`);
check(d.offline_batch_sent >= N && !d.batching, `backlog sent (${d.offline_batch_sent} stanzas), batching over`);
const progress = c.stderr.split('\n').filter((l) => /offline: \d+\/\d+ received, batch \d+/.test(l));
check(progress.length >= Math.floor(N / 100) - 1, `a progress line per batch (${progress.length}): ${progress[0]} ... ${progress[progress.length - 1]}`);
// the end marker follows the last batch's messages: give it its turn
for (const until = Date.now() + 10000; !/offline: done, \d+ received/.test(c.stderr) && Date.now() < until;) await sleep(50);
check(/offline: done, \d+ received/.test(c.stderr), 'the end of the backlog is logged');
// live again
const s = await sim.api('POST', '/_sim/phone/send', { phone: C, to: jidA, text: 'live after backlog' });
await c.wait((e) => e.ev === 'message' && e.key.id === s.json.id, 10000, 'a live message after the backlog');
// the queue drains (our receipts answered everything)
const dend = Date.now() + 20000;
while ((await dev()).queued > 0) {
  if (Date.now() > dend) fail(`queue not drained: ${(await dev()).queued}`);
  await sleep(200);
}
check(true, 'the queue drained');
check((await c.quit()) === 0, 'client exits cleanly');
console.log(`ok: session_offline_batch (${N} messages in ${ms} ms, ${d.offline_batches} batches)`);
process.exit(0);
