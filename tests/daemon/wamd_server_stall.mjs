// A server that accepts the TCP connection and never answers the WebSocket
// upgrade (suite e2e; an overloaded or half-dead edge). libwebsockets gives
// each stage of a client connection a few seconds and, when one runs out
// before the upgrade, frees the connection without telling its owner; the
// session's own 20 s connect deadline then closed a freed connection and
// wamd died (SIGSEGV), taking every instance with it. Now:
//   - wamd survives the deadline, says why in its log, and tries again;
//   - a clean stop leaves nothing leaked (ASan's exit status).
// argv: [node, script, wamd]
import net from 'node:net';
import { spawn } from 'node:child_process';
import { check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(110);
const [wamdExe] = process.argv.slice(2);
const KEY = 'wamd-server-stall-key-5e1a';

// the stalled "server": holds every connection, reads, never writes
const held = [];
let attempts = 0;
const stall = net.createServer((sock) => {
  attempts++;
  held.push(sock);
  sock.on('data', () => { /* swallowed: the upgrade is never answered */ });
  sock.on('error', () => { /* wamd gave up on it */ });
});
await new Promise((r) => stall.listen(0, '127.0.0.1', r));
const stallPort = stall.address().port;

const data = tmpDir('wamd-stall-');
const port = await freePort();
let log = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', `ws://127.0.0.1:${stallPort}/ws/chat`, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { log += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
let exited = null;
wamd.on('exit', (code, sig) => { exited = { code, sig }; });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json().catch(() => null) };
};

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  const r = await api('POST', '/instance/create', { instanceName: 'st', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  check(r.status === 201, `instance created (${r.status})`);
  const t0 = Date.now();
  while (attempts < 1 && Date.now() - t0 < 10000) await sleep(50);
  check(attempts === 1, 'wamd connected to the stalled server');
  // past the 20 s connect deadline, and into the next attempt
  while (attempts < 2 && Date.now() - t0 < 60000 && !exited) await sleep(200);
  check(!exited, `wamd is alive after the connect deadline (${JSON.stringify(exited)})`);
  check(attempts >= 2, `wamd tried again (${attempts} connections)`);
  check(new RegExp(`no answer from 127\\.0\\.0\\.1:${stallPort} within 20 s`).test(log),
    'the log says the server did not answer within 20 s');
  const st = await api('GET', '/instance/connectionState/st');
  check(st.status === 200 && st.json?.instance?.state !== 'open', `connectionState answers (${JSON.stringify(st.json)})`);
  wamd.kill('SIGTERM');
  for (let i = 0; i < 200 && !exited; i++) await sleep(50);
  check(exited?.code === 0, `a clean stop, nothing leaked (${JSON.stringify(exited)})`);
} catch (e) {
  process.stderr.write(log.slice(-4000));
  throw e;
}
if (process.exitCode) process.stderr.write(log.slice(-4000));
for (const s of held) s.destroy();
stall.close();
console.log('ok');
process.exit(process.exitCode || 0);
