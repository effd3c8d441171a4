// libwa e2e (suite e2e): our client against wasim. Pairs by QR (the test
// reads the QR event and has the simulated phone scan it), survives the 515
// restart, logs in and reaches READY with pre-keys uploaded; a new process
// on the same store logs in without pairing; then wasim faults: a dropped
// connection reconnects, 515 reconnects at once, refused connects back off
// and then succeed, 440 (replaced) stops without fighting, 401 logs out and
// wipes the credentials.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(150);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe);
const phone = '15550002222';
let r = await sim.api('POST', '/_sim/accounts', { phone });
check(r.status === 201, 'account created');
const lid = r.json.lid;
const db = path.join(tmpDir('wa-e2e-'), 'client.db');
const opts = { db, url: sim.url, root: sim.root };

try {
  // ---- QR pairing ----
  let c = new WaClient(clientExe, opts).start();
  const { ev: qr } = await c.wait((e) => e.ev === 'qr', 10000, 'first QR');
  console.log(`# first QR after ${qr.ms} ms from process start`);
  check(qr.qr.startsWith('https://wa.me/settings/linked_devices#') && qr.qr.split(',').length === 5 &&
    qr.index === 0 && qr.timeout === 60, 'QR string shape, index 0, 60 s');
  r = await sim.api('POST', '/_sim/scan', { phone, qr: qr.qr });
  check(r.status === 200, 'phone scanned our QR');
  const { ev: paired } = await c.wait((e) => e.ev === 'paired', 10000, 'paired');
  check(paired.jid === `${phone}:1@s.whatsapp.net` && paired.lid?.startsWith(`${lid}:1@lid`),
    `paired as ${paired.jid} / ${paired.lid}`);
  const { index: iRestart } = await c.wait((e) => e.ev === 'disconnected' && e.reason === 'RESTART_REQUIRED', 10000, '515');
  check(true, 'server restarted the stream with 515');
  const { index: iConn } = await c.wait((e) => e.ev === 'connected', 15000, 'connected', iRestart);
  check(!c.events.slice(iRestart, iConn).some((e) => e.state === 'BACKOFF'), 'reconnected after 515 without backoff');
  check(c.events[iConn].jid === `${phone}@s.whatsapp.net`, 'own JID without device');
  r = await sim.api('GET', `/_sim/accounts/${phone}`);
  const dev = r.json.devices[0];
  check(r.json.devices.length === 1 && dev.device === 1 && dev.online, 'wasim lists device 1 online');
  await sleep(1500);
  r = await sim.api('GET', `/_sim/accounts/${phone}`);
  const pk = r.json.devices[0].prekeys ?? r.json.devices[0].prekey_count;
  if (pk !== undefined) check(pk >= 800, `pre-keys uploaded on first login (${pk})`);
  check((await c.command({ cmd: 'state' })).state === 'READY', 'state READY');
  { const code = await c.quit(); check(code === 0, `client exits cleanly (${code}) ${code === 0 ? '' : c.stderr.slice(-3000)}`); }

  // ---- process restart: login without pairing ----
  c = new WaClient(clientExe, opts).start();
  await c.wait((e) => e.ev === 'connected', 15000, 'login after restart');
  check(!c.events.some((e) => e.ev === 'qr'), 'no QR after restart: logged in with stored creds');

  // ---- faults ----
  const fault = (body) => sim.api('POST', '/_sim/fault', { phone, device: 1, ...body });
  let m = c.mark();
  check((await fault({ action: 'drop' })).status === 200, 'fault: drop');
  await c.wait((e) => e.ev === 'disconnected' && e.reason === 'NETWORK', 10000, 'drop seen', m);
  await c.wait((e) => e.ev === 'connected', 15000, 'reconnect after drop', m);
  check(true, 'dropped connection -> reconnected');

  m = c.mark();
  const t515 = Date.now();
  await fault({ action: 'stream_error', code: 515 });
  await c.wait((e) => e.ev === 'connected', 10000, 'reconnect after 515', m);
  check(Date.now() - t515 < 900 && !c.events.slice(m).some((e) => e.state === 'BACKOFF'),
    `515 -> immediate reconnect (${Date.now() - t515} ms)`);

  m = c.mark();
  const tRefuse = Date.now();
  await fault({ action: 'refuse', seconds: 2.5, drop: true });
  await c.wait((e) => e.ev === 'connected', 20000, 'connect after refusals', m);
  const backoffs = c.events.slice(m).filter((e) => e.state === 'BACKOFF').length;
  check(backoffs >= 2 && Date.now() - tRefuse >= 2500, `refused connects backed off ${backoffs} times, then connected`);

  m = c.mark();
  await fault({ action: 'stream_error', code: 440 });
  await c.wait((e) => e.ev === 'disconnected' && e.reason === 'REPLACED', 10000, '440', m);
  await sleep(2500);
  check(!c.events.slice(m).some((e) => e.state === 'CONNECTING'), '440 replaced -> stopped, no reconnect');
  check((await c.command({ cmd: 'state' })).state === 'DISCONNECTED', 'state DISCONNECTED after 440');

  m = c.mark();
  await c.command({ cmd: 'start' });
  await c.wait((e) => e.ev === 'connected', 10000, 'restart after 440', m);
  m = c.mark();
  await fault({ action: 'stream_error', code: 401 });
  await c.wait((e) => e.ev === 'logged_out', 10000, 'logged out', m);
  const st = await c.command({ cmd: 'state' });
  check(st.state === 'LOGGED_OUT' && st.paired === false && st.jid === null, 'creds wiped after 401');
  { const code = await c.quit(); check(code === 0, `client exits cleanly (${code}) ${code === 0 ? '' : c.stderr.slice(-3000)}`); }

  // a new process on the wiped store must pair again
  c = new WaClient(clientExe, opts).start();
  await c.wait((e) => e.ev === 'qr', 10000, 'QR after logout');
  check(true, 'after logout the next start shows a QR again');
  await c.quit();
} catch (e) {
  fail(e.message);
}
await sim.stop();
process.exit(0);
