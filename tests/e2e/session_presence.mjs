// libwa e2e (suite e2e): our availability, as Baileys' markOnlineOnConnect.
//  1. After login the session sends <presence type="available" name=push
//     name> (wasim records it per device) and its delivery receipts are
//     plain (active) ones.
//  2. wa_session_stop sends "unavailable" before closing.
//  3. With offline_on_connect (wa_client --offline-on-connect) nothing is
//     announced and delivery receipts carry type="inactive", as Baileys'
//     while it is not online.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(90);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe);
const A = '15550009101', C = '15550009103';
const db = path.join(tmpDir('wa-presence-'), 'client.db');
for (const p of [A, C]) {
  const r = await sim.api('POST', '/_sim/accounts', { phone: p });
  check(r.status === 201, `account ${p} created`);
}
const opts = { db, url: sim.url, root: sim.root };

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

let c = new WaClient(clientExe, { ...opts, extra: ['--push-name', 'Ours'] }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
let r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');
const ourDev = Number(/:(\d+)@/.exec(c.events.find((e) => e.ev === 'paired').jid)[1]);
const dev = async () => (await sim.api('GET', `/_sim/accounts/${A}`)).json.devices.find((d) => d.device === ourDev);

// 1. available with our push name, then active receipts
await until(async () => (await dev()).presence === 'available', 5000, 'presence available at wasim');
check((await dev()).presence_name === 'Ours', 'the presence carries our push name');

async function phoneSends(text) {
  const from = c.mark();
  const s = await sim.api('POST', '/_sim/phone/send', { phone: C, to: A, text });
  check(s.status === 200, `C's phone sent "${text}"`);
  await c.wait((e) => e.ev === 'message' && e.key.id === s.json.id, 10000, `message ${text}`, from);
  let rc;
  await until(async () => (rc = (await dev()).receipts_sent.find((x) => x.id === s.json.id)), 5000, `our receipt for ${text}`);
  return rc;
}
let rc = await phoneSends('while online');
check(rc.type === '', `an available session's delivery receipt has no type (got "${rc.type}")`);

// 2. a clean stop says unavailable
const st = await c.command({ cmd: 'stop' });
check(st.ok, 'stop');
await until(async () => (await dev()).presence === 'unavailable', 5000, 'presence unavailable after stop');
check((await c.quit()) === 0, 'client exits cleanly');

// 3. offline_on_connect: no presence, inactive receipts
c = new WaClient(clientExe, { ...opts, extra: ['--push-name', 'Ours', '--offline-on-connect'] }).start();
await c.wait((e) => e.ev === 'connected', 20000, 'connected with offline_on_connect');
rc = await phoneSends('while offline');
check(rc.type === 'inactive', `an offline session's delivery receipt is inactive (got "${rc.type}")`);
check((await dev()).presence === '', 'no presence announced with offline_on_connect');
check((await c.quit()) === 0, 'client exits cleanly');
console.log('ok: session_presence');
process.exit(0);
