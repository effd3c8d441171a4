// The media-retry exchange end to end (suite e2e): wasim with its HTTPS
// media host and simulated phones, a stock Baileys 7.0.0-rc14 peer, wamd
// driven only through its API.
//  Baileys sends images to wamd; wasim expires the blob (410). The download
//    routes ask wamd's own phone to upload it again (server-error receipt,
//    mediaretry notification) and answer the same bytes (SHA-256 checked);
//    the stored directPath and url change and survive a restart (no second
//    exchange after it); POST /wamd/mediaRetry asks for it explicitly.
//  The phone no longer has the file: 404 with a clear message. A
//    notification sealed under a wrong key is refused and the stored path
//    kept. A phone that does not answer: 504 after the bounded wait.
//  The other way: Baileys' own updateMediaMessage for an image wamd sent is
//    answered by its phone (wasim) and the new path downloads intact.
// argv: [node, script, wamd, wasim]
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // wasim's self-signed media host
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(280);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-mretry-key-9c2d41';
const WAMD_PHONE = '15550008881';
const PEER_PHONE = '15550008882';
const { B: Bl } = await baileys();

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
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
const waitFor = async (pred, ms, what) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await pred();
    if (v) return v;
    await sleep(50);
  }
  console.error(`# timed out waiting for ${what}`);
  return null;
};

const sim = await startWasim(wasimExe, { tls: true });
let r = await sim.api('POST', '/_sim/accounts', { phone: WAMD_PHONE });
check(r.status === 201, 'wasim account for wamd');
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });

