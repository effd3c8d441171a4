// rediss:// and event output settings changed at run time (suite e2e).
// Debian's redis-server is started here with a plain port and a TLS port,
// its certificate made here by a throwaway CA (openssl). wamd publishes to
// the TLS port only when the certificate chains to redis_ca_file and names
// the host it dialled:
//   - the right CA, host "localhost": delivered (the entries are read back
//     with redis-cli over TLS);
//   - another CA, the host dialled as 127.0.0.1 (not in the certificate),
//     or no redis_ca_file (the system's CAs): refused, the events stay queued.
// Then one wamd reads its output settings from a config file changed while
// it runs (SIGHUP, no restart):
//   - the wrong CA: the events wait; the right CA and another stream name:
//     the waiting events arrive, in order, in the new stream;
//   - redis_events narrowed: only that event goes out;
//   - redis_url switched to the plain port: the next events go there;
//   - a malformed redis_url: refused, the running output is kept;
//   - redis_url removed: the output is off;
//   - a reload while a publish hangs on a server that never answers: the
//     API still answers at once, and once that attempt times out the events
//     go to the new server, in order.
// argv: [node, script, wamd, wasim]
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(220);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-redis-tls-key-7d41c0a9e3';

const portOpen = (port) => new Promise((res) => {
  const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
  s.on('error', () => res(false));
});
const children = [];
process.on('exit', () => {
  for (const c of children) try { c.kill('SIGKILL'); } catch { /* gone */ }
});

// ---- a throwaway CA, the server's certificate (localhost), another CA
const pki = tmpDir('wamd-rtls-pki-');
const ossl = (...a) => execFileSync('openssl', a, { cwd: pki, stdio: ['ignore', 'ignore', 'pipe'] });
const ca = (name) => ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
  '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`);
ca('ca');
ca('other-ca');
ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
  '-keyout', 'server.key', '-out', 'server.csr');
fs.writeFileSync(path.join(pki, 'ext'), 'subjectAltName = DNS:localhost\nextendedKeyUsage = serverAuth\n');
ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
  '-extfile', 'ext', '-out', 'server.pem');
const CA = path.join(pki, 'ca.pem'), OTHER = path.join(pki, 'other-ca.pem');

// ---- redis-server: a plain port and a TLS port, nothing on disk
const rdir = tmpDir('wamd-rtls-redis-');
const [plainPort, tlsPort] = [await freePort(), await freePort()];
const redis = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(plainPort), '--tls-port', String(tlsPort),
  '--tls-cert-file', path.join(pki, 'server.pem'), '--tls-key-file', path.join(pki, 'server.key'),
  '--tls-ca-cert-file', CA, '--tls-auth-clients', 'no', '--dir', rdir, '--save', '', '--appendonly', 'no'],
{ stdio: 'ignore' });
children.push(redis);
let up = false;
for (let i = 0; i < 200 && !(up = (await portOpen(tlsPort)) && (await portOpen(plainPort))); i++) await sleep(50);
check(up, 'redis-server listening (plain and TLS)');
// read back over TLS, as a client of the operator would
const cli = (...a) => execFileSync('redis-cli', ['--tls', '--cacert', CA, '-h', 'localhost', '-p', String(tlsPort), ...a],
  { encoding: 'utf8' });
const xrange = (key) => {
  const out = cli('--json', 'XRANGE', key, '-', '+').trim();
  return out ? JSON.parse(out).map(([, f]) => ({ event: f[1], instance: f[3], data: JSON.parse(f[5]) })) : [];
};

const sim = await startWasim(wasimExe);
let log = '';
const ok = (cond, msg) => { if (!cond) process.stderr.write(log.slice(-6000)); check(cond, msg); };

