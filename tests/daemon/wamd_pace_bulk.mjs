// Bulk jobs end to end against wasim (suite e2e), on wamd's test clock:
//   bad jobs are 400; a job of six recipients with {{variables}} at 2/min
//   leaves one recipient at a time in list order, no minute over 2, with
//   the instance's own send beside it not stuck behind it; progress by GET
//   and PACING_JOB webhooks; pause takes its queued message back and
//   nothing leaves, resume goes on; a SIGKILL in the middle keeps the job,
//   its queued message and its expected time; a Baileys peer gets its text
//   with its variables. A job cancelled after two messages sends nothing
//   more and cannot be resumed; a job with sendAt waits for it.
// argv: [node, script, wamd, wasim]
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { paceHarness } from './pace_util.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { hookReceiver, waitFor } from './e2e_daemon_util.mjs';

watchdog(150);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-pace-bulk-key-93ab';
const W1 = '15550041000';
const RS = Array.from({ length: 6 }, (_, k) => `1555004200${k}`);
const MIN = 60000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

const sim = await startWasim(wasimExe, { tls: true }); // media uploads go over HTTPS
for (const p of [W1, ...RS]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const PEER = '15550049000';
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

const data = tmpDir('wamd-pace-bulk-');
const h = await paceHarness({ wamdExe, sim, data, key: KEY, t0: T0, args: ['--webhook-allow-loopback'] });
const { port, startWamd, api, answers, dumpOnFail, up, waitOpen, stanzasFrom, advanceTo } = h;
let wamd;
const queue = async () => (await api('GET', '/wamd/paceQueue/b1')).json;
const job = async (id) => (await api('GET', `/wamd/bulk/b1?id=${id}`)).json;
const action = (id, a) => api('POST', '/wamd/bulkAction/b1', { id, action: a });
// the jobs in /wamd/metrics, and the same in Prometheus' /metrics
const jobsMetrics = async () => {
  const m = (await api('GET', '/wamd/metrics')).json.pacing.jobs;
  const prom = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { apikey: KEY } })).text();
  const g = (re) => Number((prom.match(re) || [])[1]);
  const same = ['running', 'paused', 'cancelled', 'done'].every((st) => g(new RegExp(`^wamd_pace_jobs\\{state="${st}"\\} (\\d+)$`, 'm')) === m[st]) &&
    g(/^wamd_pace_job_pending (\d+)$/m) === m.pendingRecipients;
  check(same, `/metrics says what /wamd/metrics says (${JSON.stringify(m)})`);
  return m;
};
// no 60 s span holds more than `lim` of the times
const within = (ts, lim) => ts.every((t) => ts.filter((u) => u > t - MIN && u <= t).length <= lim);

