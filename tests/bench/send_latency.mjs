// Benchmark 3, durable send latency (tests/bench/README.md): N wamd
// instances paired against wasim (provision.mjs) send texts, each to a wasim
// phone of its own (WAMD_BENCH_TARGET=peers: instance i to instance i+1, so
// wamd also receives them) at R messages/s in total,
// open loop (send k is due at k/R s whatever the answers do), through
// POST /message/sendText on wamd's unix socket. wamd measures each message
// from the API dispatch of its request to the return of the socket write
// of the stanza carrying it, which comes after the outbox row and the
// ratchet state were committed (GET /wamd/metrics, CLOCK_MONOTONIC, 10 µs
// buckets). Every instance first sends two warm-up messages (device list,
// pre-key bundles, Signal sessions) and the histogram is reset after them.
// Also reported: the achieved rate, the HTTP round trip seen by this
// client, and wamd's CPU time during the run. Each figure for the store on
// disk and on tmpfs (WAMD_BENCH_STORES), since a shared CI disk's
// writeback stalls are not wamd's. WAMD_BENCH_STORES=postgres puts the store
// in PostgreSQL: run under tests/unit/store_pg.py, which starts a private
// server and gives the database in WA_TEST_PG_URI (one postgres variant per run).
// usage: node send_latency.mjs WAMD WASIM [out.json] [N=100] [rate=1000] [seconds=20]
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { startWasim, tmpDir } from '../sim/harness.mjs';
import { provision, wamdClient, waitWamd } from './provision.mjs';
import { sleep, procStats, startWamd, writeJson, quantile, pool, retrying, renice } from './wamd_bench.mjs';

renice();
// wamd's own latency, not the send pacing's: paced texts wait by design
// (composing first, per-instance windows), so only the warm-up would reach
// the wire; WAMD_PACING=on measures the pacing instead. WAMD_PACING=open:
// pacing on with every limit of every instance off (no window, gap, jitter,
// typing or presence), so no send is held back: what the pacing's checks
// and window rows cost a send that goes straight through
process.env.WAMD_PACING ??= 'off';
const OPEN = process.env.WAMD_PACING === 'open';
if (OPEN) process.env.WAMD_PACING = 'on';

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

const STORES = (process.env.WAMD_BENCH_STORES || 'disk,tmpfs').split(',');
// phones: instance i sends to a wasim account of its own that no wamd
// instance is paired with (only wasim's phone decrypts); peers: to instance
// i+1, so wamd also receives every message
const TARGET = process.env.WAMD_BENCH_TARGET || 'phones';
const PEER_BASE = PHONE_BASE + 100000;

// tmpfs data folders are ours to remove (harness removes its tmpDirs)
const shmDirs = [];
process.on('exit', () => { for (const d of shmDirs) fs.rmSync(d, { recursive: true, force: true }); });

