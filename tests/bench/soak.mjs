// A day of traffic, looked at for drift (tests/bench/README.md): N instances
// seeded as paired (wamd_seed + wasim's /_sim/seed, test-only), each
// sending one text a minute to its partner (instance i to i^1) and so also
// receiving one a minute, every event to a global webhook. Sends are spread
// evenly over each minute (open loop: a send is due at its time whatever the
// answers do). Every minute it prints and keeps: wamd's CPU share, RssAnon,
// the durable send latency (wamd's own histogram: API dispatch to the
// socket write of the stanza, after its commits; reset each minute), the
// HTTP round trip, and the webhook lag (MESSAGES_UPSERT of the received
// text at the receiver minus the send's start). At the end: RSS against the
// RSS after the warm-up minute (the drift figure; target within 5 %) and the
// first against the last minute's p99s.
// Not compressed in time: one message a minute is what the figure is about
// (caches, queues and the store growing with a day's traffic); 10,000
// instances make ~167 sends and ~167 receives a second.
// usage: node soak.mjs WAMD WASIM WAMD_SEED [out.json] [N=10000] [minutes=5]
import fs from 'node:fs';
import http from 'node:http';
import { startWasim, tmpDir } from '../sim/harness.mjs';
import { wamdClient, waitWamd } from './provision.mjs';
import { seed } from './seed.mjs';
import { sleep, procStats, startWamd, writeJson, quantile, retrying, renice } from './wamd_bench.mjs';

renice();
process.env.WAMD_PACING ??= 'off'; // wamd's own figures, not the pacing's holds

const [wamdExe, wasimExe, seedExe, outPath, nArg, minArg] = process.argv.slice(2);
if (!wamdExe || !wasimExe || !seedExe) {
  console.error('usage: soak.mjs WAMD WASIM WAMD_SEED [out.json] [N=10000] [minutes=5]');
  process.exit(2);
}
const N = Number(nArg || 10000) & ~1; // pairs
const MINUTES = Number(minArg || 5);
const PHONE_BASE = 15557000000;
const rssAnonKib = (pid) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^RssAnon:\s+(\d+)/m)[1]);
const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// the webhook receiver: lag of each received text, counts of every event
const lags = [];
const events = new Map();
const hooks = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    res.writeHead(200).end();
    let ev;
    try { ev = JSON.parse(Buffer.concat(chunks)); } catch { return; }
    events.set(ev.event, (events.get(ev.event) || 0) + 1);
    const d = ev.data;
    const text = d?.message?.conversation;
    if (ev.event === 'messages.upsert' && d?.key?.fromMe === false && text?.startsWith('soak ')) {
      lags.push(now - Number(text.split(' ')[2]));
    }
  });
});
await new Promise((r) => hooks.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${hooks.address().port}/hook`;

const sim = await startWasim(wasimExe, { extra: ['--max-conns', String(N + 1000), '--device-notify', 'watchers'] });
renice(sim.proc.pid);
const data = tmpDir('wamd-soak-');
console.log(`== soak: ${N} instances, one text a minute each way, ${MINUTES} min, load ${loadavg()}`);
const sd = await seed({ wasim: `http://127.0.0.1:${sim.port}`, seedExe, data, count: N, prefix: 'so',
  phoneBase: PHONE_BASE, prekeys: 10, onProgress: (d, n) => { if (d % 2000 === 0 || d === n) console.log(`seeded ${d}/${n}`); } });
console.log(`seeded ${N} in ${sd.elapsed_s.toFixed(1)} s`);
const w = startWamd(wamdExe, { data, sim, logLevel: 'warn', extra: ['--webhook-global-url', hookUrl,
  '--webhook-allow-loopback', '--webhook-global-events', 'MESSAGES_UPSERT,MESSAGES_UPDATE,SEND_MESSAGE'] });
await waitWamd(w.socket, 120000);
const wc = wamdClient(w.socket, 64);
const t0open = Date.now();
for (;;) {
  const m = (await retrying(() => wc.call('GET', '/wamd/metrics'))).json;
  if (m?.instances?.open === N) break;
  if (Date.now() - t0open > 600000) throw new Error(`only ${m?.instances?.open} of ${N} open after 10 min`);
  await sleep(500);
}
console.log(`all ${N} open in ${((Date.now() - t0open) / 1000).toFixed(1)} s`);

