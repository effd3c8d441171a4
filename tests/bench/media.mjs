// Media through wamd (release build): a large document sent by URL
// (fetch to the staged file, encrypt + hash pass, encrypt + HTTPS upload to
// wasim) and one received from Baileys (mediaAutoDownload: download + MAC
// and hash checks, decrypt, store), then read back through the streaming
// route. Figures: MB/s of each leg, wamd's CPU seconds over it and wamd's RSS
// before, peak (VmRSS sampled every 20 ms), after and the rise (peak - before).
// Beside them Baileys doing the same through wasim: it downloads and
// decrypts wamd's document, and sends the file wamd receives; its figures
// are this process's (Baileys runs in it), same sampling.
// usage: WA_NODE_MODULES=build/bench/tests/interop/node/node_modules node tests/bench/media.mjs \
//          build/bench/daemon/wamd build/bench/tests/sim/wasim [out.json] [MiB=48]
// (1024 for the 1 GiB run: wasim spools uploads to disk and sends blobs
// from their files, so only the disk limits the size)
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // wasim's self-signed media host
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startWasim, pairByQr, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { procStatus, procCpuS } from './procmem.mjs';

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
const waitFor = async (pred, ms, what) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = pred();
    if (v) return v;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
};

const sim = await startWasim(wasimExe, { tls: true, state: path.join(work, 'wasim') });
await sim.api('POST', '/_sim/accounts', { phone: WAMD_PHONE });
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });
const { B: Bl } = await baileys();
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
// (selfPeak: this process's, i.e. Baileys', for its legs)
let peak = 0, selfPeak = 0;
const sampler = setInterval(() => {
  try { peak = Math.max(peak, procStatus(wamd.pid).VmRSS); } catch { /* gone */ }
  selfPeak = Math.max(selfPeak, procStatus(process.pid).VmRSS);
}, 20);
// a Baileys leg: time, this process's CPU and RSS (before / peak / rise)
const baileysLeg = async (fn) => {
  const before = procStatus(process.pid).VmRSS;
  selfPeak = before;
  const c0 = process.cpuUsage(), t0 = Date.now();
  const out = await fn();
  const ms = Date.now() - t0, c = process.cpuUsage(c0);
  const after = procStatus(process.pid).VmRSS;
  const pk = Math.max(selfPeak, after);
  return { out, ms, mb_s: +(SIZE / 1e6 / (ms / 1000)).toFixed(1), cpu_s: +((c.user + c.system) / 1e6).toFixed(2),
    rss_before_kib: before, rss_peak_kib: pk, rss_after_kib: after, rss_rise_kib: pk - before };
};
try {
  for (let i = 0; i < 100; i++) { try { if ((await api('GET', '/')).status === 200) break; } catch { /* starting */ } await sleep(50); }
  let r = await api('POST', '/instance/create', { instanceName: 'b1', qrcode: true,
    webhook: { url: `${base}/hook`, enabled: true, events: ['MESSAGES_UPSERT'] } });
  await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr: r.json.qrcode.code });
  await waitFor(() => log.includes('-> READY') || log.includes('READY'), 30000, 'READY');
  await sleep(1000);

  // send: URL -> staged file -> hash pass -> upload
  const before = procStatus(wamd.pid);
  const cpu0 = procCpuS(wamd.pid);
  peak = before.VmRSS;
  const t0 = Date.now();
  r = await api('POST', '/message/sendMedia/b1', { number: PEER_PHONE, mediatype: 'document', fileName: 'big.bin',
    media: `${base}/big.bin` });
  const tAccepted = Date.now();
  const id = r.json.key.id;
  await waitFor(() => log.includes(`uploaded ${id}`), 1200000, 'the upload');
  const tUploaded = Date.now();
  const after = procStatus(wamd.pid);
  figures.send = {
    fetch_ms: tAccepted - t0,
    encrypt_upload_ms: tUploaded - tAccepted,
    fetch_mb_s: +(SIZE / 1e6 / ((tAccepted - t0) / 1000)).toFixed(1),
    encrypt_upload_mb_s: +(SIZE / 1e6 / ((tUploaded - tAccepted) / 1000)).toFixed(1),
    cpu_s: +(procCpuS(wamd.pid) - cpu0).toFixed(2),
    rss_before_kib: before.VmRSS, rss_peak_kib: Math.max(peak, after.VmRSS), rss_after_kib: after.VmRSS, rss_rise_kib: Math.max(peak, after.VmRSS) - before.VmRSS,
  };

  // Baileys receives what wamd sent: downloadMediaMessage as a stream
  // (download + AES-CBC decrypt; Baileys checks neither MAC nor hashes),
  // hashed here to prove it intact
  const gotDoc = await waitFor(() => peerMsgs.find((m) => m.key.id === id), 1200000, 'the document at Baileys');
  const bRecv = await baileysLeg(async () => {
    const h = crypto.createHash('sha256');
    for await (const c of await Bl.downloadMediaMessage(gotDoc, 'stream', {})) h.update(c);
    return h.digest('hex');
  });
  figures.baileys_receive = { download_decrypt_ms: bRecv.ms, download_decrypt_mb_s: bRecv.mb_s, cpu_s: bRecv.cpu_s,
    intact: bRecv.out === fileSha, rss_before_kib: bRecv.rss_before_kib, rss_peak_kib: bRecv.rss_peak_kib,
    rss_after_kib: bRecv.rss_after_kib, rss_rise_kib: bRecv.rss_rise_kib };

  // receive: Baileys sends the file; wamd (mediaAutoDownload) downloads it,
  // checks the MAC and both hashes, decrypts and stores it; then the
  // streaming route serves the stored file
  r = await api('POST', '/settings/set/b1', { rejectCall: false, groupsIgnore: false, alwaysOnline: false,
    readMessages: false, readStatus: false, syncFullHistory: false,
    mediaAutoDownload: true, mediaStoreMaxBytes: 2 * SIZE + (1 << 20), mediaRetentionSeconds: 0 });
  if (r.status !== 201) throw new Error(`settings: ${r.status} ${JSON.stringify(r.json)}`);
  const before2 = procStatus(wamd.pid);
  peak = before2.VmRSS;
  const tb = Date.now();
  // Baileys' send (encrypt to a temp file with both hashes and the MAC, then the HTTPS upload)
  const bSend = await baileysLeg(() => peer.sock.sendMessage(`${WAMD_PHONE}@s.whatsapp.net`,
    { document: { url: file }, mimetype: 'application/octet-stream', fileName: 'in.bin' }));
  figures.baileys_send = { encrypt_upload_ms: bSend.ms, encrypt_upload_mb_s: bSend.mb_s, cpu_s: bSend.cpu_s,
    rss_before_kib: bSend.rss_before_kib, rss_peak_kib: bSend.rss_peak_kib, rss_after_kib: bSend.rss_after_kib,
    rss_rise_kib: bSend.rss_rise_kib };
  const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.messageType === 'documentMessage'), 1200000, 'MESSAGES_UPSERT');
  const t1 = Date.now();
  const cpuUp = procCpuS(wamd.pid);
  const stored = path.join(work, 'wamd', 'media', 'store', up.data.instanceId, fileSha);
  await waitFor(() => fs.existsSync(stored), 1200000, 'the stored file');
  const t2 = Date.now();
  const cpu2 = procCpuS(wamd.pid);
  const after2 = procStatus(wamd.pid);
  const peak2 = Math.max(peak, after2.VmRSS);
  const h1 = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(stored)) h1.update(chunk);
  figures.receive = {
    baileys_encrypt_upload_ms: t1 - tb,
    download_decrypt_store_ms: t2 - t1,
    download_decrypt_store_mb_s: +(SIZE / 1e6 / ((t2 - t1) / 1000)).toFixed(1),
    cpu_s: +(cpu2 - cpuUp).toFixed(2),
    stored_intact: h1.digest('hex') === fileSha,
    rss_before_kib: before2.VmRSS, rss_peak_kib: peak2, rss_after_kib: after2.VmRSS, rss_rise_kib: peak2 - before2.VmRSS,
  };

  // the streaming route: the stored file to an HTTP client
  const before3 = procStatus(wamd.pid);
  const cpu3 = procCpuS(wamd.pid);
  peak = before3.VmRSS;
  const t3 = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}/wamd/media/b1?id=${up.data.key.id}`, { headers: { apikey: KEY } });
  const h2 = crypto.createHash('sha256');
  let n = 0;
  for await (const chunk of res.body) { h2.update(chunk); n += chunk.length; }
  const t4 = Date.now();
  const after3 = procStatus(wamd.pid);
  const peak3 = Math.max(peak, after3.VmRSS);
  figures.stream = {
    status: res.status, bytes: n, intact: h2.digest('hex') === fileSha,
    stream_ms: t4 - t3,
    stream_mb_s: +(SIZE / 1e6 / ((t4 - t3) / 1000)).toFixed(1),
    cpu_s: +(procCpuS(wamd.pid) - cpu3).toFixed(2),
    rss_before_kib: before3.VmRSS, rss_peak_kib: peak3, rss_after_kib: after3.VmRSS, rss_rise_kib: peak3 - before3.VmRSS,
  };
} catch (e) {
  console.error(log.split('\n').filter((l) => /media|WARN|ERROR/.test(l)).slice(-40).join('\n'));
  throw e;
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
