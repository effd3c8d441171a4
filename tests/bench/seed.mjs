// Test-only fast provisioning: K paired wamd instances written straight into
// a wamd store that no wamd has open, in seconds instead of a pairing each
// (provision.mjs). The cryptography is a QR pairing's own, run without the
// registration connection: wamd_seed (libwa: fresh credentials, pre-keys,
// wa_pair_verify_and_sign) and wasim's /_sim/seed/offer + /accept (the
// phone's account signature and HMAC; the device signature checked; the
// device added with its one-time pre-keys). Then start wamd on the folder:
// it logs every instance in as after a restart. `store` (--store): a
// PostgreSQL URI to seed instead of DATA/wamd.db, with no wamd node
// connected (wamd_seed holds the schema's exclusive lock); every node of a
// cluster on that store then takes its share of them. Benchmarks and tests
// only: wamd has no way to import credentials, and wasim is a test binary.
//
// usage (CLI):
//   node tests/bench/seed.mjs --wasim http://127.0.0.1:PORT --seed build/bench/tests/bench/wamd_seed \
//        --data DATA --count K [--prefix bench] [--start 0] [--phone-base 15559000000] \
//        [--prekeys 30] [--batch 500] [--store postgresql://...] [--json out.json]
// As a module: `await seed({ wasim, seedExe, data, count, ... })`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { wasimClient } from './provision.mjs';

// One wamd_seed process: request lines in, answer lines out, in order.
function seedProc(exe, db) {
  const p = spawn(exe, [db], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  let dead = null;
  readline.createInterface({ input: p.stdout }).on('line', (l) => {
    const w = waiting.shift();
    if (w) w(JSON.parse(l));
  });
  const exited = new Promise((r) => p.on('exit', (code) => { dead = code; for (const w of waiting.splice(0)) w({ error: `wamd_seed exited ${code}` }); r(code); }));
  const ask = (reqs) => Promise.all(reqs.map((q) => new Promise((resolve) => {
    if (dead !== null) return resolve({ error: `wamd_seed exited ${dead}` });
    waiting.push(resolve);
    p.stdin.write(JSON.stringify(q) + '\n');
  })));
  const end = async () => { p.stdin.end(); return exited; };
  return { ask, end };
}

const check = (what, arr) => {
  // an answer that is not a list says what it was (a 200 without one was
  // seen once on a loaded machine and could not be reproduced)
  if (!Array.isArray(arr)) throw new Error(`${what}: no list in the answer: ${JSON.stringify(arr)?.slice(0, 500)}`);
  const bad = arr.find((x) => !x || x.error);
  if (bad) throw new Error(`${what}: ${JSON.stringify(bad)}`);
};

export async function seed({ wasim, seedExe, data, count, start = 0, prefix = 'bench', phoneBase = 15559000000,
  prekeys = 30, batch = 500, store, onProgress } = {}) {
  if (!store) fs.mkdirSync(data, { recursive: true, mode: 0o700 });
  const sim = wasimClient(wasim);
  const proc = seedProc(seedExe, store ?? path.join(data, 'wamd.db'));
  const t0 = performance.now();
  const names = [];
  try {
    for (let i = 0; i < count; i += batch) {
      const idx = Array.from({ length: Math.min(batch, count - i) }, (_, j) => start + i + j);
      const made = await proc.ask(idx.map((k) => ({ op: 'new', name: `${prefix}${k}`, prekeys })));
      check('wamd_seed new', made);
      const phones = idx.map((k) => String(phoneBase + k));
      let r = await sim('POST', '/_sim/seed/offer',
        { items: made.map((m, j) => ({ phone: phones[j], identity: m.identity, adv_secret: m.adv_secret })) });
      if (r.status !== 200) throw new Error(`wasim offer: ${r.status} ${JSON.stringify(r.json)}`);
      const offers = r.json?.items;
      check('wasim offer', offers ?? r.json);
      const paired = await proc.ask(offers.map((o, j) => ({ op: 'pair', name: made[j].name,
        device_identity: o.device_identity, jid: o.jid, lid: o.lid, platform: o.platform })));
      check('wamd_seed pair', paired);
      check('wamd_seed commit', await proc.ask([{ op: 'commit' }]));
      r = await sim('POST', '/_sim/seed/accept', { items: made.map((m, j) => ({ phone: phones[j],
        device: offers[j].device, identity: m.identity, noise_pub: m.noise_pub, regid: m.regid,
        spk_id: m.spk_id, spk_pub: m.spk_pub, spk_sig: m.spk_sig, signed_identity: paired[j].signed_identity,
        prekeys: m.prekeys })) });
      if (r.status !== 200) throw new Error(`wasim accept: ${r.status} ${JSON.stringify(r.json)}`);
      check('wasim accept', r.json?.items ?? r.json);
      for (const m of made) names.push(m.name);
      onProgress?.(names.length, count, (performance.now() - t0) / 1000);
    }
  } finally {
    const code = await proc.end();
    if (code !== 0 && names.length === count) throw new Error(`wamd_seed exited ${code}`);
  }
  const elapsed = (performance.now() - t0) / 1000;
  return { count, elapsed_s: elapsed, per_s: count / elapsed, names };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const a = {};
  for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
  if (!a.wasim || !a.seed || !(a.data || a.store) || !a.count) {
    console.error('usage: seed.mjs --wasim URL --seed WAMD_SEED (--data DATA | --store PG-URI) --count K [--prefix P] ' +
      '[--start S] [--phone-base N] [--prekeys 30] [--batch 500] [--json out.json]');
    process.exit(2);
  }
  try {
    const r = await seed({ wasim: a.wasim, seedExe: a.seed, data: a.data, count: Number(a.count),
      start: Number(a.start ?? 0), prefix: a.prefix ?? 'bench', phoneBase: Number(a['phone-base'] ?? 15559000000),
      prekeys: Number(a.prekeys ?? 30), batch: Number(a.batch ?? 500), store: a.store,
      onProgress: (d, n, s) => console.error(`seeded ${d}/${n} (${(d / s).toFixed(0)}/s)`) });
    console.log(`seeded ${r.count} paired instances in ${r.elapsed_s.toFixed(1)} s (${r.per_s.toFixed(0)}/s)`);
    if (a.json) fs.writeFileSync(a.json, JSON.stringify({ ...r, names: undefined }, null, 1) + '\n');
  } catch (e) {
    console.error(`FAIL: ${e.message}`);
    process.exit(1);
  }
}
