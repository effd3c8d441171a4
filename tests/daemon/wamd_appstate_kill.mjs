// wamd SIGKILLed with its own app-state mutations unconfirmed (suite e2e):
//  - an archive whose patch wasim took but whose answer it never sent
//    (patch_answer "silent": the answer lost on the way), and
//  - a pin accepted by the API behind it, still queued, never sent;
// wamd killed, restarted on the same data folder: the archive is found in
// the fetched state (its value MAC: one IV per mutation, kept in the store)
// and not sent again, the pin is sent once; wasim holds exactly two new
// patches and both changes come back as CHATS_UPDATE. A clean restart after
// that sends nothing more (the pending rows were deleted once applied).
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort, hookReceiver, apiAt } from './e2e_daemon_util.mjs';

watchdog(120);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-appstate-kill-key-3a91';
const PHONE = '15550005661';
const PA = '15550005671@s.whatsapp.net', PB = '15550005672@s.whatsapp.net';

const { hooks, url: hookUrl, server: rx } = await hookReceiver();
const sim = await startWasim(wasimExe);
check((await sim.api('POST', '/_sim/accounts', { phone: PHONE, push_name: 'ACME Kill' })).status === 201,
  'wasim account');
const data = tmpDir('wamd-appstate-kill-');
const port = await freePort();
const api = apiAt(port, KEY);
let wamdLog = '';
let wamd;
const startWamd = () => {
  wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--webhook-allow-loopback',
    '--webhook-initial-delay-ms', '200', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  wamd.stderr.on('data', (d) => { wamdLog += d; });
};
const stopWamd = async (sig) => {
  const p = wamd;
  if (p.exitCode !== null || p.signalCode !== null) return p.exitCode ?? p.signalCode;
  const code = new Promise((res) => p.on('exit', (c, s) => res(c ?? s)));
  p.kill(sig);
  return code;
};
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const until = async (pred, ms, what) => {
  const end = Date.now() + ms;
  for (;;) {
    try { const v = await pred(); if (v) return v; } catch { /* starting */ }
    if (Date.now() > end) {
      process.stderr.write(wamdLog.slice(-6000));
      check(false, `timed out waiting for ${what}`);
    }
    await sleep(50);
  }
};
const simInfo = async () => (await sim.api('GET', `/_sim/appstate/${PHONE}`)).json;
const answer = async (mode) => (await sim.api('POST', '/_sim/appstate/config', { phone: PHONE, patch_answer: mode })).json;
const open = () => until(async () => (await api('GET', '/instance/connectionState/ak1')).json?.instance?.state === 'open',
  20000, 'instance open');
// a request whose answer we do not wait for (wamd dies under it)
const fire = (p, body) => fetch(`http://127.0.0.1:${port}${p}`, {
  method: 'POST', headers: { apikey: KEY, 'content-type': 'application/json' }, body: JSON.stringify(body),
}).then((r) => r.status, () => 'gone');
const chatHook = (jid, pred) => hooks.some((h) => h.event === 'chats.update' && Array.isArray(h.data) &&
  h.data.some((c) => c.remoteJid === jid && pred(c)));

try {
  startWamd();
  await until(async () => (await api('GET', '/')).status === 200, 5000, 'wamd up');
  let r = await api('POST', '/instance/create', {
    instanceName: 'ak1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['CHATS_UPDATE'] },
  });
  check(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/ak1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: PHONE, qr })).status === 200, 'phone scanned wamd\'s QR');
  await until(async () => (await api('GET', '/instance/fetchInstances?instanceName=ak1')).json?.[0]?.profileName ===
    'ACME Kill', 30000, 'wamd open and synced (profileName from app state)');

  const before = await simInfo();
  const v0 = before.collections.regular_low;
  check((await answer('silent')).patch_answer === 'silent', 'wasim takes patches without answering');
  const archived = fire('/chat/archiveChat/ak1', { chat: PA, archive: true });
  await until(async () => (await simInfo()).unanswered === 1, 10000, 'the archive taken by wasim, unanswered');
  const pinned = fire('/wamd/chatModify/ak1', { chat: PB, action: 'pin' });
  await until(() => /own \["pin_v1","15550005672@s\.whatsapp\.net"\] stored \(pending \d+\)/.test(wamdLog), 10000,
    'the pin accepted and stored behind the archive');
  let info = await simInfo();
  check(info.accepted === before.accepted + 1 && info.collections.regular_low === v0 + 1,
    `wasim holds the archive only (accepted ${before.accepted} -> ${info.accepted}, v${v0} -> v${info.collections.regular_low})`);
  check(await stopWamd('SIGKILL') === 'SIGKILL', 'wamd SIGKILLed with both changes unconfirmed');
  check((await archived) === 'gone' && (await pinned) === 'gone', 'both requests died with wamd');
  await answer('answer');

  wamdLog = '';
  startWamd();
  await open();
  await until(() => chatHook(PB, (c) => typeof c.pinned === 'number' && c.pinned > 0), 20000,
    'CHATS_UPDATE pinned after the restart');
  check(chatHook(PA, (c) => c.archived === true), 'CHATS_UPDATE archived (fetched from the server)');
  await sleep(1000);
  info = await simInfo();
  check(info.accepted === before.accepted + 2 && info.collections.regular_low === v0 + 2 && info.refused === 0,
    `each change applied exactly once (accepted ${before.accepted} -> ${info.accepted}, v${v0} -> v${info.collections.regular_low}, conflicts ${info.conflicts})`);
  check(/was accepted before the answer was lost/.test(wamdLog), 'the archive was recognised, not sent again');

  check(await stopWamd('SIGTERM') === 0, 'wamd exits cleanly on SIGTERM');
  startWamd();
  await open();
  await sleep(1500);
  const after = await simInfo();
  check(after.accepted === info.accepted && after.collections.regular_low === v0 + 2,
    `nothing sent again after a clean restart (accepted ${after.accepted})`);
} finally {
  const code = await stopWamd('SIGTERM');
  rx.close();
  if (code !== 0) process.stderr.write(wamdLog.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
console.log('ok: wamd_appstate_kill');
process.exit(0);
