// A bulk job's body is read off the event loop (suite e2e), against wasim:
//   - while the JSON of a 100,000-recipient job is parsed and checked, a
//     GET /wamd/metrics says so (pacing.jobs.reading = 1), a sendText on
//     another instance is answered, and a second GET still says the read is
//     under way: the other instance's send did not wait for the parse (with
//     the parse on the loop, every request sent after the body waits for
//     it). The job is then stored and answered 201 with its 100,000.
//   - a bad recipient at the end of the list: 400 naming it, nothing stored.
//   - a client that goes while its body is read leaves nothing: no job,
//     nothing stored, the gauges back to 0.
//   - at most 4 bodies are read or queued at once: more at the same time get
//     503 with retry-after; the others' clients going drops them unread.
//   - SIGTERM with a read under way: wamd exits 0 (ASan: nothing leaked)
//     and after a restart no job of it exists.
// Prints the longest wait of the small requests beside the read.
// argv: [node, script, wamd, wasim]
import http from 'node:http';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { paceHarness } from './pace_util.mjs';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';

watchdog(170);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'pace-bulk-loop-key-5c1d';
const BIG = 100000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const phones = ['15550095000', '15550095001'];
const rcpts = Array.from({ length: 20 }, (_, k) => String(15550096000 + k));
const names = ['p0', 'p1'];