async function metrics(port) {
  const t = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { apikey: KEY } })).text();
  const m = {};
  for (const l of t.split('\n')) {
    const x = /^(wamd_broker_\w+)\{output="redis"\} (-?\d+)/.exec(l);
    if (x) m[x[1].replace('wamd_broker_', '')] = Number(x[2]);
  }
  return m;
}
async function startWamd(args) {
  const port = await freePort();
  log = '';
  const w = spawn(wamdExe, ['--data', tmpDir('wamd-rtls-'), '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--log-level', 'debug', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(w);
  w.stderr.on('data', (d) => { log += d; });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/health/live`)).ok) break; } catch { /* not yet */ }
    await sleep(50);
  }
  return { w, port };
}
async function create(port, name) {
  const r = await fetch(`http://127.0.0.1:${port}/instance/create`, { method: 'POST',
    headers: { apikey: KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ instanceName: name, qrcode: true, integration: 'WHATSAPP-BAILEYS' }) });
  ok(r.status === 201, `${name} created (${r.status})`);
}
async function stop(w, what) {
  w.kill('SIGTERM');
  const code = await new Promise((res) => w.on('exit', (c) => res(c)));
  ok(code === 0, `${what}: wamd exited cleanly (${code})`);
}
const until = async (f, ms) => {
  const end = Date.now() + ms;
  let v;
  while (!(v = await f()) && Date.now() < end) await sleep(200);
  return v;
};

// ---- certificate checks, one wamd each
async function attempt(what, host, caFile, expectDelivered) {
  const stream = `s${children.length}`;
  const args = ['--redis-url', `rediss://${host}:${tlsPort}`, '--redis-stream', stream, '--broker-retry-max-ms', '500'];
  if (caFile) args.push('--redis-ca-file', caFile);
  const { w, port } = await startWamd(args);
  await create(port, 'r1');
  let m = {};
  await until(async () => { m = await metrics(port); return expectDelivered && m.delivered_total >= 2; },
    expectDelivered ? 30000 : 4000);
  if (expectDelivered) {
    const got = xrange(`${stream}:r1`);
    ok(m.delivered_total >= 2 && m.up === 1 && got.length >= m.delivered_total && // more may land after the metrics were read
      got[0].event === 'instance.create' && got.every((e) => e.instance === 'r1'),
    `${what}: events delivered over TLS (${JSON.stringify(m)}; ${got.map((e) => e.event)})`);
    ok(/redis: connected to localhost:\d+ over TLS \(certificate verified\)/.test(log), `${what}: the log says TLS, verified`);
  } else {
    ok(m.delivered_total === 0 && m.up === 0 && m.queue_depth >= 1 && xrange(`${stream}:r1`).length === 0,
      `${what}: refused, the events stay queued (${JSON.stringify(m)})`);
    ok(/redis: TLS handshake with \S+: certificate verify failed/.test(log), `${what}: the log names the certificate check`);
  }
  await stop(w, what);
}
await attempt('the right CA', 'localhost', CA, true);
await attempt('another CA', 'localhost', OTHER, false);
await attempt('a host the certificate does not name', '127.0.0.1', CA, false);
await attempt('the system CAs (no redis_ca_file)', 'localhost', null, false);

// ---- settings changed at run time: a config file and SIGHUP
const cdir = tmpDir('wamd-rtls-conf-');
const conf = path.join(cdir, 'wamd.conf');
const writeConf = (lines) => {
  fs.writeFileSync(conf, ['broker_retry_max_ms = 500', ...lines, ''].join('\n'));
  fs.chmodSync(conf, 0o600);
};
const reloaded = async (w, n) => {
  w.kill('SIGHUP');
  const seen = await until(() => (log.match(/configuration reloaded/g) || []).length >= n, 5000);
  ok(seen, `reload ${n} done`);
};
writeConf([`redis_url = rediss://localhost:${tlsPort}`, `redis_ca_file = ${OTHER}`, 'redis_stream = before']);
const { w, port } = await startWamd(['--config', conf]);
await create(port, 'live');
let m = {};
await until(async () => (m = await metrics(port)).queue_depth >= 2 && m.attempt_failures >= 2, 8000);
ok(m.queue_depth >= 2 && m.delivered_total === 0, `wrong CA: the events wait (${JSON.stringify(m)})`);
const waiting = m.queue_depth;

// the right CA and another stream: the waiting events go out, in order
writeConf([`redis_url = rediss://localhost:${tlsPort}`, `redis_ca_file = ${CA}`, 'redis_stream = after']);
await reloaded(w, 1);
await until(async () => (m = await metrics(port)).queue_depth === 0 && m.delivered_total >= waiting, 20000);
let got = xrange('after:live');
ok(m.queue_depth === 0 && got.length >= m.delivered_total && // more may land after the metrics were read
      got.length >= waiting && xrange('before:live').length === 0,
  `after the reload the waiting events are in the new stream (${JSON.stringify(m)}; ${got.map((e) => e.event)})`);
