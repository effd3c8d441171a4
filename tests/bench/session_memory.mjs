// Benchmark 1 (wamd side) and 5 (wasim): memory per connected idle session.
// One wamd (store on disk) connected over wss:// to wasim's TLS port;
// instances are paired for real (provision.mjs) in batches up to each N
// step. After each batch, once the daemon is quiet, RssAnon of wamd (and of
// wasim) is sampled from /proc/PID/status. Reported: the fixed cost (0
// instances, and how much of it is lws' fd table sized from RLIMIT_NOFILE),
// per step the average anonymous RSS per session and the median
// per-session increment of the batches that reached it, VmHWM, and after
// an idle period longer than the keep-alive interval (25 s) at the largest
// N: RSS, CPU spent idle, and how many instances are still open.
//
// usage: node tests/bench/session_memory.mjs WAMD WASIM [out.json] [steps=1,100,1000] [idle_s=30]
// WAMD_BENCH_PROVISION=seed: instead of pairing, instances are seeded
// (seed.mjs, test-only; wamd_seed from WASIM's build tree) with wamd
// stopped, and wamd is started again for each N step: per step one sample
// in a fresh process, after every instance logged in (the restart path).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { provision, waitWamd, wamdClient } from './provision.mjs';
import { seed } from './seed.mjs';
import { procStatus, procCpuS, procNofile, median, increments, batchPlan, machine } from './procmem.mjs';

const [wamdExe, wasimExe, outPath, stepsArg = '1,100,1000', idleArg = '30'] = process.argv.slice(2);
if (!wamdExe || !wasimExe) {
  console.error('usage: session_memory.mjs WAMD WASIM [out.json] [steps=1,100,1000] [idle_s=30]');
  process.exit(2);
}
// WAMD_BENCH_MALLOC_INFO=FILE (needs gdb and ptrace rights): after the idle
// period, where wamd's RssAnon is (heap, other anonymous mappings, stacks;
// from smaps) and glibc's own account of the heap (malloc_info into FILE):
// bytes in use vs free inside the arenas, i.e. fragmentation vs live data.
function heapDetail(pid, file) {
  const kinds = {};
  let cur = 'anon';
  for (const l of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (m) cur = m[1] || 'anon';
    else if (l.startsWith('Anonymous:')) kinds[cur] = (kinds[cur] ?? 0) + Number(l.split(/\s+/)[1]);
  }
  const anon_kb = Object.fromEntries(Object.entries(kinds).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]));
  try {
    execFileSync('gdb', ['-p', String(pid), '-batch', '-ex', `set $f = (void *) fopen("${file}", "w")`,
      '-ex', 'call (int) malloc_info(0, $f)', '-ex', 'call (int) fclose($f)'], { stdio: 'ignore', timeout: 60000 });
  } catch (e) { console.error(`malloc_info: ${e.message}`); }
  const xml = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const all = xml.slice(xml.lastIndexOf('</heap>')); // the totals over every arena follow the last one
  const tot = (t) => Number(new RegExp(`<total type="${t}" count="\\d+" size="(\\d+)"`).exec(all)?.[1] ?? NaN);
  const sys = Number(/<system type="current" size="(\d+)"/.exec(all)?.[1] ?? NaN);
  const out = { anon_kb, malloc_system_kb: sys / 1024, malloc_free_kb: (tot('fast') + tot('rest')) / 1024,
    malloc_mmap_kb: tot('mmap') / 1024 };
  if (process.env.WAMD_BENCH_TRIM_PROBE) { // what malloc_trim(0) would give back now (diagnostic)
    execFileSync('gdb', ['-p', String(pid), '-batch', '-ex', 'call (int) malloc_trim(0)'], { stdio: 'ignore', timeout: 60000 });
    out.trimmed_anon_kb = procStatus(pid).RssAnon;
    console.log(`after malloc_trim(0): RssAnon ${out.trimmed_anon_kb} kB`);
  }
  console.log(`RssAnon by mapping (kB): ${JSON.stringify(anon_kb)}`);
  console.log(`malloc: ${fmt(out.malloc_system_kb)} kB from the system, ${fmt(out.malloc_free_kb)} kB of it free ` +
    `(fragments), ${fmt(out.malloc_mmap_kb)} kB in mmapped chunks`);
  return out;
}

