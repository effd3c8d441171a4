// A CRM's Evolution README flow against wamd, unchanged but for host, key
// and numbers (suite e2e; real engine, wasim, a Baileys peer):
//   the receiver is configured only through Evolution's variables (some in
//   the process environment, the rest in an Evolution .env copied into the
//   data folder); create -> GET /instance/qrcode/{name} -> the simulated
//   phone scans -> connectionState open -> the peer writes -> sendText ->
//   every webhook event and the messages.upsert payload fields.
// Then the day WhatsApp refuses our version: wasim's min_version fault makes
// the next login fail with 405; wamd stops (no reconnect loop) and says
// which setting to change, in the log, connectionState and
// CONNECTION_UPDATE; the instance's waVersion setting + restart -> open.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(170);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'crm-readme-key-5f0c2a9e81d4';
const WAMD_PHONE = '15550006666';
const PEER_PHONE = '15550007777';
const NEW_VERSION = '2.3000.1099999999';


const hooks = [];
const rx = http.createServer((req, res) => {
  let b = '';
  req.on('data', (d) => { b += d; });
  req.on('end', () => {
    try { hooks.push({ path: req.url, ...JSON.parse(b) }); } catch { /* ignore */ }
    res.writeHead(200).end('ok');
  });
});
await new Promise((r) => rx.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${rx.address().port}/crm/webhook`;

const waitFor = async (pred, ms, what) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await pred();
    if (v) return v;
    await sleep(50);
  }
  console.error(`# timed out waiting for ${what}`);
  return null;
};

const sim = await startWasim(wasimExe);
let r = await sim.api('POST', '/_sim/accounts', { phone: WAMD_PHONE });
check(r.status === 201, 'wasim account for wamd');
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });

const data = tmpDir('wamd-evo-');
// the CRM's Evolution .env, as it was
fs.writeFileSync(path.join(data, '.env'), [
  '# Evolution API',
  `AUTHENTICATION_API_KEY=${KEY}`,
  'DATABASE_PROVIDER=postgresql',
  'DATABASE_CONNECTION_URI=postgresql://user:pass@postgres:5432/evolution',
  'CACHE_REDIS_ENABLED=true',
  'WEBHOOK_GLOBAL_ENABLED=true',
  `WEBHOOK_GLOBAL_URL=${hookUrl}`,
  'WEBHOOK_GLOBAL_WEBHOOK_BY_EVENTS=false',
  'WEBHOOK_EVENTS_QRCODE_UPDATED=true',
  'WEBHOOK_EVENTS_CONNECTION_UPDATE=true',
  'WEBHOOK_EVENTS_MESSAGES_UPSERT=true',
  'WEBHOOK_EVENTS_MESSAGES_UPDATE=true',
  'WEBHOOK_EVENTS_SEND_MESSAGE=true',
  'WEBHOOK_EVENTS_PRESENCE_UPDATE=false',
  'WEBHOOK_EVENTS_CONTACTS_UPDATE=false',
  '',
].join('\n'), { mode: 0o600 });
const port = await freePort();
const env = {
  ...process.env,
  SERVER_URL: 'https://crm-wamd.example',
  LOG_LEVEL: 'ERROR,WARN,DEBUG,INFO,LOG,VERBOSE,DARK,WEBHOOKS',
  // wamd's own names: where the (simulated) server is, and where to listen
  WAMD_DATA: data,
  WAMD_LISTEN: `127.0.0.1:${port}`,
  WAMD_WA_URL: sim.url,
  WAMD_WA_TRUST_ROOT: sim.root,
  WAMD_WEBHOOK_ALLOW_LOOPBACK: 'true',
  WAMD_WEBHOOK_INITIAL_DELAY_MS: '200',
};
let wamdLog = '';
const wamd = spawn(wamdExe, [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const HOST = `http://127.0.0.1:${port}`;
const api = async (method, p, body) => {
  const res = await fetch(`${HOST}${p}`, {
    method, headers: { apikey: KEY, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  return { status: res.status, json: t ? JSON.parse(t) : null };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-8000)); check(cond, msg); };

try {
  for (let i = 0; i < 200; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  check(/Evolution settings wamd has no use for \(ignored\): .*DATABASE_PROVIDER.*CACHE_REDIS_ENABLED/.test(wamdLog) ||
    /ignored\): .*CACHE_REDIS_ENABLED.*DATABASE_PROVIDER/.test(wamdLog), 'unused Evolution settings reported once as ignored');
  check((wamdLog.match(/has no use for/g) || []).length === 1, 'reported once');
  check((await fetch(`${HOST}/instance/fetchInstances`, { headers: { apikey: 'wrong-key-123456789' } })).status === 401,
    'AUTHENTICATION_API_KEY from .env is the key');

  // README step 1: create the instance
  r = await api('POST', '/instance/create', { instanceName: 'crm', qrcode: true, integration: 'WHATSAPP-BAILEYS' });
  dumpOnFail(r.status === 201 && r.json.instance?.instanceName === 'crm', `create (${r.status})`);
  // README step 2: fetch the QR code
  r = await api('GET', '/instance/qrcode/crm');
  const qr = r.json?.code;
  dumpOnFail(r.status === 200 && typeof qr === 'string' && r.json.base64?.startsWith('data:image/png;base64,'),
    `GET /instance/qrcode/crm answers as connect (${r.status} ${JSON.stringify(r.json)?.slice(0, 80)})`);
  check(typeof r.json.wamdExpiresInS === 'number' && r.json.wamdExpiresInS > 0, 'the QR says how long it is valid');
  r = await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr });
  check(r.status === 200, 'the phone scanned the QR');
  // README step 3: wait for connectionState open
  const open = await waitFor(async () => (await api('GET', '/instance/connectionState/crm')).json?.instance?.state === 'open',
    30000, 'open');
  dumpOnFail(open, 'connectionState open');
  r = await api('GET', '/instance/connectionState/crm');
  check(r.json.instance.instanceName === 'crm' && r.json.instance.wamdReason === null, 'connectionState shape');
  check(/ DEBUG /.test(wamdLog), 'LOG_LEVEL with DEBUG gives debug lines');

  // the peer writes; README step 4: reply with sendText
  await peer.sock.sendMessage(`${WAMD_PHONE}@s.whatsapp.net`, { text: 'Olá CRM' });
  const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert'), 20000, 'messages.upsert');
  dumpOnFail(up, 'messages.upsert reached the receiver set by WEBHOOK_GLOBAL_URL');
  r = await api('POST', '/message/sendText/crm', { number: PEER_PHONE, text: 'Olá! Recebemos sua mensagem.' });
  dumpOnFail(r.status === 201 && r.json.key?.id, `sendText 201 (${r.status})`);
  const id = r.json.key.id;
  const got = await waitFor(() => peerMsgs.find((m) => m.key.id === id), 20000, 'peer gets the reply');
  check(got && (got.message?.conversation ?? got.message?.extendedTextMessage?.text) === 'Olá! Recebemos sua mensagem.',
    'the peer decrypted the reply');
  await waitFor(() => hooks.some((h) => h.event === 'messages.update' && h.data.keyId === id &&
    h.data.status === 'DELIVERY_ACK'), 20000, 'DELIVERY_ACK');
  // the stored record has it too (written in libwa's receipt transaction)
  const rec = (await api('POST', '/chat/findMessages/crm', { where: { key: { id } } })).json?.messages?.records?.[0];
  check(rec?.status === 'DELIVERY_ACK', `findMessages: the reply's record is DELIVERY_ACK (${rec?.status})`);

  // every event of the switched-on set, nothing else; Evolution's envelope
  const events = new Set(hooks.map((h) => h.event));
  for (const e of ['qrcode.updated', 'connection.update', 'messages.upsert', 'send.message', 'messages.update'])
    check(events.has(e), `webhook event ${e}`);
  const allowed = new Set(['qrcode.updated', 'connection.update', 'messages.upsert', 'send.message', 'messages.update']);
  check([...events].every((e) => allowed.has(e)), `only switched-on events (${[...events]})`);
  check(hooks.every((h) => h.path === '/crm/webhook'), 'one URL (WEBHOOK_GLOBAL_WEBHOOK_BY_EVENTS=false)');
  for (const h of hooks)
    if (!['event', 'instance', 'data', 'destination', 'date_time', 'server_url', 'apikey'].every((k) => k in h)) {
      check(false, `envelope fields of ${h.event}: ${Object.keys(h)}`);
      break;
    }
  check(hooks.every((h) => h.server_url === 'https://crm-wamd.example' && h.instance === 'crm'),
    'server_url from SERVER_URL, instance name');
  const d = up.data;
  check(d.key?.remoteJid === `${PEER_PHONE}@s.whatsapp.net` && d.key.fromMe === false && typeof d.key.id === 'string',
    `messages.upsert key ${JSON.stringify(d.key)}`);
  check(d.message?.conversation === 'Olá CRM' && d.messageType === 'conversation', 'messages.upsert message/messageType');
  check(typeof d.pushName === 'string' && typeof d.messageTimestamp === 'number' && typeof d.instanceId === 'string' &&
    typeof d.source === 'string' && typeof d.status === 'string', `messages.upsert fields ${Object.keys(d)}`);
  check(typeof up.sender === 'string' && up.sender.startsWith(WAMD_PHONE), `sender is our number (${up.sender})`);
  const openHook = hooks.find((h) => h.event === 'connection.update' && h.data.state === 'open');
  check(openHook && openHook.data.statusReason === 200, 'connection.update open, statusReason 200');

  // WhatsApp now refuses our version: the next login gets failure 405
  const acct = (await sim.api('GET', `/_sim/accounts/${WAMD_PHONE}`)).json;
  const dev = acct.devices.find((x) => x.device !== 0);
  r = await sim.api('POST', '/_sim/fault', { action: 'min_version', version: '2.3000.1050000000' });
  check(r.status === 200, 'wasim refuses versions below 2.3000.1050000000');
  await sim.api('POST', '/_sim/fault', { phone: WAMD_PHONE, device: dev.device, action: 'drop' });
  const refused = await waitFor(async () => {
    const s = (await api('GET', '/instance/connectionState/crm')).json?.instance;
    return s?.state === 'close' && s.wamdReason?.retrying === false ? s : null;
  }, 20000, 'refused login');
  dumpOnFail(refused, 'after the 405 the instance is closed and not retrying');
  const why = refused?.wamdReason?.message ?? '';
  check(/405/.test(why) && /wa_version/.test(why) && /CONFIG_SESSION_PHONE_VERSION/.test(why) && /waVersion/.test(why),
    `the reason names the settings to change: ${why}`);
  check(/not retrying until the instance is restarted/.test(wamdLog) && /CONFIG_SESSION_PHONE_VERSION/.test(wamdLog),
    'the log says it');
  check((wamdLog.match(/not retrying until the instance is restarted/g) || []).length === 1, 'once');
  const closeHook = await waitFor(() => hooks.find((h) => h.event === 'connection.update' && h.data.state === 'close' &&
    h.data.wamdReason?.message), 10000, 'connection.update close with wamdReason');
  check(closeHook && closeHook.data.statusReason === 405, `connection.update close, statusReason 405 and wamdReason`);
  // no reconnect loop: nothing more reaches the server for 3 s
  const before = (wamdLog.match(/\[session\] \[\d+\/\d+\] DISCONNECTED -> CONNECTING|BACKOFF -> CONNECTING/g) || []).length;
  await sleep(3000);
  const after = (wamdLog.match(/\[session\] \[\d+\/\d+\] DISCONNECTED -> CONNECTING|BACKOFF -> CONNECTING/g) || []).length;
  check(after === before, `no reconnect attempts after the refusal (${before} -> ${after})`);

  // the fix: set the version for this instance (Evolution's settings route), restart
  r = await api('POST', '/settings/set/crm', { rejectCall: false, waVersion: 'not-a-version' });
  check(r.status === 400, 'an unusable waVersion is refused');
  r = await api('POST', '/settings/set/crm', { rejectCall: false, waVersion: NEW_VERSION });
  check(r.status === 201 && r.json.settings?.settings?.waVersion === NEW_VERSION, 'waVersion stored');
  r = await api('POST', '/instance/restart/crm');
  check(r.status === 200, 'restart');
  const back = await waitFor(async () => {
    const s = (await api('GET', '/instance/connectionState/crm')).json?.instance;
    return s?.state === 'open' ? s : null;
  }, 20000, 'open with the new version');
  dumpOnFail(back && back.wamdReason === null, 'open again with the new version, reason cleared');
  r = await api('POST', '/message/sendText/crm', { number: PEER_PHONE, text: 'de volta' });
  const id2 = r.json?.key?.id;
  check(await waitFor(() => peerMsgs.find((m) => m.key.id === id2), 20000, 'peer gets it'), 'messages flow again');
} finally {
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
  await peer.stop();
  rx.close();
  if (code !== 0) process.stderr.write(wamdLog.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
process.exit(0);
