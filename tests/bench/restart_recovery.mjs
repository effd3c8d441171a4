// Benchmark 4, restart recovery (tests/bench/README.md): wamd with N
// persisted instances, paired for real against wasim (provision.mjs), is
// stopped; while it is down wasim's phone of another account sends Q texts
// to each instance, so they sit in wasim's offline queue; then wamd starts
// again. Measured per restart mode:
//   - seconds until every instance is `open`, and until every offline queue
//     of our companion devices is empty (each message delivered, decrypted,
//     stored and acked by wamd);
//   - wamd's peak RSS (VmHWM) and CPU time (user + system) for the restart;
//   - concurrent handshakes: wasim's count of connections between accept and
//     login (sampled, and its own peak counter) and wamd's gate peak;
//   - logouts (state LOGGED_OUT lines; must be 0) and instances not open.
// Modes: "storm" = no admission (max_handshakes 100000, no startup spread:
// what wamd did before the gate), "gate" = the defaults.
// usage: node restart_recovery.mjs WAMD WASIM [out.json] [N=1000] [Q=2] [modes=storm,gate]
import { startWasim, tmpDir } from '../sim/harness.mjs';
import { provision, wamdClient, waitWamd } from './provision.mjs';
import { sleep, procStats, startWamd, writeJson, pool, retrying, renice } from './wamd_bench.mjs';

renice();

const [wamdExe, wasimExe, outPath, nArg, qArg, modesArg] = process.argv.slice(2);
if (!wamdExe || !wasimExe) {
  console.error('usage: restart_recovery.mjs WAMD WASIM [out.json] [N] [Q] [modes]');
  process.exit(2);
}
const N = Number(nArg || 1000);
const Q = Number(qArg || 2);
const MODES = (modesArg || 'storm,gate').split(',');
const PHONE_BASE = 15557000000;
const SENDER = String(PHONE_BASE - 1);
const RECOVERY_TIMEOUT_MS = 180000;
const MODE_ARGS = {
  storm: ['--max-handshakes', '100000', '--startup-spread-max-ms', '0'],
  gate: [],
};

const sim = await startWasim(wasimExe, { extra: ['--max-conns', String(N + 1000), '--device-notify', 'watchers'] });
renice(sim.proc.pid);
const base = `http://127.0.0.1:${sim.port}`;
const data = tmpDir('wamd-restart-bench-');
const phones = Array.from({ length: N }, (_, i) => String(PHONE_BASE + i));
const phoneSet = new Set(phones);

console.log(`== restart recovery: ${N} instances, ${Q} queued messages each`);
let w = startWamd(wamdExe, { data, sim, logLevel: 'warn' });
await waitWamd(w.socket);
const tp = performance.now();
const prov = await provision({
  wasim: base, socket: w.socket, count: N, prefix: 'rr', phoneBase: PHONE_BASE, parallel: 32,
  onProgress: (d, n, s) => process.stdout.write(`\rprovisioned ${d}/${n} in ${s.toFixed(0)} s`),
});
console.log(`\nprovisioned ${N} in ${((performance.now() - tp) / 1000).toFixed(1)} s`);
await w.stop();
let r = await sim.api('POST', '/_sim/accounts', { phone: SENDER });
if (r.status !== 201) throw new Error(`sender account: ${r.status}`);

// Messages waiting in wasim for our companion devices (device != 0).
async function queuedForUs() {
  const res = await retrying(() => sim.api('GET', '/_sim/accounts'));
  let q = 0;
  for (const a of res.json.accounts) {
    if (!phoneSet.has(String(a.phone))) continue;
    for (const d of a.devices || []) if (d.device !== 0) q += d.queued || 0;
  }
  return q;
}

