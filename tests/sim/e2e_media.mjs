// wasim e2e (messaging 4): media through wasim's media host. Alice's stock
// Baileys uploads an encrypted document (media_conn → POST /mms/document/
// <token> on wasim's TLS port), Bob's Baileys receives the message and
// downloads and decrypts it from the URL in it: the bytes must match. The
// raw endpoints refuse a bad auth token, a token that is not the body's
// SHA-256, and unknown paths; Range requests get 206 (or 416); an expired
// blob answers 404/410; blobs are files in the state folder, so they are
// still there after wasim restarts. A blob larger than any request body
// wasim holds in memory (80 MiB) goes up and comes back intact, with
// wasim's peak RSS rising far less than its size (spooled and streamed). wasim's certificate is self-signed, so TLS
// verification is off in this process (as Baileys' own e2e tests do).
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { startWasim, pairByQr, check, watchdog, baileys, tmpDir } from './harness.mjs';
import { waitHistorySynced, goOnline, createAccount } from './e2e_msg_util.mjs';

watchdog(120);
// ASan's quarantine keeps up to 256 MiB of freed blocks (TLS records) mapped,
// which would hide whether wasim holds a blob whole: keep it small here
process.env.ASAN_OPTIONS = `${process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : ''}quarantine_size_mb=8`;
const t0 = Date.now();
const state = tmpDir('wasim-media-state-');
const sim = await startWasim(process.argv[2], { tls: true, state });
const A = '15550005001', B = '15550005002';
await createAccount(sim, A, 'Alice');
await createAccount(sim, B, 'Bob');
const a = await pairByQr(sim, A, 'alice');
const b = await pairByQr(sim, B, 'bob');
for (const [c, name] of [[a, 'Alice'], [b, 'Bob']]) {
  await waitHistorySynced(c);
  await goOnline(c, name);
}
const got = [];
b.sock.ev.on('messages.upsert', ({ messages }) => {
  for (const m of messages) if (!m.key.fromMe && m.message) got.push(m);
  b.poke();
});
const doc = crypto.randomBytes(100 * 1024 + 7);
const sent = await a.sock.sendMessage(`${B}@s.whatsapp.net`,
  { document: doc, mimetype: 'application/octet-stream', fileName: 'blob.bin' });
await b.waitFor(() => got.some((m) => m.key.id === sent.key.id), 20000, 'document message at bob');
const m = got.find((x) => x.key.id === sent.key.id);
const dm = m.message.documentMessage;
check(dm && dm.url.startsWith(`https://127.0.0.1:${sim.tls_port}/v/`) && dm.directPath.includes('?'),
  `document points at wasim's media host (${dm?.url})`);
const { B: Bl } = await baileys();
const buf = await Bl.downloadMediaMessage(m, 'buffer', {});
check(Buffer.compare(buf, doc) === 0, `bob downloaded and decrypted the ${doc.length}-byte document intact`);

// the raw endpoints
const base = `https://127.0.0.1:${sim.tls_port}`;
const body = Buffer.from('not really encrypted');
const tok = crypto.createHash('sha256').update(body).digest('base64url');
let r = await fetch(`${base}/mms/image/${tok}?auth=wrong&token=${tok}`, { method: 'POST', body });
check(r.status === 401, 'upload with a wrong auth token refused');
r = await fetch(`${base}/mms/image/${tok.slice(1)}A?auth=wasim-media-auth&token=x`, { method: 'POST', body });
check(r.status === 400, 'upload whose token is not the body hash refused');
r = await fetch(`${base}/mms/image/${tok}%3D?auth=wasim-media-auth&token=${tok}`, { method: 'POST', body });
check(r.status === 200, 'whatsmeow-style token with = padding accepted');
const j = await r.json();
r = await fetch(`${base}${j.direct_path}&hash=x&mms-type=image&__wa-mms=`);
check(r.status === 200 && Buffer.compare(Buffer.from(await r.arrayBuffer()), body) === 0,
  'direct_path with whatsmeow\'s extra query serves the blob');
