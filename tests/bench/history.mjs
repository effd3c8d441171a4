// History sync import: a wasim phone with a seeded history (default 2,000
// chats, 50,000 messages) pairs a fresh wamd instance (syncFullHistory) and
// a fresh Baileys 7.0.0-rc14 socket (syncFullHistory, every history type
// kept), each through the same notifications and blobs. Printed: seconds
// from the QR scan until the import is done and the RSS rise over it (peak
// sampled every 20 ms minus the RSS before the scan). Targets: <= 5 s,
// <= 64 MiB. Done means, for wamd, that the phone (wasim) holds wamd's
// hist_sync receipt for the last notification: wamd sends each one after
// the notification's last batch is committed (messages, chats, contacts and
// the Evolution records findMessages reads), so every message is on disk;
// findMessages then counts them once, after the clock stopped. For Baileys,
// that its messaging-history.set events have delivered every message (it
// stores nothing, and sends its receipts before processing). Polling the
// phone, not wamd, keeps the measurement out of wamd's CPU; the 20 ms poll
// can only add to wamd's time. CPU seconds: wamd's process, and for Baileys
// the bench's own Node process, which runs the socket (and this script).
// usage: WA_NODE_MODULES=... node tests/bench/history.mjs WAMD WASIM [out.json] [chats] [messages] [baileys=1] [order=wb]
//   order: wb runs wamd first, bw Baileys first (alternate them across runs)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { startWasim, tmpDir, sleep, Client } from '../sim/harness.mjs';
import { procStatus, procCpuS } from './procmem.mjs';

const [wamdExe, wasimExe, out, chatsArg, msgsArg, withBaileys, orderArg] = process.argv.slice(2);
const CHATS = Number(chatsArg ?? 2000);
const MSGS = Number(msgsArg ?? 50000);
const ORDER = orderArg === 'bw' ? 'bw' : 'wb';
const KEY = 'bench-history-key';
const result = { chats: CHATS, messages: MSGS, order: ORDER };

const freePort = () => new Promise((res) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
});
const sampler = (pid) => {
  const s = { peak: 0, stop: false };
  (async () => {
    while (!s.stop) {
      try { s.peak = Math.max(s.peak, procStatus(pid).VmRSS); } catch { /* gone */ }
      await sleep(20);
    }
  })();
  return s;
};
const cpuSelf = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

const sim = await startWasim(wasimExe, { tls: true });

// the phone's device `dev` of `phone` has the companion's hist_sync receipt
// for the last history notification it sent
const phoneHasLastReceipt = async (phone) => {
  const a = (await sim.api('GET', `/_sim/accounts/${phone}`)).json;
  return (a?.devices ?? []).some((d) => d.hist_id &&
    (d.receipts_sent ?? []).some((r) => r.id === d.hist_id && r.type === 'hist_sync'));
};

