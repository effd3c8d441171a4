// Interop: media encryption against Baileys 7.0.0-rc14.
//  1. Baileys' encryptedStream encrypts random files (0, 1, 15, 16, 17 bytes,
//     64 KiB + 1, 1 MiB, various media types); we decrypt through the
//     streaming API (pass 1 MAC + hashes, pass 2 plaintext) in various chunk
//     sizes and must get the file back. A flipped byte must be refused.
//  2. We encrypt random files; Baileys' getMediaKeys plus Node crypto check
//     the MAC, hashes and ciphertext, and Baileys' downloadEncryptedContent
//     (fed through a data: URL, no network) decrypts our blob.
// Driver (argv[2]) speaks the line protocol in media_driver.c.
import { spawn } from 'node:child_process';
import { createDecipheriv, createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import readline from 'node:readline';
import { loadBaileys } from './baileys.mjs';

const B = await loadBaileys();
const proc = spawn(process.argv[2], [], { stdio: ['pipe', 'pipe', 'inherit'] });
const rl = readline.createInterface({ input: proc.stdout, crlfDelay: Infinity });
const pending = [];
rl.on('line', (l) => pending.shift()(l));
const ask = (line) => new Promise((res) => { pending.push(res); proc.stdin.write(line + '\n'); });

let failures = 0;
let checks = 0;
const check = (cond, what) => { checks++; if (!cond) { failures++; console.error('FAIL:', what); } };
const hx = (b) => (b.length ? Buffer.from(b).toString('hex') : '-');
const unhx = (s) => (s === '-' ? Buffer.alloc(0) : Buffer.from(s, 'hex'));
const sha = (b) => createHash('sha256').update(b).digest();

const sizes = [0, 1, 15, 16, 17, 65537, 1 << 20];
const types = ['image', 'video', 'audio', 'document', 'sticker', 'ptt', 'md-msg-hist', 'md-app-state',
  'thumbnail-link', 'gif', 'ptv'];
const chunks = [1, 7, 16, 4096, 1 << 20];

// 1. Baileys encrypts, we decrypt
let n1 = 0;
for (const [i, size] of sizes.entries()) {
  for (let rep = 0; rep < 2; rep++) {
    const type = types[(i * 2 + rep) % types.length];
    const pt = randomBytes(size);
    const r = await B.encryptedStream(pt, type);
    const blob = await readFile(r.encFilePath);
    await unlink(r.encFilePath);
    const chunk = size > 100000 ? chunks[3 + rep] : chunks[(i + rep) % chunks.length];
    const got = await ask(`D ${type} ${hx(r.mediaKey)} ${hx(blob)} ${hx(r.fileEncSha256)} ${hx(r.fileSha256)} ${chunk}`);
    check(got.startsWith('OK ') && unhx(got.slice(3)).equals(pt),
      `decrypt Baileys ${type} ${size} B (chunk ${chunk}): ${got.slice(0, 40)}`);
    n1++;
    // flip one byte (ciphertext or MAC): MAC must fail; with the expected
    // fileEncSha256 the hash check fires first
    const bad = Buffer.from(blob);
    bad[randomInt(bad.length)] ^= 1 << randomInt(8);
    const r1 = await ask(`D ${type} ${hx(r.mediaKey)} ${hx(bad)} - - ${chunk}`);
    check(r1 === 'ERR WA_EMEDIA_MAC', `tampered ${type} ${size}: ${r1}`);
    const r2 = await ask(`D ${type} ${hx(r.mediaKey)} ${hx(bad)} ${hx(r.fileEncSha256)} - ${chunk}`);
    check(r2 === 'ERR WA_EMEDIA_HASH', `tampered+hash ${type} ${size}: ${r2}`);
    const r3 = await ask(`D ${type} ${hx(r.mediaKey)} ${hx(blob.subarray(0, blob.length - 1))} - - ${chunk}`);
    check(r3 === 'ERR WA_EMALFORMED', `truncated ${type} ${size}: ${r3}`);
    const wrong = Buffer.from(r.mediaKey);
    wrong[0] ^= 1;
    const r4 = await ask(`D ${type} ${hx(wrong)} ${hx(blob)} - - ${chunk}`);
    check(r4 === 'ERR WA_EMEDIA_MAC', `wrong key ${type} ${size}: ${r4}`);
  }
}

// 2. we encrypt, Baileys' keys + Node crypto and downloadEncryptedContent check
let n2 = 0;
for (const [i, size] of sizes.entries()) {
  for (let rep = 0; rep < 2; rep++) {
    const type = types[(i * 2 + rep + 5) % types.length];
    const pt = randomBytes(size);
    const mediaKey = randomBytes(32);
    const chunk = size > 100000 ? chunks[3 + rep] : chunks[(i + rep + 2) % chunks.length];
    const line = await ask(`E ${type} ${hx(mediaKey)} ${hx(pt)} ${chunk}`);
    const [blobHex, macHex, fileShaHex, encShaHex, lenStr] = line.split(' ');
    const blob = unhx(blobHex);
    const k = await B.getMediaKeys(mediaKey, type);
    const ct = blob.subarray(0, blob.length - 10);
    const mac = createHmac('sha256', k.macKey).update(k.iv).update(ct).digest().subarray(0, 10);
    check(mac.equals(blob.subarray(blob.length - 10)) && mac.equals(unhx(macHex)), `mac ${type} ${size}`);
    check(unhx(fileShaHex).equals(sha(pt)) && unhx(encShaHex).equals(sha(blob)) && Number(lenStr) === size,
      `hashes/length ${type} ${size}`);
    const d = createDecipheriv('aes-256-cbc', k.cipherKey, k.iv);
    const back = Buffer.concat([d.update(ct), d.final()]);
    check(back.equals(pt), `node decrypt ${type} ${size}`);
    const stream = await B.downloadEncryptedContent(
      `data:application/octet-stream;base64,${blob.toString('base64')}`, k);
    const parts = [];
    for await (const p of stream) parts.push(p);
    check(Buffer.concat(parts).equals(pt), `Baileys downloadEncryptedContent ${type} ${size}`);
    n2++;
  }
}

proc.stdin.end();
await new Promise((res) => proc.on('exit', res));
console.log(`media interop: ${checks} checks; ${n1} Baileys blobs decrypted by us, ${n2} of ours by Baileys; ${failures} failures`);
process.exit(failures ? 1 : 0);
