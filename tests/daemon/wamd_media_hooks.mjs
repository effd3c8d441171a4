// wamd media, the parts around sending and receiving (suite e2e): wasim with
// its HTTPS media host, a stock Baileys 7.0.0-rc14 peer, wamd driven only
// through its API.
//  Probe pool: a send whose probe is deliberately slow (an ffprobe wrapper
//    sleeps on that file) does not hold up a small image to another chat,
//    while a later send to the same chat still waits and keeps its order.
//  Webhook base64 (webhookBase64): off, a media MESSAGES_UPSERT has no
//    base64; on, message.base64 is the file, the rest equals Baileys' own
//    JSON of what it sent, the stored record has no base64; a file over
//    webhook_base64_max, and one that cannot be downloaded, go out without
//    it and say why.
//  Kept on disk (mediaAutoDownload): received files land in
//    <data>/media/store/<instanceId>/<sha256 hex>, 0600, the same media twice
//    stored once, the oldest evicted over mediaStoreMaxBytes, a file over it
//    not kept, getBase64FromMediaMessage served from the file once the blob
//    is gone from the media host, and mediaRetentionSeconds removes them.
// argv: [node, script, wamd, wasim]
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // wasim's self-signed media host
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { freePort, waitFor } from './e2e_daemon_util.mjs';

watchdog(240);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-media-hooks-key-71c2';
const WAMD_PHONE = '15550007781';
const PEER_PHONE = '15550007782';
const OTHER_PHONE = '15550007783';
const B64_MAX = 100000;
const SLOW_S = 12;
const { B: Bl } = await baileys();
const { proto } = Bl;

