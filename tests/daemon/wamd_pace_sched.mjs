// Scheduled sends and cancels end to end against wasim (suite e2e), on
// wamd's test clock (WAMD_TEST_CLOCK_MS; POST /wamd/testClock moves it):
//   sendText with sendAt (ISO-8601 with an offset, or ms) answers 201
//   PENDING and waits outside the queue's lanes: a send without one leaves
//   at once beside it; the queue lists it with sendAt and its expected
//   time; it leaves exactly then and a Baileys peer gets it with the
//   answered id. Three sends scheduled at one time stay within 2/min.
//   A bad sendAt (no zone, not a time, over a year ahead) is 400.
//   DELETE /wamd/paceQueue cancels a scheduled text (200, a
//   PACING_CANCELLED webhook) and a text held by the limits: neither ever
//   leaves; the same id again, an unknown id and one that has left are 404.
//   A scheduled image waits as held-<instance>-<id>; across a SIGKILL it
//   and a scheduled text keep their schedule, while the start-up sweep
//   removes a held file no row owns (a crash before its row's commit) and
//   leaves a file of another name alone; cancelling the image removes its
//   file and nothing is sent. Pacing off still holds a scheduled send.
// argv: [node, script, wamd, wasim]
import crypto from 'node:crypto';
import fs from 'node:fs';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { paceHarness } from './pace_util.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { hookReceiver, waitFor } from './e2e_daemon_util.mjs';

watchdog(120);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-pace-sched-key-5d1e';
const W1 = '15550031000';
const R1 = '15550031001';
const R2 = '15550031002';
const MIN = 60000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

const sim = await startWasim(wasimExe, { tls: true }); // media uploads go over HTTPS
for (const p of [W1, R1, R2]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const PEER = '15550039000';
const peer = await pairByQr(sim, PEER, 'peer');
const peerMsgs = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });
const peerGot = async (id) => {
  for (let i = 0; i < 400; i++) {
    const x = peerMsgs.find((m) => m.key.id === id);
    if (x) return x;
    await sleep(25);
  }
  return null;
};
const hook = await hookReceiver();

const data = tmpDir('wamd-pace-sched-');
const mediaDir = `${data}/media`;
const heldFiles = () => (fs.existsSync(mediaDir) ? fs.readdirSync(mediaDir).filter((f) => f.startsWith('held-')).sort() : []);
const h = await paceHarness({ wamdExe, sim, data, key: KEY, t0: T0, args: ['--webhook-allow-loopback'] });
const { port, startWamd, api, answers, dumpOnFail, up, waitOpen, stanzasFrom, advanceTo } = h;
let wamd;
const queue = async () => (await api('GET', '/wamd/paceQueue/s1')).json;
const text = (number, t, extra = {}) => api('POST', '/message/sendText/s1', { number, text: t, ...extra });
const cancel = (id) => api('DELETE', `/wamd/paceQueue/s1?id=${encodeURIComponent(id)}`);

