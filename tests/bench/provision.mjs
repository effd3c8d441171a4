// Bulk provisioning for benchmarks: creates K wasim accounts and K wamd
// instances and pairs every instance for real (the QR the daemon shows is
// scanned by wasim's simulated phone), with bounded concurrency, then waits
// until every instance reports `open`. Only wamd's public API (unix socket)
// and wasim's control API are used, so what is provisioned is exactly what a
// user's pairing produces: keys generated, pre-keys uploaded, store written.
//
// usage (CLI):
//   node tests/bench/provision.mjs --wasim http://127.0.0.1:PORT --socket DATA/wamd.sock \
//        --count K [--prefix bench] [--phone-base 15559000000] [--parallel 32] \
//        [--timeout-s 900] [--json out.json]
// exits 0 when all K are open, 1 on any failure (the first error is printed).
// As a module: `await provision({ wasim, socket, count, ... })` returns the
// same figures the CLI prints (pairings/s, elapsed, instance names).
import http from 'node:http';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { retrying } from './wamd_bench.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// JSON over wamd's unix socket, one connection per request: wamd closes
// idle keep-alive connections after 5 s, and a request sent on one just as
// it closes fails with ECONNRESET (seen on a loaded machine). keepAlive:
// reuse up to maxSockets connections (for a steady stream of requests).
export function wamdClient(socket, maxSockets = 64, { keepAlive = false } = {}) {
  const agent = new http.Agent({ keepAlive, maxSockets });
  const call = (method, path, body) => new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : null;
    const req = http.request({
      socketPath: socket, path, method, agent,
      headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {},
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = text ? JSON.parse(text) : null; } catch { json = text; }
        resolve({ status: res.statusCode, json });
      });
    });
    req.setTimeout(60000, () => req.destroy(new Error(`wamd ${method} ${path}: no answer in 60 s`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
  return { call, close: () => agent.destroy() };
}

export function wasimClient(base) {
  // one connection per request (Connection: close): on a kept-alive
  // connection an answer of wasim's control server was seen garbled (a 200
  // whose body was a run of 400 heads) in about one run in four of
  // e2e/wamd_seed; a connection closed as the next request goes out also
  // failed without an answer
  const url = new URL(base);
  return (method, path, body) => retrying(() => new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : null;
    const req = http.request({ host: url.hostname, port: url.port, path, method, agent: false,
      headers: { connection: 'close', ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) } },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = text; }
        resolve({ status: res.statusCode, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data ?? undefined);
  }));
}

// Waits until the daemon answers on its socket.
export async function waitWamd(socket, ms = 20000) {
  const end = Date.now() + ms;
  const c = wamdClient(socket, 1);
  try {
    while (Date.now() < end) {
      try {
        if ((await c.call('GET', '/')).status === 200) return;
      } catch { /* not listening yet */ }
      await sleep(50);
    }
  } finally { c.close(); }
  throw new Error(`wamd did not answer on ${socket} within ${ms} ms`);
}

const brief = (x) => JSON.stringify(x)?.slice(0, 300);

