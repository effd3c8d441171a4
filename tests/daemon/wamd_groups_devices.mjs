// A group's device lists go stale without a wholesale refresh (suite e2e).
// wamd runs with WAMD_TEST_DEVICE_LIST_REFRESH_MS (debug builds) so that a
// member's list is old after 1.5 s instead of 5 minutes. A group of wamd and
// M wasim phones:
// - sends after the lists went stale go out as before (every phone reads
//   them), and the lists are asked again a few members per usync, after the
//   sends, never all M in one (wasim counts the users of every usync);
// - a member pairs a new device (Baileys): the devices notification adds it
//   to wamd's list, and wamd's next send reaches it (our key distributed to
//   it), still with no usync of the whole group.
// Also: /wamd/metrics times the send calls into libwa (send_call_cpu).
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import { apiAt, freePort, textOf, until } from './e2e_daemon_util.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { createAccount } from '../sim/e2e_msg_util.mjs';

watchdog(120);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-e2e-key-groups-devices-51c0';
const W = '15550008600';
const M = 45; // more than one refresh batch (20), less than one usync batch (100)
const members = Array.from({ length: M }, (_, i) => String(15550008601 + i));
const REFRESH_MS = 1500;

const sim = await startWasim(wasimExe);
check((await sim.api('POST', '/_sim/accounts', { phone: W, push_name: 'Wamd' })).status === 201, 'wasim account for wamd');
for (const n of members) await createAccount(sim, n, `m${n.slice(-2)}`);

const data = tmpDir('wamd-groups-devices-');
const port = await freePort();
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--log-level', 'debug'],
{ stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WAMD_TEST_DEVICE_LIST_REFRESH_MS: String(REFRESH_MS) } });
wamd.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = apiAt(port, KEY);
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-12000)); check(cond, msg); };
const usync = async () => (await sim.api('GET', '/_sim/usync')).json;
// every member's phone decrypted the message with that id
const readByAll = (id) => until(async () => {
  for (const n of members) {
    const ms = (await sim.api('GET', `/_sim/accounts/${n}/messages`)).json.messages;
    if (!ms.some((m) => m.id === id && m.kind !== 'undecryptable' && m.text)) return false;
  }
  return true;
}, 20000);
let bl;
try {
  check(await until(async () => (await api('GET', '/')).status === 200, 10000), 'wamd up');
  let r = await api('POST', '/instance/create', { instanceName: 'd1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/d1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: W, qr })).status === 200, 'phone scanned the QR');
  dumpOnFail(await until(async () => (await api('GET', '/instance/connectionState/d1')).json?.instance?.state === 'open', 30000),
    'wamd open');
  r = await api('POST', '/group/create/d1', { subject: 'devices', participants: members });
  dumpOnFail(r.status === 201, `group/create 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 300)})`);
  const G = r.json.id;
  const send = async (text) => {
    const s = await api('POST', '/message/sendText/d1', { number: G, text });
    dumpOnFail(s.status === 201, `sendText "${text}" (${s.status})`);
    return s.json.key.id;
  };

  // the first send lists every member (one usync of all: nothing is known)
  check(await readByAll(await send('first')), 'every phone reads the first send');
  const first = await usync();
  check(first.max_users >= M, `the first send listed the members (${JSON.stringify(first)})`);

  // lists stale: sends go on, refreshed a few members at a time after them
  check((await sim.api('POST', '/_sim/usync/reset')).status === 200, 'usync counters reset');
  await sleep(REFRESH_MS + 200);
  for (let i = 0; i < 4; i++) {
    check(await readByAll(await send(`stale ${i}`)), `every phone reads stale ${i}`);
    await sleep(1100); // past the gap between two refresh batches
  }
  // the send calls into libwa were timed (the benchmark's per-message figure)
  const met = (await api('GET', '/wamd/metrics')).json;
  check(met.send_call_cpu?.count >= 5 && met.send_call_cpu.mean_us > 0 && met.send_call_cpu.max_us >= met.send_call_cpu.mean_us,
    `/wamd/metrics send_call_cpu counts the sends (${JSON.stringify(met.send_call_cpu)})`);
  let u = await usync();
  dumpOnFail(u.users >= 40 && u.max_users <= 20,
    `stale lists refreshed in batches of at most 20 members, ${u.users} asked (${JSON.stringify(u)})`);

  // a member pairs a new device: the notification puts it in the list
  check((await sim.api('POST', '/_sim/usync/reset')).status === 200, 'usync counters reset');
  bl = await pairByQr(sim, members[0], 'newdev');
  bl.msgs = [];
  bl.sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) if (m.key.remoteJid === G && m.message) bl.msgs.push(m);
    bl.poke();
  });
  const text = 'to the new device';
  const id = await send(text);
  await bl.waitFor(() => bl.msgs.find((m) => m.key.id === id && textOf(m) === text), 20000, 'the new device reads it');
  check(bl.msgs.some((m) => m.key.id === id && textOf(m) === text), 'the new device decrypts our next send (it got our key)');
  check(await readByAll(id), 'every phone reads it too');
  u = await usync();
  dumpOnFail(u.max_users <= 20, `no usync of the whole group for the new device (${JSON.stringify(u)})`);
} finally {
  if (bl) await bl.stop();
  wamd.kill('SIGTERM');
  await sim.stop();
}
process.exit(0);