const data = tmpDir('wamd-mretry-');
const port = await freePort();
const wamdArgs = ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--log-level', 'debug'];
let wamdLog = '';
const startWamd = () => {
  const p = spawn(wamdExe, wamdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
  return p;
};
let wamd = startWamd();
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
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
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-8000)); check(cond, msg); };
const waitOpen = async () => {
  for (let i = 0; i < 300; i++) {
    try { if ((await api('GET', '/instance/connectionState/m1')).json?.instance?.state === 'open') return true; } catch { /* starting */ }
    await sleep(100);
  }
  return false;
};
const stored = async (id) => {
  const f = await api('POST', '/chat/findMessages/m1', { where: { key: { id } } });
  return (f.json?.messages?.records ?? []).find((x) => x.key?.id === id)?.message?.imageMessage;
};
const phoneStats = async () => (await sim.api('POST', '/_sim/phone/mediaretry', { phone: WAMD_PHONE })).json;
const b64 = (id) => api('POST', '/chat/getBase64FromMediaMessage/m1', { message: { key: { id } } });
const to = `${WAMD_PHONE}@s.whatsapp.net`;
// Baileys sends an image to wamd; resolves to [id, bytes, stored imageMessage]
const receiveImage = async (what) => {
  const bytes = crypto.randomBytes(48000 + Math.floor(Math.random() * 1000));
  const sent = await peer.sock.sendMessage(to, { image: bytes, mimetype: 'image/jpeg', caption: what });
  const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === sent.key.id),
    30000, `${what} MESSAGES_UPSERT`);
  dumpOnFail(up, `${what}: MESSAGES_UPSERT`);
  const im = await stored(sent.key.id);
  dumpOnFail(im?.directPath && im?.mediaKey, `${what}: stored with directPath and mediaKey`);
  return [sent.key.id, bytes, im];
};

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  r = await api('POST', '/instance/create', {
    instanceName: 'm1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: `http://127.0.0.1:${rx.address().port}/hook`, enabled: true, events: ['MESSAGES_UPSERT'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/m1')).json.code;
  r = await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr });
  check(r.status === 200, 'simulated phone scanned the QR');
  dumpOnFail(await waitOpen(), 'instance open');

  // ---- an expired blob comes back through the phone ----
  const [id1, bytes1, im1] = await receiveImage('first');
  r = await sim.api('POST', '/_sim/media/expire', { direct_path: im1.directPath, status: 410 });
  check(r.status === 200, 'wasim expired the image blob (410)');
  const before = await phoneStats();
  const t0 = Date.now();
  r = await b64(id1);
  dumpOnFail(r.status === 201 && typeof r.json?.base64 === 'string',
    `getBase64 of the expired image: 201 (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
  check(sha(Buffer.from(r.json.base64 ?? '', 'base64')) === sha(bytes1),
    `the ${bytes1.length} bytes came back identical, SHA-256 checked (${Date.now() - t0} ms)`);
  let st = await phoneStats();
  check(st.requests === before.requests + 1 && st.uploads === before.uploads + 1,
    `the phone got one server-error receipt and uploaded once (${JSON.stringify(st)})`);
  check(/asked the phone to upload again/.test(wamdLog) && /new direct path stored/.test(wamdLog),
    'wamd logs the exchange and the stored path');
  const im1b = await stored(id1);
  check(im1b?.directPath && im1b.directPath !== im1.directPath, `the stored directPath changed (${im1b?.directPath})`);
  check(im1b?.url === `https://127.0.0.1:${sim.tls_port}${im1b?.directPath}`, `the stored url follows it (${im1b?.url})`);
  check(im1b?.mediaKey === im1.mediaKey && im1b?.fileSha256 === im1.fileSha256 && im1b?.caption === 'first',
    'the rest of the stored message is unchanged');

  // ---- the new path survives a restart: no second exchange ----
  wamd.kill('SIGTERM');
  await new Promise((res) => wamd.on('exit', res));
  wamd = startWamd();
  dumpOnFail(await waitOpen(), 'instance open again after a restart');
  check((await stored(id1))?.directPath === im1b.directPath, 'the new directPath is still stored after the restart');
  r = await b64(id1);
  check(r.status === 201 && sha(Buffer.from(r.json?.base64 ?? '', 'base64')) === sha(bytes1), `getBase64 after the restart: ${r.status}, intact`);
  check((await phoneStats()).requests === st.requests, 'served from the stored path, without asking the phone again');

  // ---- explicit: POST /wamd/mediaRetry, then the streaming route ----
  r = await api('POST', '/wamd/mediaRetry/m1', { key: { id: id1 } });
  dumpOnFail(r.status === 200 && r.json?.directPath && r.json.directPath !== im1b.directPath && r.json.messageType === 'imageMessage' &&
    r.json.id === id1 && r.json.fromMe === false && r.json.url === `https://127.0.0.1:${sim.tls_port}${r.json.directPath}`,
    `POST /wamd/mediaRetry: 200 with a new directPath (${r.status} ${JSON.stringify(r.json)})`);
  check((await stored(id1))?.directPath === r.json?.directPath, 'and it is stored');
  r = await sim.api('POST', '/_sim/media/expire', { direct_path: r.json?.directPath, status: 404 });
  check(r.status === 200, 'wasim expired that blob too (404)');
  {
    const res = await fetch(`http://127.0.0.1:${port}/wamd/media/m1?id=${id1}`, { headers: { apikey: KEY } });
    const body = Buffer.from(await res.arrayBuffer());
    check(res.status === 200 && sha(body) === sha(bytes1), `GET /wamd/media after a 404 blob: ${res.status}, intact`);
  }
  r = await api('POST', '/wamd/mediaRetry/m1', { key: { id: 'NOSUCHID' } });
  check(r.status === 404, `mediaRetry of an unknown id: ${r.status}`);
  r = await api('POST', '/wamd/mediaRetry/m1', { key: {} });
  check(r.status === 400, `mediaRetry without key.id: ${r.status}`);
  {
    const sent = await peer.sock.sendMessage(to, { text: 'just text' });
    await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === sent.key.id), 30000, 'text');
    r = await api('POST', '/wamd/mediaRetry/m1', { key: { id: sent.key.id } });
    check(r.status === 400 && /not of the media type/.test(JSON.stringify(r.json)), `mediaRetry of a text message: ${r.status}`);
  }

  // ---- the phone no longer has it: a clear 404 ----
  const [id2, , im2] = await receiveImage('second');
  r = await sim.api('POST', '/_sim/media/expire', { direct_path: im2.directPath, status: 410, delete: true });
  check(r.status === 200, 'wasim deleted the second blob');
  r = await b64(id2);
  check(r.status === 404 && /phone no longer has it/.test(JSON.stringify(r.json)),
    `getBase64 when the phone answers NOT_FOUND: ${r.status} ${JSON.stringify(r.json?.response)}`);
  r = await api('POST', '/wamd/mediaRetry/m1', { key: { id: id2 } });
  check(r.status === 404 && /phone no longer has it/.test(JSON.stringify(r.json)), `mediaRetry, NOT_FOUND: ${r.status}`);
  check((await stored(id2))?.directPath === im2.directPath, 'the stored path is kept');

  // ---- a notification that does not authenticate is refused ----
  const [id3, bytes3, im3] = await receiveImage('third');
  await sim.api('POST', '/_sim/media/expire', { direct_path: im3.directPath, status: 410 });
  r = await sim.api('POST', '/_sim/phone/mediaretry', { phone: WAMD_PHONE, answer: 'tamper' });
  check(r.status === 200, 'the phone answers under a wrong key now');
  r = await b64(id3);
  check(r.status === 400 && /media MAC verification failed/.test(JSON.stringify(r.json)),
    `getBase64 with a tampered notification: refused (${r.status} ${JSON.stringify(r.json?.response)})`);
  check((await stored(id3))?.directPath === im3.directPath, 'the tampered path was not stored');
  check(/the answer does not authenticate/.test(wamdLog), 'wamd logs the refusal');

  // ---- a phone that does not answer: 504 after the bounded wait ----
  await sim.api('POST', '/_sim/phone/mediaretry', { phone: WAMD_PHONE, answer: 'silent' });
  const t1 = Date.now();
  r = await api('POST', '/wamd/mediaRetry/m1', { key: { id: id3 } });
  const waited = Date.now() - t1;
  check(r.status === 504 && waited >= 29000 && waited < 45000, `mediaRetry without an answer: ${r.status} after ${waited} ms`);
  check((await api('GET', '/instance/connectionState/m1')).json?.instance?.state === 'open', 'the instance stayed open (the loop never blocked)');
  await sim.api('POST', '/_sim/phone/mediaretry', { phone: WAMD_PHONE, answer: 'upload' });
  r = await b64(id3);
  check(r.status === 201 && sha(Buffer.from(r.json?.base64 ?? '', 'base64')) === sha(bytes3), `and once the phone answers again: ${r.status}, intact`);

  // ---- the other way: Baileys' updateMediaMessage for media wamd sent ----
  {
    const bytes = crypto.randomBytes(30000);
    r = await api('POST', '/message/sendMedia/m1', { number: PEER_PHONE, mediatype: 'image', mimetype: 'image/png', media: bytes.toString('base64') });
    dumpOnFail(r.status === 201, `wamd sends an image (${r.status})`);
    const got = await waitFor(() => peerMsgs.find((m) => m.key.id === r.json.key.id), 30000, 'image at Baileys');
    dumpOnFail(got, 'Baileys received the image');
    const old = got.message.imageMessage.directPath;
    r = await sim.api('POST', '/_sim/media/expire', { direct_path: old, status: 410 });
    check(r.status === 200, 'wasim expired the blob wamd uploaded');
    let err = null;
    try { await Bl.downloadMediaMessage(got, 'buffer', {}); } catch (e) { err = e; }
    check(err, `Baileys' plain download fails (${err?.message})`);
    const upd = await Promise.race([peer.sock.updateMediaMessage(got), sleep(20000).then(() => null)]);
    check(upd && upd.message.imageMessage.directPath !== old, `Baileys' updateMediaMessage got a new path from its phone (${upd?.message?.imageMessage?.directPath})`);
    const buf = await Bl.downloadMediaMessage(got, 'buffer', {});
    check(sha(buf) === sha(bytes), 'and downloads the image intact from it');
  }

  await checkRecordedAnswers(api, answers, check, [
    'POST /wamd/mediaRetry/{instance}',
    'POST /chat/getBase64FromMediaMessage/{instance}',
  ]);
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