async function runVariant(store) {
const sim = await startWasim(wasimExe, { extra: ['--max-conns', String(N + 1000), '--device-notify', 'watchers'] });
renice(sim.proc.pid);
let data;
if (store === 'tmpfs') {
  data = fs.mkdtempSync('/dev/shm/wamd-latency-bench-');
  shmDirs.push(data);
} else {
  data = tmpDir('wamd-latency-bench-');
}
let args = extra;
if (store === 'postgres') {
  if (!process.env.WA_TEST_PG_URI) throw new Error('store postgres: run under tests/unit/store_pg.py (WA_TEST_PG_URI)');
  args = [...extra, '--store', process.env.WA_TEST_PG_URI];
}
console.log(`== durable send latency: ${N} instances, ${RATE} msg/s for ${SECONDS} s, store on ${store}`);
const w = startWamd(wamdExe, { data, sim, logLevel: 'warn', extra: args });
await waitWamd(w.socket);
const prov = await provision({ wasim: `http://127.0.0.1:${sim.port}`, socket: w.socket, count: N,
  prefix: 'sl', phoneBase: PHONE_BASE, parallel: 32 });
console.log(`provisioned ${N} in ${prov.elapsed_s.toFixed(1)} s`);
if (TARGET === 'phones') {
  await pool(Array.from({ length: N }, (_, i) => i), 16, async (i) => {
    const r = await sim.api('POST', '/_sim/accounts', { phone: String(PEER_BASE + i) });
    // 409: wasim has that number already (it is still a phone to send to)
    if (r.status !== 201 && r.status !== 409) throw new Error(`peer account ${PEER_BASE + i}: ${r.status}`);
  });
}
const target = (i) => String(TARGET === 'phones' ? PEER_BASE + i : PHONE_BASE + (i + 1) % N);

// WAMD_BENCH_KEEPALIVE=1: the sends over 32 kept-alive connections (the
// API's per-message cost without a connection per request)
const wc = wamdClient(w.socket, 32, { keepAlive: process.env.WAMD_BENCH_KEEPALIVE === '1' });
if (OPEN) {
  await pool(Array.from({ length: N }, (_, i) => i), 16, async (i) => {
    const r = await wc.call('POST', `/wamd/pace/sl${i}`, { perMinute: 0, perHour: 0, perDay: 0, firstContactPerDay: 0,
      warmupStep: 0, gapMs: 0, jitterMs: 0, typing: false, available: false });
    if (r.status !== 201) throw new Error(`pacing limits off on sl${i}: ${r.status}`);
  });
}
const send = async (i, text) => {
  const t = performance.now();
  const r = await wc.call('POST', `/message/sendText/sl${i}`, { number: target(i), text });
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
// WAMD_BENCH_PWRITES=1 (root, perf): count wamd's pwrite64 calls in the
// run window (SQLite writes each WAL page with one pwrite; the socket
// uses write/writev), a load-insensitive figure of store work per message,
// and its fdatasync calls (checkpoints: each stalls the loop on the disk)
const pw = process.env.WAMD_BENCH_PWRITES === '1' ? countPwrites(w.proc.pid) : null;
if (pw) await sleep(500);
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
const pwrites = pw ? await pw.stop() : null;
const m = (await retrying(() => wc.call('GET', '/wamd/metrics'))).json;
wc.close();
const ps = procStats(w.proc.pid);
await w.stop();
await sim.stop();

rtts.sort((a, b) => a - b);
const L = m.send_latency;
const elapsed = (tAnswered - t0) / 1000;
const res = {
  store, target: TARGET, pacing: OPEN ? 'open' : process.env.WAMD_PACING,
  accepted: ok, failed, last_failed_status: lastStatus || null,
  achieved_rate: ok / elapsed, scheduler_max_lag_ms: maxLagMs, send_window_s: (tSent - t0) / 1000,
  wire: L,
  http_rtt_ms: { p50: quantile(rtts, 0.5), p99: quantile(rtts, 0.99), max: rtts[rtts.length - 1] },
  wamd_cpu_s: cpu1 - cpu0, wamd_cpu_pct_of_core: ((cpu1 - cpu0) / elapsed) * 100,
  wamd_peak_rss_mib: ps.hwm_kib / 1024,
  wamd_pwrites: pwrites?.pwrites ?? null,
  wamd_fdatasyncs: pwrites?.fdatasyncs ?? null,
  wamd_args: extra,
};
return res;
}

function countPwrites(pid) {
  const p = spawn('perf', ['stat', '-x', ',', '-e', 'syscalls:sys_enter_pwrite64,syscalls:sys_enter_fdatasync',
    '-p', String(pid)],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  const done = new Promise((resolve) => p.on('exit', () => resolve()));
  return {
    async stop() {
      p.kill('SIGINT');
      await done;
      const count = (ev) => {
        const line = err.split('\n').find((l) => l.includes(ev));
        const v = line ? Number(line.split(',')[0]) : NaN;
        if (!Number.isFinite(v)) throw new Error(`perf stat: ${err.trim()}`);
        return v;
      };
      // fdatasync: SQLite's checkpoints (two each: the WAL, then the database)
      return { pwrites: count('sys_enter_pwrite64'), fdatasyncs: count('sys_enter_fdatasync') };
    },
  };
}

const results = {};
for (const store of STORES) results[store] = await runVariant(store);
const f = (x) => (typeof x === 'number' ? x.toFixed(3) : String(x));
const row = (label, fn) => [label, ...STORES.map((k) => fn(results[k]))];
const rows = [
  row('store', (r) => r.store),
  row('sent to', (r) => r.target),
  row('pacing', (r) => r.pacing),
  row('messages accepted / failed', (r) => `${r.accepted} / ${r.failed}`),
  row('achieved rate (msg/s)', (r) => r.achieved_rate.toFixed(0)),
  row('on the wire (wamd marks)', (r) => String(r.wire.count)),
  row('accepted -> written p50 (ms)', (r) => f(r.wire.p50_ms)),
  row('accepted -> written p90 (ms)', (r) => f(r.wire.p90_ms)),
  row('accepted -> written p99 (ms)', (r) => f(r.wire.p99_ms)),
  row('accepted -> written p99.9 (ms)', (r) => f(r.wire.p999_ms)),
  row('accepted -> written max (ms)', (r) => f(r.wire.max_ms)),
  row('HTTP round trip p50 (ms)', (r) => f(r.http_rtt_ms.p50)),
  row('HTTP round trip p99 (ms)', (r) => f(r.http_rtt_ms.p99)),
  row('wamd CPU during the run (s)', (r) => r.wamd_cpu_s.toFixed(2)),
  row('wamd CPU (% of a core)', (r) => r.wamd_cpu_pct_of_core.toFixed(0)),
  row('wamd CPU per message (ms)', (r) => (r.wamd_cpu_s * 1000 / Math.max(1, r.accepted)).toFixed(3)),
  row('messages per wamd CPU-second', (r) => String(Math.round(r.accepted / Math.max(1e-9, r.wamd_cpu_s)))),
  ...(process.env.WAMD_BENCH_PWRITES === '1'
    ? [row('wamd pwrite calls per message', (r) => (r.wamd_pwrites / Math.max(1, r.accepted)).toFixed(2)),
       row('wamd fdatasync calls per 1,000 messages', (r) => (r.wamd_fdatasyncs * 1000 / Math.max(1, r.accepted)).toFixed(1))]
    : []),
  row('wamd peak RSS (MiB)', (r) => r.wamd_peak_rss_mib.toFixed(1)),
];
const w0 = Math.max(...rows.map((x) => x[0].length));
console.log();
for (const r of rows) console.log(r[0].padEnd(w0) + r.slice(1).map((v) => v.padStart(14)).join(''));
writeJson(outPath, { benchmark: 'send_latency', instances: N, target_rate: RATE, seconds: SECONDS,
  ...results[STORES[0]], stores: results });
process.exit(0);
