// libwa e2e (suite e2e): pairing by code against wasim. The client asks
// for a code for the account's number, the simulated phone "types" it
// (/_sim/pair-code), the companion_hello / primary_hello /
// companion_finish exchange derives the ADV secret, pair-success verifies
// with it, and the client reaches READY after the 515 restart. Then a
// logout reaches the server before the socket closes. A wrong trust root
// fails the handshake.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(100);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe);
const phone = '15550003333';
check((await sim.api('POST', '/_sim/accounts', { phone })).status === 201, 'account created');
const db = path.join(tmpDir('wa-e2e-'), 'client.db');
try {
  // a server certificate chain under another root must be refused
  const bad = new WaClient(clientExe, { db: db + '.bad', url: sim.url, root: '11'.repeat(32) }).start();
  await bad.wait((e) => e.ev === 'disconnected' && e.reason === 'HANDSHAKE_FAILED', 10000, 'cert rejected');
  await bad.wait((e) => e.ev === 'state' && e.state === 'BACKOFF', 5000, 'backoff after bad cert');
  check(!bad.events.some((e) => e.ev === 'qr'), 'wrong trust root: handshake fails, no QR, backoff');
  await bad.quit();

  const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root }).start();
  await c.wait((e) => e.ev === 'qr', 10000, 'pair-device (QR)');
  let r;
  let res = await c.command({ cmd: 'pair_code', phone: '0123' });
  check(!res.ok && res.err === 'WA_EINVAL', 'invalid phone refused');
  res = await c.command({ cmd: 'pair_code', phone }, 10000);
  check(res.ok, 'pairing code requested');
  const { ev } = await c.wait((e) => e.ev === 'pairing_code', 10000, 'pairing code');
  check(/^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$/.test(ev.code), 'code is XXXX-XXXX in the §7.1 alphabet');
  r = await sim.api('GET', `/_sim/accounts/${phone}`);
  check(r.json.devices.length === 0, 'nothing paired before the code is typed');
  const code = ev.code.replace('-', '');
  r = await sim.api('POST', '/_sim/pair-code', { phone, code });
  check(r.status === 200, `phone typed the code (${r.status} ${JSON.stringify(r.json)})`);
  const { ev: paired } = await c.wait((e) => e.ev === 'paired', 20000, 'paired');
  check(paired.jid === `${phone}:1@s.whatsapp.net`, `paired as ${paired.jid}`);
  await c.wait((e) => e.ev === 'connected', 15000, 'connected');
  check(true, 'READY after pairing by code');
  r = await sim.api('GET', `/_sim/accounts/${phone}`);
  check(r.json.devices.length === 1 && r.json.devices[0].online, 'wasim lists the device online');

  // logout: the remove-companion-device iq is flushed before the close,
  // the server forgets the device, our credentials are wiped
  res = await c.command({ cmd: 'logout' });
  check(res.ok, 'logout');
  await c.wait((e) => e.ev === 'logged_out', 5000, 'logged_out event');
  const st = await c.command({ cmd: 'state' });
  check(st.state === 'LOGGED_OUT' && !st.paired, 'state LOGGED_OUT, unpaired');
  let gone = false;
  for (let i = 0; i < 30 && !gone; i++) {
    r = await sim.api('GET', `/_sim/accounts/${phone}`);
    gone = r.json.devices.length === 0;
    if (!gone) await new Promise((ok) => setTimeout(ok, 100));
  }
  check(gone, 'server unlinked the device (remove-companion-device arrived)');
  await c.quit();
} catch (e) {
  fail(e.message);
}
await sim.stop();
process.exit(0);
