// A slow media host (suite e2e): wasim's media host paced through
// POST /_sim/media/fault, a stock Baileys 7.0.0-rc14 peer, wamd driven only
// through its API.
//  A 2 MiB document to a host that reads the upload at 256 KiB/s and answers
//    7 s after the body: the upload is made once (wasim counts the uploads)
//    and the document reaches Baileys once, byte-identical. lws' own stage
//    timeout (5 s) used to cut the wait for the answer, and the upload was
//    retried from zero forever.
//  A host that never answers: the upload gives up at the answer deadline
//    (30 s after its last byte, not before), says so in the log, and the
//    message stays PENDING; once the host answers again the retry sends it,
//    once.
// argv: [node, script, wamd, wasim]
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // wasim's self-signed media host
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(280);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-slowhost-key-41d7';
const WAMD_PHONE = '15550009391';
const PEER_PHONE = '15550009392';
const ANSWER_S = 30; // the media answer deadline (WA_MEDIA_ANSWER_MS)
const { B: Bl } = await baileys();

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

const data = tmpDir('wamd-slowhost-');
const port = await freePort();
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--log-level', 'debug'],
{ stdio: ['ignore', 'ignore', 'pipe'] });
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
const fault = async (body) => {
  const a = await sim.api('POST', '/_sim/media/fault', body);
  check(a.status === 200, `wasim media fault ${JSON.stringify(body)}: ${a.status}`);
  return a.json;
};
const sendDoc = async (bytes, fileName) => {
  const a = await api('POST', '/message/sendMedia/m1', { number: PEER_PHONE, mediatype: 'document', fileName,
    mimetype: 'application/octet-stream', media: bytes.toString('base64') });
  dumpOnFail(a.status === 201 && a.json?.status === 'PENDING', `${fileName} accepted PENDING (${a.status})`);
  return a.json.key.id;
};
const arrivals = (id) => peerMsgs.filter((m) => m.key.id === id);

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  r = await api('POST', '/instance/create', { instanceName: 'm1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/m1')).json.code;
  r = await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr });
  check(r.status === 200, 'simulated phone scanned the QR');
  let open = false;
  for (let i = 0; i < 300 && !open; i++) {
    try { open = (await api('GET', '/instance/connectionState/m1')).json?.instance?.state === 'open'; } catch { /* starting */ }
    if (!open) await sleep(100);
  }
  dumpOnFail(open, 'instance open');

  // the fault route refuses nonsense
  r = await sim.api('POST', '/_sim/media/fault', { read_kib_s: -1 });
  check(r.status === 400, `fault: negative rate refused (${r.status})`);

  // ---- a slow host: one upload, the answer waited for ----
  let st = await fault({ read_kib_s: 256, answer_delay_ms: 7000, no_answer: false });
  const begun0 = st.begun;
  const stored0 = st.stored;
  const big = crypto.randomBytes(2 * 1024 * 1024 + 17);
  const t0 = Date.now();
  const bigId = await sendDoc(big, 'slow.bin');
  const got = await waitFor(() => arrivals(bigId)[0], 90000, 'the document through the slow host');
  dumpOnFail(got, 'the document sent through the slow host arrived');
  const took = (Date.now() - t0) / 1000;
  st = await fault({});
  dumpOnFail(st.begun - begun0 === 1 && st.stored - stored0 === 1,
    `it was uploaded once (${st.begun - begun0} begun, ${st.stored - stored0} stored, ${took.toFixed(1)} s)`);
  check(took >= 14, `the host read at its pace and held its answer (${took.toFixed(1)} s, at least 8 + 7)`);
  check(!new RegExp(`media upload of ${bigId}: .*will retry`).test(wamdLog), 'no retry of that upload in the log');
  if (got) {
    const buf = await Bl.downloadMediaMessage(got, 'buffer', {});
    check(Buffer.compare(buf, big) === 0, `it is byte-identical (${big.length} bytes)`);
  }
  r = await api('POST', '/chat/findMessages/m1', { where: { key: { id: bigId } } });
  const bigRec = (r.json?.messages?.records ?? []).find((x) => x.key?.id === bigId);
  check(bigRec && bigRec.status !== 'PENDING', `a sent document's record is past PENDING (${bigRec?.status})`);

  // ---- a host that never answers: the deadline, then PENDING for retry ----
  st = await fault({ read_kib_s: 0, answer_delay_ms: 0, no_answer: true });
  const begun1 = st.begun;
  const stored1 = st.stored;
  const small = crypto.randomBytes(100000);
  const hungId = await sendDoc(small, 'hung.bin');
  const upRe = new RegExp(`uploading ${hungId}`);
  const failRe = new RegExp(`media upload of ${hungId}: WA_ETIMEOUT \\(upload: no answer from the media host within ${ANSWER_S} s of the last byte\\), will retry`);
  dumpOnFail(await waitFor(() => upRe.test(wamdLog), 30000, 'the upload start'), 'the upload to the silent host started');
  const tUp = Date.now();
  const failed = await waitFor(() => failRe.test(wamdLog), (ANSWER_S + 20) * 1000, 'the answer deadline');
  const waited = (Date.now() - tUp) / 1000;
  // lift the fault before the outbox's first retry (1 s later) begins
  st = await fault({ no_answer: false });
  dumpOnFail(failed, `the silent host's upload gave up with a clear error (${waited.toFixed(1)} s)`);
  check(waited >= ANSWER_S - 1 && waited < ANSWER_S + 15, `at the answer deadline (${waited.toFixed(1)} s, deadline ${ANSWER_S} s)`);
  check(arrivals(hungId).length === 0, 'nothing reached Baileys meanwhile');
  r = await api('POST', '/chat/findMessages/m1', { where: { key: { id: hungId } } });
  const rec = (r.json?.messages?.records ?? []).find((x) => x.key?.id === hungId);
  dumpOnFail(rec?.status === 'PENDING', `the message stays PENDING (${rec?.status})`);
  const later = await waitFor(() => arrivals(hungId)[0], (ANSWER_S + 40) * 1000, 'the retried document');
  dumpOnFail(later, 'the retry sent it once the host answers');
  if (later) {
    const buf = await Bl.downloadMediaMessage(later, 'buffer', {});
    check(Buffer.compare(buf, small) === 0, 'the retried document is byte-identical');
  }
  await sleep(1500);
  check(arrivals(hungId).length === 1 && arrivals(bigId).length === 1, 'each document arrived exactly once');
  st = await fault({});
  check(st.begun - begun1 >= 2 && st.stored - stored1 === 1,
    `the silent upload was retried and stored once (${st.begun - begun1} begun, ${st.stored - stored1} stored)`);
} finally {
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
  await peer.stop();
  await sim.stop();
  if (code !== 0) process.stderr.write(wamdLog.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
process.exit(0);