ok(got[0].event === 'instance.create', `oldest first (${got[0].event})`);
ok(/redis: new connection settings/.test(log) && /connected to localhost:\d+ over TLS/.test(log), 'the log names the new connection');

// only one event kind now
writeConf([`redis_url = rediss://localhost:${tlsPort}`, `redis_ca_file = ${CA}`, 'redis_stream = after',
  'redis_events = INSTANCE_CREATE']);
await reloaded(w, 2);
const before = got.length;
await create(port, 'live2');
await until(async () => xrange('after:live2').length >= 1, 10000);
await sleep(1500); // a qrcode.updated of live2 would be published by now
got = xrange('after:live2');
ok(got.length === 1 && got[0].event === 'instance.create', `redis_events applied live (${got.map((e) => e.event)})`);
ok(xrange('after:live').length === before, 'nothing more of the first instance');

// the plain port, every event again
writeConf([`redis_url = redis://127.0.0.1:${plainPort}`, 'redis_stream = plain']);
await reloaded(w, 3);
await create(port, 'live3');
await until(async () => xrange('plain:live3').length >= 2, 10000);
got = xrange('plain:live3');
ok(got.length >= 2 && got[0].event === 'instance.create', `the new URL is used (${got.map((e) => e.event)})`);

// a malformed URL is refused and the running output kept
writeConf(['redis_url = redis://', 'redis_stream = broken']);
await reloaded(w, 4);
ok(/event output settings are refused/.test(log), 'a malformed redis_url is refused');
await create(port, 'live4');
await until(async () => xrange('plain:live4').length >= 1, 10000);
ok(xrange('plain:live4').length >= 1, 'the running output is kept');

// off
writeConf([]);
await reloaded(w, 5);
await until(async () => (m = await metrics(port)).queue_depth === 0, 5000);
const d0 = (await metrics(port)).delivered_total;
await create(port, 'live5');
await sleep(1500);
m = await metrics(port);
ok(m.delivered_total === d0 && m.queue_depth === 0 && xrange('plain:live5').length === 0,
  `redis_url removed: the output is off (${JSON.stringify(m)})`);
await stop(w, 'reloads');

// ---- a reload while a publish hangs: the loop does not wait for it
const held = [];
const silent = await new Promise((res) => {
  const srv = net.createServer((sock) => { held.push(sock); sock.on('error', () => {}); sock.resume(); });
  srv.listen(0, '127.0.0.1', () => res(srv));
});
writeConf([`redis_url = redis://127.0.0.1:${silent.address().port}`, 'redis_stream = stalled']);
{
  const { w: w2, port: p2 } = await startWamd(['--config', conf]);
  await create(p2, 'hang');
  ok(await until(() => held.length >= 1, 5000), 'the publish is held by a server that never answers');
  writeConf([`redis_url = redis://127.0.0.1:${plainPort}`, 'redis_stream = unstalled']);
  const t0 = Date.now();
  w2.kill('SIGHUP');
  ok(await until(() => /configuration reloaded/.test(log), 3000), 'reloaded while the old publisher waits');
  const r = await fetch(`http://127.0.0.1:${p2}/health/live`);
  const took = Date.now() - t0;
  ok(r.ok && took < 3000, `the API answers at once (${took} ms)`);
  // the held attempt ends at the I/O limit, then everything goes to the new server, in order
  let g = [];
  await until(async () => (m = await metrics(p2)).queue_depth === 0 && (g = xrange('unstalled:hang')).length >= 2, 25000);
  ok(m.queue_depth === 0 && g.length >= 2 && g[0].event === 'instance.create' && xrange('stalled:hang').length === 0,
    `after the held attempt, the events arrive in order on the new server (${JSON.stringify(m)}; ${g.map((e) => e.event)})`);
  await stop(w2, 'reload during a held publish');
  for (const sock of held) sock.destroy();
  silent.close();
}

sim.stop?.();
console.log('redis over TLS and live output settings: all checks passed');
process.exit(0);
