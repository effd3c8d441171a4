// Message bodies at rest (suite e2e), with the real session engine, wasim
// and a Baileys peer. wamd runs with a master key, first with
// seal_messages on: a text received and a text sent leave no trace in the
// SQLite file or its WAL (while running and after exit), and both read back
// through findMessages; Baileys got the sent one (the sealed outbox row was
// read to send it). Then the same with seal_messages off: the texts are in
// the file, as before the setting existed, and the API is unchanged.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(170);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-seal-key-5d20c8e1a4';
const MASTER = '5a'.repeat(32);
const PEER_PHONE = '15550007777';


const sim = await startWasim(wasimExe);
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });

// bytes of the store file and its WAL
const onDisk = (data) => Buffer.concat(['wamd.db', 'wamd.db-wal'].map((f) => {
  try { return fs.readFileSync(path.join(data, f)); } catch { return Buffer.alloc(0); }
}));

async function run(seal, phone) {
  const data = tmpDir('wamd-seal-');
  const port = await freePort();
  const args = ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY, '--wa-url', sim.url,
    '--wa-trust-root', sim.root, '--seal-messages', seal ? 'true' : 'false'];
  let log = '';
  const wamd = spawn(wamdExe, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WAMD_MASTER_KEY: MASTER } });
  const reap = () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } };
  process.on('exit', reap);
  wamd.stderr.on('data', (d) => { log += d; });
  const api = async (method, p, body) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, {
      method, headers: { apikey: KEY, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const t = await res.text();
    return { status: res.status, json: t ? JSON.parse(t) : null };
  };
  const ok = (cond, msg) => { if (!cond) process.stderr.write(log.slice(-6000)); check(cond, msg); };
  const tag = seal ? 'sealed' : 'clear';
  const inText = `inbound ${tag} text 7f3a91`;
  const outText = `outbound ${tag} text c25e08`;
  let code;
  try {
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      try { up = (await api('GET', '/')).status === 200; } catch { await sleep(50); }
    }
    ok(up, `wamd up (seal_messages=${seal})`);
    check((await sim.api('POST', '/_sim/accounts', { phone })).status === 201, 'wasim account');
    let r = await api('POST', '/instance/create', { instanceName: 's1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
    ok(r.status === 201, `instance created (${r.status})`);
    const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/s1')).json.code;
    check((await sim.api('POST', '/_sim/scan', { phone, qr })).status === 200, 'QR scanned');
    let open = false;
    for (let i = 0; i < 300 && !open; i++) {
      open = (await api('GET', '/instance/connectionState/s1')).json?.instance?.state === 'open';
      if (!open) await sleep(100);
    }
    ok(open, 'instance open');
    await peer.sock.sendMessage(`${phone}@s.whatsapp.net`, { text: inText });
    r = await api('POST', '/message/sendText/s1', { number: PEER_PHONE, text: outText });
    ok(r.status === 201, `sendText (${r.status})`);
    const id = r.json.key.id;
    let got = null;
    for (let i = 0; i < 200 && !got; i++) {
      got = peerMsgs.find((m) => m.key.id === id);
      if (!got) await sleep(100);
    }
    ok(got && (got.message?.conversation ?? got.message?.extendedTextMessage?.text) === outText,
      `Baileys received the text sent from the ${tag} outbox`);
    const texts = async () => {
      const f = await api('POST', '/chat/findMessages/s1', { where: {} });
      return (f.json?.messages?.records ?? []).map((m) => m.message?.conversation ?? m.message?.extendedTextMessage?.text);
    };
    let t = [];
    for (let i = 0; i < 100; i++) {
      t = await texts();
      if (t.includes(inText) && t.includes(outText)) break;
      await sleep(100);
    }
    ok(t.includes(inText) && t.includes(outText), `findMessages reads both texts back (${JSON.stringify(t)})`);
    const live = onDisk(data);
    const found = [inText, outText].filter((x) => live.includes(Buffer.from(x)));
    if (seal) check(found.length === 0, `no message text in wamd.db / -wal while running (found ${found})`);
    else check(found.length === 2, `seal_messages=false: the texts are in the file as before (found ${found})`);
  } finally {
    wamd.kill('SIGTERM');
    code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
  }
  process.off('exit', reap);
  ok(code === 0, `wamd exits cleanly (${code})`);
  if (seal) {
    const after = onDisk(data);
    check(![inText, outText].some((x) => after.includes(Buffer.from(x))), 'no message text on disk after exit');
  }
  fs.rmSync(data, { recursive: true, force: true });
}

try {
  await run(true, '15550007771');
  await run(false, '15550007772');
} finally {
  await peer.stop();
}
process.exit(0);
