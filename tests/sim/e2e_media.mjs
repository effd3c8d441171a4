// wasim e2e (messaging 4): media through wasim's media host. Alice's stock
// Baileys uploads an encrypted document (media_conn → POST /mms/document/
// <token> on wasim's TLS port), Bob's Baileys receives the message and
// downloads and decrypts it from the URL in it: the bytes must match. The
// raw endpoints refuse a bad auth token, a token that is not the body's
// SHA-256, and unknown paths. wasim's certificate is self-signed, so TLS
// verification is off in this process (as Baileys' own e2e tests do).
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
import crypto from 'node:crypto';
import { startWasim, pairByQr, check, watchdog, baileys } from './harness.mjs';
import { waitHistorySynced, goOnline, createAccount } from './e2e_msg_util.mjs';

watchdog(60);
const t0 = Date.now();
const sim = await startWasim(process.argv[2], { tls: true });
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

console.log(`figures: ${doc.length}-byte document uploaded, delivered, downloaded; total ${Date.now() - t0} ms`);
await a.stop();
await b.stop();
check((await sim.stop()) === 0, 'wasim exited cleanly');
process.exit(0);