try {
  wamd = startWamd(T0);
  await up();
  let r = await api('POST', '/instance/create', { instanceName: 's1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  dumpOnFail(r.status === 201, `s1 created (${r.status})`);
  const qr = r.json.qrcode?.code || (await api('GET', '/instance/connect/s1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: W1, qr })).status === 200, 's1: QR scanned');
  dumpOnFail(await waitOpen('s1'), 's1 open');
  r = await api('POST', '/webhook/set/s1', { webhook: { enabled: true, url: hook.url } }); // every event: wamd's own have no switch
  check(r.status === 201 || r.status === 200, `s1: a webhook (${r.status})`);
  r = await api('POST', '/wamd/pace/s1', { perMinute: 2, perHour: 0, perDay: 0, firstContactPerDay: 0, warmupStep: 0,
    gapMs: 0, jitterMs: 0, typing: false, available: false });
  check(r.status === 201 && r.json.perMinute === 2, `s1: 2/min (${r.status})`);

  // ---- a bad sendAt ----
  for (const bad of ['2026-01-05T09:30:00', 'tomorrow', '2026-02-30T09:00:00Z', T0 + 367 * 24 * 60 * MIN, -5, true]) {
    r = await text(PEER, 'never', { sendAt: bad });
    check(r.status === 400, `sendAt ${JSON.stringify(bad)} is refused (${r.status} ${JSON.stringify(r.json)})`);
  }
  check((await queue()).queued === 0, 'nothing was queued by the refused sends');

  // ---- a scheduled text; a send beside it leaves at once ----
  const S1 = T0 + 10 * MIN;
  r = await text(PEER, 'scheduled hello', { sendAt: '2026-01-05T11:10:00+02:00' }); // = S1
  check(r.status === 201 && r.json.status === 'PENDING' && /^3EB0[0-9A-F]{18}$/.test(r.json.key.id),
    `a scheduled text answers 201 PENDING (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
  const schedId = r.json.key.id;
  let base = await stanzasFrom(W1);
  r = await text(R1, 'right now');
  check(r.status === 201, 'a text without sendAt');
  let left = false;
  for (let i = 0; i < 200 && !left; i++) { left = await stanzasFrom(W1) > base; if (!left) await sleep(25); }
  check(left, 'it left at once: the scheduled one holds nothing up');
  let q = await queue();
  check(q.queued === 1 && q.messages[0].id === schedId && q.messages[0].sendAtMs === S1 && q.messages[0].expectedAtMs === S1 &&
    q.messages[0].sendAt === '2026-01-05T09:10:00.000Z', `the queue lists it with its time (${JSON.stringify(q.messages)})`);
  let rel = await advanceTo(S1 - 1);
  check(rel.length === 0, `nothing leaves before its time (${JSON.stringify(rel)})`);
  check(!peerMsgs.some((m) => m.key.id === schedId), 'the peer has not got it early');
  rel = await advanceTo(S1);
  check(rel.length === 1 && rel[0].id === schedId && rel[0].atMs === S1, `it left at its time (${JSON.stringify(rel)})`);
  const got = await peerGot(schedId);
  dumpOnFail(got?.message?.conversation === 'scheduled hello' || got?.message?.extendedTextMessage?.text === 'scheduled hello',
    `the peer got it with the answered id (${JSON.stringify(got?.message)})`);
  r = await cancel(schedId);
  check(r.status === 404, `a send that has left cannot be cancelled (${r.status})`);

  // ---- three at one time: the limits still apply ----
  const S2 = T0 + 20 * MIN;
  const three = [];
  for (let i = 0; i < 3; i++) {
    r = await text(R2, `batch ${i}`, { sendAt: S2 });
    check(r.status === 201, `batch ${i} scheduled`);
    three.push(r.json.key.id);
  }
  q = await queue();
  check(JSON.stringify(q.messages.map((m) => [m.id, m.expectedAtMs - T0])) ===
    JSON.stringify([[three[0], S2 - T0], [three[1], S2 - T0], [three[2], S2 + MIN - T0]]),
    `expected: two at the time, the third a minute later (${JSON.stringify(q.messages.map((m) => m.expectedAtMs - T0))})`);
  rel = await advanceTo(S2 + 2 * MIN);
  check(JSON.stringify(rel.map((x) => [x.id, x.atMs - T0])) ===
    JSON.stringify([[three[0], S2 - T0], [three[1], S2 - T0], [three[2], S2 + MIN - T0]]),
    `they left within 2/min (${JSON.stringify(rel.map((x) => x.atMs - T0))})`);

  // ---- cancel: a scheduled text and one the limits hold ----
  const S3 = h.vnow + 5 * MIN;
  r = await text(PEER, 'cancel me', { sendAt: S3 });
  const cx = r.json.key.id;
  for (let i = 0; i < 2; i++) check((await text(R1, `fill ${i}`)).status === 201, `fill ${i}`);
  r = await text(PEER, 'held then cancelled');
  const cy = r.json.key.id;
  q = await queue();
  check(q.queued === 2 && q.messages.some((m) => m.id === cy && !m.sendAtMs) && q.messages.some((m) => m.id === cx && m.sendAtMs === S3),
    `one scheduled, one held by 2/min (${JSON.stringify(q.messages)})`);
  r = await cancel(cx);
  check(r.status === 200 && r.json.cancelled === true && r.json.id === cx && r.json.remoteJid === `${PEER}@s.whatsapp.net` &&
    r.json.kind === 'text' && r.json.sendAtMs === S3, `the scheduled text is cancelled (${r.status} ${JSON.stringify(r.json)})`);
  r = await cancel(cy);
  check(r.status === 200 && r.json.id === cy && r.json.sendAtMs === undefined, `the held text is cancelled (${r.status})`);
  r = await cancel(cy);
  check(r.status === 404, `the same id again: 404 (${r.status})`);
  r = await cancel('3EB0000000000000000000');
  check(r.status === 404, `an unknown id: 404 (${r.status})`);
  r = await api('DELETE', '/wamd/paceQueue/s1');
  check(r.status === 400, `no id: 400 (${r.status})`);
  check((await queue()).queued === 0, 'the queue is empty');
  const ev = await waitFor(() => {
    const ids = hook.hooks.filter((h) => h.event === 'PACING_CANCELLED').map((h) => h.data.id);
    return ids.includes(cx) && ids.includes(cy) ? ids : null;
  }, 5000, 'PACING_CANCELLED');
  check(ev && ev.length === 2, `a PACING_CANCELLED event for each (${JSON.stringify(ev)})`);
  base = await stanzasFrom(W1);
  rel = await advanceTo(S3 + 10 * MIN);
  check(rel.length === 0, `nothing cancelled leaves (${JSON.stringify(rel)})`);
  await sleep(300);
  check(!peerMsgs.some((m) => m.key.id === cx || m.key.id === cy) && await stanzasFrom(W1) === base, 'the peer never gets them');

  // ---- a scheduled image and text across a SIGKILL; the sweep ----
  const S4 = h.vnow + 30 * MIN;
  const img = crypto.randomBytes(2500);
  r = await api('POST', '/message/sendMedia/s1', { number: PEER, mediatype: 'image', mimetype: 'image/png', caption: 'later',
    media: img.toString('base64'), sendAt: S4 });
  check(r.status === 201 && r.json.status === 'PENDING', `a scheduled image (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
  const imgId = r.json.key.id;
  r = await text(PEER, 'after the restart', { sendAt: S4 + MIN });
  const afterId = r.json.key.id;
  const held = heldFiles();
  const iid = held[0]?.split('-')[1];
  check(held.length === 1 && held[0] === `held-${iid}-${imgId}` && Buffer.compare(fs.readFileSync(`${mediaDir}/${held[0]}`), img) === 0,
    `the image waits as a file named after its id (${held})`);
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.once('exit', res));
  // a crash between a held file's move and its row's commit, and a file of another name
  const orphan = `held-${iid}-3EB0${crypto.randomBytes(9).toString('hex').toUpperCase()}`;
  fs.writeFileSync(`${mediaDir}/${orphan}`, 'orphan', { mode: 0o600 });
  fs.writeFileSync(`${mediaDir}/held-${iid}-notanid`, 'other', { mode: 0o600 });
  wamd = startWamd(h.vnow);
  await up();
  dumpOnFail(await waitOpen('s1'), 's1 open again');
  const swept = await waitFor(() => !fs.existsSync(`${mediaDir}/${orphan}`), 5000, 'the sweep');
  check(swept && JSON.stringify(heldFiles()) === JSON.stringify([`held-${iid}-notanid`, held[0]].sort()),
    `the sweep removed the file no row owns, kept the held image and the other name (${heldFiles()})`);
  q = await queue();
  check(JSON.stringify(q.messages.map((m) => [m.id, m.sendAtMs, m.expectedAtMs])) ===
    JSON.stringify([[imgId, S4, S4], [afterId, S4 + MIN, S4 + MIN]]), `the schedule survived the restart (${JSON.stringify(q.messages)})`);
  r = await cancel(imgId);
  check(r.status === 200 && r.json.kind === 'media' && r.json.sendAtMs === S4, `the image is cancelled (${r.status} ${JSON.stringify(r.json)})`);
  check(JSON.stringify(heldFiles()) === JSON.stringify([`held-${iid}-notanid`]), `its file went with it (${heldFiles()})`);
  // pacing off: a scheduled send still waits for its time
  r = await api('POST', '/wamd/pace/s1', { enabled: false });
  check(r.status === 201 && r.json.enabled === false, 'pacing off');
  rel = await advanceTo(S4 + MIN - 1);
  check(rel.length === 0, `with pacing off the text still waits (${JSON.stringify(rel)})`);
  rel = await advanceTo(S4 + MIN);
  check(rel.length === 1 && rel[0].id === afterId && rel[0].atMs === S4 + MIN, `it left at its time (${JSON.stringify(rel)})`);
  dumpOnFail(!!await peerGot(afterId), 'the peer got the text scheduled before the restart');
  check(!peerMsgs.some((m) => m.key.id === imgId), 'the cancelled image never reached the peer');
  r = await text(PEER, 'off and later', { sendAt: h.vnow + MIN });
  check(r.status === 201 && (await queue()).messages[0]?.sendAtMs === h.vnow + MIN, 'pacing off: a new scheduled send is held');
  check((await cancel(r.json.key.id)).status === 200, 'and cancelled');
  fs.unlinkSync(`${mediaDir}/held-${iid}-notanid`);

  await checkRecordedAnswers(api, answers, check, ['GET /wamd/paceQueue/{instance}', 'DELETE /wamd/paceQueue/{instance}',
    'POST /message/sendText/{instance}', 'POST /message/sendMedia/{instance}', 'POST /wamd/testClock']);
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.once('exit', (c, sg) => res(c ?? sg)));
  if (code !== 0) process.stderr.write(h.log.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM, nothing leaked (${code})`);
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  hook.server.close();
  await peer.stop();
  await sim.stop();
}