// Pairs one instance: account, instance + QR, scan, wait open.
async function pairOne(wamd, sim, name, phone, timeoutMs) {
  let r = await sim('POST', '/_sim/accounts', { phone });
  if (r.status !== 201 && r.status !== 409) throw new Error(`wasim account ${phone}: ${r.status} ${brief(r.json)}`);
  r = await wamd('POST', '/instance/create', { instanceName: name, integration: 'WHATSAPP-BAILEYS', qrcode: true });
  if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${brief(r.json)}`);
  let qr = r.json?.qrcode?.code;
  const end = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (!qr) {
      r = await wamd('GET', `/instance/connect/${name}`);
      qr = r.json?.code;
    }
    if (typeof qr !== 'string' || qr.split(',').length < 4) {
      if (Date.now() > end) throw new Error(`${name}: no QR (${brief(r.json)})`);
      qr = null;
      await sleep(100);
      continue;
    }
    r = await sim('POST', '/_sim/scan', { phone, qr });
    if (r.status === 200) break;
    // 404: the connection that showed this QR is gone (a reconnect shows a
    // new one); anything else is a real failure
    if (r.status !== 404 || attempt >= 5 || Date.now() > end)
      throw new Error(`scan ${name}: ${r.status} ${brief(r.json)}`);
    qr = null;
    await sleep(200);
  }
  let delay = 20;
  while (Date.now() < end) {
    r = await wamd('GET', `/instance/connectionState/${name}`);
    const st = r.json?.instance?.state;
    if (st === 'open') return;
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
  throw new Error(`${name}: not open within ${timeoutMs} ms after the scan (state ${brief(r.json)})`);
}

// Provisions instances `${prefix}${start}` .. `${prefix}${start+count-1}`,
// phone numbers phoneBase + index. onProgress(done, count, elapsed_s) is
// called at most every progressMs. Throws on the first failure (after the
// in-flight pairings settle).
export async function provision({ wasim, socket, count, prefix = 'bench', phoneBase = 15559000000, start = 0,
  parallel = 32, timeoutS = 900, perPairingTimeoutS = 120, onProgress, progressMs = 2000 }) {
  const wc = wamdClient(socket, parallel * 2);
  const sim = wasimClient(wasim);
  const names = [];
  const t0 = performance.now();
  let next = 0, done = 0, failed = null, lastReport = 0;
  const deadline = Date.now() + timeoutS * 1000;
  const worker = async () => {
    while (!failed && next < count) {
      const i = start + next++;
      const name = `${prefix}${i}`;
      try {
        if (Date.now() > deadline) throw new Error(`provisioning exceeded ${timeoutS} s`);
        await pairOne(wc.call, sim, name, String(phoneBase + i), perPairingTimeoutS * 1000);
        names.push(name);
        done++;
        const now = performance.now();
        if (onProgress && (now - lastReport >= progressMs || done === count)) {
          lastReport = now;
          onProgress(done, count, (now - t0) / 1000);
        }
      } catch (e) {
        failed = failed || e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  wc.close();
  const elapsed = (performance.now() - t0) / 1000;
  if (failed) {
    failed.message = `after ${done}/${count} paired: ${failed.message}`;
    throw failed;
  }
  return { count, paired: done, elapsed_s: elapsed, pairings_per_s: done / elapsed, names };
}

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, v] = a.includes('=') ? a.slice(2).split(/=(.*)/s) : [a.slice(2), argv[++i]];
    if (v === undefined) throw new Error(`--${k} needs a value`);
    o[k] = v;
  }
  return o;
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let a;
  try {
    a = parseArgs(process.argv.slice(2));
    if (!a.wasim || !a.socket || !a.count) throw new Error('--wasim, --socket and --count are required');
  } catch (e) {
    console.error(`${e.message}\nusage: provision.mjs --wasim http://127.0.0.1:PORT --socket PATH --count K ` +
      '[--prefix bench] [--phone-base 15559000000] [--start 0] [--parallel 32] [--timeout-s 900] [--json FILE]');
    process.exit(2);
  }
  try {
    await waitWamd(a.socket);
    const res = await provision({
      wasim: a.wasim.replace(/\/$/, ''), socket: a.socket, count: Number(a.count), prefix: a.prefix ?? 'bench',
      phoneBase: Number(a['phone-base'] ?? 15559000000), start: Number(a.start ?? 0),
      parallel: Number(a.parallel ?? 32), timeoutS: Number(a['timeout-s'] ?? 900),
      onProgress: (d, n, s) => console.log(`paired ${d}/${n} in ${s.toFixed(1)} s (${(d / s).toFixed(1)}/s)`),
    });
    console.log(`all ${res.paired} open in ${res.elapsed_s.toFixed(1)} s: ${res.pairings_per_s.toFixed(1)} pairings/s`);
    if (a.json) {
      const { names, ...fig } = res;
      fs.writeFileSync(a.json, JSON.stringify({ ...fig, parallel: Number(a.parallel ?? 32) }, null, 1) + '\n');
    }
    process.exit(0);
  } catch (e) {
    console.error(`provision failed: ${e.message}`);
    process.exit(1);
  }
}
