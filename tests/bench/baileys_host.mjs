// The measured process of session_memory_baileys.mjs: hosts Baileys
// 7.0.0-rc14 sockets (nothing else), each with its default file auth state
// (useMultiFileAuthState, one folder per session), connected over wss:// to
// wasim. Driven over IPC by the parent, which scans the QRs:
//   parent -> {cmd:'add', names:[...]}      child -> {ev:'qr', name, qr}
//                                           child -> {ev:'open', name} / {ev:'fail', name, why}
//   parent -> {cmd:'gc'}                    child -> {ev:'gc'} (after global.gc, if exposed)
//   parent -> {cmd:'count'}                 child -> {ev:'count', open, total, closes}
// argv: [node, script, wss_url, root_hex, auth_root]
import https from 'node:https';
import path from 'node:path';
import { createRequire } from 'node:module';
import { loadBaileys, baileysPath } from '../interop/baileys.mjs';

const [url, root, authRoot] = process.argv.slice(2);
const B = await loadBaileys();
const makeWASocket = B.default ?? B.makeWASocket;
const pino = createRequire(baileysPath('package.json'))('pino');
const logger = pino({ level: 'silent' });
B.WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(root, 'hex');
const agent = new https.Agent({ rejectUnauthorized: false, keepAlive: false });

const sessions = new Map(); // name -> { sock, open }
const closes = {};          // status code -> closes after open

// An app-like client: recreate the socket after 515 (restart required).
async function start(name) {
  const { state, saveCreds } = await B.useMultiFileAuthState(path.join(authRoot, name));
  const sock = makeWASocket({
    waWebSocketUrl: url, agent, auth: state, logger, printQRInTerminal: false,
    markOnlineOnConnect: false, syncFullHistory: false, fireInitQueries: false, connectTimeoutMs: 60000,
  });
  const s = sessions.get(name) ?? { open: false };
  s.sock = sock;
  sessions.set(name, s);
  sock.ev.on('creds.update', saveCreds);
  sock.ev.on('connection.update', (u) => {
    if (s.sock !== sock) return;
    if (u.qr && !s.qrSent) {
      s.qrSent = true;
      process.send({ ev: 'qr', name, qr: u.qr });
    }
    if (u.connection === 'open' && !s.open) {
      s.open = true;
      if (!s.everOpen) process.send({ ev: 'open', name });
      s.everOpen = true;
    }
    if (u.connection === 'close') {
      const code = u.lastDisconnect?.error?.output?.statusCode;
      const again = () => start(name).catch((e) => process.send({ ev: 'fail', name, why: String(e) }));
      if (code === 515) {
        again();
      } else if (!s.open) {
        process.send({ ev: 'fail', name, why: `closed ${code}` });
      } else {
        // as an app does: reconnect unless logged out or replaced; the
        // closes are counted and reported
        s.open = false;
        closes[code] = (closes[code] ?? 0) + 1;
        if (code !== 401 && code !== 403 && code !== 440) setTimeout(again, 1000);
      }
    }
  });
}

process.on('message', async (m) => {
  if (m.cmd === 'add') {
    for (const name of m.names) start(name).catch((e) => process.send({ ev: 'fail', name, why: String(e) }));
  } else if (m.cmd === 'gc') {
    if (global.gc) { global.gc(); global.gc(); }
    process.send({ ev: 'gc' });
  } else if (m.cmd === 'count') {
    let open = 0;
    for (const s of sessions.values()) open += s.open ? 1 : 0;
    process.send({ ev: 'count', open, total: sessions.size, closes });
  } else if (m.cmd === 'exit') {
    for (const s of sessions.values()) try { s.sock.end(undefined); } catch { /* closing */ }
    setTimeout(() => process.exit(0), 200);
  }
});
process.send({ ev: 'ready' });
