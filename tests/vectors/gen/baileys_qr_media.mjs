// Generates tests/vectors/qr_payload.json and tests/vectors/media.json by
// running Baileys 7.0.0-rc14's own functions (buildPairingQRData,
// getMediaKeys, encryptedStream). Run by hand after `meson compile` with
// -Dinterop=enabled:
//   WA_NODE_MODULES=build/dev/tests/interop/node/node_modules \
//     node tests/vectors/gen/baileys_qr_media.mjs tests/vectors
// Keys are derived from fixed seeds (SHA-256 of a label) so reruns give the
// same QR file; encryptedStream draws its own random mediaKey, recorded.
import { createHash } from 'node:crypto';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadBaileys } from '../../interop/baileys.mjs';

const B = await loadBaileys();
const outDir = process.argv[2];
if (!outDir) throw new Error('usage: baileys_qr_media.mjs OUT_DIR');
const seed = (label) => createHash('sha256').update(label).digest();
const hex = (b) => Buffer.from(b).toString('hex');

// --- QR strings ---
const browsers = [
  ['Ubuntu', 'Chrome', '22.04.4'],
  ['Mac OS', 'Desktop', '14.4.1'],
  ['Windows', 'Desktop', '10.0.22631'],
  ['Ubuntu', 'Firefox', '1'],
  ['Mac OS', 'Safari', '17'],
  ['Linux', 'SomethingElse', '1'],
];
const qr = [];
for (let i = 0; i < browsers.length; i++) {
  const noise = seed(`qr noise ${i}`);
  const ident = seed(`qr identity ${i}`);
  const adv = seed(`qr adv ${i}`);
  // a ref shaped like the server's: "2@" + base64 text
  const ref = '2@' + seed(`qr ref ${i}`).toString('base64') + seed(`qr ref2 ${i}`).toString('base64').slice(0, 20);
  const str = B.buildPairingQRData(ref, noise.toString('base64'), ident.toString('base64'),
    adv.toString('base64'), browsers[i]);
  qr.push({ browser: browsers[i], platform: B.getCompanionPlatformId(browsers[i]), ref,
    noise: hex(noise), identity: hex(ident), adv: hex(adv), qr: str });
}
await writeFile(path.join(outDir, 'qr_payload.json'), JSON.stringify({
  generator: 'tests/vectors/gen/baileys_qr_media.mjs', baileys: '7.0.0-rc14',
  function: 'buildPairingQRData', cases: qr }, null, 1) + '\n');

// --- media ---
const mediaKey = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const types = ['image', 'sticker', 'video', 'gif', 'ptv', 'audio', 'ptt', 'document', 'md-msg-hist',
  'md-app-state', 'thumbnail-image', 'thumbnail-video', 'thumbnail-document', 'thumbnail-link',
  'payment-bg-image', 'product', 'biz-cover-photo'];
const keys = [];
for (const t of types) {
  const k = await B.getMediaKeys(mediaKey, t);
  keys.push({ type: t, info: B.hkdfInfoKey(t), mediaKey: hex(mediaKey), iv: hex(k.iv),
    cipherKey: hex(k.cipherKey), macKey: hex(k.macKey) });
}
const enc = [];
const sizes = [0, 1, 15, 16, 17, 22, 100, 4097];
for (const [i, n] of sizes.entries()) {
  const t = types[i % types.length];
  const pt = Buffer.alloc(n);
  for (let j = 0; j < n; j++) pt[j] = (j * 31 + i) & 0xff;
  const r = await B.encryptedStream(pt, t);
  const blob = await readFile(r.encFilePath);
  await unlink(r.encFilePath);
  enc.push({ type: t, mediaKey: hex(r.mediaKey), plaintext: hex(pt), blob: hex(blob),
    mac: hex(r.mac), fileSha256: hex(r.fileSha256), fileEncSha256: hex(r.fileEncSha256),
    fileLength: r.fileLength });
}
await writeFile(path.join(outDir, 'media.json'), JSON.stringify({
  generator: 'tests/vectors/gen/baileys_qr_media.mjs', baileys: '7.0.0-rc14',
  functions: 'getMediaKeys, hkdfInfoKey, encryptedStream', keys, encrypt: enc }, null, 1) + '\n');
console.log(`wrote ${qr.length} QR cases, ${keys.length} key expansions, ${enc.length} encryptions`);