// minute 0 is the warm-up (sessions, pre-keys, first caches); minutes 1.. are measured
let rtts = [];
let failed = 0;
const rows = [];
const inflight = new Set();
const send = (i, k) => {
  const t = performance.now();
  const p = wc.call('POST', `/message/sendText/so${i}`, { number: String(PHONE_BASE + (i ^ 1)), text: `soak ${k} ${Date.now()}` })
    .then((r) => { if (r.status === 201) rtts.push(performance.now() - t); else failed++; }, () => { failed++; });
  inflight.add(p);
  p.finally(() => inflight.delete(p));
};
let k = 0;
let rssWarm = 0;
for (let minute = 0; minute <= MINUTES; minute++) {
  await retrying(() => wc.call('POST', '/wamd/metrics/reset'));
  rtts = [];
  lags.length = 0;
  const cpu0 = procStats(w.proc.pid).cpu_s;
  const simCpu0 = procStats(sim.proc.pid).cpu_s;
  const t0 = performance.now();
  for (let j = 0; j < N;) {
    const due = Math.min(N, Math.floor(((performance.now() - t0) * N) / 60000) + 1);
    for (; j < due; j++) send(j, k++);
    await sleep(5);
  }
  await sleep(Math.max(0, 60000 - (performance.now() - t0)));
  const cpu = procStats(w.proc.pid).cpu_s - cpu0;
  const simCpu = procStats(sim.proc.pid).cpu_s - simCpu0;
  const m = (await retrying(() => wc.call('GET', '/wamd/metrics'))).json;
  rtts.sort((a, b) => a - b);
  const lg = [...lags].sort((a, b) => a - b);
  const row = {
    minute, cpu_pct: +((cpu / 60) * 100).toFixed(1), wasim_cpu_pct: +((simCpu / 60) * 100).toFixed(1), rss_anon_mib: +(rssAnonKib(w.proc.pid) / 1024).toFixed(1),
    sends: rtts.length, failed, wire_p50_ms: m.send_latency.p50_ms, wire_p99_ms: m.send_latency.p99_ms,
    http_p50_ms: +quantile(rtts, 0.5).toFixed(2), http_p99_ms: +quantile(rtts, 0.99).toFixed(2),
    hooks: lg.length, hook_lag_p50_ms: +quantile(lg, 0.5).toFixed(1), hook_lag_p99_ms: +quantile(lg, 0.99).toFixed(1),
    load: loadavg(),
  };
  if (minute === 0) rssWarm = row.rss_anon_mib;
  rows.push(row);
  console.log(JSON.stringify(row));
}
await Promise.all([...inflight]);
const ps = procStats(w.proc.pid);
wc.close();
await w.stop();
await sim.stop();
hooks.close();

const measured = rows.slice(1);
const last = measured[measured.length - 1];
const res = {
  instances: N, minutes: MINUTES, rows, events: Object.fromEntries(events),
  rss_warm_mib: rssWarm, rss_end_mib: last.rss_anon_mib, rss_drift_pct: +(((last.rss_anon_mib - rssWarm) / rssWarm) * 100).toFixed(2),
  wire_p99_first_last_ms: [measured[0].wire_p99_ms, last.wire_p99_ms],
  hook_lag_p99_first_last_ms: [measured[0].hook_lag_p99_ms, last.hook_lag_p99_ms],
  wamd_peak_rss_mib: +(ps.hwm_kib / 1024).toFixed(1), failed,
};
const cols = ['min', 'wamd cpu', 'wasim cpu', 'RssAnon MiB', 'sends', 'wire p50/p99 ms', 'http p50/p99 ms', 'webhook lag p50/p99 ms', 'load'];
const fmt = (r) => [r.minute, `${r.cpu_pct}%`, `${r.wasim_cpu_pct}%`, r.rss_anon_mib, r.sends, `${r.wire_p50_ms?.toFixed(2)}/${r.wire_p99_ms?.toFixed(2)}`,
  `${r.http_p50_ms}/${r.http_p99_ms}`, `${r.hook_lag_p50_ms}/${r.hook_lag_p99_ms}`, r.load].map(String);
const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => fmt(r)[i].length)));
for (const line of [cols, ...rows.map(fmt)]) console.log(line.map((x, i) => x.padEnd(widths[i])).join('  '));
console.log(`RssAnon after warm-up ${rssWarm} MiB, at the end ${last.rss_anon_mib} MiB: ${res.rss_drift_pct} % (target within 5 %)`);
console.log(`events received: ${JSON.stringify(res.events)}; failed sends ${failed}`);
if (outPath) writeJson(outPath, res);
process.exit(failed ? 1 : 0);
