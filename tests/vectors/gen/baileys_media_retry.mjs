// Generates tests/vectors/media_retry.json with Baileys 7.0.0-rc14's own
// media-retry functions: encryptMediaRetryRequest (the receiver's
// server-error receipt; it draws a random IV, recorded) and, for the
// phone's answer, hkdf + aesEncryptGCM + proto.MediaRetryNotification as
// decryptMediaRetryData undoes them (each answer is checked through
// decodeMediaRetryNode and decryptMediaRetryData before it is written).
// Run by hand after `meson compile` with -Dinterop=enabled:
//   WA_NODE_MODULES=build/test/tests/interop/node/node_modules \
//     node tests/vectors/gen/baileys_media_retry.mjs tests/vectors
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadBaileys } from '../../interop/baileys.mjs';

const B = await loadBaileys();
const outDir = process.argv[2];
if (!outDir) throw new Error('usage: baileys_media_retry.mjs OUT_DIR');
const seed = (label) => createHash('sha256').update(label).digest();
const hex = (b) => Buffer.from(b).toString('hex');
const INFO = 'WhatsApp Media Retry Notification';
const child = (n, tag) => n.content.find((c) => c.tag === tag);

const meId = '15550001111:7@s.whatsapp.net';
const keys = [
  { id: '3EB0A1B2C3D4E5F60718', remoteJid: '15550002222@s.whatsapp.net', fromMe: false },
  { id: '3A5F1E2D3C4B5A697887', remoteJid: '120363000000000001@g.us', fromMe: false,
    participant: '15550003333@s.whatsapp.net' },
  { id: 'ABCDEF0123456789ABCDEF0123456789', remoteJid: '15550002222@s.whatsapp.net', fromMe: true },
];

const requests = [];
for (const [i, key] of keys.entries()) {
  const mediaKey = seed(`media retry key ${i}`);
  const node = B.encryptMediaRetryRequest(key, mediaKey, meId);
  const enc = child(node, 'encrypt');
  const rmr = child(node, 'rmr');
  const retryKey = B.hkdf(mediaKey, 32, { info: INFO });
  requests.push({
    mediaKey: hex(mediaKey), retryKey: hex(retryKey), key,
    attrs: node.attrs,
    rmr: Object.fromEntries(Object.entries(rmr.attrs).filter(([, v]) => v !== undefined)),
    iv: hex(child(enc, 'enc_iv').content), enc_p: hex(child(enc, 'enc_p').content),
  });
}

const results = [
  [1, '/v/t62.7118-24/12345678_123456789012345_1234567890123456789_n.enc?ccb=11-4&oh=01_Q5AaI&oe=68000000&_nc_sid=5e03e0'],
  [2, undefined],
  [3, undefined],
  [0, undefined],
];
const answers = [];
for (const [i, [result, directPath]] of results.entries()) {
  const key = keys[i % keys.length];
  const mediaKey = seed(`media retry answer key ${i}`);
  const iv = seed(`media retry answer iv ${i}`).subarray(0, 12);
  const msg = { stanzaId: key.id, result };
  if (directPath) msg.directPath = directPath;
  const pt = B.proto.MediaRetryNotification.encode(msg).finish();
  const retryKey = B.hkdf(mediaKey, 32, { info: INFO });
  const ct = B.aesEncryptGCM(pt, retryKey, iv, Buffer.from(key.id));
  const node = { tag: 'notification', attrs: { from: '15550001111@s.whatsapp.net', type: 'mediaretry', id: key.id },
    content: [
      { tag: 'encrypt', attrs: {}, content: [{ tag: 'enc_p', attrs: {}, content: ct }, { tag: 'enc_iv', attrs: {}, content: iv }] },
      { tag: 'rmr', attrs: { jid: key.remoteJid, from_me: String(!!key.fromMe) } },
    ] };
  const ev = B.decodeMediaRetryNode(node);
  const back = B.decryptMediaRetryData(ev.media, mediaKey, ev.key.id);
  if (back.stanzaId !== key.id || back.result !== result || (back.directPath || undefined) !== directPath) {
    throw new Error(`answer ${i} does not round-trip through Baileys`);
  }
  answers.push({ mediaKey: hex(mediaKey), key, result, directPath: directPath ?? '', iv: hex(iv), enc_p: hex(ct) });
}

await writeFile(path.join(outDir, 'media_retry.json'), JSON.stringify({
  generator: 'tests/vectors/gen/baileys_media_retry.mjs', baileys: '7.0.0-rc14',
  functions: 'encryptMediaRetryRequest, decodeMediaRetryNode, decryptMediaRetryData, hkdf, aesEncryptGCM',
  meId, requests, answers }, null, 1) + '\n');
