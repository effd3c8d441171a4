// Helpers shared by the daemon benchmarks (restart_recovery.mjs,
// send_latency.mjs): start wamd against a running wasim, read a process's
// memory and CPU time from /proc, fetch wamd's /wamd/metrics, print a table.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// CPU time (user + system, seconds) and memory (KiB) of a live process.
// USER_HZ is 100 on Linux for every architecture we run on.
export function procStats(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu_s = (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15)
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k) => Number((status.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1] || 0);
  return { cpu_s, rss_kib: kib('VmRSS'), hwm_kib: kib('VmHWM') };
}

// Starts wamd on its unix socket (no TCP) against wasim. Returns
// { proc, socket, log(), stop() }; stop() sends SIGTERM and waits.
export function startWamd(exe, { data, sim, extra = [], logLevel = 'info' }) {
  const args = ['--data', data, '--wa-url', sim.url, '--wa-trust-root', sim.root,
    '--log-level', logLevel, ...extra];
  // WAMD_NICE=-10 (root): run wamd ahead of whatever else shares the machine
  const nice = process.env.WAMD_NICE;
  const proc = nice ? spawn('nice', ['-n', nice, exe, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let logBytes = 0;
  let stopping = false;
  // WAMD_LOG_FILE: keep a copy of every wamd log (appended) for post-mortems
  const copy = process.env.WAMD_LOG_FILE ? fs.createWriteStream(process.env.WAMD_LOG_FILE, { flags: 'a' }) : null;
  proc.on('exit', (code, sig) => {
    if (!stopping) console.error(`wamd exited unexpectedly (code ${code}, signal ${sig}); log tail:\n${log.slice(-3000)}`);
  });
  proc.stderr.on('data', (d) => {
    if (copy) copy.write(d);
    logBytes += d.length;
    // keep the whole log only while small; the benches count lines as they come
    if (log.length < (64 << 20)) log += d;
    if (process.env.WAMD_VERBOSE) process.stderr.write(d);
  });
  process.on('exit', () => { try { proc.kill('SIGKILL'); } catch { /* gone */ } });
  return {
    proc,
    socket: `${data}/wamd.sock`,
    log: () => log,
    logBytes: () => logBytes,
    async stop(sig = 'SIGTERM') {
      stopping = true;
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill(sig);
      await done;
    },
  };
}

// Quantile of a sorted array (nearest rank).
export function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function table(rows) {
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

export function writeJson(path, obj) {
  if (path) fs.writeFileSync(path, JSON.stringify(obj, null, 1) + '\n');
}

// Runs fn over items with at most `parallel` in flight.
export async function pool(items, parallel, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

// Calls fn again when the connection died under the request (a server
// closing an idle keep-alive connection just as the client reuses it:
// ECONNRESET, undici's "terminated"). For idempotent requests.
export async function retrying(fn, tries = 3) {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const code = e?.code || e?.cause?.code;
      if (i + 1 >= tries || !(code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' ||
        e?.message === 'terminated' || e?.message === 'fetch failed')) throw e;
      await sleep(50);
    }
  }
}

// WAMD_NICE (root): the benchmark's own processes (this load generator,
// wasim, wamd) run at that priority, ahead of other jobs on a shared machine.
export function renice(pid = 0) {
  const n = process.env.WAMD_NICE;
  if (!n) return;
  try { os.setPriority(pid, Number(n)); } catch (e) { console.error(`# renice ${pid}: ${e.message}`); }
}
