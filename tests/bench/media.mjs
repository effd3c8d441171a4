// Media through wamd (release build): a large document sent by URL
// (fetch to the staged file, encrypt + hash pass, encrypt + HTTPS upload to
// wasim) and one received from Baileys (download + MAC check, decrypt, the
// streaming route). Figures: MB/s of each leg and wamd's RSS rise (peak
// VmHWM after the leg minus VmRSS before it).
// usage: WA_NODE_MODULES=build/bench/tests/interop/node/node_modules node tests/bench/media.mjs \
//          build/bench/daemon/wamd build/bench/tests/sim/wasim [out.json] [MiB=48]
// (wasim buffers an upload whole and takes at most 64 MiB per request, so
// 256 MiB and 1 GiB runs need wasim to stream uploads to its file first)
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // wasim's self-signed media host
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startWasim, pairByQr, tmpDir, sleep } from '../sim/harness.mjs';
import { procStatus } from './procmem.mjs';

const [wamdExe, wasimExe, outPath, mibArg] = process.argv.slice(2);
const MIB = Number(mibArg || 48);
const SIZE = MIB * 1024 * 1024;
const KEY = 'bench-media-key-3f1c';
const WAMD_PHONE = '15550008881', PEER_PHONE = '15550008882';
const work = tmpDir('wamd-bench-media-');

// the file, written in 4 MiB pieces (never whole in this process either)
const file = path.join(work, 'big.bin');
const sha = crypto.createHash('sha256');
{
  const fd = fs.openSync(file, 'w');
  for (let left = SIZE; left > 0;) {
    const b = crypto.randomBytes(Math.min(left, 4 << 20));
    sha.update(b);
    fs.writeSync(fd, b);
    left -= b.length;
  }
  fs.closeSync(fd);
}
const fileSha = sha.digest('hex');

const freePort = () => new Promise((res) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
});
const hooks = [];
const rx = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/big.bin') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SIZE });
    fs.createReadStream(file).pipe(res);
    return;
  }
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    try { hooks.push(JSON.parse(Buffer.concat(chunks).toString())); } catch { /* ignore */ }
    res.writeHead(200).end('ok');
  });
});
await new Promise((r) => rx.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${rx.address().port}`;
const waitFor = async (pred, ms) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = pred();
    if (v) return v;
    await sleep(20);
  }
  throw new Error('timed out');
};

const sim = await startWasim(wasimExe, { tls: true, state: path.join(work, 'wasim') });
await sim.api('POST', '/_sim/accounts', { phone: WAMD_PHONE });
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const port = await freePort();
let log = '';
const wamd = spawn(wamdExe, ['--data', path.join(work, 'wamd'), '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
  '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { log += d; if (log.length > 4e6) log = log.slice(-2e6); });
const api = async (method, p, body) => {
  const r = await fetch(`http://127.0.0.1:${port}${p}`, { method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, json: await r.json().catch(() => null) };
};
const figures = { size_mib: MIB };
// peak VmRSS while a leg runs, sampled every 20 ms
let peak = 0;
const sampler = setInterval(() => { try { peak = Math.max(peak, procStatus(wamd.pid).VmRSS); } catch { /* gone */ } }, 20);
try {
  for (let i = 0; i < 100; i++) { try { if ((await api('GET', '/')).status === 200) break; } catch { /* starting */ } await sleep(50); }
  let r = await api('POST', '/instance/create', { instanceName: 'b1', qrcode: true,
    webhook: { url: `${base}/hook`, enabled: true, events: ['MESSAGES_UPSERT'] } });
  await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr: r.json.qrcode.code });
  await waitFor(() => log.includes('-> READY') || log.includes('READY'), 30000);
  await sleep(1000);

  // send: URL -> staged file -> hash pass -> upload
  const before = procStatus(wamd.pid);
  peak = before.VmRSS;
  const t0 = Date.now();
  r = await api('POST', '/message/sendMedia/b1', { number: PEER_PHONE, mediatype: 'document', fileName: 'big.bin',
    media: `${base}/big.bin` });
  const tAccepted = Date.now();
  const id = r.json.key.id;
  await waitFor(() => log.includes(`uploaded ${id}`), 600000);
  const tUploaded = Date.now();
  const m1 = /(\S+Z) DEBUG wamd: \[media\] \[\d+\] uploading/.exec(log.slice(log.indexOf(`uploading ${id}`) - 80));
  const after = procStatus(wamd.pid);
  figures.send = {
    fetch_ms: tAccepted - t0,
    encrypt_upload_ms: tUploaded - tAccepted,
    fetch_mb_s: +(SIZE / 1e6 / ((tAccepted - t0) / 1000)).toFixed(1),
    encrypt_upload_mb_s: +(SIZE / 1e6 / ((tUploaded - tAccepted) / 1000)).toFixed(1),
    rss_before_kib: before.VmRSS, rss_peak_kib: Math.max(peak, after.VmRSS), rss_rise_kib: Math.max(peak, after.VmRSS) - before.VmRSS,
  };
  void m1;

  // receive: Baileys sends the file; wamd downloads, checks, decrypts and streams it
  await peer.sock.sendMessage(`${WAMD_PHONE}@s.whatsapp.net`, { document: { url: file }, mimetype: 'application/octet-stream', fileName: 'in.bin' });
  const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.messageType === 'documentMessage'), 600000);
  const before2 = procStatus(wamd.pid);
  peak = before2.VmRSS;
  const t1 = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}/wamd/media/b1?id=${up.data.key.id}`, { headers: { apikey: KEY } });
  const h2 = crypto.createHash('sha256');
  let n = 0;
  for await (const chunk of res.body) { h2.update(chunk); n += chunk.length; }
  const t2 = Date.now();
  const after2 = procStatus(wamd.pid);
  figures.receive = {
    status: res.status, bytes: n, intact: h2.digest('hex') === fileSha,
    download_decrypt_stream_ms: t2 - t1,
    download_decrypt_stream_mb_s: +(SIZE / 1e6 / ((t2 - t1) / 1000)).toFixed(1),
    rss_before_kib: before2.VmRSS, rss_peak_kib: Math.max(peak, after2.VmRSS), rss_rise_kib: Math.max(peak, after2.VmRSS) - before2.VmRSS,
  };
} finally {
  clearInterval(sampler);
  wamd.kill('SIGTERM');
  await new Promise((res) => wamd.on('exit', res));
  await peer.stop();
  await sim.stop();
  rx.close();
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify(figures, null, 1));
if (outPath) fs.writeFileSync(outPath, JSON.stringify(figures, null, 1));
process.exit(0);
