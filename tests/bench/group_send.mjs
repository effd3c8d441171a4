// Group send at 1,000 participants (tests/bench/README.md), wamd beside
// Baileys in the same run. wasim gets M member accounts with two devices
// each (the phone and one seeded companion, seed.mjs: no pairing
// connections); one wamd instance (paired by QR through wamd) and one
// Baileys socket (paired by QR) each create a group of all M members and
// send to it:
// - first send: the text that distributes the sender key to every member
//   device (usync of M users in batches, the pre-key bundles, 2·M pkmsgs);
// - warm sends: W more texts, one after the other, each waited for until
//   wasim has routed it (its /_sim/groups last_id).
// Reported per client: wall time from the send call to wasim's routing, and
// CPU time (wamd: its threads' schedstat; Baileys: this node process, which
// does nothing else while waiting on its sendMessage), first send and per
// warm send; wamd's CPU while idle (10 s after the warm sends) and the warm
// send net of it; the send call into libwa alone (wamd's /wamd/metrics:
// outbox row, sender-key encryption, stanza, write, record); then 20 more
// sends with every member's phone sending a delivery receipt for each
// (WAMD_BENCH_RECEIPTS=0: skipped): wamd's CPU for those receipts, apart;
// wamd's RSS before and after. Not in the default suite.
// usage: WA_NODE_MODULES=… node tests/bench/group_send.mjs WAMD WASIM WAMD_SEED [out.json] [members=1000] [warm=50]
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { startWasim, tmpDir, pairByQr } from '../sim/harness.mjs';
import { waitHistorySynced } from '../sim/e2e_msg_util.mjs';
import { seed } from './seed.mjs';
import { provision, wamdClient, waitWamd, wasimClient } from './provision.mjs';
import { sleep, procStats, startWamd, writeJson, renice } from './wamd_bench.mjs';

renice();
// wamd's CPU time in seconds, to the nanosecond (/proc/PID/stat counts
// 10 ms ticks: a warm send is a fraction of one): every thread's schedstat
const cpuS = (pid) => fs.readdirSync(`/proc/${pid}/task`).reduce((t, tid) =>
  t + Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9, 0);
process.env.WAMD_PACING ??= 'off';
const [wamdExe, wasimExe, seedExe, outPath, mArg, wArg] = process.argv.slice(2);
if (!wamdExe || !wasimExe || !seedExe) {
  console.error('usage: group_send.mjs WAMD WASIM WAMD_SEED [out.json] [members=1000] [warm=50]');
  process.exit(2);
}
const M = Number(mArg || 1000);
const WARM = Number(wArg || 50);
const MEMBER_BASE = 15557000000;
const log = (...a) => console.error('#', ...a);
const print = console.log;
// libsignal (under Baileys) logs every session it closes on the console
console.log = console.info = () => {};

