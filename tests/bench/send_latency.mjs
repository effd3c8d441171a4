// Benchmark 3, durable send latency (tests/bench/README.md): N wamd
// instances paired against wasim (provision.mjs) send texts to each other
// (instance i to the number of instance i+1) at R messages/s in total,
// open loop (send k is due at k/R s whatever the answers do), through
// POST /message/sendText on wamd's unix socket. wamd measures each message
// from the API dispatch of its request to the return of the socket write
// of the stanza carrying it, which comes after the outbox row and the
// ratchet state were committed (GET /wamd/metrics, CLOCK_MONOTONIC, 10 µs
// buckets). Every instance first sends two warm-up messages (device list,
// pre-key bundles, Signal sessions) and the histogram is reset after them.
// Also reported: the achieved rate, the HTTP round trip seen by this
// client, and wamd's CPU time during the run.
// usage: node send_latency.mjs WAMD WASIM [out.json] [N=100] [rate=1000] [seconds=20]
import { startWasim, tmpDir } from '../sim/harness.mjs';
import { provision, wamdClient, waitWamd } from './provision.mjs';
import { sleep, procStats, startWamd, writeJson, quantile, pool, retrying } from './wamd_bench.mjs';

const [wamdExe, wasimExe, outPath, nArg, rateArg, secArg] = process.argv.slice(2);
if (!wamdExe || !wasimExe) {
  console.error('usage: send_latency.mjs WAMD WASIM [out.json] [N] [rate] [seconds]');
  process.exit(2);
}
const N = Number(nArg || 100);
const RATE = Number(rateArg || 1000);
const SECONDS = Number(secArg || 20);
const PHONE_BASE = 15558000000;
const extra = (process.env.WAMD_BENCH_ARGS || '').split(' ').filter(Boolean);

const sim = await startWasim(wasimExe, { extra: ['--max-conns', String(N + 1000)] });
const data = tmpDir('wamd-latency-bench-');
console.log(`== durable send latency: ${N} instances, ${RATE} msg/s for ${SECONDS} s`);
const w = startWamd(wamdExe, { data, sim, logLevel: 'warn', extra });
await waitWamd(w.socket);
const prov = await provision({ wasim: `http://127.0.0.1:${sim.port}`, socket: w.socket, count: N,
  prefix: 'sl', phoneBase: PHONE_BASE, parallel: 32 });
console.log(`provisioned ${N} in ${prov.elapsed_s.toFixed(1)} s`);

const wc = wamdClient(w.socket, 256);
const send = async (i, text) => {
  const t = performance.now();
  const r = await wc.call('POST', `/message/sendText/sl${i}`, { number: String(PHONE_BASE + (i + 1) % N), text });
  return { ok: r.status === 201, ms: performance.now() - t, status: r.status };
};

// warm-up: two messages per instance, then wait for their wire marks
const idx = Array.from({ length: N }, (_, i) => i);
for (let k = 0; k < 2; k++) {
  await pool(idx, 32, async (i) => {
    const r = await send(i, `warm-up ${k}`);
    if (!r.ok) throw new Error(`warm-up send from sl${i}: ${r.status}`);
  });
}
for (let t = 0; t < 300; t++) {
  const m = (await retrying(() => wc.call('GET', '/wamd/metrics'))).json;
  if (m.send_latency.count >= 2 * N) break;
  await sleep(100);
}
const warm = (await retrying(() => wc.call('GET', '/wamd/metrics'))).json.send_latency;
console.log(`warm-up: ${warm.count} sends on the wire, p50 ${warm.p50_ms} ms, max ${warm.max_ms?.toFixed(1)} ms (usync + pre-keys)`);
await sleep(1000); // let receipts of the warm-up settle
await retrying(() => wc.call('POST', '/wamd/metrics/reset'));

// the measured run: open loop
const total = RATE * SECONDS;
const rtts = [];
let ok = 0, failed = 0, lastStatus = 0;
const inflight = new Set();
const cpu0 = procStats(w.proc.pid).cpu_s;
const t0 = performance.now();
let k = 0;
let maxLagMs = 0;
while (k < total) {
  const now = performance.now() - t0;
  const due = Math.min(total, Math.floor((now * RATE) / 1000) + 1);
  if (k < due) maxLagMs = Math.max(maxLagMs, now - (k * 1000) / RATE);
  for (; k < due; k++) {
    const p = send(k % N, `bench ${k}`).then((r) => {
      if (r.ok) { ok++; rtts.push(r.ms); } else { failed++; lastStatus = r.status; }
    }, () => { failed++; });
    inflight.add(p);
    p.finally(() => inflight.delete(p));
  }
  await sleep(2);
}
const tSent = performance.now();
await Promise.all([...inflight]);
const tAnswered = performance.now();
await sleep(1500); // the last wire marks
const cpu1 = procStats(w.proc.pid).cpu_s;
const m = (await retrying(() => wc.call('GET', '/wamd/metrics'))).json;
wc.close();
const ps = procStats(w.proc.pid);
await w.stop();
await sim.stop();

rtts.sort((a, b) => a - b);
const L = m.send_latency;
const elapsed = (tAnswered - t0) / 1000;
const res = {
  benchmark: 'send_latency', instances: N, target_rate: RATE, seconds: SECONDS,
  accepted: ok, failed, last_failed_status: lastStatus || null,
  achieved_rate: ok / elapsed, scheduler_max_lag_ms: maxLagMs, send_window_s: (tSent - t0) / 1000,
  wire: L,
  http_rtt_ms: { p50: quantile(rtts, 0.5), p99: quantile(rtts, 0.99), max: rtts[rtts.length - 1] },
  wamd_cpu_s: cpu1 - cpu0, wamd_cpu_pct_of_core: ((cpu1 - cpu0) / elapsed) * 100,
  wamd_peak_rss_mib: ps.hwm_kib / 1024,
  wamd_args: extra,
};
const f = (x) => (typeof x === 'number' ? x.toFixed(3) : String(x));
const rows = [
  ['messages accepted / failed', `${ok} / ${failed}`],
  ['achieved rate (msg/s)', res.achieved_rate.toFixed(0)],
  ['on the wire (wamd marks)', String(L.count)],
  ['accepted -> written p50 (ms)', f(L.p50_ms)],
  ['accepted -> written p90 (ms)', f(L.p90_ms)],
  ['accepted -> written p99 (ms)', f(L.p99_ms)],
  ['accepted -> written p99.9 (ms)', f(L.p999_ms)],
  ['accepted -> written max (ms)', f(L.max_ms)],
  ['HTTP round trip p50 / p99 (ms)', `${f(res.http_rtt_ms.p50)} / ${f(res.http_rtt_ms.p99)}`],
  ['wamd CPU during the run', `${res.wamd_cpu_s.toFixed(2)} s (${res.wamd_cpu_pct_of_core.toFixed(0)} % of a core)`],
  ['wamd peak RSS (MiB)', (ps.hwm_kib / 1024).toFixed(1)],
];
const w0 = Math.max(...rows.map((x) => x[0].length));
console.log();
for (const [a, b] of rows) console.log(`${a.padEnd(w0)}  ${b}`);
writeJson(outPath, res);
process.exit(0);
