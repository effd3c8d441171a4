// wamd media end to end (suite e2e): wasim with its HTTPS media host, a
// stock Baileys 7.0.0-rc14 peer, wamd driven only through its API.
//  wamd -> Baileys: image, video, audio, voice note (sendWhatsAppAudio),
//    document and sticker sent as base64; Baileys downloads and decrypts each
//    byte-identical and sees mimetype / caption / fileName / ptt.
//  Replies (`quoted`) on sendMedia, sendWhatsAppAudio and sendSticker: Baileys
//    sees the quote's contextInfo; our answer and SEND_MESSAGE equal Baileys'
//    JSON of the message it received, field by field.
//  Baileys -> wamd: each kind arrives as MESSAGES_UPSERT whose message
//    equals Baileys' own JSON of what it sent, and getBase64FromMediaMessage
//    gives the bytes back; GET /wamd/media serves a 24 MiB document whole
//    to a client that stops reading for 8 s mid-body.
//  A received url naming another host is never connected to.
//  Real image, video, voice note and sticker files: thumbnail, dimensions,
//    seconds, waveform and isAnimated as Baileys would compute them; a PDF's
//    first page and page count; without
//    FFmpeg media still goes, with a warning.
//  Bad input: 4xx and nothing queued.
//  SIGKILL while a document uploads: after the restart it arrives exactly once.
// argv: [node, script, wamd, wasim]
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // wasim's self-signed media host
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { baileysPath } from '../interop/baileys.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { freePort, waitFor } from './e2e_daemon_util.mjs';

watchdog(300);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-media-key-5e1f0c77aa';
const WAMD_PHONE = '15550007771';
const PEER_PHONE = '15550007772';
const { B: Bl } = await baileys();
const { proto } = Bl;

const hooks = [];
// files for sends by URL
const files = { '/files/report.pdf': [crypto.randomBytes(54321), 'application/pdf'],
  '/files/pic': [crypto.randomBytes(33333), 'image/png'] };