async function runWamd() {
  const phone = '15550031001';
  await sim.api('POST', '/_sim/accounts', { phone });
  await sim.api('POST', '/_sim/history/seed', { phone, chats: CHATS, messages: MSGS, chunk_chats: 50 });
  const port = await freePort();
  const wamd = spawn(wamdExe, ['--data', tmpDir('bench-history-'), '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--log-level', 'warn'],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  const api = async (method, p, body) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, {
      method, headers: { apikey: KEY, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: await res.json().catch(() => null) };
  };
  for (let i = 0; i < 200; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* starting */ }
    await sleep(50);
  }
  const r = await api('POST', '/instance/create', { instanceName: 'b1', integration: 'WHATSAPP-BAILEYS', qrcode: true, syncFullHistory: true });
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/b1')).json.code;
  await sleep(500);
  const before = procStatus(wamd.pid).VmRSS;
  const s = sampler(wamd.pid);
  const cpu0 = procCpuS(wamd.pid);
  const simCpu0 = procCpuS(sim.proc.pid);
  const t0 = Date.now();
  await sim.api('POST', '/_sim/scan', { phone, qr });
  while (Date.now() - t0 < 600000 && !(await phoneHasLastReceipt(phone)))
    await sleep(20);
  const secs = (Date.now() - t0) / 1000;
  s.stop = true;
  // CPU seconds: what the import costs whatever else shares the cores
  // (wasim's: building and serving the chunks, and answering the polls)
  const cpu = procCpuS(wamd.pid) - cpu0;
  const simCpu = procCpuS(sim.proc.pid) - simCpu0;
  const n = (await api('POST', '/chat/findMessages/b1', { where: {}, offset: 1 })).json?.messages?.total ?? 0;
  result.wamd = { seconds: secs, messages: n, cpu_s: cpu, wasim_cpu_s: simCpu, loadavg_1m: os.loadavg()[0],
    rss_before_kib: before, rss_peak_kib: s.peak, rss_rise_mib: (s.peak - before) / 1024 };
  console.log(`wamd:    ${n} messages stored in ${secs.toFixed(2)} s from the scan (pairing included), CPU ${cpu.toFixed(2)} s (wasim ${simCpu.toFixed(2)} s), RSS rise ${((s.peak - before) / 1024).toFixed(1)} MiB (peak ${(s.peak / 1024).toFixed(1)} MiB), load ${os.loadavg()[0].toFixed(1)}`);
  wamd.kill('SIGTERM');
  if (n !== MSGS) {
    console.error(`wamd stored ${n} messages, not ${MSGS}`);
    process.exit(1);
  }
}

async function runBaileys() {
  const phone = '15550031002';
  await sim.api('POST', '/_sim/accounts', { phone });
  await sim.api('POST', '/_sim/history/seed', { phone, chats: CHATS, messages: MSGS, chunk_chats: 50 });
  // Baileys fetches history blobs from its default media host: send it to wasim's
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const realFetch = globalThis.fetch;
  const tlsPort = new URL(sim.tlsUrl).port;
  globalThis.fetch = (u, o) => realFetch(String(u).replace('https://mmg.whatsapp.net', `https://127.0.0.1:${tlsPort}`), o);
  let got = 0;
  let done;
  const finished = new Promise((res) => { done = res; });
  const c = new Client(sim, 'bench-hist', { tls: true, sockOpts: { syncFullHistory: true, shouldSyncHistoryMessage: () => true } });
  await c.start();
  await c.waitQr();
  const before = process.memoryUsage().rss / 1024;
  const s = sampler(process.pid);
  const cpu0 = cpuSelf();
  const simCpu0 = procCpuS(sim.proc.pid);
  const t0 = Date.now();
  await sim.api('POST', '/_sim/scan', { phone, qr: c.qrs[0] });
  // the socket after the 515 restart gets the history (the phone waits 1 s)
  await c.waitOpen(1, 30000);
  c.sock.ev.on('messaging-history.set', ({ messages }) => {
    got += messages.length;
    if (got >= MSGS) done();
  });
  await Promise.race([finished, sleep(600000)]);
  const secs = (Date.now() - t0) / 1000;
  s.stop = true;
  const cpu = cpuSelf() - cpu0;
  const simCpu = procCpuS(sim.proc.pid) - simCpu0;
  globalThis.fetch = realFetch;
  result.baileys = { seconds: secs, messages: got, cpu_s: cpu, wasim_cpu_s: simCpu, loadavg_1m: os.loadavg()[0],
    rss_before_kib: before, rss_peak_kib: s.peak, rss_rise_mib: (s.peak - before) / 1024 };
  console.log(`Baileys: ${got} messages delivered in ${secs.toFixed(2)} s from the scan (pairing included), CPU ${cpu.toFixed(2)} s (wasim ${simCpu.toFixed(2)} s), RSS rise ${((s.peak - before) / 1024).toFixed(1)} MiB (peak ${(s.peak / 1024).toFixed(1)} MiB), load ${os.loadavg()[0].toFixed(1)}`);
  try { c.sock.end(undefined); } catch { /* closed */ }
  await sleep(200);
}

const sides = withBaileys === '0' ? [runWamd] : ORDER === 'bw' ? [runBaileys, runWamd] : [runWamd, runBaileys];
for (const side of sides) await side();

if (out) fs.writeFileSync(out, JSON.stringify(result, null, 1));
process.exit(0);
