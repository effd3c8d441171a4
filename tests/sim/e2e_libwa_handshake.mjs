// wasim e2e 6: our own Noise initiator (src/noise, all nine certificate
// checks of transport-and-pairing.md §2.5 under wasim's test root) completes
// handshakes with wasim: 200 connections from one lws client process
// (bench_wasim_conns), which also reports wasim's memory per connection.
import { spawnSync } from 'node:child_process';
import { startWasim, check, watchdog } from './harness.mjs';

watchdog(100);
const sim = await startWasim(process.argv[2], { extra: ['--quiet'] });
const r = spawnSync(process.argv[3], [String(sim.port), sim.root, String(sim.proc.pid), '200', '50'],
  { encoding: 'utf8', timeout: 60000 });
const line = r.stdout.trim().split('\n').pop();
let res;
try { res = JSON.parse(line); } catch { res = {}; }
console.log(line, r.stderr);
check(r.status === 0 && res.connected === 200 && res.failed === 0, 'libwa initiator: 200 handshakes accepted, chain verified');
const conns = await sim.api('GET', '/_sim/conns');
check(conns.json.count === 0 || conns.json.conns.every((c) => c.state === 'pairing'), 'their connections reached the pairing state');
const wrong = spawnSync(process.argv[3], [String(sim.port), '11'.repeat(32), String(sim.proc.pid), '3', '3'],
  { encoding: 'utf8', timeout: 30000 });
check(wrong.status !== 0 && /"connected":0/.test(wrong.stdout), 'a client trusting another root rejects wasim');
check((await sim.stop()) === 0, 'wasim exited cleanly');
process.exit(0);