const rx = http.createServer((req, res) => {
  if (req.method === 'GET') {
    const f = files[req.url];
    if (f) return res.writeHead(200, { 'content-type': f[1] }).end(f[0]);
    if (req.url === '/files/moved') return res.writeHead(302, { location: '/files/report.pdf' }).end();
    return res.writeHead(404).end('no');
  }
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    try { hooks.push(JSON.parse(Buffer.concat(chunks).toString())); } catch { /* ignore */ }
    res.writeHead(200).end('ok');
  });
});
await new Promise((r) => rx.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${rx.address().port}/hook`;

const sim = await startWasim(wasimExe, { tls: true });
let r = await sim.api('POST', '/_sim/accounts', { phone: WAMD_PHONE });
check(r.status === 201, 'wasim account for wamd');
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });

const data = tmpDir('wamd-media-');
const port = await freePort();
const wamdArgs = ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--log-level', 'debug'];
let wamdLog = '';
const startWamd = (env) => {
  const p = spawn(wamdExe, wamdArgs, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
  p.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
  return p;
};
let wamd = startWamd();
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
// every JSON answer, validated against /openapi.json before the SIGKILL part
const answers = [];
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  let json = null;
  try {
    json = t ? JSON.parse(t) : null;
    if (json !== null) answers.push({ method, path: p, status: res.status, body: json });
  } catch { json = { raw: t }; }
  return { status: res.status, json };
};
// GET /wamd/media: the bytes; its errors (JSON) are recorded too
const media = async (p, headers) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status >= 400 && /^application\/json/.test(res.headers.get('content-type') ?? '')) {
    answers.push({ method: 'GET', path: p, status: res.status, body: JSON.parse(body.toString()) });
  }
  return { res, body };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-8000)); check(cond, msg); };
const waitOpen = async () => {
  for (let i = 0; i < 300; i++) {
    try { if ((await api('GET', '/instance/connectionState/m1')).json?.instance?.state === 'open') return true; } catch { /* starting */ }
    await sleep(100);
  }
  return false;
};
const pbJson = (msg) => proto.Message.fromObject(msg).toJSON();

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  r = await api('POST', '/instance/create', {
    instanceName: 'm1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['CONNECTION_UPDATE', 'MESSAGES_UPSERT', 'MESSAGES_UPDATE', 'SEND_MESSAGE'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/m1')).json.code;
  r = await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr });
  check(r.status === 200, 'simulated phone scanned the QR');
  dumpOnFail(await waitOpen(), 'instance open');

  // ---- wamd -> Baileys, every kind ----
  const sends = [
    { what: 'image', route: 'sendMedia', bytes: crypto.randomBytes(70000),
      body: (b) => ({ mediatype: 'image', mimetype: 'image/png', caption: 'a picture', fileName: 'p.png', media: b }),
      field: 'imageMessage', want: { mimetype: 'image/png', caption: 'a picture' } },
    { what: 'video', route: 'sendMedia', bytes: crypto.randomBytes(300001),
      body: (b) => ({ mediatype: 'video', caption: 'a film', media: b }),
      field: 'videoMessage', want: { mimetype: 'video/mp4', caption: 'a film' } },
    { what: 'audio', route: 'sendMedia', bytes: crypto.randomBytes(20000),
      body: (b) => ({ mediatype: 'audio', mimetype: 'audio/mpeg', media: b }),
      field: 'audioMessage', want: { mimetype: 'audio/mpeg', ptt: false } },
    { what: 'voice note', route: 'sendWhatsAppAudio', bytes: crypto.randomBytes(15000),
      body: (b) => ({ audio: b, encoding: false }),
      field: 'audioMessage', want: { mimetype: 'audio/ogg; codecs=opus', ptt: true } },
    { what: 'document', route: 'sendMedia', bytes: crypto.randomBytes(123457),
      body: (b) => ({ mediatype: 'document', fileName: 'report.pdf', caption: 'the report', media: b }),
      field: 'documentMessage', want: { mimetype: 'application/pdf', fileName: 'report.pdf', caption: 'the report' } },
    { what: 'sticker', route: 'sendSticker', bytes: crypto.randomBytes(9000),
      body: (b) => ({ sticker: b }),
      field: 'stickerMessage', want: { mimetype: 'image/webp' } },
    { what: 'empty document', route: 'sendMedia', bytes: Buffer.alloc(16),
      body: (b) => ({ mediatype: 'document', fileName: 'sixteen.bin', mimetype: 'application/octet-stream', media: b }),
      field: 'documentMessage', want: { fileName: 'sixteen.bin' } },
  ];
  for (const s of sends) {
    const t0 = Date.now();
    r = await api('POST', `/message/${s.route}/m1`, { number: PEER_PHONE, ...s.body(s.bytes.toString('base64')) });
    dumpOnFail(r.status === 201 && r.json?.messageType === s.field && r.json?.status === 'PENDING',
      `${s.what}: ${s.route} 201 with messageType ${r.json?.messageType} (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
    const id = r.json.key.id;
    const got = await waitFor(() => peerMsgs.find((m) => m.key.id === id), 30000, `${s.what} at Baileys`);
    dumpOnFail(got, `${s.what}: Baileys received it`);
    const mm = got.message?.[s.field];
    check(mm && mm.url.startsWith(`https://127.0.0.1:${sim.tls_port}/v/`) && mm.directPath?.includes('?') &&
      mm.mediaKey?.length === 32 && mm.fileSha256?.length === 32 && mm.fileEncSha256?.length === 32 &&
      Number(mm.fileLength) === s.bytes.length && Number(mm.mediaKeyTimestamp) > 0,
      `${s.what}: url, directPath, mediaKey, hashes, fileLength, mediaKeyTimestamp set`);
    for (const [k, v] of Object.entries(s.want))
      check(mm?.[k] === v, `${s.what}: Baileys sees ${k} = ${JSON.stringify(mm?.[k])}`);
    const buf = await Bl.downloadMediaMessage(got, 'buffer', {});
    check(Buffer.compare(buf, s.bytes) === 0, `${s.what}: Baileys downloaded and decrypted ${s.bytes.length} bytes intact (${Date.now() - t0} ms)`);
  }

  // ---- replies: `quoted` on sendMedia, sendWhatsAppAudio and sendSticker ----
  // The quote reaches Baileys as a reply (contextInfo stanzaId, participant,
  // quotedMessage) and our answer / SEND_MESSAGE equals Baileys' JSON of the
  // message it received, field by field (less the upload fields, which the
  // answer precedes). Quoted: the peer's text with its message, the same by
  // id only (the stored original), and one of ours (participant: us).
  {
    const WAMD_JID = `${WAMD_PHONE}@s.whatsapp.net`, PEER_JID = `${PEER_PHONE}@s.whatsapp.net`;
    const theirText = await peer.sock.sendMessage(WAMD_JID, { text: 'which one?' });
    dumpOnFail(await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === theirText.key.id),
      30000, 'the text to quote'), 'reply: the peer\'s text arrived');
    r = await api('POST', '/message/sendText/m1', { number: PEER_PHONE, text: 'this one' });
    dumpOnFail(r.status === 201, 'reply: our text to quote sent');
    const ourText = r.json;
    const upload = ['url', 'directPath', 'mediaKey', 'fileSha256', 'fileEncSha256', 'mediaKeyTimestamp'];
    const replies = [
      { what: 'image reply', route: 'sendMedia', field: 'imageMessage',
        body: { mediatype: 'image', mimetype: 'image/png', caption: 'this', media: crypto.randomBytes(5000).toString('base64'),
          quoted: { key: { id: theirText.key.id, remoteJid: PEER_JID, fromMe: false }, message: { conversation: 'which one?' } } },
        want: { stanzaId: theirText.key.id, participant: PEER_JID, quotedMessage: { conversation: 'which one?' } } },
      { what: 'voice-note reply', route: 'sendWhatsAppAudio', field: 'audioMessage',
        body: { audio: crypto.randomBytes(4000).toString('base64'), encoding: false, quoted: { key: { id: theirText.key.id } } },
        want: { stanzaId: theirText.key.id, participant: PEER_JID, quotedMessage: { conversation: 'which one?' } } },
      { what: 'sticker reply to ours', route: 'sendSticker', field: 'stickerMessage',
        body: { sticker: crypto.randomBytes(3000).toString('base64'), quoted: { key: { id: ourText.key.id, fromMe: true },
          message: { conversation: 'this one' } } },
        want: { stanzaId: ourText.key.id, participant: WAMD_JID, quotedMessage: { conversation: 'this one' } } },
    ];
    for (const q of replies) {
      r = await api('POST', `/message/${q.route}/m1`, { number: PEER_PHONE, ...q.body });
      dumpOnFail(r.status === 201 && r.json?.messageType === q.field, `${q.what}: 201 ${r.json?.messageType} (${r.status})`);
      const got = await waitFor(() => peerMsgs.find((m) => m.key.id === r.json.key.id), 30000, q.what);
      dumpOnFail(got, `${q.what}: Baileys received it`);
      const theirs = pbJson(got.message)[q.field];
      check(JSON.stringify(theirs?.contextInfo) === JSON.stringify(q.want),
        `${q.what}: Baileys sees the reply's contextInfo (${JSON.stringify(theirs?.contextInfo)})`);
      const ours = r.json.message[q.field];
      const keys = (o) => Object.keys(o ?? {}).filter((k) => !upload.includes(k)).sort();
      check(JSON.stringify(keys(ours)) === JSON.stringify(keys(theirs)) &&
        keys(ours).every((k) => JSON.stringify(ours[k]) === JSON.stringify(theirs[k])),
        `${q.what}: our message.${q.field} equals Baileys' JSON field by field (${JSON.stringify(ours)} vs ${JSON.stringify(theirs)?.slice(0, 400)})`);
      check(r.json.messageType === Bl.getContentType(got.message), `${q.what}: messageType ${r.json.messageType} is Baileys'`);
      const sm = hooks.find((h) => h.event === 'send.message' && h.data.key.id === r.json.key.id);
      check(sm && JSON.stringify(sm.data.message) === JSON.stringify(r.json.message), `${q.what}: SEND_MESSAGE carries the same message`);
    }
  }

  // ---- what the receiver shows: thumbnail, dimensions, seconds, waveform ----
  // Real files made by FFmpeg; each field is compared with what Baileys'
  // own prepareWAMessageMedia computes for the same file (thumbnail: same
  // size, both JPEG; Baileys has no waveform decoder here, so its algorithm
  // is applied to the decoded samples of the voice note as received).
  {
    const { execFileSync } = await import('node:child_process');
    const fs = await import('node:fs');
    const dir = tmpDir('wamd-media-files-');
    const ff = (...a) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...a]);
    ff('-f', 'lavfi', '-i', 'testsrc=size=320x240', '-frames:v', '1', `${dir}/p.png`);
    ff('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '3', '-pix_fmt', 'yuv420p', `${dir}/v.mp4`);
    ff('-f', 'lavfi', '-i', 'aevalsrc=exprs=sin(440*2*PI*t)*t/4:d=4:s=44100', `${dir}/a.wav`);
    ff('-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=5', '-t', '1', '-loop', '0', '-c:v', 'libwebp_anim', `${dir}/s.webp`);
    // a two-page PDF (200x100 points): its offsets are computed so that poppler reads it cleanly
    {
      const objs = ['<</Type/Catalog/Pages 2 0 R>>', '<</Type/Pages/Kids[3 0 R 5 0 R]/Count 2>>',
        '<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]/Contents 4 0 R>>',
        '<</Length 26>>stream\n0 0 1 rg 10 10 100 50 re f\nendstream',
        '<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]/Contents 4 0 R>>'];
      let pdf = '%PDF-1.4\n';
      const offs = objs.map((o, i) => { const at = pdf.length; pdf += `${i + 1} 0 obj${o}endobj\n`; return at; });
      const xref = pdf.length;
      pdf += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offs.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
      pdf += `trailer<</Size ${objs.length + 1}/Root 1 0 R>>\nstartxref\n${xref}\n%%EOF\n`;
      fs.writeFileSync(`${dir}/d.pdf`, pdf);
    }
    const sharp = createRequire(baileysPath('package.json'))('sharp');
    const dims = async (b) => { const m = await sharp(b).metadata(); return `${m.format} ${m.width}x${m.height}`; };
    const fakeUpload = async () => ({ mediaUrl: 'https://example.invalid/x', directPath: '/x' });
    const theirs = async (content) => Object.values(await Bl.prepareWAMessageMedia(content, { upload: fakeUpload }))[0];
    const baileysWave = (f32) => { // Baileys' getAudioWaveform on decoded samples
      const bs = Math.floor(f32.length / 64), out = [];
      for (let i = 0; i < 64; i++) { let sum = 0; for (let j = 0; j < bs; j++) sum += Math.abs(f32[bs * i + j]); out.push(sum / bs); }
      const mul = 1 / Math.max(...out);
      return out.map((n) => Math.floor(100 * n * mul));
    };
    const cases = [
      { what: 'png image', route: 'sendMedia', file: 'p.png', field: 'imageMessage',
        body: (b) => ({ mediatype: 'image', mimetype: 'image/png', media: b }), baileys: (buf) => ({ image: buf }) },
      { what: 'mp4 video', route: 'sendMedia', file: 'v.mp4', field: 'videoMessage',
        body: (b) => ({ mediatype: 'video', media: b }), baileys: (buf) => ({ video: buf }) },
      { what: 'voice note (wav converted)', route: 'sendWhatsAppAudio', file: 'a.wav', field: 'audioMessage',
        body: (b) => ({ audio: b }) },
      { what: 'animated sticker', route: 'sendSticker', file: 's.webp', field: 'stickerMessage',
        body: (b) => ({ sticker: b }) },
      { what: 'png sticker (converted)', route: 'sendSticker', file: 'p.png', field: 'stickerMessage',
        body: (b) => ({ sticker: b }) },
      { what: 'pdf document', route: 'sendMedia', file: 'd.pdf', field: 'documentMessage',
        body: (b) => ({ mediatype: 'document', fileName: 'two pages.pdf', media: b }) },
    ];
    for (const c of cases) {
      const bytes = fs.readFileSync(`${dir}/${c.file}`);
      r = await api('POST', `/message/${c.route}/m1`, { number: PEER_PHONE, ...c.body(bytes.toString('base64')) });
      dumpOnFail(r.status === 201, `${c.what}: ${c.route} 201 (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
      const got = await waitFor(() => peerMsgs.find((m) => m.key.id === r.json.key.id), 30000, c.what);
      dumpOnFail(got, `${c.what}: Baileys received it`);
      const mm = got.message[c.field];
      const buf = await Bl.downloadMediaMessage(got, 'buffer', {});
      if (c.field === 'imageMessage' || c.field === 'videoMessage') {
        const ref = await theirs(c.baileys(bytes));
        const refThumb = Buffer.from(ref.jpegThumbnail, 'base64');
        check(mm.jpegThumbnail?.length > 100 && (await dims(Buffer.from(mm.jpegThumbnail))) === (await dims(refThumb)),
          `${c.what}: jpegThumbnail is a JPEG of Baileys' size (${mm.jpegThumbnail?.length} bytes, ${mm.jpegThumbnail && await dims(Buffer.from(mm.jpegThumbnail))} vs ${await dims(refThumb)})`);
        check(mm.width === 320 * (c.field === 'imageMessage') + 160 * (c.field === 'videoMessage') &&
          mm.height === mm.width * 3 / 4, `${c.what}: width ${mm.width} height ${mm.height}`);
        if (c.field === 'imageMessage')
          check(mm.width === ref.width && mm.height === ref.height, `${c.what}: dimensions equal Baileys' (${ref.width}x${ref.height})`);
        else
          check(mm.seconds === 3, `${c.what}: seconds ${mm.seconds}`);
        check(Buffer.compare(buf, bytes) === 0, `${c.what}: bytes intact`);
      } else if (c.field === 'audioMessage') {
        check(mm.ptt === true && mm.mimetype === 'audio/ogg; codecs=opus', `${c.what}: ptt ${mm.ptt}, mimetype ${mm.mimetype}`);
        const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_streams', '-i', 'pipe:0'], { input: buf }));
        check(probe.streams[0]?.codec_name === 'opus' && probe.streams[0]?.channels === 1, `${c.what}: the file received is mono Opus (${probe.streams[0]?.codec_name})`);
        const dur = await Bl.getAudioDuration(buf);
        check(mm.seconds === Math.trunc(dur) && mm.seconds === 4, `${c.what}: seconds ${mm.seconds} = Baileys' ${dur}`);
        const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-ac', '1', '-f', 'f32le', 'pipe:1'], { input: buf, maxBuffer: 1 << 26 });
        const want = baileysWave(new Float32Array(pcm.buffer, pcm.byteOffset, pcm.length / 4));
        const wave = [...(mm.waveform ?? [])];
        check(wave.length === 64 && wave.every((v, i) => Math.abs(v - want[i]) <= 1) && Math.max(...wave) === 100 && wave[0] < wave[63],
          `${c.what}: waveform of 64 samples equals Baileys' algorithm (${wave.join(',')} vs ${want.join(',')})`);
      } else if (c.field === 'documentMessage') {
        // Baileys makes no document thumbnail; WhatsApp's apps show the first page
        check(mm.fileName === 'two pages.pdf' && mm.mimetype === 'application/pdf' && mm.pageCount === 2 &&
          mm.jpegThumbnail?.length > 100 && (await dims(Buffer.from(mm.jpegThumbnail))) === 'jpeg 32x16',
          `${c.what}: fileName, pageCount ${mm.pageCount}, first page as a JPEG thumbnail (${mm.jpegThumbnail && await dims(Buffer.from(mm.jpegThumbnail))})`);
        check(Buffer.compare(buf, bytes) === 0, `${c.what}: bytes intact`);
      } else if (c.file === 's.webp') {
        check(mm.isAnimated === true && mm.width === 64 && mm.height === 64 && mm.mimetype === 'image/webp',
          `${c.what}: isAnimated ${mm.isAnimated}, ${mm.width}x${mm.height}`);
        check(Buffer.compare(buf, bytes) === 0, `${c.what}: bytes intact`);
      } else {
        check(mm.isAnimated === false && mm.width === 320 && mm.height === 240 && mm.mimetype === 'image/webp' &&
          (await dims(buf)) === 'webp 320x240', `${c.what}: a static WebP ${mm.width}x${mm.height} (${await dims(buf)})`);
      }
    }
    // a voice note that is not audio: 400, nothing queued
    r = await api('POST', '/message/sendWhatsAppAudio/m1', { number: PEER_PHONE, audio: crypto.randomBytes(3000).toString('base64') });
    check(r.status === 400 && /could not be converted/.test(JSON.stringify(r.json)), `not audio: ${r.status} ${JSON.stringify(r.json?.response)}`);
  }

  // ---- media by URL (fetched under the webhook address rules) ----
  const fileBase = `http://127.0.0.1:${rx.address().port}`;
  for (const [what, body, field, want, bytes] of [
    ['document by URL', { mediatype: 'document', media: `${fileBase}/files/report.pdf`, caption: 'by url' }, 'documentMessage',
      { fileName: 'report.pdf', mimetype: 'application/pdf', caption: 'by url' }, files['/files/report.pdf'][0]],
    ['image by URL', { mediatype: 'image', media: `${fileBase}/files/pic` }, 'imageMessage',
      { mimetype: 'image/png' }, files['/files/pic'][0]],
  ]) {
    r = await api('POST', '/message/sendMedia/m1', { number: PEER_PHONE, ...body });
    dumpOnFail(r.status === 201, `${what}: 201 (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
    const got = await waitFor(() => peerMsgs.find((m) => m.key.id === r.json.key.id), 30000, what);
    dumpOnFail(got, `${what}: Baileys received it`);
    const mm = got.message[field];
    for (const [k, v] of Object.entries(want)) check(mm?.[k] === v, `${what}: ${k} = ${JSON.stringify(mm?.[k])}`);
    const buf = await Bl.downloadMediaMessage(got, 'buffer', {});
    check(Buffer.compare(buf, bytes) === 0, `${what}: Baileys decrypted the ${bytes.length} fetched bytes intact`);
  }

  // ---- bad input: 4xx, nothing queued ----
  const sentBefore = hooks.filter((h) => h.event === 'send.message').length;
  const bad = [
    ['base64 that does not decode', 'sendMedia', { mediatype: 'image', media: 'not base64!!' }, 400],
    ['a data: URI', 'sendMedia', { mediatype: 'image', media: 'data:image/png;base64,AAAA' }, 400],
    ['document without fileName', 'sendMedia', { mediatype: 'document', media: 'AAAA' }, 400],
    ['unknown mediatype', 'sendMedia', { mediatype: 'hologram', media: 'AAAA' }, 400],
    ['sticker over WhatsApp\'s limit', 'sendSticker', { sticker: crypto.randomBytes((1 << 20) + 3).toString('base64') }, 400],
    ['a URL that 404s', 'sendMedia', { mediatype: 'image', media: `${fileBase}/files/nope` }, 400],
    ['a URL that redirects (not followed)', 'sendMedia', { mediatype: 'document', fileName: 'x.pdf', media: `${fileBase}/files/moved` }, 400],
    ['a URL on a private address (SSRF rules)', 'sendMedia', { mediatype: 'image', media: 'http://10.255.255.1/x.png' }, 400],
    ['a URL with a private-looking name', 'sendMedia', { mediatype: 'image', media: 'http://169.254.169.254/latest' }, 400],
  ];
  for (const [what, route, body, st] of bad) {
    r = await api('POST', `/message/${route}/m1`, { number: PEER_PHONE, ...body });
    check(r.status === st, `${what}: ${r.status} ${JSON.stringify(r.json?.response?.message)}`);
  }
  await sleep(300);
  check(hooks.filter((h) => h.event === 'send.message').length === sentBefore, 'bad input queued nothing');
  const staged = (await import('node:fs')).readdirSync(`${data}/media`).filter((f) => f.startsWith('send-'));
  check(staged.length === 0, `no staged file left behind (${staged.join(',')})`);

  // ---- Baileys -> wamd, every kind ----
  const to = `${WAMD_PHONE}@s.whatsapp.net`;
  const recv = [
    ['image', { image: crypto.randomBytes(40000), mimetype: 'image/jpeg', caption: 'from baileys' }, 'imageMessage'],
    ['video', { video: crypto.randomBytes(90000), mimetype: 'video/mp4', caption: 'clip', seconds: 3 }, 'videoMessage'],
    ['audio', { audio: crypto.randomBytes(12000), mimetype: 'audio/mp4', seconds: 2 }, 'audioMessage'],
    ['voice note', { audio: crypto.randomBytes(11000), mimetype: 'audio/ogg; codecs=opus', ptt: true, seconds: 4 }, 'audioMessage'],
    ['document', { document: crypto.randomBytes(77777), mimetype: 'application/zip', fileName: 'a.zip', caption: 'zip' }, 'documentMessage'],
    ['sticker', { sticker: crypto.randomBytes(5000), mimetype: 'image/webp' }, 'stickerMessage'],
  ];
  for (const [what, content, field] of recv) {
    const bytes = content.image ?? content.video ?? content.audio ?? content.document ?? content.sticker;
    const sent = await peer.sock.sendMessage(to, content);
    const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === sent.key.id),
      30000, `${what} MESSAGES_UPSERT`);
    dumpOnFail(up, `${what}: MESSAGES_UPSERT`);
    check(up.data.messageType === field, `${what}: messageType ${up.data.messageType}`);
    const want = pbJson(sent.message)[field];
    const gotJ = up.data.message?.[field];
    check(JSON.stringify(gotJ) === JSON.stringify(want),
      `${what}: message.${field} equals Baileys' JSON (${JSON.stringify(gotJ)?.slice(0, 160)} vs ${JSON.stringify(want)?.slice(0, 160)})`);
    r = await api('POST', '/chat/getBase64FromMediaMessage/m1', { message: { key: { id: sent.key.id } }, convertToMp4: false });
    dumpOnFail(r.status === 201 && typeof r.json?.base64 === 'string', `${what}: getBase64FromMediaMessage 201 (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
    check(Buffer.compare(Buffer.from(r.json.base64, 'base64'), bytes) === 0, `${what}: getBase64FromMediaMessage gives the ${bytes.length} bytes back`);
    check(r.json.mediaType === field && r.json.mimetype === content.mimetype && r.json.size?.fileLength === String(bytes.length),
      `${what}: mediaType ${r.json.mediaType}, mimetype ${r.json.mimetype}, size ${JSON.stringify(r.json.size)}`);
    // wamd's own streaming route, whole and by Range
    let { res, body } = await media(`/wamd/media/m1?id=${sent.key.id}`, { apikey: KEY });
    check(res.status === 200 && Buffer.compare(body, bytes) === 0 && res.headers.get('content-type') === content.mimetype &&
      res.headers.get('accept-ranges') === 'bytes',
      `${what}: GET /wamd/media streams the ${bytes.length} bytes (${res.status}, ${res.headers.get('content-type')})`);
    ({ res, body } = await media(`/wamd/media/m1?id=${sent.key.id}`, { apikey: KEY, range: 'bytes=10-1033' }));
    check(res.status === 206 && Buffer.compare(body, bytes.subarray(10, 1034)) === 0 &&
      res.headers.get('content-range') === `bytes 10-1033/${bytes.length}`,
      `${what}: Range bytes=10-1033 gives 206 and those bytes (${res.status} ${res.headers.get('content-range')})`);
  }
  {
    // a client that stops reading for longer than lws' stage timeout (5 s)
    // mid-body still gets the whole file: the answer used to end there
    const big = crypto.randomBytes(24 << 20);
    const sent = await peer.sock.sendMessage(to, { document: big, mimetype: 'application/octet-stream', fileName: 'big.bin' });
    await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === sent.key.id), 60000, 'big MESSAGES_UPSERT');
    const got = await new Promise((resolve) => {
      const parts = [];
      let paused = false;
      const req = http.get(`http://127.0.0.1:${port}/wamd/media/m1?id=${sent.key.id}`, { headers: { apikey: KEY } }, (res) => {
        res.on('data', (d) => {
          parts.push(d);
          if (!paused) {
            paused = true;
            res.pause();
            setTimeout(() => res.resume(), 8000);
          }
        });
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }));
        res.on('error', (e) => resolve({ status: res.statusCode, body: Buffer.concat(parts), err: e.message }));
      });
      req.on('error', (e) => resolve({ status: 0, body: Buffer.concat(parts), err: e.message }));
    });
    check(got.status === 200 && Buffer.compare(got.body, big) === 0,
      `GET /wamd/media to a client that pauses 8 s: all ${big.length} bytes (${got.status}, ${got.body.length}${got.err ? `, ${got.err}` : ''})`);
  }
  {
    const last = recv[recv.length - 2]; // the document
    const id = hooks.filter((h) => h.event === 'messages.upsert' && h.data.message?.documentMessage?.fileName === 'a.zip').pop().data.key.id;
    let { res, body } = await media(`/wamd/media/m1?id=${id}`, { apikey: KEY, range: 'bytes=-7' });
    check(res.status === 206 && Buffer.compare(body, last[1].document.subarray(-7)) === 0, `suffix Range bytes=-7: ${res.status}`);
    ({ res } = await media(`/wamd/media/m1?id=${id}`, { apikey: KEY, range: 'bytes=99999999-' }));
    check(res.status === 416, `Range past the end: ${res.status}`);
    ({ res } = await media(`/wamd/media/m1?id=${id}`, { apikey: 'wrong' }));
    check(res.status === 401, `streaming route needs the key: ${res.status}`);
    ({ res } = await media('/wamd/media/m1?id=NOSUCHID', { apikey: KEY }));
    check(res.status === 404, `streaming route, unknown id: ${res.status}`);
    ({ res } = await media('/wamd/media/m1', { apikey: KEY }));
    check(res.status === 400, `streaming route without id: ${res.status}`);
    // a blob gone for good (expired, and the phone has nothing to upload
    // again: wamd_media_retry covers the recovery): a clear error, no file left
    const rec = hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === id).data;
    r = await sim.api('POST', '/_sim/media/expire', { url: rec.message.documentMessage.url, status: 410, delete: true });
    check(r.status === 200, 'wasim expired the document blob');
    r = await api('POST', '/chat/getBase64FromMediaMessage/m1', { message: { key: { id } } });
    check(r.status === 404 && /no longer on the server/.test(JSON.stringify(r.json)), `getBase64 of an expired blob: ${r.status} ${JSON.stringify(r.json?.response)}`);
    ({ res } = await media(`/wamd/media/m1?id=${id}`, { apikey: KEY }));
    check(res.status === 404, `streaming an expired blob: ${res.status}`);
    const leftDl = (await import('node:fs')).readdirSync(`${data}/media`).filter((f) => f.startsWith('dl-'));
    check(leftDl.length === 0, `no download file left behind (${leftDl.join(',')})`);
  }
  // a received message chooses the path, never the host: a url elsewhere
  // (here a local listener) must not be connected to. With a directPath the
  // blob comes from wasim's media host; without one it is refused.
  {
    let conns = 0;
    const trap = net.createServer((sk) => { conns++; sk.destroy(); });
    await new Promise((ok) => trap.listen(0, '127.0.0.1', ok));
    const evil = `https://127.0.0.1:${trap.address().port}`;
    for (const [what, keepPath] of [['forged url, real directPath', true], ['forged url, no directPath', false]]) {
      const bytes = crypto.randomBytes(30000);
      const prep = await Bl.prepareWAMessageMedia({ document: bytes, mimetype: 'application/pdf', fileName: 'f.pdf' },
        { upload: peer.sock.waUploadToServer });
      const dm = prep.documentMessage;
      dm.url = `${evil}${dm.directPath}`;
      if (!keepPath) dm.directPath = '';
      const mid = `3EB0${crypto.randomBytes(8).toString('hex').toUpperCase()}`;
      await peer.sock.relayMessage(to, { documentMessage: dm }, { messageId: mid });
      const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === mid), 30000, what);
      dumpOnFail(up, `${what}: MESSAGES_UPSERT`);
      r = await api('POST', '/chat/getBase64FromMediaMessage/m1', { message: { key: { id: mid } } });
      if (keepPath)
        dumpOnFail(r.status === 201 && Buffer.compare(Buffer.from(r.json.base64 ?? '', 'base64'), bytes) === 0,
          `${what}: downloaded from the media host intact (${r.status} ${JSON.stringify(r.json).slice(0, 160)})`);
      else
        check(r.status === 400 && /not on a WhatsApp media host/.test(JSON.stringify(r.json)),
          `${what}: refused with a clear error (${r.status} ${JSON.stringify(r.json?.response)})`);
    }
    await sleep(300);
    trap.close();
    check(conns === 0, `no connection was made to the forged url's host (${conns})`);
  }
  r = await api('POST', '/chat/getBase64FromMediaMessage/m1', { message: { key: { id: 'NOSUCHID' } } });
  check(r.status === 400, `getBase64FromMediaMessage of an unknown id: ${r.status}`);
  // a message in the body is never downloaded (its url would be the
  // caller's choice): a local listener must see no request
  {
    let hits = 0;
    const trap = http.createServer((q, s) => { hits++; s.end('x'); });
    await new Promise((ok) => trap.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${trap.address().port}/v/t62.7119-24/x.enc`;
    r = await api('POST', '/chat/getBase64FromMediaMessage/m1', { message: { key: { id: 'NOSUCHID2' },
      message: { documentMessage: { url, directPath: '/v/t62.7119-24/x.enc', mimetype: 'application/pdf',
        mediaKey: Buffer.alloc(32, 1).toString('base64'), fileLength: '1' } } } });
    await sleep(500);
    trap.close();
    check(r.status === 400 && JSON.stringify(r.json).includes('Message not found') && hits === 0,
      `a message in the body is not fetched (${r.status} ${JSON.stringify(r.json)}, ${hits} requests)`);
  }

  await checkRecordedAnswers(api, answers, check, [
    'POST /message/sendMedia/{instance}',
    'POST /message/sendWhatsAppAudio/{instance}',
    'POST /message/sendSticker/{instance}',
    'POST /chat/getBase64FromMediaMessage/{instance}',
    'GET /wamd/media/{instance}',
  ]);

  // ---- SIGKILL during an upload: exactly once after the restart ----
  const big = crypto.randomBytes(24 * 1024 * 1024 + 5);
  r = await api('POST', '/message/sendMedia/m1', { number: PEER_PHONE, mediatype: 'document', fileName: 'big.bin',
    mimetype: 'application/octet-stream', media: big.toString('base64') });
  dumpOnFail(r.status === 201, `big document accepted (${r.status})`);
  const bigId = r.json.key.id;
  const uploading = await waitFor(() => wamdLog.includes(`uploading ${bigId}`), 30000, 'upload start');
  dumpOnFail(uploading, 'the upload started');
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.on('exit', res));
  check(!peerMsgs.some((m) => m.key.id === bigId), 'nothing reached Baileys before the kill');
  // restarted where FFmpeg cannot be found (PATH is an empty folder)
  wamd = startWamd({ ...process.env, PATH: tmpDir('wamd-no-ffmpeg-') });
  dumpOnFail(await waitOpen(), 'instance open again after SIGKILL');
  const gotBig = await waitFor(() => peerMsgs.find((m) => m.key.id === bigId), 90000, 'big document at Baileys');
  dumpOnFail(gotBig, 'the document sent during the kill arrived after the restart');
  const buf = await Bl.downloadMediaMessage(gotBig, 'buffer', {});
  check(Buffer.compare(buf, big) === 0, `it is byte-identical (${big.length} bytes)`);
  await sleep(2000);
  check(peerMsgs.filter((m) => m.key.id === bigId).length === 1, 'and it arrived exactly once');
  // without FFmpeg an image still goes, without what FFmpeg would give, and the log says so
  {
    const png = (await import('node:child_process')).execFileSync('ffmpeg',
      ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48', '-frames:v', '1', '-f', 'image2', '-c:v', 'png', 'pipe:1']);
    r = await api('POST', '/message/sendMedia/m1', { number: PEER_PHONE, mediatype: 'image', mimetype: 'image/png', media: png.toString('base64') });
    dumpOnFail(r.status === 201, `no ffmpeg: image accepted (${r.status})`);
    const got = await waitFor(() => peerMsgs.find((m) => m.key.id === r.json.key.id), 30000, 'image without ffmpeg');
    dumpOnFail(got, 'no ffmpeg: the image arrived');
    const mm = got.message.imageMessage;
    check(!mm.jpegThumbnail?.length && !mm.width, `no ffmpeg: no thumbnail or width (${mm.jpegThumbnail?.length}, ${mm.width})`);
    check(Buffer.compare(await Bl.downloadMediaMessage(got, 'buffer', {}), png) === 0, 'no ffmpeg: image intact');
    check(/media sent without metadata FFmpeg could not give: no ffprobe\/ffmpeg: no width, height, seconds or jpegThumbnail/.test(wamdLog),
      'no ffmpeg: the warning names the missing fields');
  }
  const left = (await import('node:fs')).readdirSync(`${data}/media`);
  check(left.length === 0, `staged files removed once sent (${left.join(',')})`);
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
