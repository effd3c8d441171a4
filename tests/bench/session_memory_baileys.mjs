// Benchmark 1, Baileys side: memory per connected idle session for Baileys
// 7.0.0-rc14 with its default file auth state, over wss:// to wasim.
// (a) N sockets in ONE Node process (baileys_host.mjs, nothing else in it),
//     paired in batches up to each N step; after each batch, once the process
//     is quiet and after a full GC (--expose-gc; a fairer floor for a GC'd
//     runtime than whatever garbage happens to be live), RssAnon is sampled
//     from /proc/PID/status. Same figures as session_memory.mjs: fixed cost
//     (Baileys loaded, 0 sockets), average and median marginal per session,
//     VmHWM, and RSS / CPU after an idle period past the keep-alive (30 s).
// (b) one process per session at small N: total RSS / N.
//
// usage: WA_NODE_MODULES=... node tests/bench/session_memory_baileys.mjs WASIM [out.json]
//        [steps=1,100,1000] [idle_s=35] [per_process=1,10]
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wasimClient } from './provision.mjs';
import { procStatus, procCpuS, median, increments, batchPlan, machine } from './procmem.mjs';

const [wasimExe, outPath, stepsArg = '1,100,1000', idleArg = '35', perProcArg = '1,10'] = process.argv.slice(2);
if (!wasimExe) {
  console.error('usage: session_memory_baileys.mjs WASIM [out.json] [steps] [idle_s] [per_process]');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const steps = stepsArg.split(',').map(Number).filter((n) => n > 0).sort((a, b) => a - b);
const perProc = perProcArg.split(',').map(Number).filter((n) => n > 0);
const idleS = Number(idleArg);
const maxN = steps[steps.length - 1];
const PARALLEL = 32;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mem-baileys-'));
process.on('exit', () => {
  for (const c of children) try { c.kill('SIGKILL'); } catch { /* gone */ }
  try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* ignore */ }
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(1));
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

const sim = await new Promise((resolve, reject) => {
  const p = spawn(wasimExe, ['--port', '0', '--tls-port', '0', '--quiet', '--max-conns', String(maxN + 1000), '--device-notify', 'watchers'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(p);
  let out = '';
  p.stdout.on('data', (d) => {
    out += d;
    const nl = out.indexOf('\n');
    if (nl >= 0) resolve({ proc: p, ...JSON.parse(out.slice(0, nl)) });
  });
  p.on('exit', (c) => reject(new Error(`wasim exited ${c}`)));
});
const simApi = wasimClient(`http://127.0.0.1:${sim.port}`);
const wss = `wss://127.0.0.1:${sim.tls_port}/ws/chat`;

// A host process with its IPC plumbing.
async function startHost(name) {
  const authRoot = path.join(tmp, name);
  fs.mkdirSync(authRoot, { recursive: true });
  const p = fork(path.join(here, 'baileys_host.mjs'), [wss, sim.root, authRoot],
    { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(p);
  const h = { proc: p, pid: p.pid, waiters: [], opened: new Set(), failed: null };
  p.on('message', async (m) => {
    if (m.ev === 'qr') {
      const phone = h.phones.get(m.name);
      let r;
      for (let i = 0; i < 5; i++) {
        r = await simApi('POST', '/_sim/scan', { phone, qr: m.qr });
        if (r.status === 200) break;
        await sleep(200);
      }
      if (r.status !== 200) h.failed = h.failed || `scan ${m.name}: ${r.status} ${JSON.stringify(r.json)}`;
    } else if (m.ev === 'open') {
      h.opened.add(m.name);
    } else if (m.ev === 'fail') {
      h.failed = h.failed || `${m.name}: ${m.why}`;
    }
    for (const w of h.waiters.splice(0)) w(m);
  });
  h.phones = new Map();
  h.next = (pred) => new Promise((res) => { const f = (m) => (pred(m) ? res(m) : h.waiters.push(f)); h.waiters.push(f); });
  h.call = (cmd, ev) => { const w = h.next((m) => m.ev === ev); p.send({ cmd }); return w; };
  await h.next((m) => m.ev === 'ready');
  return h;
}

// Pairs names on a host with at most PARALLEL pending at once.
async function pairOn(h, names, phoneOf) {
  let i = 0;
  const t0 = performance.now();
  while (h.opened.size < names.length + h.base) {
    if (h.failed) throw new Error(h.failed);
    const pending = i - (h.opened.size - h.base);
    if (i < names.length && pending < PARALLEL) {
      const chunk = names.slice(i, i + (PARALLEL - pending));
      for (const n of chunk) {
        const phone = phoneOf(n);
        h.phones.set(n, phone);
        const r = await simApi('POST', '/_sim/accounts', { phone });
        if (r.status !== 201 && r.status !== 409) throw new Error(`account ${phone}: ${r.status}`);
      }
      h.proc.send({ cmd: 'add', names: chunk });
      i += chunk.length;
    }
    await sleep(20);
    if (performance.now() - t0 > 1800e3) throw new Error('pairing took over 30 minutes');
  }
  h.base += names.length;
  return names.length / ((performance.now() - t0) / 1000);
}

async function settle(pids, quietMs = 1500, maxMs = 20000) {
  const end = Date.now() + maxMs;
  let last = pids.map(procCpuS), quiet = 0;
  while (Date.now() < end && quiet < quietMs) {
    await sleep(250);
    const now = pids.map(procCpuS);
    quiet = now.some((v, k) => v - last[k] > 0.02) ? 0 : quiet + 250;
    last = now;
  }
}

const result = { benchmark: 'session_memory', impl: 'baileys 7.0.0-rc14', machine: machine(), steps, idle_s: idleS,
  transport: 'wss (TLS, self-signed, loopback)', auth_state: 'useMultiFileAuthState (one folder per session, disk)',
  gc_before_sample: true };

// (a) one process
const h = await startHost('one');
h.base = 0;
await h.call('gc', 'gc');
await sleep(500);
const base = procStatus(h.pid), simBase = procStatus(sim.proc.pid);
result.fixed = { rss_kb: base.VmRSS, anon_kb: base.RssAnon, file_kb: base.RssFile };
console.log(`Baileys host fixed cost (Baileys loaded, 0 sockets): RSS ${base.VmRSS} kB (anon ${base.RssAnon} kB)`);
const samples = [{ n: 0, anon_kb: base.RssAnon, rss_kb: base.VmRSS, sim_anon_kb: simBase.RssAnon }];
let have = 0, seq = 0;
const cpu0 = procCpuS(h.pid), simCpu0 = procCpuS(sim.proc.pid), t0 = performance.now();
for (const to of batchPlan(steps, 5)) {
  const names = Array.from({ length: to - have }, () => `b${seq++}`);
  const rate = await pairOn(h, names, (n) => String(15556000000 + Number(n.slice(1))));
  have = to;
  await settle([h.pid, sim.proc.pid]);
  await h.call('gc', 'gc');
  const st = procStatus(h.pid), ss = procStatus(sim.proc.pid);
  samples.push({ n: have, anon_kb: st.RssAnon, rss_kb: st.VmRSS, hwm_kb: st.VmHWM, sim_anon_kb: ss.RssAnon, pair_per_s: rate });
  console.log(`n=${String(have).padStart(6)}  Baileys RssAnon ${st.RssAnon} kB  VmRSS ${st.VmRSS} kB  (${fmt(rate)} pairings/s)`);
}
result.provision = { seconds: (performance.now() - t0) / 1000,
  node_cpu_ms_per_pairing: ((procCpuS(h.pid) - cpu0) * 1000) / maxN,
  wasim_cpu_ms_per_pairing: ((procCpuS(sim.proc.pid) - simCpu0) * 1000) / maxN };
const before = await h.call('count', 'count');
const idleCpu0 = procCpuS(h.pid);
await sleep(idleS * 1000);
const idleCpu = procCpuS(h.pid) - idleCpu0;
let count = await h.call('count', 'count');
// sockets that dropped reconnect (app-like, 1 s later): give them time
for (let i = 0; i < 30 && count.open < maxN; i++) {
  await sleep(1000);
  count = await h.call('count', 'count');
}
await h.call('gc', 'gc');
const after = procStatus(h.pid);
result.rows = steps.map((n) => {
  const at = samples.find((s) => s.n === n);
  const prev = steps[steps.indexOf(n) - 1] ?? 0;
  const inc = increments(samples.filter((s) => s.n >= prev && s.n <= n));
  return { n, rss_kb: at.rss_kb, anon_kb: at.anon_kb, hwm_kb: at.hwm_kb,
    avg_anon_per_session_kb: (at.anon_kb - base.RssAnon) / n, median_increment_kb: median(inc), increments_kb: inc,
    avg_rss_per_session_kb: (at.rss_kb - base.VmRSS) / n };
});
result.samples = samples;
result.idle = { seconds: idleS, open: count.open, of: maxN, closes_after_open: count.closes,
  closes_before_idle: before.closes, rss_kb: after.VmRSS, anon_kb: after.RssAnon,
  hwm_kb: after.VmHWM, anon_per_session_kb: (after.RssAnon - base.RssAnon) / maxN, cpu_pct: (100 * idleCpu) / idleS };
result.marginal_kb = result.rows[result.rows.length - 1].median_increment_kb;
result.fixed_mb = base.RssAnon / 1024;
result.vm_hwm_kb = after.VmHWM;
h.proc.send({ cmd: 'exit' });

// (b) one process per session
result.per_process = [];
for (const n of perProc) {
  const hosts = [];
  for (let i = 0; i < n; i++) {
    const hh = await startHost(`pp${n}-${i}`);
    hh.base = 0;
    hosts.push(hh);
  }
  await Promise.all(hosts.map((hh, i) => pairOn(hh, [`p${seq++}`], () => String(15556500000 + seq * 100 + i))));
  await settle([...hosts.map((x) => x.pid), sim.proc.pid]);
  await Promise.all(hosts.map((x) => x.call('gc', 'gc')));
  let rss = 0, anon = 0;
  for (const x of hosts) {
    const st = procStatus(x.pid);
    rss += st.VmRSS;
    anon += st.RssAnon;
  }
  result.per_process.push({ n, total_rss_kb: rss, total_anon_kb: anon, rss_per_session_kb: rss / n, anon_per_session_kb: anon / n });
  console.log(`one process per session, N=${n}: total VmRSS ${rss} kB = ${fmt(rss / n / 1024, 1)} MB per session (anon ${fmt(anon / n / 1024, 1)} MB)`);
  for (const x of hosts) x.proc.send({ cmd: 'exit' });
  await sleep(300);
}

console.log('\nBaileys 7.0.0-rc14, memory per connected idle session (one process, wss://, file auth state, after GC)');
console.log(`${'N'.padStart(7)} ${'VmRSS kB'.padStart(10)} ${'RssAnon kB'.padStart(11)} ${'anon/sess KiB'.padStart(14)} ${'median incr KiB'.padStart(16)}`);
for (const r of result.rows)
  console.log(`${String(r.n).padStart(7)} ${String(r.rss_kb).padStart(10)} ${String(r.anon_kb).padStart(11)} ` +
    `${fmt(r.avg_anon_per_session_kb).padStart(14)} ${fmt(r.median_increment_kb).padStart(16)}`);
console.log(`fixed cost (Baileys loaded, 0 sockets): RssAnon ${fmt(base.RssAnon / 1024, 2)} MB, VmRSS ${fmt(base.VmRSS / 1024, 2)} MB`);
console.log(`after ${idleS} s idle at N=${maxN}: ${count.open}/${maxN} open, RssAnon ${after.RssAnon} kB ` +
  `(${fmt(result.idle.anon_per_session_kb)} KiB/session), VmHWM ${after.VmHWM} kB, CPU ${fmt(result.idle.cpu_pct, 2)}% of a core`);
console.log(`closes of open sockets (status: count), all reconnected by the host: ${JSON.stringify(count.closes)}`);
console.log(`provisioning: ${fmt(result.provision.seconds)} s; CPU per pairing: Node ${fmt(result.provision.node_cpu_ms_per_pairing)} ms, ` +
  `wasim ${fmt(result.provision.wasim_cpu_ms_per_pairing)} ms`);
if (outPath) fs.writeFileSync(outPath, JSON.stringify(result, null, 1) + '\n');
sim.proc.kill('SIGTERM');
if (count.open !== maxN) {
  console.error(`FAIL: only ${count.open}/${maxN} sockets open after the idle period`);
  process.exit(1);
}
process.exit(0);