const sim = await startWasim(wasimExe);
const simBase = `http://127.0.0.1:${sim.port}`;
const simApi = wasimClient(simBase);
const out = { members: M, warm: WARM, devices_per_member: 2 };
let wamd;
let bl;
try {
  // members: an account each (its phone) with one seeded companion
  const t0 = performance.now();
  await seed({ wasim: simBase, seedExe, data: tmpDir('group-send-members-'), count: M, prefix: 'm',
    phoneBase: MEMBER_BASE, prekeys: 5 });
  log(`${M} members seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const members = Array.from({ length: M }, (_, i) => String(MEMBER_BASE + i));

  const routed = async (id, ms = 600000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const gs = (await simApi('GET', '/_sim/groups')).json.groups;
      if (gs.some((g) => g.last_id === id)) return true;
      await sleep(5);
    }
    throw new Error(`message ${id} not routed`);
  };

  const perfStart = (phase) => process.env.WAMD_BENCH_PERF && (process.env.WAMD_BENCH_PERF_PHASE || 'warm') === phase &&
    spawn('perf', ['record', '-F', '4000', '--call-graph', 'dwarf,16384', '-p', String(wamd.proc.pid), '-o', process.env.WAMD_BENCH_PERF], { stdio: 'ignore' });
  const perfStop = async (p) => { if (p) { p.kill('SIGINT'); await new Promise((r) => p.on('exit', r)); } };

  // ---- wamd ----
  const data = tmpDir('group-send-wamd-');
  wamd = startWamd(wamdExe, { data, sim, logLevel: process.env.WAMD_BENCH_LOG || 'info' });
  await waitWamd(wamd.socket);
  const wc = wamdClient(wamd.socket, 4);
  const { names: [name] } = await provision({ wasim: simBase, socket: wamd.socket, count: 1, prefix: 'g', phoneBase: 15556000000 });
  let r = await wc.call('POST', `/group/create/${name}`, { subject: 'bench', participants: members });
  if (r.status !== 201) throw new Error(`wamd group/create: ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
  const G = r.json.id;
  const wamdSend = async (text) => {
    const c0 = cpuS(wamd.proc.pid);
    const t = performance.now();
    const s = await wc.call('POST', `/message/sendText/${name}`, { number: G, text });
    if (s.status !== 201) throw new Error(`wamd sendText: ${s.status} ${JSON.stringify(s.json).slice(0, 300)}`);
    await routed(s.json.key.id);
    return { wall_ms: performance.now() - t, cpu_s: cpuS(wamd.proc.pid) - c0 };
  };
  out.wamd = { rss_kib_before: procStats(wamd.proc.pid).rss_kib };
  out.wamd.first = await wamdSend('first');
  log(`wamd (pid ${wamd.proc.pid}) first send: ${out.wamd.first.wall_ms.toFixed(0)} ms wall, ${(out.wamd.first.cpu_s * 1000).toFixed(0)} ms CPU`);
  {
    // WAMD_BENCH_PERF=FILE: perf record of wamd over the warm sends only
    // (WAMD_BENCH_PERF_PHASE=receipts: over the receipted sends instead)
    const perf = perfStart('warm');
    if (perf) await sleep(1000);
    await wc.call('POST', '/wamd/metrics/reset');
    const c0 = cpuS(wamd.proc.pid);
    const t = performance.now();
    for (let i = 0; i < WARM; i++) await wamdSend(`warm ${i}`);
    await perfStop(perf);
    out.wamd.warm = { wall_ms: (performance.now() - t) / WARM, cpu_ms: (cpuS(wamd.proc.pid) - c0) * 1000 / WARM };
  }
  {
    // the send call into libwa alone (wamd's own timing, thread CPU):
    // outbox row, sender-key encryption, stanza, socket write, the record
    // committed with them; no HTTP, JSON answer, event or server ack
    const m = (await wc.call('GET', '/wamd/metrics')).json;
    out.wamd.warm.call_cpu_us = m.send_call_cpu?.mean_us;
    out.wamd.warm.call_cpu_p50_us = m.send_call_cpu?.p50_us;
    out.wamd.warm.latency_p50_ms = m.send_latency?.p50_ms;
    log(`wamd warm send, the libwa call alone: ${m.send_call_cpu?.mean_us?.toFixed(1)} µs CPU (mean of ${m.send_call_cpu?.count}; median ${m.send_call_cpu?.p50_us} µs, max ${m.send_call_cpu?.max_us?.toFixed(0)} µs)`);
  }
  out.wamd.rss_kib_after = procStats(wamd.proc.pid).rss_kib;
  log(`wamd warm send: ${out.wamd.warm.wall_ms.toFixed(1)} ms wall, ${out.wamd.warm.cpu_ms.toFixed(2)} ms CPU per message`);
  {
    // wamd's CPU while nothing is sent (its loop's timers, the connection's
    // keep-alive): a warm send's CPU includes that much per ms of its wall
    // time, most of which is wasim's fan-out
    const c0 = cpuS(wamd.proc.pid);
    await sleep(10000);
    const idle = (cpuS(wamd.proc.pid) - c0) * 1000 / 10000;
    out.wamd.idle_cpu_ms_per_s = idle * 1000;
    out.wamd.warm.cpu_ms_net = out.wamd.warm.cpu_ms - idle * out.wamd.warm.wall_ms;
    log(`wamd idle: ${(idle * 1000).toFixed(2)} ms CPU per s; warm send net of it: ${out.wamd.warm.cpu_ms_net.toFixed(3)} ms CPU`);
  }
  if (process.env.WAMD_BENCH_RECEIPTS !== '0') {
    // the same warm sends with every member's phone sending a delivery
    // receipt for each (M receipts back per message, as a real group
    // does); wamd's CPU until it is idle again, net of idle and of the
    // send itself: what the receipts of one message cost
    const idle = out.wamd.idle_cpu_ms_per_s / 1000; // ms of CPU per ms of wall
    const R = 20;
    await simApi('POST', '/_sim/groups/receipts', { phones: true });
    const perf = perfStart('receipts');
    if (perf) await sleep(1000);
    const c0 = cpuS(wamd.proc.pid);
    const t = performance.now();
    for (let i = 0; i < R; i++) await wamdSend(`receipted ${i}`);
    for (let last = cpuS(wamd.proc.pid); ;) {
      await sleep(500);
      const c = cpuS(wamd.proc.pid);
      if ((c - last) * 1000 < idle * 500 * 1.5 + 1) break;
      last = c;
    }
    const wall = performance.now() - t;
    const cpuMs = (cpuS(wamd.proc.pid) - c0) * 1000 - idle * wall;
    await perfStop(perf);
    await simApi('POST', '/_sim/groups/receipts', { phones: false });
    out.wamd.receipts = { messages: R, receipts_per_message: M, cpu_ms_per_message: cpuMs / R - out.wamd.warm.cpu_ms_net };
    out.wamd.receipts.cpu_us_per_receipt = out.wamd.receipts.cpu_ms_per_message * 1000 / M;
    log(`wamd: the ${M} delivery receipts of one message: ${out.wamd.receipts.cpu_ms_per_message.toFixed(2)} ms CPU (${out.wamd.receipts.cpu_us_per_receipt.toFixed(1)} µs each)`);
  }
  await wamd.stop();
  wc.close();

  // ---- Baileys (same wasim, same members); WAMD_BENCH_BAILEYS=0 skips it ----
  if (process.env.WAMD_BENCH_BAILEYS === '0') {
    print(`group of ${M} members: wamd first ${(out.wamd.first.cpu_s * 1000).toFixed(0)} ms CPU, warm ${out.wamd.warm.cpu_ms.toFixed(3)} ms CPU (${out.wamd.warm.cpu_ms_net.toFixed(3)} net of idle), the libwa send call ${out.wamd.warm.call_cpu_us?.toFixed(1)} µs CPU (median ${out.wamd.warm.call_cpu_p50_us})` +
      (out.wamd.receipts ? `, receipts ${out.wamd.receipts.cpu_ms_per_message.toFixed(2)} ms CPU per message` : ''));
    if (outPath) writeJson(outPath, out);
    process.exit(0);
  }
  const bp = '15556100000';
  bl = await pairByQr(sim, bp, 'bench-baileys');
  await waitHistorySynced(bl); // its history and app-state sync settle first
  const grp = await bl.sock.groupCreate('bench-b', members.map((n) => `${n}@s.whatsapp.net`));
  const blSend = async (text) => {
    const c0 = process.cpuUsage();
    const t = performance.now();
    const m = await bl.sock.sendMessage(grp.id, { text });
    const cpu = process.cpuUsage(c0);
    await routed(m.key.id);
    return { wall_ms: performance.now() - t, cpu_s: (cpu.user + cpu.system) / 1e6 };
  };
  out.baileys = { first: await blSend('first') };
  // (a Baileys socket whose loop was busy past its keep-alive may be closed
  // by then: the run stops there with what it has)
  log(`Baileys first send: ${out.baileys.first.wall_ms.toFixed(0)} ms wall, ${(out.baileys.first.cpu_s * 1000).toFixed(0)} ms CPU`);
  {
    let cpu = 0;
    const t = performance.now();
    for (let i = 0; i < WARM; i++) cpu += (await blSend(`warm ${i}`)).cpu_s;
    out.baileys.warm = { wall_ms: (performance.now() - t) / WARM, cpu_ms: cpu * 1000 / WARM };
  }
  log(`Baileys warm send: ${out.baileys.warm.wall_ms.toFixed(1)} ms wall, ${out.baileys.warm.cpu_ms.toFixed(2)} ms CPU per message`);

  const row = (k, o) => `${k.padEnd(8)} first ${o.first.wall_ms.toFixed(0).padStart(6)} ms wall ${(o.first.cpu_s * 1000).toFixed(0).padStart(6)} ms CPU | ` +
    `warm ${o.warm.wall_ms.toFixed(2).padStart(7)} ms wall ${o.warm.cpu_ms.toFixed(3).padStart(7)} ms CPU`;
  print(`group of ${M} members (2 devices each), ${WARM} warm sends`);
  print(row('wamd', out.wamd) + ` (${out.wamd.warm.cpu_ms_net.toFixed(3)} net of idle ${out.wamd.idle_cpu_ms_per_s.toFixed(2)} ms/s)`);
  print(`wamd warm send, the libwa send call alone: ${out.wamd.warm.call_cpu_us?.toFixed(1)} µs CPU (median ${out.wamd.warm.call_cpu_p50_us} µs)`);
  if (out.wamd.receipts) print(`wamd, the ${M} delivery receipts of one message: ${out.wamd.receipts.cpu_ms_per_message.toFixed(2)} ms CPU (${out.wamd.receipts.cpu_us_per_receipt.toFixed(1)} µs each; not in the warm figure, Baileys' run has none)`);
  print(row('Baileys', out.baileys));
  print(`wamd RSS ${(out.wamd.rss_kib_before / 1024).toFixed(1)} -> ${(out.wamd.rss_kib_after / 1024).toFixed(1)} MiB`);
  if (outPath) writeJson(outPath, out);
} finally {
  if (bl) await bl.stop();
  if (wamd) await wamd.stop();
  await sim.stop();
}
process.exit(0);
