// Benchmark: cluster failover time against the number of instances on the
// dead node. For each K: a fresh database on the private PostgreSQL server
// of tests/unit/store_pg.py, a fresh wasim, 3K instances seeded (seed.mjs:
// real devices wasim knows), three wamd nodes that share them out (K each);
// then one node is SIGKILLed and the clock runs until the other two drive
// all of its K (each instance's lease held by a survivor, its connection
// state `open` by the new owner's word, and its device online in wasim).
// Reported per K: the time from the kill to the first and to the last of
// them online, the time to the last lease taken, the lease time itself, and
// wasim's count of logins that found another live connection of the device
// (it must stay 0).
// usage: python3 tests/unit/store_pg.py node tests/bench/cluster_failover.mjs WAMD WASIM WAMD_SEED \
//          [out.json] [K list=10,100,300] [lease_s=15]
import { startWasim } from '../sim/harness.mjs';
import { until, apiAt, clusterNodes, pgTest } from '../daemon/e2e_daemon_util.mjs';
import { seed } from './seed.mjs';
import { writeJson, renice } from './wamd_bench.mjs';

renice();
const [wamdExe, wasimExe, seedExe, outPath, kArg, leaseArg] = process.argv.slice(2);
if (!wamdExe || !wasimExe || !seedExe) {
  console.error('usage (under tests/unit/store_pg.py): cluster_failover.mjs WAMD WASIM WAMD_SEED [out.json] [K,K...] [lease_s]');
  process.exit(2);
}
const KS = (kArg || '10,100,300').split(',').map(Number);
const LEASE = Number(leaseArg || 15);
const KEY = 'bench-cluster-failover-key';
const NOW_MS = 'CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)';
const { URI, psql } = pgTest();

async function runOne(K) {
  const db = `failover_${K}`;
  psql(`DROP DATABASE IF EXISTS ${db}`);
  psql(`CREATE DATABASE ${db}`);
  const uri = URI.replace(/^postgresql:\/\/\/[^?]*/, `postgresql:///${db}`);
  const q = (sql) => psql(sql, uri);
  const N = 3 * K;
  const base = 15557000000;
  const sim = await startWasim(wasimExe);
  renice(sim.proc.pid);
  const s = await seed({ wasim: `http://127.0.0.1:${sim.port}`, seedExe, store: uri, count: N, prefix: 'f',
    phoneBase: base, prekeys: 10, batch: 500 });
  console.log(`K=${K}: seeded ${N} in ${s.elapsed_s.toFixed(1)} s`);
  const { startNode } = clusterNodes({ wamdExe, sim, uri, key: KEY, lease: LEASE, prefix: 'wamd-bfail' });
  const [A, B, C] = await Promise.all(['A', 'B', 'C'].map((n) => startNode(n, ['--log-level', 'warn'])));
  for (const n of [A, B, C]) renice(n.p.pid);
  for (const n of [A, B, C])
    if (!await until(async () => (await apiAt(n.port, KEY)('GET', '/')).status === 200, 60000)) throw new Error(`node ${n.name} not up`);
  const rows = () => q(`SELECT i.name, l.owner_node, l.conn_state = 'open' AND l.owner_token <> '' AND l.expires_at > ${NOW_MS}
    FROM wamd_leases l JOIN instances i ON i.id = l.instance_id`).split('\n').filter(Boolean).map((l) => l.split('|'));
  const devices = async () => {
    const accts = (await sim.api('GET', '/_sim/accounts')).json.accounts;
    return new Map(accts.filter((a) => Number(a.phone) >= base).map((a) => {
      const d = a.devices.find((x) => x.device !== 0);
      return [`f${Number(a.phone) - base}`, d];
    }));
  };
  const t0 = Date.now();
  const settled = await until(async () => {
    const r = rows();
    return r.length === N && r.every((x) => x[2] === 't')
      && ['A', 'B', 'C'].every((n) => r.filter((x) => x[1] === `node${n}`).length === K)
      && [...(await devices()).values()].every((d) => d.online);
  }, Math.max(120000, N * 200));
  if (!settled) throw new Error(`K=${K}: the nodes did not settle on ${K} each`);
  const startup = (Date.now() - t0) / 1000;
  const dead = rows().filter((x) => x[1] === 'nodeB').map((x) => x[0]);
  B.p.kill('SIGKILL');
  const tKill = Date.now();
  await B.done;
  let first = null, leased = null, last = null;
  const done = await until(async () => {
    const r = new Map(rows().map((x) => [x[0], x]));
    const devs = await devices();
    const back = dead.filter((i) => ['nodeA', 'nodeC'].includes(r.get(i)[1]) && r.get(i)[2] === 't' && devs.get(i)?.online);
    const now = (Date.now() - tKill) / 1000;
    if (back.length > 0 && first === null) first = now;
    if (leased === null && dead.every((i) => ['nodeA', 'nodeC'].includes(r.get(i)[1]))) leased = now;
    if (back.length < dead.length) return false;
    last = now;
    return true;
  }, (4 * LEASE + 60 + K / 5) * 1000);
  if (!done) throw new Error(`K=${K}: not all of the dead node's instances came back`);
  const replaced = [...(await devices()).values()].reduce((s2, d) => s2 + d.replaced, 0);
  const spread = ['A', 'C'].map((n) => rows().filter((x) => x[1] === `node${n}`).length);
  const res = { K, instances: N, lease_s: LEASE, startup_s: startup, first_s: first, leases_taken_s: leased, all_online_s: last,
    survivors: spread, replaced };
  console.log(`K=${K}: first back ${first.toFixed(1)} s, all leases taken ${leased.toFixed(1)} s, all online ${last.toFixed(1)} s`
    + ` after the kill (lease ${LEASE} s); survivors hold ${spread.join(' + ')}; replaced ${replaced}`);
  for (const n of [A, C]) { n.p.kill('SIGTERM'); await n.done; }
  await sim.stop();
  return res;
}

const results = [];
for (const K of KS) results.push(await runOne(K));
console.log('\n| instances on the dead node | total | lease | first online | all leases taken | all online | replaced |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results)
  console.log(`| ${r.K} | ${r.instances} | ${r.lease_s} s | ${r.first_s.toFixed(1)} s | ${r.leases_taken_s.toFixed(1)} s | ${r.all_online_s.toFixed(1)} s | ${r.replaced} |`);
if (outPath) writeJson(outPath, { bench: 'cluster_failover', results });
process.exit(0);
