// A paced media reply end to end (suite e2e), on wamd's test clock
// (WAMD_TEST_CLOCK_MS; POST /wamd/testClock moves it): sendMedia with
// `quoted`, held by pacing (201 PENDING), survives a SIGKILL restart and,
// released at its time, reaches an unmodified Baileys peer with the
// contextInfo quoting the right message (stanzaId, participant,
// quotedMessage), the same contextInfo as the route's answer. A held text
// quoting the peer's image by id leaves after the restart with the image
// itself as its quotedMessage (kept with the held send).
// argv: [node, script, wamd, wasim]
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // wasim's self-signed media host (the peer's download)
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { freePort, waitFor } from './e2e_daemon_util.mjs';

watchdog(100);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-pace-quote-key-2b81';
const W = '15550013000';
const PEER = '15550013001';
const PEER_JID = `${PEER}@s.whatsapp.net`;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const { B } = await baileys();

const sim = await startWasim(wasimExe, { tls: true }); // media uploads go over HTTPS
check((await sim.api('POST', '/_sim/accounts', { phone: W })).status === 201, 'wasim account for wamd');
const peer = await pairByQr(sim, PEER, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) if (!m.key.fromMe) peerMsgs.push(m); });
const peerGot = (id, ms = 20000) => waitFor(() => peerMsgs.find((m) => m.key.id === id), ms, `the peer receives ${id}`);

const data = tmpDir('wamd-pace-quote-');
const port = await freePort();
let wamdLog = '';
const startWamd = (clockMs) => {
  const env = { ...process.env, WAMD_PACING: 'on', WAMD_TEST_CLOCK_MS: String(clockMs) };
  const p = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  p.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
  return p;
};
let wamd = startWamd(T0);
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  return { status: res.status, json: t ? JSON.parse(t) : null };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-8000)); check(cond, msg); };
const up = async () => {
  for (let i = 0; i < 200; i++) {
    try { if ((await api('GET', '/')).status === 200) return; } catch { /* not yet */ }
    await sleep(50);
  }
  check(false, 'wamd answers');
};
const waitOpen = async () => {
  for (let i = 0; i < 300; i++) {
    if ((await api('GET', '/instance/connectionState/pq')).json?.instance?.state === 'open') return true;
    await sleep(100);
  }
  return false;
};
const pbJson = (m) => B.proto.Message.toObject(B.proto.Message.fromObject(m),
  { longs: String, enums: String, bytes: String, json: true });
const canon = (v) => (Array.isArray(v) ? v.map(canon)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
const sameJson = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));