const sim = await startWasim(wasimExe, { tls: true });
for (const p of [...phones, ...rcpts]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const h = await paceHarness({ wamdExe, sim, data: tmpDir('wamd-pace-bulk-loop-'), key: KEY, t0: T0 });
const { api, up, dumpOnFail } = h;

const list = Array.from({ length: BIG }, (_, k) => ({ number: rcpts[k % rcpts.length], variables: { k } }));
const body = JSON.stringify({ template: 'job {{k}}', recipients: list });

// a POST /wamd/bulk/p0 by hand: `sent` once its body is handed to the
// socket, `answer` with its status, headers and JSON (null if it was cut)
const bulk = (text = body) => {
  let sent;
  const x = { sent: new Promise((res) => { sent = res; }) };
  x.req = http.request({ host: '127.0.0.1', port: h.port, path: '/wamd/bulk/p0', method: 'POST',
    headers: { apikey: KEY, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } });
  x.answer = new Promise((res) => {
    x.req.on('response', (r) => {
      let t = '';
      r.on('data', (d) => { t += d; });
      r.on('end', () => res({ status: r.statusCode, headers: r.headers, json: t ? JSON.parse(t) : null }));
      r.on('error', () => res(null));
    });
    x.req.on('error', () => res(null));
  });
  x.req.end(text, sent);
  return x;
};
const jobsGauge = async () => {
  const t = performance.now();
  const r = await api('GET', '/wamd/metrics');
  return { ...r.json.pacing.jobs, ms: performance.now() - t };
};
// polls until the body is being read (false if it never is)
const whileReading = async (b) => {
  let answered = false;
  b.answer.then(() => { answered = true; });
  await b.sent;
  while (!answered) {
    if ((await jobsGauge()).reading >= 1) return true;
    await sleep(2);
  }
  return false;
};
const settled = async () => {
  let g;
  for (let i = 0; i < 400; i++) {
    g = await jobsGauge();
    if (g.reading === 0 && g.storing === 0) return g;
    await sleep(25);
  }
  return g;
};

let wamd = h.startWamd(T0);
try {
  await up();
  await h.pairAll(names, phones);
  for (const n of names) {
    const r = await api('POST', `/wamd/pace/${n}`, { perMinute: 1000, perHour: 0, perDay: 0, firstContactPerDay: 0,
      warmupStep: 0, gapMs: 0, jitterMs: 0, typing: false, available: false });
    check(r.status === 201, `${n}: 1,000 a minute`);
  }

  // ---- p1's send answered while p0's 100,000 are parsed ----
  const a = bulk();
  let proof = null, waits = [], sends = 0;
  let aDone = false;
  a.answer.then(() => { aDone = true; });
  await a.sent;
  const tSent = performance.now();
  while (!aDone && !proof) {
    const g1 = await jobsGauge();
    waits.push(g1.ms);
    if (g1.reading < 1) {
      await sleep(2);
      continue;
    }
    const t = performance.now();
    const s = await api('POST', '/message/sendText/p1', { number: rcpts[0], text: `beside the parse ${sends++}` });
    const sendMs = performance.now() - t;
    waits.push(sendMs);
    check(s.status === 201, `p1's send answered (${s.status})`);
    const g2 = await jobsGauge();
    waits.push(g2.ms);
    if (g2.reading >= 1) proof = { sendMs, before: g1, after: g2 };
  }
  dumpOnFail(proof, `p1's sendText answered while p0's ${BIG} recipients were being read (reading before and after it; ` +
    `the slowest small request beside the read ${Math.max(...waits).toFixed(1)} ms)`);
  const ra = await a.answer;
  const aMs = performance.now() - tSent;
  check(ra?.status === 201 && ra.json.total === BIG && ra.json.state === 'running', `p0's job of ${BIG} created (${ra?.status} ${JSON.stringify(ra?.json).slice(0, 200)})`);
  h.answers.push({ method: 'POST', path: '/wamd/bulk/p0', status: ra.status, body: ra.json });
  const jobA = ra.json.id;
  console.log(`# the job's 201 ${aMs.toFixed(0)} ms after its body was sent; beside the read: p1's send ${proof.sendMs.toFixed(1)} ms, ` +
    `the slowest small request ${Math.max(...waits).toFixed(1)} ms (${waits.length})`);

  // ---- the last of 100,000 lacks its variable: 400 naming it, nothing stored ----
  list[BIG - 1] = { number: rcpts[0], variables: { name: 'x' } };
  const bad = await bulk(JSON.stringify({ template: 'job {{k}}', recipients: list })).answer;
  check(bad?.status === 400 && JSON.stringify(bad.json.response.message) === JSON.stringify([[`recipients[${BIG - 1}]: no variable "k" for the template`]]),
    `a recipient without its variable: 400 naming it (${JSON.stringify(bad?.json)})`);
  h.answers.push({ method: 'POST', path: '/wamd/bulk/p0', status: bad.status, body: bad.json });
  check((await api('GET', '/wamd/bulk/p0')).json.jobs.length === 1, 'nothing stored for it');

  // ---- a client gone while its body is read leaves nothing ----
  const b = bulk();
  check(await whileReading(b), 'job B: its body is being read');
  b.req.destroy();
  let g = await settled();
  check(g.reading === 0 && g.storing === 0, `the read dropped, nothing stored (${JSON.stringify(g)})`);
  let jobs = (await api('GET', '/wamd/bulk/p0')).json.jobs;
  check(jobs.length === 1 && jobs[0].id === jobA, `no job for the client that went (${jobs.map((j) => j.id)})`);
  check(/the client went before its recipients were read/.test(h.log), 'logged');

  // ---- at most 4 read or queued: the rest 503; their clients going drops them ----
  const many = Array.from({ length: 8 }, () => bulk());
  const busy = [];
  many.forEach((m) => m.answer.then((r) => { if (r) busy.push(r); }));
  await Promise.all(many.map((m) => m.sent));
  // the first 503 means 4 are read or queued: all cut then, while the
  // first read still runs (one whose read ended would be stored)
  let most = 0;
  for (let i = 0; i < 1000 && !busy.length; i++) {
    most = Math.max(most, (await jobsGauge()).reading);
    await sleep(5);
  }
  most = Math.max(most, (await jobsGauge()).reading);
  for (const m of many) m.req.destroy();
  const refused = busy.filter((r) => r.status === 503);
  check(refused.length >= 1 && refused.length === busy.length && most <= 4,
    `8 at once: ${refused.length} answered 503, never more than 4 read or queued (most ${most}; ${busy.map((r) => r.status)})`);
  check(most === 4, `4 were read or queued when the first 503 came (${most})`);
  check(refused.every((r) => r.headers['retry-after'] === '1' && /reading 4 bulk job lists/.test(r.json?.response?.message?.[0] ?? JSON.stringify(r.json))),
    `503 with retry-after and why (${JSON.stringify(refused[0]?.json)})`);
  for (const r of refused) h.answers.push({ method: 'POST', path: '/wamd/bulk/p0', status: r.status, body: r.json });
  g = await settled();
  jobs = (await api('GET', '/wamd/bulk/p0')).json.jobs;
  check(g.reading === 0 && g.storing === 0 && jobs.length === 1, `their clients gone, nothing of them stored (${JSON.stringify(g)}, ${jobs.length} jobs)`);

  await checkRecordedAnswers(api, h.answers, check, ['POST /wamd/bulk/{instance}', 'GET /wamd/metrics']);

  // ---- SIGTERM with a read under way ----
  const c = bulk();
  check(await whileReading(c), 'job C: its body is being read');
  await h.stopClean();
  wamd = h.startWamd(T0);
  await up();
  jobs = (await api('GET', '/wamd/bulk/p0')).json.jobs;
  check(jobs.length === 1 && jobs[0].id === jobA && jobs[0].total === BIG, `after a restart: job A only (${jobs.map((j) => j.id)})`);
  await h.stopClean();
} finally {
  try { wamd.kill('SIGKILL'); } catch { /* gone */ }
  await sim.stop();
}
