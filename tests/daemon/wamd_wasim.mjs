// wamd end to end with the real session engine (suite e2e): wasim on
// loopback, a Baileys client as the peer, wamd driven only through its
// Evolution API and observed only through its webhooks.
//   create instance (qrcode:true, webhook) -> the simulated phone scans the
//   QR from the API -> CONNECTION_UPDATE open -> Baileys sends -> webhook
//   MESSAGES_UPSERT with the text -> sendText to Baileys -> Baileys gets it
//   -> MESSAGES_UPDATE statuses -> sendText to a number not on WhatsApp
//   -> Evolution's 400 exists:false, nothing queued -> SIGTERM: clean exit.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { startWasim, pairByQr, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort, waitFor } from './e2e_daemon_util.mjs';

watchdog(150);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-e2e-key-71c3b9a2f0';
const WAMD_PHONE = '15550003333';
const PEER_PHONE = '15550004444';


// webhook receiver
const hooks = [];
const rx = http.createServer((req, res) => {
  let b = '';
  req.on('data', (d) => { b += d; });
  req.on('end', () => {
    try { hooks.push(JSON.parse(b)); } catch { /* ignore */ }
    res.writeHead(200).end('ok');
  });
});
await new Promise((r) => rx.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${rx.address().port}/hook`;


const sim = await startWasim(wasimExe);
let r = await sim.api('POST', '/_sim/accounts', { phone: WAMD_PHONE });
check(r.status === 201, 'wasim account for wamd');
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });

const data = tmpDir('wamd-wasim-');
const port = await freePort();
const wamdArgs = ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--log-level', 'debug'];
let wamdLog = '';
const startWamd = () => {
  const p = spawn(wamdExe, wamdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
  return p;
};
let wamd = startWamd();
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  return { status: res.status, json: t ? JSON.parse(t) : null };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-8000)); check(cond, msg); };

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  r = await api('POST', '/instance/create', {
    instanceName: 'w1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['QRCODE_UPDATED', 'CONNECTION_UPDATE', 'MESSAGES_UPSERT',
      'MESSAGES_UPDATE', 'SEND_MESSAGE'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  let qr = r.json.qrcode?.code;
  if (!qr) {
    const c = await api('GET', '/instance/connect/w1');
    qr = c.json.code;
  }
  dumpOnFail(typeof qr === 'string' && qr.split(',').length >= 4, `QR from the API: ${qr?.slice(0, 40)}`);
  check(r.json.qrcode?.base64?.startsWith('data:image/png;base64,') ?? true, 'QR PNG data URI');
  r = await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr });
  check(r.status === 200, 'simulated phone scanned the QR');
  let open = false;
  for (let i = 0; i < 300 && !open; i++) {
    const s = await api('GET', '/instance/connectionState/w1');
    open = s.json?.instance?.state === 'open';
    if (!open) await sleep(100);
  }
  dumpOnFail(open, 'connectionState open after pairing');
  dumpOnFail(await waitFor(() => hooks.some((h) => h.event === 'connection.update' && h.data.state === 'open'),
    10000, 'CONNECTION_UPDATE open webhook'), 'CONNECTION_UPDATE open delivered');
  const qrHook = hooks.find((h) => h.event === 'qrcode.updated');
  check(qrHook && qrHook.data.qrcode.code === qr, 'QRCODE_UPDATED carried the same QR');

  // Baileys -> wamd
  await peer.sock.sendMessage(`${WAMD_PHONE}@s.whatsapp.net`, { text: 'hello wamd' });
  const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert'), 20000, 'MESSAGES_UPSERT');
  dumpOnFail(up && up.data.message?.conversation === 'hello wamd' && up.data.key.fromMe === false,
    `MESSAGES_UPSERT with the text: ${JSON.stringify(up?.data)?.slice(0, 300)}`);
  check(up.data.key.remoteJid === `${PEER_PHONE}@s.whatsapp.net`, `key.remoteJid is the phone JID (${up.data.key.remoteJid})`);

  // wamd -> Baileys
  r = await api('POST', '/message/sendText/w1', { number: PEER_PHONE, text: 'hello baileys' });
  dumpOnFail(r.status === 201, `sendText 201 (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
  const id = r.json.key.id;
  const got = await waitFor(() => peerMsgs.find((m) => m.key.id === id), 20000, 'Baileys receives the text');
  dumpOnFail(got, 'Baileys got the message');
  const text = got.message?.conversation ?? got.message?.extendedTextMessage?.text;
  check(text === 'hello baileys', `Baileys decrypted our text (${text})`);
  const st = await waitFor(() => {
    const s = hooks.filter((h) => h.event === 'messages.update' && h.data.keyId === id).map((h) => h.data.status);
    return s.includes('DELIVERY_ACK') ? s : null;
  }, 20000, 'MESSAGES_UPDATE DELIVERY_ACK');
  dumpOnFail(st, 'delivery receipt reached the webhook');
  check(st.includes('SERVER_ACK') || st.includes('DELIVERY_ACK'), `MESSAGES_UPDATE statuses ${st}`);
  check(hooks.some((h) => h.event === 'send.message' && h.data.key.id === id), 'SEND_MESSAGE webhook');
  check(hooks.filter((h) => h.event === 'messages.update' && h.data.keyId === id).every((h) => !('wamdError' in h.data)),
    'no wamdError on a message that was not given up');

  // a number that is not on WhatsApp: Evolution's 400 with the lookup
  // object, before anything is queued
  const NOBODY = '15550009999';
  const sendsBefore = hooks.filter((h) => h.event === 'send.message').length;
  r = await api('POST', '/message/sendText/w1', { number: NOBODY, text: 'to nobody' });
  dumpOnFail(r.status === 400 && JSON.stringify(r.json.response.message) ===
    JSON.stringify([{ jid: `${NOBODY}@s.whatsapp.net`, exists: false, number: NOBODY }]),
    `sendText to ${NOBODY}: 400 exists:false (${r.status} ${JSON.stringify(r.json)})`);
  await sleep(300);
  check(hooks.filter((h) => h.event === 'send.message').length === sendsBefore, 'nothing queued for it (no SEND_MESSAGE)');

  // GET /metrics with the real engine: the traffic above is counted, the
  // durable send latency has real wire marks, the gate admitted the handshake
  {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { apikey: KEY } });
    const text = await res.text();
    const m = (line) => { const x = text.match(new RegExp('^' + line.replace(/[{}".=]/g, '\\$&') + ' (\\S+)$', 'm')); return x ? Number(x[1]) : NaN; };
    check(res.status === 200 && res.headers.get('content-type').startsWith('text/plain'), `/metrics ${res.status}`);
    check(m('wamd_sessions{state="ready"}') === 1, 'metrics: one session ready');
    // the send to nobody was refused before it was queued: one text out
    check(m('wamd_messages_total{direction="out",kind="conversation"}') === 1, 'metrics: one text out');
    check(m('wamd_messages_total{direction="in",kind="conversation"}') >= 1, 'metrics: the text from Baileys in');
    check(m('wamd_message_status_total{direction="out",status="SERVER_ACK"}') >= 1, 'metrics: a server ack');
    check(m('wamd_message_status_total{direction="out",status="ERROR"}') === 0, 'metrics: no ERROR');
    check(m('wamd_send_latency_seconds_count') >= 1 && m('wamd_send_latency_seconds_sum') > 0,
      `metrics: send latency from real wire marks (${m('wamd_send_latency_seconds_count')})`);
    check(m('wamd_handshakes_admitted_total') >= 1, 'metrics: the gate admitted the handshake');
  }

  // crash and restart: the instance logs in with its stored credentials and
  // a message sent while wamd was down arrives as a webhook
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.on('exit', res));
  const qrsBefore = hooks.filter((h) => h.event === 'qrcode.updated').length;
  await peer.sock.sendMessage(`${WAMD_PHONE}@s.whatsapp.net`, { text: 'while you were down' });
  await sleep(300);
  wamd = startWamd();
  let back = false;
  for (let i = 0; i < 300 && !back; i++) {
    try { back = (await api('GET', '/instance/connectionState/w1')).json?.instance?.state === 'open'; } catch { /* starting */ }
    if (!back) await sleep(100);
  }
  dumpOnFail(back, 'instance open again after SIGKILL + restart (stored credentials)');
  const late = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' &&
    h.data.message?.conversation === 'while you were down'), 20000, 'offline message webhook');
  dumpOnFail(late, 'message sent while wamd was down delivered as MESSAGES_UPSERT after restart');
  check(hooks.filter((h) => h.event === 'qrcode.updated').length === qrsBefore, 'no new QR after restart');

  // a second tenant on the same loop, paired by code (GET connect?number=)
  const PHONE2 = '15550005555';
  check((await sim.api('POST', '/_sim/accounts', { phone: PHONE2 })).status === 201, 'second wasim account');
  r = await api('POST', '/instance/create', { instanceName: 'w2', integration: 'WHATSAPP-BAILEYS' });
  check(r.status === 201, 'second instance created');
  r = await api('GET', `/instance/connect/w2?number=${PHONE2}`);
  let code = r.json?.pairingCode;
  for (let i = 0; i < 20 && !code; i++) {
    await sleep(200);
    code = (await api('GET', '/instance/connect/w2')).json?.pairingCode;
  }
  dumpOnFail(typeof code === 'string' && code.length === 8, `pairing code from the API (${JSON.stringify(r.json)?.slice(0, 120)})`);
  // a person types the code seconds later; the request that registers it
  // with the server may still be in flight when the API shows it
  for (let i = 0; i < 30; i++) {
    r = await sim.api('POST', '/_sim/pair-code', { phone: PHONE2, code });
    if (r.status !== 404) break;
    await sleep(100);
  }
  check(r.status === 200, `simulated phone typed the code (${r.status} ${JSON.stringify(r.json)})`);
  let open2 = false;
  for (let i = 0; i < 300 && !open2; i++) {
    open2 = (await api('GET', '/instance/connectionState/w2')).json?.instance?.state === 'open';
    if (!open2) await sleep(100);
  }
  dumpOnFail(open2, 'w2 open after pairing by code; w1 still open: ' +
    (await api('GET', '/instance/connectionState/w1')).json?.instance?.state);
} finally {
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
  await peer.stop();
  rx.close();
  if (code !== 0) process.stderr.write(wamdLog.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
process.exit(0);