const results = {};
for (const mode of MODES) {
  // queue Q messages per instance while wamd is down
  const tq = performance.now();
  await pool(phones, 16, async (p) => {
    for (let k = 0; k < Q; k++) {
      const s = await retrying(() => sim.api('POST', '/_sim/phone/send', { phone: SENDER, to: p, text: `${mode} offline ${k}` }));
      if (s.status !== 200 && s.status !== 201) throw new Error(`phone send to ${p}: ${s.status} ${JSON.stringify(s.json)}`);
    }
  });
  const queued = await queuedForUs();
  console.log(`[${mode}] queued ${queued} messages for the ${N} companions in ` +
    `${((performance.now() - tq) / 1000).toFixed(1)} s`);
  await retrying(() => sim.api('POST', '/_sim/conns/peak-reset'));

  const t0 = performance.now();
  w = startWamd(wamdExe, { data, sim, logLevel: 'info', extra: MODE_ARGS[mode] || [] });
  const wc = wamdClient(w.socket, 2);
  let tOpen = null, tDrained = null, sampledPeak = 0, lastMetrics = null, lastQueued = queued;
  let lastPoll = 0;
  while (performance.now() - t0 < RECOVERY_TIMEOUT_MS) {
    await sleep(100);
    const c = await retrying(() => sim.api('GET', '/_sim/conns'));
    sampledPeak = Math.max(sampledPeak, c.json.handshakes || 0);
    try {
      const m = await retrying(() => wc.call('GET', '/wamd/metrics'));
      if (m.status === 200) lastMetrics = m.json;
    } catch { continue; /* not listening yet */ }
    if (!tOpen && lastMetrics?.instances?.open === N) tOpen = performance.now();
    if (tOpen && performance.now() - lastPoll > 250) {
      lastPoll = performance.now();
      lastQueued = await queuedForUs();
      if (lastQueued === 0) {
        tDrained = performance.now();
        break;
      }
    }
  }
  const ps = procStats(w.proc.pid);
  const conns = (await retrying(() => sim.api('GET', '/_sim/conns'))).json;
  const m = (await retrying(() => wc.call('GET', '/wamd/metrics'))).json;
  wc.close();
  await w.stop();
  const logouts = (w.log().match(/state LOGGED_OUT/g) || []).length;
  const res = {
    instances: N,
    queued_messages: queued,
    all_open_s: tOpen ? (tOpen - t0) / 1000 : null,
    drained_s: tDrained ? (tDrained - t0) / 1000 : null,
    still_queued: lastQueued,
    open_at_end: m.instances.open,
    wamd_peak_rss_mib: ps.hwm_kib / 1024,
    wamd_cpu_s: ps.cpu_s,
    wasim_peak_handshakes: conns.peak_handshakes,
    wasim_sampled_max_handshakes: sampledPeak,
    wamd_gate_peak: m.handshakes.peak,
    max_handshakes: m.handshakes.max,
    logouts,
  };
  results[mode] = res;
  console.log(`[${mode}] all open ${res.all_open_s?.toFixed(2)} s, drained ${res.drained_s?.toFixed(2)} s`);
}

console.log();
const cols = MODES;
const rows = [
  ['', ...cols],
  ['instances online (s)', ...cols.map((k) => results[k].all_open_s?.toFixed(2) ?? 'timeout')],
  ['offline queues drained (s)', ...cols.map((k) => results[k].drained_s?.toFixed(2) ?? 'timeout')],
  ['queued messages', ...cols.map((k) => String(results[k].queued_messages))],
  ['wamd peak RSS (MiB)', ...cols.map((k) => results[k].wamd_peak_rss_mib.toFixed(1))],
  ['wamd CPU time (s)', ...cols.map((k) => results[k].wamd_cpu_s.toFixed(2))],
  ['peak handshakes (wasim)', ...cols.map((k) => String(results[k].wasim_peak_handshakes))],
  ['peak handshakes (wamd gate)', ...cols.map((k) => `${results[k].wamd_gate_peak}/${results[k].max_handshakes}`)],
  ['logouts', ...cols.map((k) => String(results[k].logouts))],
];
const w0 = Math.max(...rows.map((x) => x[0].length));
for (const row of rows) console.log(row[0].padEnd(w0) + row.slice(1).map((v) => v.padStart(12)).join(''));
writeJson(outPath, { benchmark: 'restart_recovery', instances: N, queued_per_instance: Q,
  provision_s: prov.elapsed_s, modes: results });
await sim.stop();
process.exit(0);