r = await fetch(`${base}/v/t62.7118-24/nope.enc`);
check(r.status === 404, 'unknown media path: 404');
{
  const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${sim.proc.pid}/status`, 'utf8'))[1]) * 1024;
  const before = hwm();
  const SIZE = 80 << 20, piece = crypto.randomBytes(1 << 20);
  const h = crypto.createHash('sha256');
  for (let i = 0; i < 80; i++) h.update(piece);
  const btok = h.digest('base64url');
  const stream = Readable.from((function* () { for (let i = 0; i < 80; i++) yield piece; })());
  r = await fetch(`${base}/mms/document/${btok}?auth=wasim-media-auth&token=${btok}`,
    { method: 'POST', body: stream, duplex: 'half', headers: { 'content-length': String(SIZE) } });
  check(r.status === 200, `an 80 MiB upload is accepted (${r.status})`);
  const bj = await r.json();
  const dl = await fetch(`${base}${bj.direct_path}`);
  const h2 = crypto.createHash('sha256');
  let n = 0;
  for await (const c of dl.body) { h2.update(c); n += c.length; }
  check(dl.status === 200 && n === SIZE && h2.digest('base64url') === btok, `and comes back intact (${n} bytes)`);
  const rise = hwm() - before;
  check(rise < 24 << 20, `wasim's peak RSS rose ${(rise / 1048576).toFixed(1)} MiB for 80 MiB up and down`);
}

// Range on the document's blob
const blobUrl = `${base}${dm.directPath}`;
const whole = Buffer.from(await (await fetch(blobUrl)).arrayBuffer());
r = await fetch(blobUrl, { headers: { range: 'bytes=100-1123' } });
let part = Buffer.from(await r.arrayBuffer());
check(r.status === 206 && r.headers.get('content-range') === `bytes 100-1123/${whole.length}` &&
  Buffer.compare(part, whole.subarray(100, 1124)) === 0, `Range bytes=100-1123: 206 and those bytes (${r.status})`);
r = await fetch(blobUrl, { headers: { range: 'bytes=-10' } });
part = Buffer.from(await r.arrayBuffer());
check(r.status === 206 && Buffer.compare(part, whole.subarray(-10)) === 0, `suffix Range bytes=-10: ${r.status}`);
r = await fetch(blobUrl, { headers: { range: `bytes=${whole.length}-` } });
await r.arrayBuffer();
check(r.status === 416 && r.headers.get('content-range') === `bytes */${whole.length}`, `Range past the end: ${r.status}`);

// blobs are files in the state folder: a restarted wasim still serves them
await a.stop();
await b.stop();
check((await sim.stop()) === 0, 'wasim exited cleanly');
const sim2 = await startWasim(process.argv[2], { tls: true, state });
const base2 = `https://127.0.0.1:${sim2.tls_port}`;
r = await fetch(`${base2}${dm.directPath}`);
check(r.status === 200 && Buffer.compare(Buffer.from(await r.arrayBuffer()), whole) === 0,
  'the blob is served again after a wasim restart');
// the expiry fault
r = await sim2.api('POST', '/_sim/media/expire', { direct_path: dm.directPath, status: 410 });
check(r.status === 200, 'expire fault set');
r = await fetch(`${base2}${dm.directPath}`);
check(r.status === 410, `expired blob: ${r.status}`);
r = await sim2.api('POST', '/_sim/media/expire', { direct_path: '/v/nope', status: 410 });
check(r.status === 400, `expire of a path that is no blob: ${r.status}`);

console.log(`figures: ${doc.length}-byte document uploaded, delivered, downloaded; total ${Date.now() - t0} ms`);
check((await sim2.stop()) === 0, 'restarted wasim exited cleanly');
process.exit(0);
