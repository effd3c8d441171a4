// Fair pacing across tenants against wasim (suite e2e), on wamd's test
// clock: ten instances; p0 gets a bulk job of 50,000 recipients (one
// request, a 2 MiB body), limited to 20/min; p1..p9, 6/min each, send 12
// texts twice. Their first six leave at once and the next six exactly when
// their own minute allows (T0+1 min, T0+6 min): the big job delays them by
// nothing. The queues' expected times (every instance's) are the same
// before and after a SIGKILL; p0's job leaves 20 at each minute mark,
// across the restart too (no burst, no minute missed, no message twice:
// wasim's count equals the job's and wamd's releases); after a cancel
// nothing more leaves. Prints the create's answer time and wamd's RSS.
// argv: [node, script, wamd, wasim]
import fs from 'node:fs';
import { paceHarness } from './pace_util.mjs';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';

watchdog(170);
const [wamdExe, wasimExe] = process.argv.slice(2);
const N = 10;
const BIG = 50000;
const MIN = 60000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const phones = Array.from({ length: N }, (_, i) => String(15550093000 + i));
const rcpts = Array.from({ length: 20 }, (_, k) => String(15550094000 + k));
const names = phones.map((_, i) => `p${i}`);
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const sim = await startWasim(wasimExe, { tls: true, extra: ['--max-conns', '200'] });
for (const p of [...phones, ...rcpts]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const data = tmpDir('wamd-pace-tenants-');
const h = await paceHarness({ wamdExe, sim, data, key: 'pace-tenants-key-7b2e', t0: T0 });
const { startWamd, api, dumpOnFail, up, waitOpen, stanzasFrom, advanceTo } = h;
let wamd;
const queues = async () => {
  const out = {};
  for (const n of names) {
    const q = (await api('GET', `/wamd/paceQueue/${n}`)).json;
    out[n] = q.messages.map((m) => [m.id, m.expectedAtMs]);
  }
  return out;
};
const rel = [];
const step = async (t) => { const x = await advanceTo(t); rel.push(...x); h.answers.length = 0; return x; };
// the second, third ... sends of each small instance: 6 leave at once, 6 are held
const burst = async (k0) => {
  const held = names.map(() => []);
  for (let i = 1; i < N; i++) {
    for (let k = k0; k < k0 + 12; k++) {
      const r = await api('POST', `/message/sendText/${names[i]}`, { number: rcpts[(i + k) % rcpts.length], text: `p${i} ${k}` });
      if (r.status !== 201) check(false, `${names[i]}: send ${k} (${r.status})`);
      if (k - k0 >= 6) held[i].push(r.json.key.id);
    }
  }
  h.answers.length = 0;
  return held;
};

try {
  wamd = startWamd(T0);
  await up();
  await h.pairAll(names, phones);
  for (let i = 0; i < N; i++) {
    const r = await api('POST', `/wamd/pace/${names[i]}`, { perMinute: i ? 6 : 20, perHour: 0, perDay: 0,
      firstContactPerDay: 0, warmupStep: 0, gapMs: 0, jitterMs: 0, typing: false, available: false });
    check(r.status === 201, `${names[i]}: ${i ? 6 : 20}/min`);
  }
  const base = await Promise.all(phones.map((p) => stanzasFrom(p)));

  const recipients = Array.from({ length: BIG }, (_, k) => ({ number: rcpts[k % rcpts.length], variables: { k } }));
  const rss0 = rss(wamd.pid);
  let t = Date.now();
  let r = await api('POST', '/wamd/bulk/p0', { template: 'job {{k}}', recipients });
  const createMs = Date.now() - t;
  h.answers.length = 0;
  dumpOnFail(r.status === 201 && r.json.total === BIG && r.json.state === 'running', `p0: a job of ${BIG} (${r.status})`);
  const job = r.json.id;
  const rss1 = rss(wamd.pid);
  console.log(`# create of ${BIG} recipients answered in ${createMs} ms; wamd RSS ${rss0.toFixed(0)} -> ${rss1.toFixed(0)} MiB`);

  const held1 = await burst(0);
  let q = await queues();
  check(names.slice(1).every((n, k) => q[n].length === 6 && q[n].every(([id, at], j) => id === held1[k + 1][j] && at === T0 + MIN)),
    `p1..p9: six sent at once, six expected at T0+1 min (${JSON.stringify(q.p1)})`);
  await step(T0 + 5 * MIN);
  const own = (from, to) => rel.filter((e) => e.instance !== 'p0' && e.atMs >= from && e.atMs < to);
  let o = own(T0, T0 + 5 * MIN);
  check(o.length === 54 && o.every((e) => e.atMs === T0 + MIN) &&
    names.slice(1).every((n, k) => o.filter((e) => e.instance === n).map((e) => e.id).join() === held1[k + 1].join()),
    `their held sends left at T0+1 min exactly, in order, beside the job (${o.length}: ${[...new Set(o.map((e) => e.atMs - T0))]})`);

  const held2 = await burst(12);
  q = await queues();
  check(names.slice(1).every((n, k) => q[n].length === 6 && q[n].every(([id, at], j) => id === held2[k + 1][j] && at === T0 + 6 * MIN)) &&
    q.p0.length === 1 && q.p0[0][1] === T0 + 6 * MIN, `p1..p9 expected at T0+6 min, p0's next too (${JSON.stringify(q.p0)})`);
  const rss2 = rss(wamd.pid);
  await sleep(300); // the sends' records flushed (wamd writes them within 100 ms)
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.once('exit', res));
  wamd = startWamd(T0 + 5 * MIN);
  await up();
  for (const n of names) dumpOnFail(await waitOpen(n), `${n} open again`);
  const q2 = await queues();
  check(JSON.stringify(q2) === JSON.stringify(q), `every queue's expected times the same after a SIGKILL (${JSON.stringify(q2.p0)} ${JSON.stringify(q2.p9)})`);

  await step(T0 + 16 * MIN);
  o = own(T0 + 5 * MIN, T0 + 17 * MIN);
  check(o.length === 54 && o.every((e) => e.atMs === T0 + 6 * MIN) &&
    names.slice(1).every((n, k) => o.filter((e) => e.instance === n).map((e) => e.id).join() === held2[k + 1].join()),
    `after the restart their held sends left at T0+6 min exactly (${o.length})`);
  const big = rel.filter((e) => e.instance === 'p0');
  const perMark = Array.from({ length: 17 }, (_, m) => big.filter((e) => e.atMs === T0 + m * MIN).length);
  check(perMark.every((c) => c === 20) && big.length === 340,
    `p0's job: 20 at each minute mark from T0 to T0+16 min, across the restart (${perMark})`);
  check(new Set(rel.map((e) => e.id)).size === rel.length, `no send released twice (${rel.length})`);
  const rss3 = rss(wamd.pid);
  console.log(`# wamd RSS: ${rss2.toFixed(0)} MiB after 120 of the job's sends; ${rss3.toFixed(0)} MiB after restart and 220 more`);

  r = await api('POST', '/wamd/bulkAction/p0', { id: job, action: 'cancel' });
  check(r.status === 200 && r.json.state === 'cancelled' && r.json.sent === 340, `the job cancelled after 340 (${JSON.stringify(r.json)})`);
  const x = await step(T0 + 30 * MIN);
  check(x.length === 0 && (await api('GET', '/wamd/paceQueue/p0')).json.queued === 0, `nothing more leaves (${x.length})`);
  let got = [];
  for (let k = 0; k < 200; k++) {
    got = await Promise.all(phones.map((p) => stanzasFrom(p)));
    if (got[0] - base[0] >= 340 && got.slice(1).every((g, i) => g - base[i + 1] >= 24)) break;
    await sleep(50);
  }
  await sleep(300);
  got = await Promise.all(phones.map((p) => stanzasFrom(p)));
  check(got[0] - base[0] === 340 && got.slice(1).every((g, i) => g - base[i + 1] === 24),
    `wasim got 340 from p0 and 24 from each other (${got.map((g, i) => g - base[i])})`);
  const j = (await api('GET', `/wamd/bulk/p0?id=${job}`)).json;
  check(j.state === 'cancelled' && j.sent === 340 && j.total === BIG, `the job: cancelled, 340 sent of ${BIG}`);
  await h.stopClean();
} finally {
  try { wamd.kill('SIGKILL'); } catch { /* gone */ }
  await sim.stop();
}
