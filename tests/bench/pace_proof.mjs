// Send pacing at scale, through wamd against wasim, on wamd's test clock
// (a debug or debugoptimized build: the test clock is not in release builds):
// `instances` instances (10) share `messages` sends (50,000), each with
// its own limits (20/min, 600/hour), the first half in tenant group "acme"
// (pace_groups acme:40/1500/0), all under daemon-wide limits (80/min,
// 4,000/hour). Each instance queues a bulk job (all but 500 of its share,
// to 20 wasim phones) and 500 single sendText; then the test clock moves a
// minute at a time until every send has left. Printed and checked: the
// most sends any sliding minute and hour held, per instance, for the group
// and daemon-wide, against the configured limits; every send left exactly
// once (wamd's releases and the jobs' counts, and wasim's count of the
// <message> stanzas each instance sent); wamd's CPU per released message
// over the release phase (an upper bound of the scheduler's share: it
// includes the Signal encryption and the store writes of each send).
//
// usage: node tests/bench/pace_proof.mjs WAMD WASIM [out.json] [instances=10] [messages=50000]
//   e.g. meson setup build/pacebench --buildtype=debugoptimized -Dinterop=disabled &&
//        meson compile -C build/pacebench daemon/wamd tests/sim/wasim &&
//        node tests/bench/pace_proof.mjs build/pacebench/daemon/wamd build/pacebench/tests/sim/wasim
import fs from 'node:fs';
import { paceHarness } from '../daemon/pace_util.mjs';
import { startWasim, check, tmpDir, sleep } from '../sim/harness.mjs';

const [wamdExe, wasimExe, outPath, nArg, mArg] = process.argv.slice(2);
if (!wamdExe || !wasimExe) {
  console.error('usage: node tests/bench/pace_proof.mjs WAMD WASIM [out.json] [instances=10] [messages=50000]');
  process.exit(2);
}
const N = Number(nArg || 10);
const M = Number(mArg || 50000);
const SINGLE = Math.min(500, Math.floor(M / N / 2)); // sendText per instance; the rest by a bulk job
const MIN = 60000;
const HOUR = 60 * MIN;
const OWN = { perMinute: 20, perHour: 600 };
const GROUP = { name: 'acme', perMinute: 40, perHour: 1500 };
const DAEMON = { perMinute: 80, perHour: 4000 };
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const NR = 20;

