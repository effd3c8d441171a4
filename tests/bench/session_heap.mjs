// Heap profile of idle sessions: which allocations each connected idle
// session keeps. N instances are seeded (seed.mjs, test-only), wamd is started
// on them under heaptrack, every instance logs in as after a restart, wamd
// idles past a keep-alive and is then killed (SIGKILL, so nothing is freed
// at exit): what heaptrack reports as leaked is what was live while idle.
// The live bytes are summed per allocating function next to libwa/wamd
// (the first frame that is ours, else the allocator's caller) and divided
// by N.
//
// usage: node tests/bench/session_heap.mjs WAMD WASIM [out.json] [n=1000] [idle_s=30]
// needs heaptrack and heaptrack_print; wamd_seed is taken from WASIM's build tree.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitWamd, wamdClient } from './provision.mjs';
import { seed } from './seed.mjs';

const [wamdExe, wasimExe, outPath, nArg = '1000', idleArg = '30'] = process.argv.slice(2);
if (!wamdExe || !wasimExe) {
  console.error('usage: session_heap.mjs WAMD WASIM [out.json] [n=1000] [idle_s=30]');
  process.exit(2);
}
const N = Number(nArg), idleS = Number(idleArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-heap-'));
const children = [];
process.on('exit', () => {
  for (const c of children) try { c.kill('SIGKILL'); } catch { /* gone */ }
  fs.rmSync(tmp, { recursive: true, force: true });
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(1));

const sim = await new Promise((resolve, reject) => {
  const p = spawn(wasimExe, ['--port', '0', '--tls-port', '0', '--quiet', '--max-conns', String(N + 100)],
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
const data = path.join(tmp, 'data');
const seedExe = path.join(path.dirname(wasimExe), '..', 'bench', 'wamd_seed');
const sr = await seed({ wasim: `http://127.0.0.1:${sim.port}`, seedExe, data, count: N, prefix: 'h' });
console.log(`seeded ${N} in ${sr.elapsed_s.toFixed(1)} s`);

const trace = path.join(tmp, 'wamd.heaptrack');
const ht = spawn('heaptrack', ['-o', trace, wamdExe, '--data', data, '--wa-url', `wss://127.0.0.1:${sim.tls_port}/ws/chat`,
  '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
children.push(ht);
const htDone = new Promise((r) => ht.once('exit', r));
await waitWamd(path.join(data, 'wamd.sock'), 60000);
const wc = wamdClient(path.join(data, 'wamd.sock'), 1);
let open = 0;
for (const end = Date.now() + 900000; Date.now() < end; await sleep(500)) {
  open = (await wc.call('GET', '/wamd/metrics')).json?.instances?.open ?? 0;
  if (open === N) break;
}
wc.close();
if (open !== N) throw new Error(`only ${open}/${N} open`);
await sleep(idleS * 1000);
// heaptrack runs wamd as its child: kill that one, heaptrack then writes the trace
const kids = fs.readFileSync(`/proc/${ht.pid}/task/${ht.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
const wamdPid = kids.find((k) => fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('--wa-url'));
process.kill(wamdPid, 'SIGKILL');
await htDone;
const file = fs.readdirSync(tmp).find((f) => f.startsWith('wamd.heaptrack'));
const txt = execFileSync('heaptrack_print', ['-f', path.join(tmp, file), '--print-leaks', '1', '--print-peaks', '0',
  '--print-allocators', '0', '--print-temporary', '0',
  '--merge-backtraces', '0', '-n', '100000', '-s', '0'],
{ maxBuffer: 1 << 28, encoding: 'utf8' });

// "MEMORY LEAKS" section, one blank-line separated entry per backtrace:
// "<size> leaked over <n> calls from", then frames ("  func") each with
// "    at file:line" / "    in binary". Summed per first frame in wamd's
// binary (libwa is linked in), with the library that allocated when the
// top frame is not ours.
const unit = { B: 1, K: 1e3, M: 1e6, G: 1e9 };
const size = (s) => { const m = /^([\d.]+)([BKMG])?/.exec(s); return m ? Number(m[1]) * (unit[m[2] ?? 'B'] ?? 1) : 0; };
const exe = path.resolve(wamdExe);
const sec = txt.slice(txt.indexOf('MEMORY LEAKS'), txt.indexOf('total runtime'));
const per = new Map();
let total = 0;
for (const block of sec.split(/\n\s*\n/)) {
  const lines = block.split('\n');
  const h = lines.findIndex((l) => / leaked over \d+ calls from$/.test(l));
  if (h < 0) continue;
  const m = /^([\d.]+[BKMG]?) leaked over (\d+) calls from/.exec(lines[h]);
  const frames = [];
  for (const l of lines.slice(h + 1)) {
    if (/^ {2}\S/.test(l)) frames.push({ fn: l.trim(), bin: '' });
    else if (/^ {4}in /.test(l) && frames.length) frames[frames.length - 1].bin = l.trim().slice(3);
  }
  const mine = frames.find((f) => f.bin === exe);
  const top = frames[0];
  // in a library: its first named function that is not an allocator
  const lib = frames.find((f) => f.bin !== exe && !/^0x|^(CRYPTO_(z|m|re)alloc|lws_realloc|lws_zalloc)\b/.test(f.fn));
  const via = lib && (!mine || frames.indexOf(lib) < frames.indexOf(mine)) ? lib : top;
  const key = !mine ? `${via?.fn ?? '?'} (${path.basename(via?.bin ?? '?')})`
    : mine === top ? mine.fn : `${mine.fn} → ${via.fn} (${path.basename(via.bin)})`;
  const e = per.get(key) ?? { bytes: 0, calls: 0 };
  e.bytes += size(m[1]);
  e.calls += Number(m[2]);
  per.set(key, e);
  total += size(m[1]);
}
const rows = [...per.entries()].sort((a, b) => b[1].bytes - a[1].bytes)
  .map(([site, e]) => ({ site, bytes_per_session: e.bytes / N, calls_per_session: e.calls / N }));
console.log(`live heap while idle at N=${N}: ${(total / N / 1024).toFixed(1)} KiB per session (incl. the fixed part / N)`);
for (const r of rows.slice(0, 40)) {
  console.log(`${(r.bytes_per_session / 1024).toFixed(2).padStart(8)} KiB ${r.calls_per_session.toFixed(2).padStart(7)}  ${r.site}`);
}
if (outPath) {
  fs.writeFileSync(outPath, JSON.stringify({ n: N, idle_s: idleS, live_per_session_b: total / N, sites: rows }, null, 1) + '\n');
  fs.writeFileSync(outPath.replace(/\.json$/, '') + '.leaks.txt', sec);
}
process.exit(0); // wasim's stdout pipe would keep the loop alive