try {
  wamd = startWamd(T0);
  await up();
  let r = await api('POST', '/instance/create', { instanceName: 'b1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  dumpOnFail(r.status === 201, `b1 created (${r.status})`);
  const qr = r.json.qrcode?.code || (await api('GET', '/instance/connect/b1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: W1, qr })).status === 200, 'b1: QR scanned');
  dumpOnFail(await waitOpen('b1'), 'b1 open');
  r = await api('POST', '/webhook/set/b1', { webhook: { enabled: true, url: hook.url } });
  check(r.status === 201 || r.status === 200, `b1: a webhook (${r.status})`);
  r = await api('POST', '/wamd/pace/b1', { perMinute: 2, perHour: 0, perDay: 0, firstContactPerDay: 0, warmupStep: 0,
    gapMs: 0, jitterMs: 0, typing: false, available: false });
  check(r.status === 201 && r.json.perMinute === 2, `b1: 2/min (${r.status})`);

  // ---- bad jobs ----
  const TPL = 'Hi {{name}}, your code is {{code}}';
  for (const [body, what] of [[{ recipients: [PEER] }, 'no template'], [{ template: TPL, recipients: [] }, 'no recipients'],
    [{ template: TPL, recipients: [{ number: PEER, variables: { name: 'x' } }] }, 'a variable missing'],
    [{ template: 'x', recipients: ['not a number'] }, 'a bad number'],
    [{ template: 'x', recipients: [PEER], sendAt: 'soon' }, 'a bad sendAt']]) {
    r = await api('POST', '/wamd/bulk/b1', body);
    check(r.status === 400, `${what}: 400 (${r.status} ${JSON.stringify(r.json)})`);
  }
  check((await api('GET', '/wamd/bulk/b1')).json.jobs.length === 0 && (await queue()).queued === 0, 'nothing was created');

  // ---- job A: six recipients at 2/min, a send of the instance beside it ----
  const rcptA = [PEER, ...RS.slice(0, 5)];
  r = await api('POST', '/wamd/bulk/b1', { template: TPL,
    recipients: rcptA.map((n, k) => ({ number: n, variables: { name: `R${k}`, code: 100 + k } })) });
  check(r.status === 201 && r.json.state === 'running' && r.json.total === 6 && r.json.pending === 6 && /^3EB0/.test(r.json.queuedId),
    `job A created, its first message queued (${r.status} ${JSON.stringify(r.json)})`);
  const A = r.json.id;
  const rel = []; // every release, in order
  const adv = async (t) => { const x = await advanceTo(t); rel.push(...x); return x; };
  let x = await adv(T0);
  check(x.length === 2 && x.every((e) => e.atMs === T0), `two leave at once (${JSON.stringify(x)})`);
  r = await api('POST', '/message/sendText/b1', { number: RS[0], text: 'beside the job' });
  check(r.status === 201, 'a send beside the job');
  const beside = r.json.key.id;
  x = await adv(T0 + MIN);
  check(x.length === 2 && x.some((e) => e.id === beside), `the instance's own send is not stuck behind the job (${JSON.stringify(x)})`);
  let jA = await job(A);
  check(jA.sent === 3 && jA.state === 'running', `progress: 3 sent (${JSON.stringify(jA)})`);

  // ---- pause: nothing of the job leaves; resume ----
  r = await action(A, 'pause');
  check(r.status === 200 && r.json.state === 'paused' && !r.json.queuedId && r.json.sent === 3,
    `paused, its queued message taken back (${JSON.stringify(r.json)})`);
  let jm = await jobsMetrics();
  check(jm.running === 0 && jm.paused === 1 && jm.pendingRecipients === 3, `metrics: one job paused, 3 to go (${JSON.stringify(jm)})`);
  x = await adv(T0 + 10 * MIN);
  check(x.length === 0 && (await queue()).queued === 0, `nothing leaves while paused (${JSON.stringify(x)})`);
  r = await action(A, 'resume');
  check(r.status === 200 && r.json.state === 'running' && r.json.queuedId, `resumed (${JSON.stringify(r.json)})`);
  x = await adv(T0 + 10 * MIN);
  check(x.length === 2, `the job goes on (${JSON.stringify(x)})`);
  // ---- a SIGKILL in the middle: the same schedule after it ----
  let q = await queue();
  jA = await job(A);
  check(q.queued === 1 && q.messages[0].id === jA.queuedId && q.messages[0].expectedAtMs === T0 + 11 * MIN,
    `the job's next message waits for the window (${JSON.stringify(q.messages)})`);
  const before = { id: jA.queuedId, at: q.messages[0].expectedAtMs, sent: jA.sent };
  await sleep(200); // the straight sends' rows are written every 100 ms
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.once('exit', res));
  wamd = startWamd(h.vnow);
  await up();
  dumpOnFail(await waitOpen('b1'), 'b1 open again');
  jA = await job(A);
  q = await queue();
  check(jA.state === 'running' && jA.sent === before.sent && jA.queuedId === before.id && q.messages[0]?.id === before.id &&
    q.messages[0]?.expectedAtMs === before.at, `the job and its schedule survived (${JSON.stringify(jA)} ${JSON.stringify(q.messages)})`);
  jm = await jobsMetrics();
  check(jm.running === 1 && jm.paused === 0 && jm.pendingRecipients === 6 - jA.sent,
    `metrics after the restart: one job running (${JSON.stringify(jm)})`);
  x = await adv(T0 + 12 * MIN);
  jA = await job(A);
  check(jA.state === 'done' && jA.sent === 6 && jA.failed === 0 && jA.pending === 0, `job A is done (${JSON.stringify(jA)})`);
  const aIds = rel.filter((e) => e.id !== beside);
  check(aIds.length === 6 && JSON.stringify(aIds.map((e) => e.remoteJid)) === JSON.stringify(rcptA.map((n) => `${n}@s.whatsapp.net`)),
    `six messages, one per recipient, in list order (${JSON.stringify(aIds.map((e) => e.remoteJid))})`);
  check(within(rel.map((e) => e.atMs), 2), `no minute held more than 2 (${JSON.stringify(rel.map((e) => (e.atMs - T0) / 1000))})`);
  const got = await peerGot(aIds[0].id);
  check(got?.message?.conversation === 'Hi R0, your code is 100' || got?.message?.extendedTextMessage?.text === 'Hi R0, your code is 100',
    `the peer got its text with its variables (${JSON.stringify(got?.message)})`);
  const evA = await waitFor(() => hook.hooks.find((h) => h.event === 'PACING_JOB' && h.data.id === A && h.data.state === 'done'), 5000, 'PACING_JOB done');
  check(evA && evA.data.sent === 6, `a PACING_JOB event says it is done (${JSON.stringify(evA?.data)})`);
  check(hook.hooks.filter((h) => h.event === 'PACING_JOB' && h.data.id === A).length >= 6, 'a PACING_JOB event at each step');
  r = await action(A, 'resume');
  check(r.status === 400, `a job that is done cannot be resumed (${r.status})`);

  // ---- job B: cancelled after its first message, it sends nothing more ----
  r = await api('POST', '/wamd/bulk/b1', { template: 'B {{n}}', recipients: RS.map((n, k) => ({ number: n, variables: { n: k } })) });
  check(r.status === 201 && r.json.total === 6, 'job B created');
  const B = r.json.id;
  x = await adv(h.vnow);
  check(x.length === 2 && x.every((e) => e.atMs === h.vnow), `B: two leave, the third waits for the window (${JSON.stringify(x)})`);
  r = await action(B, 'cancel');
  check(r.status === 200 && r.json.state === 'cancelled' && r.json.sent === 2 && !r.json.queuedId, `B cancelled (${JSON.stringify(r.json)})`);
  x = await adv(h.vnow + 30 * MIN);
  check(x.length === 0 && (await queue()).queued === 0, `a cancelled job sends nothing more (${JSON.stringify(x)})`);
  r = await action(B, 'resume');
  check(r.status === 400, `a cancelled job cannot be resumed (${r.status})`);
  r = await action(B, 'explode');
  check(r.status === 400, `an unknown action: 400 (${r.status})`);
  r = await action('nope', 'pause');
  check(r.status === 404, `an unknown job: 404 (${r.status})`);
  check((await api('GET', '/wamd/bulk/b1?id=nope')).status === 404, 'GET an unknown job: 404');

  // ---- job C: held until its sendAt ----
  const SC = h.vnow + 20 * MIN;
  r = await api('POST', '/wamd/bulk/b1', { template: 'C', recipients: [RS[5]], sendAt: SC });
  check(r.status === 201 && r.json.sendAtMs === SC, `job C with sendAt (${JSON.stringify(r.json)})`);
  const C = r.json.id;
  q = await queue();
  check(q.queued === 1 && q.messages[0].sendAtMs === SC && q.messages[0].expectedAtMs === SC, `its message waits for its time (${JSON.stringify(q.messages)})`);
  x = await adv(SC);
  check(x.length === 1 && x[0].atMs === SC && (await job(C)).state === 'done', `it left at its time, the job is done (${JSON.stringify(x)})`);
  const all = (await api('GET', '/wamd/bulk/b1')).json.jobs;
  check(JSON.stringify(all.map((j) => [j.id, j.state])) === JSON.stringify([[A, 'done'], [B, 'cancelled'], [C, 'done']]),
    `every job listed (${JSON.stringify(all.map((j) => j.state))})`);
  jm = await jobsMetrics();
  check(jm.running === 0 && jm.paused === 0 && jm.done === 2 && jm.cancelled === 1 && jm.pendingRecipients === 0,
    `metrics: two done, one cancelled (${JSON.stringify(jm)})`);

  await checkRecordedAnswers(api, answers, check, ['POST /wamd/bulk/{instance}', 'GET /wamd/bulk/{instance}',
    'POST /wamd/bulkAction/{instance}', 'GET /wamd/paceQueue/{instance}', 'POST /wamd/testClock', 'GET /wamd/metrics']);
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