const steps = stepsArg.split(',').map(Number).filter((n) => n > 0).sort((a, b) => a - b);
const idleS = Number(idleArg);
const maxN = steps[steps.length - 1];
const seeding = process.env.WAMD_BENCH_PROVISION === 'seed';
const seedExe = path.join(path.dirname(wasimExe), '..', 'bench', 'wamd_seed');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mem-')); // on disk (ext4 here), not tmpfs
const cleanup = () => {
  for (const c of children) try { c.kill('SIGKILL'); } catch { /* gone */ }
  try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* ignore */ }
};
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(1));

function startWasim() {
  const p = spawn(wasimExe, ['--port', '0', '--tls-port', '0', '--quiet', '--max-conns', String(maxN + 1000), '--device-notify', 'watchers'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ proc: p, ...JSON.parse(out.slice(0, nl)) });
    });
    p.on('exit', (c) => reject(new Error(`wasim exited ${c}`)));
  });
}

// wamd with a fresh data dir; `nofile` (optional) sets RLIMIT_NOFILE via prlimit(1)
async function startWamd(sim, name, nofile) {
  const data = path.join(tmp, name);
  const args = ['--data', data, '--wa-url', `wss://127.0.0.1:${sim.tls_port}/ws/chat`, '--wa-trust-root', sim.root,
    '--wa-tls-insecure', 'true', '--log-level', 'warn'];
  const p = nofile
    ? spawn('prlimit', [`--nofile=${nofile}:${nofile}`, wamdExe, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(wamdExe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(p);
  let log = '';
  p.stderr.on('data', (d) => { log += d; if (log.length > 20000) log = log.slice(-10000); });
  const socket = path.join(data, 'wamd.sock');
  await waitWamd(socket, 300000); // answers at once; the stored instances start on its loop
  return { proc: p, pid: p.pid, socket, log: () => log };
}

async function stop(p) {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([done, sleep(10000)]);
  if (p.exitCode === null && p.signalCode === null) {
    p.kill('SIGKILL'); // the store must be free before seeding again
    await done;
  }
}

// Waits until the process' CPU time stops moving (the tail of a batch:
// pre-key upload answers, the history notification 1 s after login).
async function settle(pids, quietMs = 1500, maxMs = 20000) {
  const end = Date.now() + maxMs;
  let last = pids.map(procCpuS), quiet = 0;
  while (Date.now() < end && quiet < quietMs) {
    await sleep(250);
    const now = pids.map(procCpuS);
    const moved = now.some((v, i) => v - last[i] > 0.02);
    quiet = moved ? 0 : quiet + 250;
    last = now;
  }
}

const kb = (x) => Math.round(x);
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

const sim = await startWasim();
const result = { benchmark: 'session_memory', impl: 'wamd', machine: machine(), steps, idle_s: idleS,
  transport: 'wss (TLS 1.3, self-signed, loopback)', store: 'SQLite on disk (ext4)', event_loop: process.env.WA_EVENT_LOOP || 'epoll (libev)' };

// fixed cost and the fd-table share of it: idle wamd at two RLIMIT_NOFILE values
const fdCost = {};
const hardNofile = Number(procNofile(process.pid)?.hard) || 20000;
for (const nofile of [1024, hardNofile]) {
  const w = await startWamd(sim, `fixed-${nofile}`, nofile);
  await sleep(1000);
  fdCost[nofile] = procStatus(w.pid);
  await stop(w.proc);
}
let wamd = await startWamd(sim, 'data');
await sleep(1000);
const base = procStatus(wamd.pid);
const simBase = procStatus(sim.proc.pid);
const nofile = procNofile(wamd.pid);
result.fixed = { rss_kb: base.VmRSS, anon_kb: base.RssAnon, file_kb: base.RssFile, nofile_soft: Number(nofile?.soft) };
result.provisioning = seeding ? 'seed (test-only, seed.mjs; wamd restarted per step)' : 'pairing (provision.mjs)';
const fdKeys = Object.keys(fdCost).map(Number).sort((a, b) => a - b);
result.fd_table = fdKeys.map((k) => ({ nofile: k, rss_kb: fdCost[k].VmRSS, anon_kb: fdCost[k].RssAnon }));
console.log(`wamd fixed cost: RSS ${base.VmRSS} kB (anon ${base.RssAnon} kB, file ${base.RssFile} kB) with RLIMIT_NOFILE ${nofile?.soft}`);
for (const r of result.fd_table) console.log(`  idle wamd with RLIMIT_NOFILE ${r.nofile}: RSS ${r.rss_kb} kB, anon ${r.anon_kb} kB`);

const samples = [{ n: 0, anon_kb: base.RssAnon, rss_kb: base.VmRSS, sim_anon_kb: simBase.RssAnon, sim_rss_kb: simBase.VmRSS }];
const plan = seeding ? steps : batchPlan(steps, 5);
const t0 = performance.now();
let cpu0 = procCpuS(wamd.pid), simCpu0 = procCpuS(sim.proc.pid);
let have = 0, wamdCpuDone = 0, seedS = 0, loginS = 0;

// seed mode: wamd down, instances have..to-1 seeded, wamd up, all open
async function seedStep(to) {
  wamdCpuDone += procCpuS(wamd.pid) - cpu0;
  await stop(wamd.proc);
  const ts = performance.now();
  const r = await seed({ wasim: `http://127.0.0.1:${sim.port}`, seedExe, data: path.join(tmp, 'data'), count: to - have,
    start: have, prefix: 'm', phoneBase: 15557000000 });
  seedS += (performance.now() - ts) / 1000;
  const tl = performance.now();
  wamd = await startWamd(sim, 'data');
  cpu0 = procCpuS(wamd.pid);
  const wc = wamdClient(wamd.socket, 1);
  let open = 0;
  for (const end = Date.now() + 1800000; Date.now() < end; await sleep(250)) {
    open = (await wc.call('GET', '/wamd/metrics')).json?.instances?.open ?? 0;
    if (open === to) break;
  }
  wc.close();
  if (open !== to) throw new Error(`only ${open}/${to} seeded instances open`);
  loginS += (performance.now() - tl) / 1000;
  return { pairings_per_s: (to - have) / ((performance.now() - ts) / 1000) };
}

for (const to of plan) {
  let r;
  try {
    r = seeding ? await seedStep(to)
      : await provision({ wasim: `http://127.0.0.1:${sim.port}`, socket: wamd.socket, count: to - have, start: have,
        prefix: 'm', phoneBase: 15557000000, parallel: 32, timeoutS: 1800 });
  } catch (e) {
    console.error(`FAIL: provisioning to ${to}: ${e.message}; wamd exit ${wamd.proc.exitCode ?? wamd.proc.signalCode}, ` +
      `wasim exit ${sim.proc.exitCode ?? sim.proc.signalCode}\n${wamd.log().slice(-3000)}`);
    process.exit(1);
  }
  have = to;
  await settle([wamd.pid, sim.proc.pid]);
  const st = procStatus(wamd.pid), ss = procStatus(sim.proc.pid);
  const s = { n: have, anon_kb: st.RssAnon, rss_kb: st.VmRSS, hwm_kb: st.VmHWM, sim_anon_kb: ss.RssAnon, sim_rss_kb: ss.VmRSS,
    pair_per_s: r.pairings_per_s, wamd_cpu_s: wamdCpuDone + procCpuS(wamd.pid) - cpu0, sim_cpu_s: procCpuS(sim.proc.pid) - simCpu0 };
  samples.push(s);
  console.log(`n=${String(have).padStart(6)}  wamd RssAnon ${kb(st.RssAnon)} kB  VmRSS ${kb(st.VmRSS)} kB  ` +
    `wasim RssAnon ${kb(ss.RssAnon)} kB  (${fmt(r.pairings_per_s)} ${seeding ? 'seeded+logged in' : 'pairings'}/s)`);
}
const provS = (performance.now() - t0) / 1000;
const wamdProvCpu = wamdCpuDone + procCpuS(wamd.pid) - cpu0;
result.provision = { seconds: provS, wamd_cpu_ms_per_pairing: (wamdProvCpu * 1000) / maxN,
  wasim_cpu_ms_per_pairing: ((procCpuS(sim.proc.pid) - simCpu0) * 1000) / maxN };
if (seeding) Object.assign(result.provision, { seed_seconds: seedS, login_seconds: loginS });

// idle past a keep-alive interval at the largest N
const idleCpu0 = procCpuS(wamd.pid), simIdleCpu0 = procCpuS(sim.proc.pid);
await sleep(idleS * 1000);
const idleCpu = procCpuS(wamd.pid) - idleCpu0, simIdleCpu = procCpuS(sim.proc.pid) - simIdleCpu0;
const after = procStatus(wamd.pid), simAfter = procStatus(sim.proc.pid);
if (process.env.WAMD_BENCH_MALLOC_INFO) result.heap_detail = heapDetail(wamd.pid, process.env.WAMD_BENCH_MALLOC_INFO);
const wc = wamdClient(wamd.socket, 1);
const list = await wc.call('GET', '/instance/fetchInstances');
wc.close();
const open = Array.isArray(list.json) ? list.json.filter((x) => x.connectionStatus === 'open').length : -1;

result.rows = steps.map((n) => {
  const at = samples.find((s) => s.n === n);
  const prev = steps[steps.indexOf(n) - 1] ?? 0;
  const inc = increments(samples.filter((s) => s.n >= prev && s.n <= n));
  return { n, rss_kb: at.rss_kb, anon_kb: at.anon_kb, hwm_kb: at.hwm_kb,
    avg_anon_per_session_kb: (at.anon_kb - base.RssAnon) / n, median_increment_kb: median(inc), increments_kb: inc,
    wasim_anon_kb: at.sim_anon_kb, wasim_anon_per_conn_kb: (at.sim_anon_kb - simBase.RssAnon) / n };
});
result.samples = samples;
result.idle = { seconds: idleS, open, of: maxN, rss_kb: after.VmRSS, anon_kb: after.RssAnon, hwm_kb: after.VmHWM,
  anon_per_session_kb: (after.RssAnon - base.RssAnon) / maxN, wamd_cpu_pct: (100 * idleCpu) / idleS,
  wasim_cpu_pct: (100 * simIdleCpu) / idleS, wasim_anon_kb: simAfter.RssAnon,
  wasim_anon_per_conn_kb: (simAfter.RssAnon - simBase.RssAnon) / maxN };
const tail = result.rows[result.rows.length - 1];
result.marginal_kb = tail.median_increment_kb;
result.fixed_mb = base.RssAnon / 1024;
result.vm_hwm_kb = after.VmHWM;

console.log('\nwamd, memory per connected idle session (wss://, store on disk)');
console.log(`${'N'.padStart(7)} ${'VmRSS kB'.padStart(10)} ${'RssAnon kB'.padStart(11)} ${'anon/sess KiB'.padStart(14)} ${'median incr KiB'.padStart(16)} ${'wasim KiB/conn'.padStart(15)}`);
for (const r of result.rows)
  console.log(`${String(r.n).padStart(7)} ${String(r.rss_kb).padStart(10)} ${String(r.anon_kb).padStart(11)} ` +
    `${fmt(r.avg_anon_per_session_kb).padStart(14)} ${fmt(r.median_increment_kb).padStart(16)} ${fmt(r.wasim_anon_per_conn_kb).padStart(15)}`);
console.log(`fixed cost (0 instances): RssAnon ${fmt(base.RssAnon / 1024, 2)} MB, VmRSS ${fmt(base.VmRSS / 1024, 2)} MB`);
console.log(`after ${idleS} s idle at N=${maxN}: ${open}/${maxN} open, RssAnon ${after.RssAnon} kB ` +
  `(${fmt(result.idle.anon_per_session_kb)} KiB/session), VmHWM ${after.VmHWM} kB, ` +
  `wamd CPU ${fmt(result.idle.wamd_cpu_pct, 2)}% of a core, wasim ${fmt(result.idle.wasim_cpu_pct, 2)}%`);
console.log(`provisioning (${result.provisioning}): ${fmt(provS)} s` +
  (seeding ? ` (seeding ${fmt(seedS)} s, logins ${fmt(loginS)} s)` : '') +
  `; CPU per ${seeding ? 'instance (login)' : 'pairing'}: wamd ${fmt(result.provision.wamd_cpu_ms_per_pairing)} ms, ` +
  `wasim ${fmt(result.provision.wasim_cpu_ms_per_pairing)} ms`);
if (outPath) fs.writeFileSync(outPath, JSON.stringify(result, null, 1) + '\n');
await stop(wamd.proc);
await stop(sim.proc);
if (open !== maxN) {
  console.error(`FAIL: only ${open}/${maxN} instances open after the idle period\n${wamd.log().slice(-3000)}`);
  process.exit(1);
}
process.exit(0);