try {
  await up();
  let r = await api('POST', '/instance/create', { instanceName: 'pq', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/pq')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: W, qr })).status === 200, 'QR scanned');
  dumpOnFail(await waitOpen(), 'wamd open');
  r = await api('POST', '/wamd/pace/pq', { perMinute: 1, typing: false });
  check(r.status === 201, `1/min, no typing (${r.status})`);

  // two messages from the peer: the reply must quote the second, not the first
  const other = await peer.sock.sendMessage(`${W}@s.whatsapp.net`, { text: 'not this one' });
  const target = await peer.sock.sendMessage(`${W}@s.whatsapp.net`, { text: 'reply to this' });
  let have = false;
  for (let i = 0; i < 200 && !have; i++) {
    have = (await api('POST', '/chat/findMessages/pq', { where: { key: { id: target.key.id } } })).json?.messages?.records?.length === 1;
    if (!have) await sleep(100);
  }
  dumpOnFail(have && other.key.id !== target.key.id, 'the peer\'s messages are stored');
  const imgMsg = { imageMessage: { url: 'https://mmg.whatsapp.net/v/t62.7118-24/pq.enc', mimetype: 'image/jpeg',
    fileSha256: Buffer.alloc(32, 4), fileLength: 4321, mediaKey: Buffer.alloc(32, 5), fileEncSha256: Buffer.alloc(32, 6),
    directPath: '/v/t62.7118-24/pq.enc', mediaKeyTimestamp: 1790000000, caption: 'a photo',
    jpegThumbnail: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 9, 0xff, 0xd9]) } };
  const imgId = await peer.sock.relayMessage(`${W}@s.whatsapp.net`, imgMsg, {});
  have = false;
  for (let i = 0; i < 200 && !have; i++) {
    have = (await api('POST', '/chat/findMessages/pq', { where: { key: { id: imgId } } })).json?.messages?.records?.length === 1;
    if (!have) await sleep(100);
  }
  dumpOnFail(have, 'the peer\'s image is stored');

  // a text first takes the minute's slot (a new number's warm-up may hold it too): the reply is held
  r = await api('POST', '/message/sendText/pq', { number: PEER, text: 'one moment' });
  dumpOnFail(r.status === 201, `the first text answered (${r.status} ${r.json?.status})`);
  const textId = r.json.key.id;
  const img = crypto.randomBytes(2500);
  const rImg = await api('POST', '/message/sendMedia/pq', { number: PEER, mediatype: 'image', mimetype: 'image/png',
    caption: 'here it is', media: img.toString('base64'),
    quoted: { key: { id: target.key.id, remoteJid: PEER_JID, fromMe: false }, message: { conversation: 'reply to this' } } });
  dumpOnFail(rImg.status === 201 && rImg.json.status === 'PENDING' && rImg.json.messageType === 'imageMessage',
    `sendMedia with quoted held: 201 PENDING (${rImg.status} ${JSON.stringify(rImg.json)?.slice(0, 300)})`);
  const want = { stanzaId: target.key.id, participant: PEER_JID, quotedMessage: { conversation: 'reply to this' } };
  const answered = rImg.json.message.imageMessage.contextInfo;
  check(sameJson(answered, want), `the answer's contextInfo quotes the peer's second message (${JSON.stringify(answered)})`);
  const q = (await api('GET', '/wamd/paceQueue/pq')).json;
  const due = q?.messages?.find((x) => x.id === rImg.json.key.id)?.expectedAtMs;
  check(due > T0, `the reply waits in the queue (${JSON.stringify(q)?.slice(0, 300)})`);
  const rTxt = await api('POST', '/message/sendText/pq', { number: PEER, text: 'what a photo', quoted: { key: { id: imgId } } });
  dumpOnFail(rTxt.status === 201, `a text quoting the image by id: 201 (${rTxt.status})`);
  const q2 = (await api('GET', '/wamd/paceQueue/pq')).json;
  const dueTxt = q2?.messages?.find((x) => x.id === rTxt.json.key.id)?.expectedAtMs;
  check(dueTxt > due, `the text waits after the image (${JSON.stringify(q2)?.slice(0, 300)})`);
  await sleep(300);
  check(!peerMsgs.some((m) => m.key.id === rImg.json.key.id || m.key.id === rTxt.json.key.id), 'the held replies have not reached the peer');

  // across a SIGKILL, then released at its time
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.once('exit', res));
  wamd = startWamd(T0);
  await up();
  dumpOnFail(await waitOpen(), 'wamd open again after SIGKILL');
  check((await api('GET', '/wamd/paceQueue/pq')).json?.messages?.find((x) => x.id === rImg.json.key.id)?.expectedAtMs === due,
    'still held after the restart, at the same time');
  r = await api('POST', '/wamd/testClock', { nowMs: due });
  dumpOnFail(r.status === 200 && r.json.released?.at(-1)?.id === rImg.json.key.id && r.json.released.at(-1).atMs === due,
    `released at its time (${r.status} ${JSON.stringify(r.json)?.slice(0, 300)})`);
  dumpOnFail(await peerGot(textId), 'the peer got the first text');
  const got = await peerGot(rImg.json.key.id);
  const theirs = got && pbJson(got.message).imageMessage;
  dumpOnFail(theirs?.caption === 'here it is', `the peer got the held reply with its answered id (${JSON.stringify(got?.message)?.slice(0, 300)})`);
  check(sameJson(theirs?.contextInfo, want) && sameJson(theirs?.contextInfo, answered),
    `at Baileys the contextInfo quotes the right message, as the answer (${JSON.stringify(theirs?.contextInfo)})`);
  const bytes = await B.downloadMediaMessage(got, 'buffer', {});
  check(Buffer.compare(bytes, img) === 0, 'the peer downloads the held image intact');
  r = await api('POST', '/wamd/testClock', { nowMs: dueTxt });
  dumpOnFail(r.status === 200 && r.json.released?.some((x) => x.id === rTxt.json.key.id), `the text released at its time (${JSON.stringify(r.json)?.slice(0, 300)})`);
  const gotTxt = await peerGot(rTxt.json.key.id);
  const tci = gotTxt && pbJson(gotTxt.message).extendedTextMessage?.contextInfo;
  check(sameJson(tci, { stanzaId: imgId, participant: PEER_JID, quotedMessage: pbJson(imgMsg) }),
    `the held text quotes the image itself (${JSON.stringify(tci)})`);
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  await peer.stop();
}
process.exit(0);
