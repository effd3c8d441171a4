// wamd media with wasim's phone (suite e2e): no Baileys socket, only the
// simulated phone of a second account, which encrypts and uploads media as
// the real phone does and downloads and verifies (MAC, both hashes, length)
// every media message it receives.
//  wamd -> phone: image, video, audio, voice note, document and sticker
//    through the API; the phone's recorded SHA-256 equals the sent file's,
//    and wamd's own phone verified the device-sent copy too.
//  phone -> wamd: each kind arrives as MESSAGES_UPSERT whose message equals
//    Baileys' proto JSON of what the phone sent, field by field, with
//    Evolution's key / messageType / pushName; getBase64FromMediaMessage and
//    GET /wamd/media give the bytes back.
// argv: [node, script, wamd, wasim]
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { startWasim, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { freePort, hookReceiver, waitFor } from './e2e_daemon_util.mjs';

watchdog(120);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-media-phone-key-19c2';
const WAMD_PHONE = '15550007781';
const PEER_PHONE = '15550007782';
const { B: Bl } = await baileys();
const { proto } = Bl;
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const hex2b64 = (h) => Buffer.from(h, 'hex').toString('base64');

const { hooks, url: hookUrl, server: rx } = await hookReceiver();
// media over 100,000 bytes (the video, the document) is checked by the phone
// in slices between other work, as a 1 GiB file is
const sim = await startWasim(wasimExe, { tls: true, extra: ['--phone-media-inline', '100000'] });
for (const phone of [WAMD_PHONE, PEER_PHONE]) {
  const r = await sim.api('POST', '/_sim/accounts', { phone, push_name: phone === PEER_PHONE ? 'Phone Peer' : undefined });
  check(r.status === 201, `wasim account ${phone}`);
}
const data = tmpDir('wamd-media-phone-');
const port = await freePort();
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  let json = null;
  try { json = t ? JSON.parse(t) : null; } catch { json = { raw: t }; }
  return { status: res.status, json };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-6000)); check(cond, msg); };
