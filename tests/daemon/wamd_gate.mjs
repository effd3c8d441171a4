// wamd's connection admission end to end (suite e2e): 50 instances paired
// for real against wasim (tests/bench/provision.mjs), then wamd restarted
// twice on the same data:
//   1. without admission (max_handshakes 100000, no startup spread): wasim
//      sees more than 4 connections in handshake at once — the storm the
//      gate exists for, and proof that the check below can fail;
//   2. with --max-handshakes 4 and no spread: wasim's peak of connections
//      between accept and login never exceeds 4, nor does wamd's own gate
//      peak, while every instance still comes back `open`, with no logout,
//      and sessions were seen WAITING for a slot.
// argv: [node, script, wamd, wasim]
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { provision, wamdClient, waitWamd } from '../bench/provision.mjs';
import { startWamd, retrying } from '../bench/wamd_bench.mjs';

watchdog(280);
const [wamdExe, wasimExe] = process.argv.slice(2);
const N = 50;
const LIMIT = 4;

const sim = await startWasim(wasimExe);
const data = tmpDir('wamd-gate-');
let w = startWamd(wamdExe, { data, sim, logLevel: 'warn' });
await waitWamd(w.socket, 60000);
await provision({ wasim: `http://127.0.0.1:${sim.port}`, socket: w.socket, count: N, prefix: 'g',
  phoneBase: 15556000000, parallel: 8, perPairingTimeoutS: 120 });
check(true, `${N} instances paired`);
await w.stop();

async function restart(extra) {
  await retrying(() => sim.api('POST', '/_sim/conns/peak-reset'));
  w = startWamd(wamdExe, { data, sim, logLevel: 'info', extra });
  const wc = wamdClient(w.socket, 2);
  let sampled = 0, m = null;
  const end = Date.now() + 120000;
  while (Date.now() < end) {
    const c = await retrying(() => sim.api('GET', '/_sim/conns'));
    sampled = Math.max(sampled, c.json.handshakes);
    try { m = (await retrying(() => wc.call('GET', '/wamd/metrics'))).json; } catch { /* not listening yet */ }
    if (m?.instances?.open === N) break;
    await sleep(50);
  }
  const conns = (await retrying(() => sim.api('GET', '/_sim/conns'))).json;
  wc.close();
  await w.stop();
  const log = w.log();
  return { open: m?.instances?.open, gate: m?.handshakes, peak: conns.peak_handshakes, sampled,
    logouts: (log.match(/state LOGGED_OUT/g) || []).length, waiting: (log.match(/state WAITING/g) || []).length };
}

const storm = await restart(['--max-handshakes', '100000', '--startup-spread-max-ms', '0']);
check(storm.open === N, `no gate: all ${N} open again (${storm.open})`);
check(storm.peak > LIMIT, `no gate: wasim saw a storm of ${storm.peak} concurrent handshakes (> ${LIMIT})`);

const gated = await restart(['--max-handshakes', String(LIMIT), '--startup-spread-max-ms', '0']);
check(gated.open === N, `gate ${LIMIT}: all ${N} open again (${gated.open})`);
check(gated.peak <= LIMIT, `gate ${LIMIT}: wasim's peak of concurrent handshakes is ${gated.peak} (sampled ${gated.sampled})`);
check(gated.gate.peak <= LIMIT && gated.gate.max === LIMIT, `gate ${LIMIT}: wamd's gate peak ${gated.gate.peak}`);
check(gated.gate.active === 0 && gated.gate.waiting === 0, 'no slot held or queued once all are open');
check(gated.waiting > 0, `sessions waited for a slot (${gated.waiting} WAITING states)`);
check(storm.logouts === 0 && gated.logouts === 0, 'no logout in either restart');
await sim.stop();
process.exit(0);