const hooks = [];
const rx = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    try { hooks.push(JSON.parse(Buffer.concat(chunks).toString())); } catch { /* ignore */ }
    res.writeHead(200).end('ok');
  });
});
await new Promise((r) => rx.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${rx.address().port}/hook`;

// an ffprobe that sleeps on files starting with SLOWPROBE, the real one otherwise
const tools = tmpDir('wamd-slow-ffprobe-');
const realFfprobe = execFileSync('sh', ['-c', 'command -v ffprobe']).toString().trim();
fs.writeFileSync(`${tools}/ffprobe`, `#!/bin/sh
for a; do last="$a"; done
if [ "$(head -c 9 "$last" 2>/dev/null)" = SLOWPROBE ]; then sleep ${SLOW_S}; fi
exec '${realFfprobe}' "$@"
`, { mode: 0o755 });

const sim = await startWasim(wasimExe, { tls: true });
let r = await sim.api('POST', '/_sim/accounts', { phone: WAMD_PHONE });
check(r.status === 201, 'wasim account for wamd');
r = await sim.api('POST', '/_sim/accounts', { phone: OTHER_PHONE });
check(r.status === 201, 'wasim account for a second chat');
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });

const data = tmpDir('wamd-media-hooks-');
const port = await freePort();
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--webhook-base64-max', String(B64_MAX), '--media-sweep-s', '1', '--log-level', 'debug'],
{ stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH: `${tools}:${process.env.PATH}` } });
wamd.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  let json = null;
  try { json = t ? JSON.parse(t) : null; } catch { json = { raw: t }; }
  return { status: res.status, json };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-8000)); check(cond, msg); };
const pbJson = (msg) => proto.Message.fromObject(msg).toJSON();

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  r = await api('POST', '/instance/create', {
    instanceName: 'h1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_UPSERT'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/h1')).json.code;
  r = await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr });
  check(r.status === 200, 'simulated phone scanned the QR');
  let open = false;
  for (let i = 0; i < 300 && !open; i++) {
    open = (await api('GET', '/instance/connectionState/h1')).json?.instance?.state === 'open';
    if (!open) await sleep(100);
  }
  dumpOnFail(open, 'instance open');

  // ---- the probe pool ----
  {
    const png = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48', '-frames:v', '1',
      '-f', 'image2', '-c:v', 'png', 'pipe:1']);
    const slow = Buffer.concat([Buffer.from('SLOWPROBE'), crypto.randomBytes(5000)]);
    const timed = async (number, body) => {
      const t0 = Date.now();
      const res = await api('POST', '/message/sendMedia/h1', { number, ...body });
      return { ...res, ms: Date.now() - t0, at: Date.now() };
    };
    const tSlow = timed(PEER_PHONE, { mediatype: 'video', mimetype: 'video/mp4', media: slow.toString('base64') });
    await sleep(300);
    // the same chat: waits behind the slow one, whatever the pool
    const tSame = timed(PEER_PHONE, { mediatype: 'image', mimetype: 'image/png', media: png.toString('base64') });
    await sleep(300);
    // another chat: its own worker
    const other = await timed(OTHER_PHONE, { mediatype: 'image', mimetype: 'image/png', media: png.toString('base64') });
    dumpOnFail(other.status === 201 && other.json?.message?.imageMessage?.jpegThumbnail,
      `image to another chat: 201 with a thumbnail (${other.status})`);
    check(other.ms < (SLOW_S * 1000) / 2,
      `a slow probe does not hold up another chat's image: answered in ${other.ms} ms (slow probe ${SLOW_S} s)`);
    const [s, same] = await Promise.all([tSlow, tSame]);
    dumpOnFail(s.status === 201 && same.status === 201, `slow video and same-chat image 201 (${s.status}, ${same.status})`);
    check(s.ms >= SLOW_S * 1000 && other.at < s.at, `the slow probe took its time (${s.ms} ms) and answered after the other chat's`);
    check(same.at >= s.at, `the same chat's next send waited for it (answered ${same.at - s.at} ms after)`);
    const got = await waitFor(() => {
      const a = peerMsgs.findIndex((m) => m.key.id === s.json.key.id);
      const b = peerMsgs.findIndex((m) => m.key.id === same.json.key.id);
      return a >= 0 && b >= 0 ? [a, b] : null;
    }, 30000, 'both at Baileys');
    dumpOnFail(got && got[0] < got[1], `the chat's order is kept at the receiver (${got})`);
  }

  // ---- webhook base64 ----
  const to = `${WAMD_PHONE}@s.whatsapp.net`;
  const upsert = (id, what) => waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === id),
    30000, what);
  {
    const bytes = crypto.randomBytes(30000);
    const sent = await peer.sock.sendMessage(to, { image: bytes, mimetype: 'image/jpeg', caption: 'no base64' });
    const up = await upsert(sent.key.id, 'image, base64 off');
    dumpOnFail(up, 'base64 off: MESSAGES_UPSERT');
    check(up.data.message.base64 === undefined && up.data.wamdBase64Omitted === undefined,
      'base64 off: no message.base64, no reason');
  }
  r = await api('POST', '/webhook/set/h1', { webhook: { enabled: true, url: hookUrl, base64: true, events: ['MESSAGES_UPSERT'] } });
  check(r.status === 201 && r.json.webhookBase64 === true, `webhook set with base64 (${r.status})`);
  for (const [what, content, field] of [
    ['image', { image: crypto.randomBytes(40000), mimetype: 'image/jpeg', caption: 'with base64' }, 'imageMessage'],
    ['voice note', { audio: crypto.randomBytes(11000), mimetype: 'audio/ogg; codecs=opus', ptt: true, seconds: 4 }, 'audioMessage'],
    ['document', { document: crypto.randomBytes(B64_MAX), mimetype: 'application/zip', fileName: 'a.zip' }, 'documentMessage'],
  ]) {
    const bytes = content.image ?? content.audio ?? content.document;
    const sent = await peer.sock.sendMessage(to, content);
    const up = await upsert(sent.key.id, `${what} with base64`);
    dumpOnFail(up, `${what}: MESSAGES_UPSERT`);
    const m = up.data.message;
    check(typeof m.base64 === 'string' && Buffer.compare(Buffer.from(m.base64, 'base64'), bytes) === 0 &&
      !m.base64.startsWith('data:'), `${what}: message.base64 is the ${bytes.length} bytes, bare base64`);
    // Evolution's layout: Baileys' message with base64 beside the content
    const want = pbJson(sent.message);
    const { base64: _, ...rest } = m;
    check(JSON.stringify(rest[field]) === JSON.stringify(want[field]) &&
      JSON.stringify(Object.keys(rest).sort()) === JSON.stringify(Object.keys(want).sort()),
      `${what}: the rest of message equals Baileys' JSON (${Object.keys(m).join(',')})`);
    check(up.data.messageType === field && up.data.wamdBase64Omitted === undefined, `${what}: messageType ${up.data.messageType}`);
  }
  {
    r = await api('POST', '/chat/findMessages/h1', { where: { key: { remoteJid: `${PEER_PHONE}@s.whatsapp.net` } } });
    const recs = r.json?.messages?.records ?? [];
    check(recs.length > 0 && recs.every((x) => x.message?.base64 === undefined),
      `the stored records hold no base64 (${recs.length} records)`);
  }
  {
    const bytes = crypto.randomBytes(B64_MAX + 1);
    const sent = await peer.sock.sendMessage(to, { document: bytes, mimetype: 'application/pdf', fileName: 'big.pdf' });
    const up = await upsert(sent.key.id, 'document over the cap');
    dumpOnFail(up, 'over the cap: MESSAGES_UPSERT');
    check(up.data.message.base64 === undefined && /over webhook_base64_max \(100000\)/.test(up.data.wamdBase64Omitted ?? ''),
      `over the cap: no base64, the reason given (${up.data.wamdBase64Omitted})`);
    const media = await fetch(`http://127.0.0.1:${port}/wamd/media/h1?id=${sent.key.id}`, { headers: { apikey: KEY } });
    check(media.status === 200 && Buffer.compare(Buffer.from(await media.arrayBuffer()), bytes) === 0,
      'over the cap: the file streams from GET /wamd/media');
  }
  {
    // a blob wamd may not fetch (its url on another host, no directPath):
    // the event still goes out, without base64, with the reason
    const bytes = crypto.randomBytes(3000);
    const prep = await Bl.prepareWAMessageMedia({ document: bytes, mimetype: 'application/pdf', fileName: 'f.pdf' },
      { upload: peer.sock.waUploadToServer });
    const dm = prep.documentMessage;
    dm.url = `https://127.0.0.1:9${dm.directPath}`;
    dm.directPath = '';
    const mid = `3EB0${crypto.randomBytes(8).toString('hex').toUpperCase()}`;
    await peer.sock.relayMessage(to, { documentMessage: dm }, { messageId: mid });
    const up = await upsert(mid, 'undownloadable document');
    dumpOnFail(up, 'undownloadable: MESSAGES_UPSERT still sent');
    check(up.data.message.base64 === undefined && /media download failed/.test(up.data.wamdBase64Omitted ?? ''),
      `undownloadable: no base64, the reason given (${up.data.wamdBase64Omitted})`);
  }
  // ---- kept on disk ----
  {
    const base = { rejectCall: false, groupsIgnore: false, alwaysOnline: false, readMessages: false, readStatus: false,
      syncFullHistory: false };
    r = await api('POST', '/settings/set/h1', { ...base, mediaAutoDownload: true, mediaStoreMaxBytes: 200000, mediaRetentionSeconds: 0 });
    check(r.status === 201 && r.json.settings.settings.mediaAutoDownload === true && r.json.settings.settings.mediaStoreMaxBytes === 200000,
      `settings with mediaAutoDownload (${r.status} ${JSON.stringify(r.json?.settings?.settings)})`);
    const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
    let dir = null;
    const receive = async (what, content) => {
      const bytes = content.image ?? content.document;
      const sent = await peer.sock.sendMessage(to, content);
      const up = await upsert(sent.key.id, what);
      dumpOnFail(up, `${what}: MESSAGES_UPSERT`);
      dir = `${data}/media/store/${up.data.instanceId}`;
      return { bytes, sent, up, file: `${dir}/${sha(bytes)}` };
    };
    const exists = (f) => fs.existsSync(f);
    const img = crypto.randomBytes(30000);
    const a = await receive('image kept', { image: img, mimetype: 'image/jpeg' });
    dumpOnFail(await waitFor(() => exists(a.file), 15000, 'stored image'), 'image: stored under its SHA-256');
    const st = fs.statSync(a.file);
    check(Buffer.compare(fs.readFileSync(a.file), img) === 0 && (st.mode & 0o777) === 0o600 &&
      (fs.statSync(dir).mode & 0o777) === 0o700, `image: bytes intact, file 0600 (${(st.mode & 0o777).toString(8)}), folder 0700`);
    const b = await receive('the same image again', { image: img, mimetype: 'image/jpeg', caption: 'again' });
    check(b.up.data.message.imageMessage.mediaKey !== a.up.data.message.imageMessage.mediaKey &&
      Buffer.compare(Buffer.from(b.up.data.message.base64 ?? '', 'base64'), img) === 0,
    'the same image again: another blob, its base64 from the stored file');
    await sleep(500);
    check(fs.readdirSync(dir).length === 1, `the same media twice is stored once (${fs.readdirSync(dir).length} files)`);
    const d1 = await receive('document kept', { document: crypto.randomBytes(100000), mimetype: 'application/zip', fileName: 'd1.zip' });
    dumpOnFail(await waitFor(() => exists(d1.file), 15000, 'stored document'), 'document: stored');
    // 30000 + 100000 + 90000 > 200000: the oldest (the image) goes
    const d2 = await receive('second document', { document: crypto.randomBytes(90000), mimetype: 'application/zip', fileName: 'd2.zip' });
    dumpOnFail(await waitFor(() => exists(d2.file), 15000, 'stored second document'), 'second document: stored');
    check(!exists(a.file) && exists(d1.file), 'over mediaStoreMaxBytes the oldest file was evicted, the newer kept');
    const d3 = await receive('document over the cap', { document: crypto.randomBytes(200001), mimetype: 'application/zip', fileName: 'd3.zip' });
    await sleep(1000);
    check(!exists(d3.file) && exists(d1.file) && exists(d2.file), 'a file over mediaStoreMaxBytes is not kept (nor evicts anything)');
    // the blob leaves the media host: on demand the stored file answers
    r = await sim.api('POST', '/_sim/media/expire', { url: d1.up.data.message.documentMessage.url, status: 410 });
    check(r.status === 200, 'wasim expired the first document');
    r = await api('POST', '/chat/getBase64FromMediaMessage/h1', { message: { key: { id: d1.sent.key.id } } });
    check(r.status === 201 && Buffer.compare(Buffer.from(r.json.base64 ?? '', 'base64'), d1.bytes) === 0,
      `getBase64FromMediaMessage answers from the stored file (${r.status})`);
    const res = await fetch(`http://127.0.0.1:${port}/wamd/media/h1?id=${d1.sent.key.id}`, { headers: { apikey: KEY, range: 'bytes=5-9' } });
    check(res.status === 206 && Buffer.compare(Buffer.from(await res.arrayBuffer()), d1.bytes.subarray(5, 10)) === 0,
      `GET /wamd/media streams the stored file (${res.status})`);
    check(exists(d1.file), 'and the stored file stays');
    // retention: 2 s, swept every second
    r = await api('POST', '/settings/set/h1', { ...base, mediaAutoDownload: true, mediaStoreMaxBytes: 200000, mediaRetentionSeconds: 2 });
    check(r.status === 201, 'retention set to 2 s');
    const gone = await waitFor(() => fs.readdirSync(dir).length === 0, 10000, 'retention');
    check(gone, `mediaRetentionSeconds removed the stored files (${fs.readdirSync(dir).length} left)`);
  }
  const left = fs.readdirSync(`${data}/media`).filter((f) => f.startsWith('hook-'));
  check(left.length === 0, `no download file left behind (${left.join(',')})`);
} finally {
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
  await peer.stop();
  rx.close();
  await sim.stop();
  if (code !== 0) process.stderr.write(wamdLog.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
process.exit(0);
