// Start-up of wamd on many stored instances: N paired instances are seeded
// (seed.mjs, test-only) while wamd is stopped, then wamd is started on the
// folder and timed from its spawn: the first answer of GET /health/live on
// the unix socket, the first GET /instance/fetchInstances listing all N, and
// the moment GET /wamd/metrics counts all N open. Then SIGTERM: seconds to
// exit. One wasim, one store; steps seed the difference and restart wamd.
//
// usage: node tests/bench/startup.mjs WAMD[,WAMD2...] WASIM [out.json] [steps=1000,5000]
// (wamd_seed is taken from WASIM's build tree, as session_memory.mjs does;
// several wamd binaries, comma-separated, run one after the other on each
// step's store: before/after in one run)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { wamdClient } from './provision.mjs';
import { seed } from './seed.mjs';
import { procCpuS, machine } from './procmem.mjs';

const [wamdArg, wasimExe, outPath, stepsArg = '1000,5000'] = process.argv.slice(2);
if (!wamdArg || !wasimExe) {
  console.error('usage: startup.mjs WAMD WASIM [out.json] [steps=1000,5000]');
  process.exit(2);
}
const steps = stepsArg.split(',').map(Number).filter((n) => n > 0).sort((a, b) => a - b);
const maxN = steps[steps.length - 1];
const seedExe = path.join(path.dirname(wasimExe), '..', 'bench', 'wamd_seed');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-start-'));
process.on('exit', () => {
  for (const c of children) try { c.kill('SIGKILL'); } catch { /* gone */ }
  try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* ignore */ }
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(1));

function startWasim() {
  const p = spawn(wasimExe, ['--port', '0', '--tls-port', '0', '--quiet', '--max-conns', String(maxN + 1000),
    '--device-notify', 'watchers'], { stdio: ['ignore', 'pipe', 'inherit'] });
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

// one request with a short timeout: a daemon that does not serve its loop
// must show up as "no answer", not as one slow answer
async function ask(socket, p, ms = 1000) {
  const c = wamdClient(socket, 1);
  try {
    return await Promise.race([c.call('GET', p), sleep(ms).then(() => null)]);
  } catch { return null; } finally { c.close(); }
}

async function runOnce(wamdExe, sim, data, n) {
  const args = ['--data', data, '--wa-url', `wss://127.0.0.1:${sim.tls_port}/ws/chat`, '--wa-trust-root', sim.root,
    '--wa-tls-insecure', 'true', '--log-level', 'warn'];
  const socket = path.join(data, 'wamd.sock');
  const t0 = performance.now();
  const p = spawn(wamdExe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(p);
  let log = '';
  p.stderr.on('data', (d) => { log += d; if (log.length > 20000) log = log.slice(-10000); });
  const s = (t) => (t - t0) / 1000;
  const r = { n };
  for (const end = t0 + 600000; performance.now() < end; await sleep(20)) {
    if (r.live_s === undefined && (await ask(socket, '/health/live'))?.status === 200) r.live_s = s(performance.now());
    if (r.live_s !== undefined && r.list_s === undefined) {
      const f = await ask(socket, '/instance/fetchInstances', 5000);
      if (f?.status === 200 && Array.isArray(f.json) && f.json.length === n) {
        r.list_s = s(performance.now());
        r.list_states = {};
        for (const i of f.json) r.list_states[i.connectionStatus] = (r.list_states[i.connectionStatus] || 0) + 1;
      }
    }
    if (r.list_s !== undefined) {
      const m = await ask(socket, '/wamd/metrics', 5000);
      if ((m?.json?.instances?.open ?? 0) === n) { r.open_s = s(performance.now()); break; }
      await sleep(200);
    }
  }
  r.cpu_s = procCpuS(p.pid);
  const ts = performance.now();
  const done = new Promise((res) => p.once('exit', (code, sig) => res({ code, sig })));
  p.kill('SIGTERM');
  const ex = await Promise.race([done, sleep(30000).then(() => null)]);
  if (!ex) { p.kill('SIGKILL'); await done; }
  r.stop_s = (performance.now() - ts) / 1000;
  r.exit = ex ? ex.code : 'killed';
  if (r.open_s === undefined) r.log_tail = log.slice(-2000);
  return r;
}

const sim = await startWasim();
const data = path.join(tmp, 'data');
const result = { benchmark: 'startup', machine: machine(), steps, runs: [] };
let have = 0;
for (const n of steps) {
  const ts = performance.now();
  await seed({ wasim: `http://127.0.0.1:${sim.port}`, seedExe, data, count: n - have, start: have, prefix: 's',
    phoneBase: 15556000000 });
  have = n;
  const seed_s = (performance.now() - ts) / 1000;
  for (const exe of wamdArg.split(',')) {
    const r = { wamd: exe, ...(await runOnce(exe, sim, data, n)), seed_s };
    result.runs.push(r);
    const f = (x) => (x === undefined ? 'n/a' : x.toFixed(2));
    console.log(`N=${n} ${exe}: seeded in ${f(seed_s)} s; from spawn: /health/live ${f(r.live_s)} s, ` +
      `fetchInstances with all ${f(r.list_s)} s (${JSON.stringify(r.list_states)}), all open ${f(r.open_s)} s; ` +
      `wamd CPU ${f(r.cpu_s)} s; SIGTERM to exit ${f(r.stop_s)} s (exit ${r.exit})`);
    if (r.log_tail) console.log(r.log_tail);
  }
}
if (outPath) fs.writeFileSync(outPath, JSON.stringify(result, null, 2) + '\n');
