// /proc readers shared by the memory benchmarks: RSS fields of
// /proc/PID/status (kB), CPU time from /proc/PID/stat, the open-files limit,
// and the median of the per-session increments between samples.
import fs from 'node:fs';
import os from 'node:os';

const TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

export function procStatus(pid) {
  const out = {};
  for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem|VmSize|Threads):\s+(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out; // kB, Threads a count
}

// user + system CPU seconds of the process so far
export function procCpuS(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

export function procNofile(pid) {
  const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m ? { soft: m[1], hard: m[2] } : null;
}

export function median(xs) {
  if (!xs.length) return NaN;
  const v = [...xs].sort((a, b) => a - b);
  const k = v.length >> 1;
  return v.length % 2 ? v[k] : (v[k - 1] + v[k]) / 2;
}

// The per-session increments (KiB) between consecutive samples whose
// session count grew: [(anon_i - anon_{i-1}) / (n_i - n_{i-1})].
export function increments(samples, from = 0) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1], b = samples[i];
    if (b.n > a.n && a.n >= from) out.push((b.anon_kb - a.anon_kb) / (b.n - a.n));
  }
  return out;
}

// Batches that walk 0 -> each step: within a step's range, `per` batches.
export function batchPlan(steps, per = 5) {
  const plan = [];
  let at = 0;
  for (const s of steps) {
    const span = s - at;
    const k = Math.min(per, span);
    for (let i = 1; i <= k; i++) {
      const to = at + Math.round((span * i) / k);
      if (to > (plan.length ? plan[plan.length - 1] : 0)) plan.push(to);
    }
    at = s;
  }
  return plan;
}

export const machine = () => ({ cpus: os.cpus().length, mem_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version });
