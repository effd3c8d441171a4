// Bulk jobs by size, through wamd against wasim on wamd's test clock (a
// debug or debugoptimized build): for each size, one job of that many
// recipients ({number, variables: {k, name}}) is created on one instance
// and 2,000 of its messages are released (1,000 a minute), then it is
// cancelled. Printed per size: the request's body size, the create's answer
// time (the body is parsed and checked off the loop, then the store writes
// its rows a batch per loop turn before answering), the slowest answer of
// the small requests sent one after another beside it (GET / and a
// sendText on a second instance "c", alternately: the longest the event
// loop was held, and what another tenant's single message waited), how
// many of them were answered while /wamd/metrics said the body was being
// read (null for a wamd without that gauge), and wamd's RSS before the
// create, after it and after the 2,000 sends.
//
// WAMD_BENCH_STORE=tmpfs puts wamd's data folder in /dev/shm: on a shared
// disk the store's fsyncs add stalls of their own (up to seconds at load ~17).
// node --expose-gc: the list's garbage is collected before each create.
// usage: node tests/bench/pace_bulk.mjs WAMD WASIM [sizes=10000,50000,100000]
//   e.g. meson setup build/opt --buildtype=debugoptimized -Dinterop=disabled &&
//        meson compile -C build/opt daemon/wamd tests/sim/wasim &&
//        WA_NODE_MODULES=<a build>/tests/interop/node/node_modules WAMD_BENCH_STORE=tmpfs \
//        node --expose-gc tests/bench/pace_bulk.mjs build/opt/daemon/wamd build/opt/tests/sim/wasim
import fs from 'node:fs';
import http from 'node:http';
import { paceHarness } from '../daemon/pace_util.mjs';
import { startWasim, check, tmpDir, sleep } from '../sim/harness.mjs';

const [wamdExe, wasimExe, sizesArg] = process.argv.slice(2);
if (!wamdExe || !wasimExe) {
  console.error('usage: node tests/bench/pace_bulk.mjs WAMD WASIM [sizes=10000,50000,100000]');
  process.exit(2);
}
const sizes = (sizesArg || '10000,50000,100000').split(',').map(Number);
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MIN = 60000;
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const sim = await startWasim(wasimExe, { tls: true });
const phone = '15558300000';
const phoneC = '15558300001';
const rcpts = Array.from({ length: 50 }, (_, k) => String(15558310000 + k));
for (const p of [phone, phoneC, ...rcpts]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const tmpfs = process.env.WAMD_BENCH_STORE === 'tmpfs';
const data = tmpfs ? fs.mkdtempSync('/dev/shm/wamd-pace-bulk-bench-') : tmpDir('wamd-pace-bulk-bench-');
if (tmpfs) process.on('exit', () => fs.rmSync(data, { recursive: true, force: true }));
const h = await paceHarness({ wamdExe, sim, data, key: 'pace-bulk-bench-key-e01c', t0: T0 });
const wamd = h.startWamd(T0);
const rows = [];
try {
  await h.up();
  await h.pairAll(['b', 'c'], [phone, phoneC]);
  let r;
  for (const n of ['b', 'c']) {
    r = await h.api('POST', `/wamd/pace/${n}`, { perMinute: 1000, perHour: 0, perDay: 0, firstContactPerDay: 0, warmupStep: 0,
      gapMs: 0, jitterMs: 0, typing: false, available: false });
    check(r.status === 201, `${n}: 1,000 a minute`);
  }
  // c's first send to each recipient before the runs: a first contact's
  // device list and pre-keys are a wait of their own, not the loop's
  for (const num of rcpts) check((await h.api('POST', '/message/sendText/c', { number: num, text: 'warm-up' })).status === 201, `c: warm-up to ${num}`);
  let t = T0;
  for (const n of sizes) {
    const recipients = Array.from({ length: n }, (_, k) => ({ number: rcpts[k % rcpts.length], variables: { k, name: `person ${k}` } }));
    const body = JSON.stringify({ template: 'Hello {{name}}, number {{k}}', recipients });
    globalThis.gc?.(); // the list's garbage collected now, not as a pause of this process beside the create
    const rss0 = rss(wamd.pid);
    const t0 = performance.now();
    // node:http, the body written as one buffer (with fetch's upload a GET
    // beside it once waited a second that a curl upload did not show)
    const create = new Promise((res, rej) => {
      const req = http.request({ host: '127.0.0.1', port: h.port, path: '/wamd/bulk/b', method: 'POST',
        headers: { apikey: 'pace-bulk-bench-key-e01c', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
      req.on('response', (r) => {
        let t = '';
        r.on('data', (d) => { t += d; });
        r.on('end', () => res({ status: r.statusCode, json: async () => JSON.parse(t) }));
      });
      req.on('error', rej);
      req.end(Buffer.from(body));
    });
    // the loop's availability while the create runs: cheap GETs and
    // another instance's sends one after another beside it, each slowest
    // answer the longest the loop was held; between them /wamd/metrics
    // says whether the body is still being read
    let done = false, getMs = 0, gets = 0, sendMs = 0, sends = 0, whileReading = 0, reading = 0, gauge = false;
    create.finally(() => { done = true; });
    while (!done) {
      const tg = performance.now();
      if (gets <= sends) {
        await fetch(`http://127.0.0.1:${h.port}/`);
        getMs = Math.max(getMs, performance.now() - tg);
        gets++;
      } else {
        const s = await h.api('POST', '/message/sendText/c', { number: rcpts[sends % rcpts.length], text: `beside ${n} ${sends}` });
        check(s.status === 201, `c: a send beside the create (${s.status})`);
        sendMs = Math.max(sendMs, performance.now() - tg);
        sends++;
        const now = (await h.api('GET', '/wamd/metrics')).json.pacing.jobs.reading;
        gauge ||= now !== undefined;
        whileReading += reading >= 1 && now >= 1; // read before and after it
        reading = now ?? 0;
      }
      await sleep(10);
    }
    const res = await create;
    const createMs = performance.now() - t0;
    const job = await res.json();
    check(res.status === 201 && job.total === n, `a job of ${n} (${res.status})`);
    const rss1 = rss(wamd.pid);
    let sent = 0;
    while (sent < 2000) {
      t += MIN;
      sent += (await h.advanceTo(t)).length;
      h.answers.length = 0;
    }
    const rss2 = rss(wamd.pid);
    r = await h.api('POST', '/wamd/bulkAction/b', { id: job.id, action: 'cancel' });
    check(r.status === 200 && r.json.state === 'cancelled', 'cancelled');
    t += MIN;
    await h.advanceTo(t);
    h.answers.length = 0;
    const row = { recipients: n, body_mib: +(body.length / 1048576).toFixed(2), create_ms: Math.round(createMs),
      gets_beside: gets, slowest_get_beside_ms: Math.round(getMs), sends_beside: sends, slowest_send_beside_ms: Math.round(sendMs),
      sends_answered_while_reading: gauge ? whileReading : null, rss_before_mib: Math.round(rss0), rss_after_create_mib: Math.round(rss1),
      rss_after_2000_sends_mib: Math.round(rss2) };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  wamd.kill('SIGTERM');
  await new Promise((res) => wamd.once('exit', res));
} catch (e) {
  process.stderr.write(`${e?.stack || e}\n--- wamd's log ---\n${h.log.slice(-4000)}\n`);
  process.exitCode = 1;
} finally {
  try { wamd.kill('SIGKILL'); } catch { /* gone */ }
  await sim.stop();
}