// the phone's record of message id (kind: message, dsm, sent), polled
const phoneRecord = async (phone, id, kind, what) => {
  for (const end = Date.now() + 30000; Date.now() < end; await sleep(100)) {
    const r = await sim.api('GET', `/_sim/accounts/${phone}/messages`);
    const m = r.json?.messages?.find((x) => x.id === id && x.kind === kind);
    if (m && !m.media?.pending) return m;
  }
  console.error(`# timed out waiting for ${what}`);
  return null;
};

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  let r = await api('POST', '/instance/create', {
    instanceName: 'p1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_UPSERT'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  r = await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr: r.json.qrcode.code });
  check(r.status === 200, 'the phone scanned the QR');
  let open = false;
  for (let i = 0; i < 300 && !open; i++, await sleep(100))
    open = (await api('GET', '/instance/connectionState/p1')).json?.instance?.state === 'open';
  dumpOnFail(open, 'instance open');

  // ---- wamd -> phone ----
  const sends = [
    ['image', 'sendMedia', (b) => ({ mediatype: 'image', mimetype: 'image/png', caption: 'pic', media: b }),
      { kind: 'image', mimetype: 'image/png', caption: 'pic' }, 60001],
    ['video', 'sendMedia', (b) => ({ mediatype: 'video', caption: 'film', media: b }),
      { kind: 'video', mimetype: 'video/mp4', caption: 'film' }, 200003],
    ['audio', 'sendMedia', (b) => ({ mediatype: 'audio', mimetype: 'audio/mpeg', media: b }),
      { kind: 'audio', mimetype: 'audio/mpeg' }, 20000],
    ['voice note', 'sendWhatsAppAudio', (b) => ({ audio: b, encoding: false }),
      { kind: 'ptt', mimetype: 'audio/ogg; codecs=opus' }, 15000],
    ['document', 'sendMedia', (b) => ({ mediatype: 'document', fileName: 'r.pdf', caption: 'doc', media: b }),
      { kind: 'document', mimetype: 'application/pdf', file_name: 'r.pdf', caption: 'doc' }, 123457],
    ['sticker', 'sendSticker', (b) => ({ sticker: b }), { kind: 'sticker', mimetype: 'image/webp' }, 9000],
  ];
  for (const [what, route, body, want, size] of sends) {
    const bytes = crypto.randomBytes(size);
    r = await api('POST', `/message/${route}/p1`, { number: PEER_PHONE, ...body(bytes.toString('base64')) });
    dumpOnFail(r.status === 201, `${what}: ${route} 201 (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
    const id = r.json.key.id;
    const got = await phoneRecord(PEER_PHONE, id, 'message', `${what} at the phone`);
    dumpOnFail(got?.media, `${what}: the peer's phone received it as media (${JSON.stringify(got)})`);
    check(got.media.verified === true && got.media.sha256 === sha(bytes) && got.media.file_length === size,
      `${what}: the phone downloaded and verified it, SHA-256 = the sent file's (${JSON.stringify(got.media)})`);
    for (const [k, v] of Object.entries(want))
      check(got.media[k] === v, `${what}: the phone sees ${k} = ${JSON.stringify(got.media[k])}`);
    const own = await phoneRecord(WAMD_PHONE, id, 'dsm', `${what} copy at wamd's phone`);
    check(own?.media?.verified === true && own.media.sha256 === sha(bytes),
      `${what}: wamd's own phone verified its device-sent copy (${JSON.stringify(own?.media)})`);
  }

  // a blob gone from the host by the time the phone fetches it: recorded
  // with the reason, never as verified
  {
    r = await sim.api('POST', '/_sim/phone/offline', { phone: PEER_PHONE, on: true });
    check(r.status === 200, 'the peer\'s phone is offline');
    r = await api('POST', '/message/sendMedia/p1', { number: PEER_PHONE, mediatype: 'document', fileName: 'x.bin',
      media: crypto.randomBytes(5000).toString('base64') });
    dumpOnFail(r.status === 201, 'document for the offline phone: 201');
    const id = r.json.key.id;
    const own = await phoneRecord(WAMD_PHONE, id, 'dsm', 'the copy at wamd\'s phone');
    check(own?.media?.verified === true && own.media.direct_path, 'wamd\'s phone has the copy and its direct path');
    r = await sim.api('POST', '/_sim/media/expire', { direct_path: own.media.direct_path, status: 410 });
    check(r.status === 200, 'the blob expired (410)');
    r = await sim.api('POST', '/_sim/phone/offline', { phone: PEER_PHONE, on: false });
    const got = await phoneRecord(PEER_PHONE, id, 'message', 'the expired document at the phone');
    check(got?.media && got.media.verified === false && got.media.error === 'the media host answered 410' && !got.media.sha256,
      `the phone recorded the failed download, not a SHA-256 (${JSON.stringify(got?.media)})`);
  }

  // ---- phone -> wamd ----
  const recv = [
    ['image', { kind: 'image', mimetype: 'image/jpeg', caption: 'from the phone', width: 640, height: 480,
      thumbnail: crypto.randomBytes(300).toString('base64') }, 'imageMessage', 40000],
    ['video', { kind: 'video', caption: 'clip', seconds: 3, width: 320, height: 240 }, 'videoMessage', 90000],
    ['audio', { kind: 'audio', mimetype: 'audio/mp4', seconds: 2 }, 'audioMessage', 12000],
    ['voice note', { kind: 'ptt', seconds: 4, waveform: Buffer.from([...Array(64).keys()]).toString('base64') }, 'audioMessage', 11000],
    ['document', { kind: 'document', mimetype: 'application/zip', file_name: 'a.zip', caption: 'zip', page_count: 0 }, 'documentMessage', 77777],
    ['sticker', { kind: 'sticker', width: 512, height: 512, animated: true }, 'stickerMessage', 5000],
  ];
  for (const [what, media, field, size] of recv) {
    const bytes = crypto.randomBytes(size);
    r = await sim.api('POST', '/_sim/phone/send', { phone: PEER_PHONE, to: WAMD_PHONE, media: { ...media, data: bytes.toString('base64') } });
    check(r.status === 200 && r.json.id, `${what}: the phone sent it (${r.status} ${JSON.stringify(r.json)})`);
    const id = r.json.id;
    const sent = await phoneRecord(PEER_PHONE, id, 'sent', `${what} sent record`);
    check(sent?.media?.sha256 === sha(bytes), `${what}: the phone recorded the file's SHA-256`);
    const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === id), 30000, `${what} MESSAGES_UPSERT`);
    dumpOnFail(up, `${what}: MESSAGES_UPSERT`);
    const d = up.data;
    check(d.messageType === field && d.key.remoteJid === `${PEER_PHONE}@s.whatsapp.net` && d.key.fromMe === false &&
      d.pushName === 'Phone Peer' && Number(d.messageTimestamp) > 0 && d.instanceId && d.source,
      `${what}: Evolution's key, messageType, pushName, messageTimestamp, instanceId, source (${JSON.stringify({ ...d, message: undefined })})`);
    // what the phone sent, as Baileys' proto renders it
    const sm = sent.media;
    const o = { url: sm.url, directPath: sm.direct_path, mimetype: sm.mimetype, mediaKey: Buffer.from(sm.media_key, 'hex'),
      fileSha256: Buffer.from(sm.sha256, 'hex'), fileEncSha256: Buffer.from(sm.enc_sha256, 'hex'), fileLength: size,
      mediaKeyTimestamp: sm.media_key_timestamp };
    if (media.caption) o.caption = media.caption;
    if (field === 'imageMessage') Object.assign(o, { width: 640, height: 480, jpegThumbnail: Buffer.from(media.thumbnail, 'base64') });
    if (field === 'videoMessage') Object.assign(o, { seconds: 3, width: 320, height: 240 });
    if (field === 'audioMessage') Object.assign(o, { seconds: media.seconds, ptt: media.kind === 'ptt' },
      media.waveform ? { waveform: Buffer.from(media.waveform, 'base64') } : {});
    if (field === 'documentMessage') Object.assign(o, { fileName: 'a.zip', title: 'a.zip' });
    if (field === 'stickerMessage') Object.assign(o, { width: 512, height: 512, isAnimated: true });
    const want = proto.Message.fromObject({ [field]: o }).toJSON()[field];
    const gotJ = d.message?.[field];
    const keys = [...new Set([...Object.keys(want), ...Object.keys(gotJ ?? {})])].sort();
    const diff = keys.filter((k) => JSON.stringify(want[k]) !== JSON.stringify(gotJ?.[k]));
    check(diff.length === 0, `${what}: message.${field} equals Baileys' proto JSON field by field (differ: ${diff.map((k) => `${k}: ${JSON.stringify(gotJ?.[k])?.slice(0, 60)} vs ${JSON.stringify(want[k])?.slice(0, 60)}`).join('; ')})`);
    r = await api('POST', '/chat/getBase64FromMediaMessage/p1', { message: { key: { id } } });
    dumpOnFail(r.status === 201 && Buffer.compare(Buffer.from(r.json?.base64 ?? '', 'base64'), bytes) === 0,
      `${what}: getBase64FromMediaMessage gives the ${size} bytes back (${r.status})`);
    const res = await fetch(`http://127.0.0.1:${port}/wamd/media/p1?id=${id}`, { headers: { apikey: KEY } });
    const body = Buffer.from(await res.arrayBuffer());
    check(res.status === 200 && Buffer.compare(body, bytes) === 0 && res.headers.get('content-type') === sm.mimetype,
      `${what}: GET /wamd/media streams the same bytes (${res.status}, ${res.headers.get('content-type')})`);
  }

  // webhook base64 of a file bigger than a store record (256 KiB): the
  // event is queued and carries the whole file (it used to be dropped)
  {
    r = await api('POST', '/webhook/set/p1', { webhook: { enabled: true, url: hookUrl, base64: true, events: ['MESSAGES_UPSERT'] } });
    check(r.status === 201 && r.json.webhookBase64 === true, `webhook base64 on (${r.status})`);
    const bytes = crypto.randomBytes(1 << 20);
    r = await sim.api('POST', '/_sim/phone/send', { phone: PEER_PHONE, to: WAMD_PHONE, media: { kind: 'image', data: bytes.toString('base64') } });
    check(r.status === 200, 'a 1 MiB image from the phone');
    const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === r.json.id), 30000, 'the base64 event');
    dumpOnFail(up && Buffer.compare(Buffer.from(up.data.message?.base64 ?? '', 'base64'), bytes) === 0,
      `its MESSAGES_UPSERT carries the 1 MiB file as base64 (${up?.data?.message?.base64?.length} chars)`);
  }

  // bad media bodies
  r = await sim.api('POST', '/_sim/phone/send', { phone: PEER_PHONE, to: WAMD_PHONE, media: { kind: 'hologram', data: 'AAAA' } });
  check(r.status === 400 && /kind/.test(r.json?.error), `unknown media kind: 400 (${r.status} ${JSON.stringify(r.json)})`);
  r = await sim.api('POST', '/_sim/phone/send', { phone: PEER_PHONE, to: WAMD_PHONE, media: { kind: 'image' } });
  check(r.status === 400, `media without data: 400 (${r.status})`);
  r = await sim.api('POST', '/_sim/phone/send', { phone: PEER_PHONE, to: WAMD_PHONE, media: { kind: 'image', data: '!!' } });
  check(r.status === 400, `media data that is not base64: 400 (${r.status})`);
} finally {
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
  rx.close();
  await sim.stop();
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
process.exit(0);
