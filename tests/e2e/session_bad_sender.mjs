// libwa e2e (suite e2e): a <message> whose sender JID parses but whose
// user@server does not fit a stored JID (a 120-digit user) is acked with
// an error like every other message libwa cannot take, so it leaves the
// server's queue instead of being redelivered forever. wasim's
// /_sim/deliver queues the bare stanza until the device acks it.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(60);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe);
const A = '15550009301', C = '15550009303';
const db = path.join(tmpDir('wa-badsender-'), 'client.db');
for (const p of [A, C]) {
  const r = await sim.api('POST', '/_sim/accounts', { phone: p });
  check(r.status === 201, `account ${p} created`);
}
const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
let r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');
const ourDev = Number(/:(\d+)@/.exec(c.events.find((e) => e.ev === 'paired').jid)[1]);
const dev = async () => (await sim.api('GET', `/_sim/accounts/${A}`)).json.devices.find((d) => d.device === ourDev);

async function drained(id, what) {
  const end = Date.now() + 5000;
  let d;
  while ((d = await dev()).queue.some((q) => q.id === id)) {
    if (Date.now() > end) fail(`${what} still queued: ${JSON.stringify(d.queue)}`);
    await sleep(50);
  }
  check(true, `${what} left the queue`);
}
r = await sim.api('POST', '/_sim/deliver', { phone: A, device: ourDev, tag: 'message',
  attrs: { id: 'BADSENDER1', from: `${'1'.repeat(120)}@s.whatsapp.net`, type: 'text', t: '1700000000' } });
check(r.status === 200, 'oversized sender delivered');
await drained('BADSENDER1', 'the message from an oversized sender');
// the session goes on: a normal message still arrives
r = await sim.api('POST', '/_sim/phone/send', { phone: C, to: A, text: 'after the bad one' });
check(r.status === 200, 'phone sent a text');
await c.wait((e) => e.ev === 'message' && e.text === 'after the bad one', 10000, 'the next message');
check((await c.quit()) === 0, 'client exits cleanly');
console.log('ok: session_bad_sender');
process.exit(0);
