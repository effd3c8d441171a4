// wamd SIGKILLed the moment it answers a sendText 201 (suite e2e), with
// many sends in flight so that several share one loop turn's group commit
// (store_group_commit, on by default): every send answered 201 before the
// kill is stored after the restart (findMessages has its id) and reaches
// wasim's phone once (the outbox resends what had not left); sends that
// got no answer may or may not be there, but none twice.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort, apiAt, until } from './e2e_daemon_util.mjs';

watchdog(100);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-send-kill-key-7c21';
const PHONE = '15550007731', PEER = '15550007741';
const N = 60;

const sim = await startWasim(wasimExe);
check((await sim.api('POST', '/_sim/accounts', { phone: PHONE })).status === 201, 'wasim account');
check((await sim.api('POST', '/_sim/accounts', { phone: PEER })).status === 201, 'peer account');
const data = tmpDir('wamd-send-kill-');
const port = await freePort();
const api = apiAt(port, KEY);
let wamdLog = '';
let wamd;
const startWamd = () => {
  wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--pacing', 'false', '--log-level', 'info'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  wamd.stderr.on('data', (d) => { wamdLog += d; });
};
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const wait = async (pred, ms, what) => {
  if (await until(pred, ms)) return;
  process.stderr.write(wamdLog.slice(-6000));
  check(false, `timed out waiting for ${what}`);
};
const open = () => wait(async () => (await api('GET', '/instance/connectionState/sk1')).json?.instance?.state === 'open',
  20000, 'instance open');
const stored = async () => {
  const r = await api('POST', '/chat/findMessages/sk1', { where: {}, offset: 1000 });
  return new Set((r.json?.messages?.records ?? []).filter((m) => m.key?.fromMe).map((m) => m.key.id));
};
// the ids of the messages wasim's phone of PEER decrypted
const delivered = async () => ((await sim.api('GET', `/_sim/accounts/${PEER}/messages`)).json?.messages ?? [])
  .map((m) => m.id);

try {
  startWamd();
  await wait(async () => (await api('GET', '/')).status === 200, 5000, 'wamd up');
  let r = await api('POST', '/instance/create', { instanceName: 'sk1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  check(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/sk1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: PHONE, qr })).status === 200, 'phone scanned wamd\'s QR');
  await open();
  // warm: device list and session, so the sends below seal at once
  r = await api('POST', '/message/sendText/sk1', { number: PEER, text: 'warm-up' });
  check(r.status === 201, `warm-up send (${r.status})`);

  const answered = [];
  let killed = false;
  const sends = Array.from({ length: N }, (_, i) => fetch(`http://127.0.0.1:${port}/message/sendText/sk1`, {
    method: 'POST', headers: { apikey: KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ number: PEER, text: `kill ${i}` }),
  }).then(async (res) => {
    if (res.status !== 201) return;
    const id = await res.json().then((j) => j.key?.id, () => null); /* cut by the kill: no answer */
    if (!id) return;
    answered.push(id);
    if (!killed) {
      killed = true;
      wamd.kill('SIGKILL'); /* right after the first 201 */
    }
  }, () => { /* died with wamd */ }));
  await Promise.all(sends);
  check(killed && answered.length > 0, `wamd killed after a 201 (${answered.length} of ${N} answered 201)`);
  await new Promise((res) => (wamd.exitCode !== null || wamd.signalCode !== null ? res() : wamd.on('exit', res)));

  wamdLog = '';
  startWamd();
  await open();
  const have = await stored();
  const missing = answered.filter((id) => !have.has(id));
  check(missing.length === 0, `every send answered 201 is stored (${answered.length}; missing ${missing.join(',')})`);
  // the answered ones reach the phone after the restart, none twice
  let ids = [];
  await wait(async () => {
    ids = await delivered();
    return answered.every((id) => ids.includes(id));
  }, 20000, 'the answered sends delivered');
  check(new Set(ids).size === ids.length, `no send delivered twice (${ids.length} on the phone)`);
  check(await new Promise((res) => { wamd.on('exit', (c) => res(c)); wamd.kill('SIGTERM'); }) === 0,
    'wamd exits cleanly on SIGTERM');
} catch (e) {
  process.stderr.write(wamdLog.slice(-5000));
  throw e;
}
console.log('ok: wamd_send_kill');
process.exit(0);