const cpuOf = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks of 10 ms
};
// the most of the sorted times ts any span (t - span, t] holds
const maxIn = (ts, span) => {
  let best = 0;
  for (let i = 0, j = 0; i < ts.length; i++) {
    while (ts[j] <= ts[i] - span) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
};

const sim = await startWasim(wasimExe, { tls: true, extra: ['--max-conns', String(N + 100)] });
const phones = Array.from({ length: N }, (_, i) => String(15558100000 + i));
const rcpts = Array.from({ length: NR }, (_, i) => String(15558200000 + i));
for (const p of [...phones, ...rcpts]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const data = tmpDir('wamd-pace-proof-');
const h = await paceHarness({
  wamdExe, sim, data, key: 'pace-proof-bench-key-0f3a', t0: T0,
  env: { WAMD_PACE_DAEMON_PER_MINUTE: String(DAEMON.perMinute), WAMD_PACE_DAEMON_PER_HOUR: String(DAEMON.perHour),
    WAMD_PACE_GROUPS: `${GROUP.name}:${GROUP.perMinute}/${GROUP.perHour}/0` },
});
const { up, stanzasFrom } = h;
// wamd serves one request per connection: a pooled connection it closed as
// the next request went out fails unread (ECONNRESET), so that one is sent again
const again = async (f) => {
  for (let k = 0; ; k++) {
    try { return await f(); } catch (e) { if (k >= 4 || e?.cause?.code !== 'ECONNRESET') throw e; await sleep(100); }
  }
};
const api = (...a) => again(() => h.api(...a));
const advanceTo = (t) => again(() => h.advanceTo(t));
const wamd = h.startWamd(T0);
const names = phones.map((_, i) => `p${i}`);
const inGroup = (i) => i < N / 2;
try {
  await up();
  await h.pairAll(names, phones);
  for (let i = 0; i < N; i++) {
    const r = await api('POST', `/wamd/pace/${names[i]}`, { ...OWN, perDay: 0, firstContactPerDay: 0, warmupStep: 0,
      gapMs: 0, jitterMs: 0, typing: false, available: false, group: inGroup(i) ? GROUP.name : null });
    check(r.status === 201, `${names[i]}: ${OWN.perMinute}/min, ${OWN.perHour}/hour${inGroup(i) ? ', group acme' : ''}`);
  }
  const base = await Promise.all(phones.map((p) => stanzasFrom(p)));

  // ---- queue: a bulk job and single sends per instance ----
  const per = Math.floor(M / N);
  const t0q = Date.now();
  const jobs = [];
  const singles = names.map(() => []);
  for (let i = 0; i < N; i++) {
    const recipients = Array.from({ length: per - SINGLE }, (_, k) => ({ number: rcpts[k % NR], variables: { k } }));
    const r = await api('POST', `/wamd/bulk/${names[i]}`, { template: `bulk {{k}} from ${names[i]}`, recipients });
    check(r.status === 201 && r.json.total === per - SINGLE, `${names[i]}: a job of ${per - SINGLE}`);
    jobs.push(r.json.id);
  }
  for (let k = 0; k < SINGLE; k++) {
    await Promise.all(names.map(async (n, i) => {
      const r = await api('POST', `/message/sendText/${n}`, { number: rcpts[(k + i) % NR], text: `single ${k} from ${n}` });
      if (r.status !== 201) check(false, `${n}: single ${k} accepted (${r.status})`);
      singles[i].push(r.json.key.id);
    }));
  }
  const queueS = (Date.now() - t0q) / 1000;
  h.answers.length = 0; // not kept: 50,000 answers
  const queued = (await api('GET', '/wamd/metrics')).json.pacing.queued;
  console.log(`queued ${N * per} sends in ${queueS.toFixed(1)} s (${queued} held by pacing)`);

  // ---- release: a minute of test clock at a time ----
  const rel = [];
  const cpu0 = cpuOf(wamd.pid);
  const wall0 = Date.now();
  let t = T0, quiet = 0;
  while (quiet < 3 && t < T0 + 30 * 24 * HOUR) {
    t += MIN;
    const x = await advanceTo(t);
    rel.push(...x);
    h.answers.length = 0;
    const left = (await api('GET', '/wamd/metrics')).json.pacing.queued;
    quiet = left === 0 ? quiet + 1 : 0;
    if ((t - T0) % (60 * MIN) === 0) console.log(`+${(t - T0) / HOUR} h: ${rel.length} released, ${left} held`);
  }
  const cpu = cpuOf(wamd.pid) - cpu0;
  const wall = (Date.now() - wall0) / 1000;
  // wasim's count of what each instance sent
  const want = phones.map((_, i) => base[i] + per);
  let got = [];
  for (let k = 0; k < 400; k++) {
    got = await Promise.all(phones.map((p) => stanzasFrom(p)));
    if (got.every((g, i) => g >= want[i])) break;
    await sleep(250);
  }
  await sleep(1000);
  got = await Promise.all(phones.map((p) => stanzasFrom(p)));

  // ---- the figures ----
  const ids = new Set(rel.map((e) => e.id));
  check(ids.size === rel.length, `no send released twice (${rel.length} releases, ${ids.size} ids)`);
  const byInst = names.map((n) => rel.filter((e) => e.instance === n).map((e) => e.atMs));
  const straight = names.map((_, i) => per - byInst[i].length); // left at once at T0, before anything was held
  const times = names.map((_, i) => [...Array(straight[i]).fill(T0), ...byInst[i]].sort((a, b) => a - b));
  const rows = [];
  const row = (who, ts, lim) => {
    const m = maxIn(ts, MIN), hh = maxIn(ts, HOUR);
    rows.push({ who, sends: ts.length, maxPerMinute: m, perMinute: lim.perMinute, maxPerHour: hh, perHour: lim.perHour });
    check(m <= lim.perMinute && hh <= lim.perHour,
      `${who}: ${ts.length} sends, at most ${m} in any minute (limit ${lim.perMinute}), ${hh} in any hour (limit ${lim.perHour})`);
  };
  for (let i = 0; i < N; i++) row(names[i], times[i], OWN);
  row('group acme', times.filter((_, i) => inGroup(i)).flat().sort((a, b) => a - b), GROUP);
  row('daemon-wide', times.flat().sort((a, b) => a - b), DAEMON);
  for (let i = 0; i < N; i++) { // the sends that left at once are single ones: the job's are all queued
    const single = singles[i].filter((id) => ids.has(id)).length;
    check(byInst[i].length - single === per - SINGLE && single + straight[i] === SINGLE,
      `${names[i]}: ${per - SINGLE} job messages released, ${single} single sends released, ${straight[i]} at once`);
  }
  for (let i = 0; i < N; i++) {
    const j = (await api('GET', `/wamd/bulk/${names[i]}?id=${jobs[i]}`)).json;
    check(j.state === 'done' && j.sent === per - SINGLE && j.failed === 0, `${names[i]}: job done, ${j.sent} sent, ${j.failed} failed`);
  }
  check(got.every((g, i) => g - base[i] === per), `wasim got exactly ${per} <message> stanzas from each instance (${got.map((g, i) => g - base[i])})`);
  const released = rel.length;
  const out = {
    instances: N, messages: N * per, queue_s: queueS, released, straight: straight.reduce((a, b) => a + b, 0),
    test_clock_h: (t - T0) / HOUR, release_wall_s: wall, wamd_cpu_s: cpu,
    wamd_cpu_per_released_message_us: released ? (cpu / released) * 1e6 : null, limits: rows,
  };
  console.log(JSON.stringify(out, null, 1));
  console.log(`released ${released} sends over ${(out.test_clock_h).toFixed(1)} h of test clock in ${wall.toFixed(1)} s; ` +
    `wamd CPU ${cpu.toFixed(2)} s = ${out.wamd_cpu_per_released_message_us.toFixed(0)} µs per released message ` +
    '(scheduler, store, Signal encryption and the socket write together)');
  if (outPath) fs.writeFileSync(outPath, JSON.stringify(out, null, 1) + '\n');
  wamd.kill('SIGTERM');
  await new Promise((res) => wamd.once('exit', res));
} catch (e) {
  process.stderr.write(`${e?.stack || e}\n--- wamd's log, last lines ---\n${h.log.slice(-6000)}\n`);
  process.exitCode = 1;
} finally {
  try { wamd.kill('SIGKILL'); } catch { /* gone */ }
  await sim.stop();
}
