// amqps:// (suite e2e): Debian's rabbitmq-server started here with only a
// TLS listener, its certificate made here by a throwaway CA (openssl). wamd
// publishes its events (global exchange) only to a broker whose certificate
// chains to amqp_ca_file and names the host it dialled:
//   - the right CA, host "localhost" (the certificate's name): delivered,
//     the messages are in the broker's queues;
//   - another CA: refused, nothing delivered, the events stay queued;
//   - the right CA but the host dialled as 127.0.0.1 (not in the
//     certificate): refused;
//   - no amqp_ca_file (the system's CAs, which do not know the throwaway
//     CA): refused, so verification is on by default.
// Then, on the same broker, a publish refused for good: a queue declared
// elsewhere with other arguments (a classic queue where wamd declares a
// quorum one: 406 PRECONDITION_FAILED) sends that event to the dead rows
// with its error, and the instance's later events still arrive, in order;
// once the queue is gone, a replay delivers it.
// Last, RabbitMQ switched on while wamd runs (a config file and SIGHUP): the
// instance's /rabbitmq/set is refused before and accepted after, its events
// and the global output's arrive; then amqp_global switched off live.
// argv: [node, script, wamd, wasim]
import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(280);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-broker-tls-key-51c0e9a2b7';
const PREFIX = 'tls';

const run = (cmd, args, env) => new Promise((res) => {
  execFile(cmd, args, { env, timeout: 60000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
    res({ code: err ? (err.code ?? -1) : 0, out: stdout.toString(), err: stderr.toString() }));
});
const portOpen = (port) => new Promise((res) => {
  const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
  s.on('error', () => res(false));
});
const children = [];
let epmdPort = 0;
const reapAll = () => {
  for (const c of children) {
    try { process.kill(-c.pid, 'SIGKILL'); } catch { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
  if (epmdPort) try { execFileSync('epmd', ['-port', String(epmdPort), '-kill'], { stdio: 'ignore' }); } catch { /* none */ }
};
process.on('exit', reapAll);

// ---- a throwaway CA, the broker's certificate (localhost), another CA
const pki = tmpDir('wamd-tls-pki-');
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
fs.chmodSync(path.join(pki, 'server.key'), 0o644); // read by the broker (same user)

// ---- RabbitMQ with a TLS listener only
const rdir = tmpDir('wamd-rabbit-tls-');
const [amqpsPort, distPort] = [await freePort(), await freePort()];
epmdPort = await freePort();
fs.writeFileSync(path.join(rdir, 'enabled_plugins'), '[].\n');
fs.writeFileSync(path.join(rdir, 'rabbitmq.conf'), [
  'listeners.tcp = none',
  `listeners.ssl.default = 127.0.0.1:${amqpsPort}`,
  `ssl_options.cacertfile = ${pki}/ca.pem`,
  `ssl_options.certfile = ${pki}/server.pem`,
  `ssl_options.keyfile = ${pki}/server.key`,
  'ssl_options.verify = verify_none',
  'ssl_options.fail_if_no_peer_cert = false', ''].join('\n'));
const node = `wamdtls${process.pid}@localhost`;
const renv = {
  PATH: process.env.PATH, HOME: rdir, RABBITMQ_NODENAME: node,
  RABBITMQ_DIST_PORT: String(distPort), ERL_EPMD_PORT: String(epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1',
  RABBITMQ_MNESIA_BASE: path.join(rdir, 'mnesia'), RABBITMQ_LOG_BASE: path.join(rdir, 'log'),
  RABBITMQ_ENABLED_PLUGINS_FILE: path.join(rdir, 'enabled_plugins'),
  RABBITMQ_CONFIG_FILE: path.join(rdir, 'rabbitmq'), RABBITMQ_PID_FILE: path.join(rdir, 'pid'),
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
};
const epmd = spawn('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1', '-relaxed_command_check'],
  { stdio: 'ignore', env: renv, detached: true });
children.push(epmd);
for (let i = 0; i < 100 && !(await portOpen(epmdPort)); i++) await sleep(50);
const rabbit = spawn('/usr/lib/rabbitmq/bin/rabbitmq-server', [], { stdio: 'ignore', env: renv, detached: true });
children.push(rabbit);
const ctl = (...args) => run('/usr/lib/rabbitmq/bin/rabbitmqctl', ['-q', '-n', node, ...args], renv);

const sim = await startWasim(wasimExe);
let log = '';
const ok = (cond, msg) => { if (!cond) process.stderr.write(log.slice(-6000)); check(cond, msg); };
let up = false;
for (let i = 0; i < 1800 && !(up = await portOpen(amqpsPort)); i++) await sleep(100);
ok(up, 'rabbitmq-server listening for TLS');

async function metrics(port) {
  const t = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { apikey: KEY } })).text();
  const m = {};
  for (const l of t.split('\n')) {
    const x = /^(wamd_broker_\w+)\{output="(\w+)"\} (-?\d+)/.exec(l);
    if (x) m[`${x[1]}:${x[2]}`] = Number(x[3]);
  }
  return m;
}
// one wamd publishing every event to the global exchange over amqps://
// host; an instance is created (its QR and state events are published)
async function attempt(what, host, caFile, { expectDelivered }) {
  const port = await freePort();
  const args = ['--data', tmpDir('wamd-tls-'), '--listen', `127.0.0.1:${port}`, '--api-key', KEY, '--wa-url', sim.url,
    '--wa-trust-root', sim.root, '--log-level', 'debug', '--amqp-uri', `amqps://guest:guest@${host}:${amqpsPort}/`,
    '--amqp-global', 'true', '--amqp-prefix-key', PREFIX, '--broker-retry-max-ms', '500'];
  if (caFile) args.push('--amqp-ca-file', caFile);
  log = '';
  const w = spawn(wamdExe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(w);
  w.stderr.on('data', (d) => { log += d; });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/health/live`)).ok) break; } catch { /* not yet */ }
    await sleep(50);
  }
  const r = await fetch(`http://127.0.0.1:${port}/instance/create`, { method: 'POST',
    headers: { apikey: KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ instanceName: 'tls1', qrcode: true, integration: 'WHATSAPP-BAILEYS' }) });
  ok(r.status === 201, `${what}: instance created (${r.status})`);
  let m = {};
  const end = Date.now() + (expectDelivered ? 30000 : 4000);
  while (Date.now() < end) {
    m = await metrics(port);
    if (expectDelivered && m['wamd_broker_delivered_total:amqp_global'] >= 2) break;
    await sleep(200);
  }
  if (expectDelivered) {
    ok(m['wamd_broker_delivered_total:amqp_global'] >= 2 && m['wamd_broker_up:amqp_global'] === 1,
      `${what}: events delivered over TLS (${JSON.stringify(m)})`);
    ok(/connected to \S+ over TLS \(certificate verified\)/.test(log), `${what}: the log says TLS, verified`);
  } else {
    ok(m['wamd_broker_delivered_total:amqp_global'] === 0 && m['wamd_broker_up:amqp_global'] === 0 &&
      m['wamd_broker_queue_depth:amqp_global'] >= 1, `${what}: refused, the events stay queued (${JSON.stringify(m)})`);
    ok(/rabbitmq: .*\(TLS\): .*(verif|certificate)/i.test(log), `${what}: the log names the certificate check`);
  }
  w.kill('SIGTERM');
  const code = await new Promise((res) => w.on('exit', (c) => res(c)));
  ok(code === 0, `${what}: wamd exited cleanly (${code})`);
}

await attempt('the right CA', 'localhost', path.join(pki, 'ca.pem'), { expectDelivered: true });
// a quorum queue's message count is published by the broker's stats a few
// seconds after the confirm: poll it rather than read it once
let q, inQueue = 0;
for (const end = Date.now() + 20000; ;) {
  q = await ctl('list_queues', 'name', 'messages');
  inQueue = q.out.split('\n').filter((l) => l.startsWith(`${PREFIX}.`)).reduce((a, l) => a + Number(l.split(/\s+/)[1] || 0), 0);
  if ((q.code === 0 && inQueue >= 2) || Date.now() > end) break;
  await sleep(500);
}
ok(q.code === 0 && inQueue >= 2, `the broker holds the events (${q.out.trim().replace(/\n/g, '; ')})`);
await attempt('another CA', 'localhost', path.join(pki, 'other-ca.pem'), { expectDelivered: false });
await attempt('a host the certificate does not name', '127.0.0.1', path.join(pki, 'ca.pem'), { expectDelivered: false });
await attempt('the system CAs (no amqp_ca_file)', 'localhost', null, { expectDelivered: false });
// ---- a publish refused for good ----
const DEAD = 'dead';
const tlsArgs = ['--url', `amqps://guest:guest@localhost:${amqpsPort}`, '--ssl', '--cacert', path.join(pki, 'ca.pem')];
let r = await run('amqp-declare-queue', [...tlsArgs, '-d', '-q', `${DEAD}.qrcode.updated`]);
ok(r.code === 0, `a classic queue ${DEAD}.qrcode.updated declared elsewhere (${r.err.trim()})`);
{
  const port = await freePort();
  log = '';
  const w = spawn(wamdExe, ['--data', tmpDir('wamd-tls-dead-'), '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--log-level', 'debug',
    '--amqp-uri', `amqps://guest:guest@localhost:${amqpsPort}/`, '--amqp-ca-file', path.join(pki, 'ca.pem'),
    '--amqp-global', 'true', '--amqp-prefix-key', DEAD, '--broker-retry-max-ms', '500'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(w);
  w.stderr.on('data', (d) => { log += d; });
  const api = async (method, p, body) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, { method, headers: { apikey: KEY, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined });
    const t = await res.text();
    return { status: res.status, json: t ? JSON.parse(t) : null };
  };
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/health/live`)).ok) break; } catch { /* not yet */ }
    await sleep(50);
  }
  r = await api('POST', '/instance/create', { instanceName: 'tls1', qrcode: true, integration: 'WHATSAPP-BAILEYS' });
  ok(r.status === 201, `dead: instance created (${r.status})`);
  const counts = async () => {
    const q = await ctl('list_queues', 'name', 'messages');
    return Object.fromEntries(q.out.split('\n').filter((l) => l.startsWith(`${DEAD}.`)).map((l) => l.split(/\s+/)).map(([n, c]) => [n, Number(c)]));
  };
  let q = null;
  let c = {};
  for (let i = 0; i < 150; i++) {
    q = (await api('GET', '/wamd/webhookQueue/tls1')).json;
    c = await counts();
    if (q.dead >= 1 && c[`${DEAD}.connection.update`] >= 1 && c[`${DEAD}.instance.create`] >= 1) break;
    await sleep(200);
  }
  const dead = q.events.filter((e) => e.state === 'dead');
  ok(dead.length >= 1 && dead.every((e) => e.event === 'qrcode.updated' && e.target === 'amqp_global' &&
    /406 PRECONDITION_FAILED/.test(e.lastError)), `the refused event is dead with its error (${JSON.stringify(dead)})`);
  ok(c[`${DEAD}.instance.create`] >= 1 && c[`${DEAD}.connection.update`] >= 1 && !c[`${DEAD}.qrcode.updated`],
    `the other events arrived past it (${JSON.stringify(c)})`);
  const m = await metrics(port);
  ok(m['wamd_broker_up:amqp_global'] === 1, `the broker is not counted down for it (${JSON.stringify(m)})`);
  // the conflicting queue goes away; a replay delivers the dead event(s)
  r = await run('amqp-delete-queue', [...tlsArgs, '-q', `${DEAD}.qrcode.updated`]);
  ok(r.code === 0, `the classic queue deleted (${r.err.trim()})`);
  r = await api('POST', '/wamd/webhookReplay/tls1', {});
  ok(r.status === 200 && r.json.replayed >= dead.length, `replayed (${JSON.stringify(r.json)})`);
  for (let i = 0; i < 100 && !((c = await counts())[`${DEAD}.qrcode.updated`] >= dead.length); i++) await sleep(200);
  ok(c[`${DEAD}.qrcode.updated`] >= dead.length, `the replayed event is in the broker (${JSON.stringify(c)})`);
  q = (await api('GET', '/wamd/webhookQueue/tls1')).json;
  ok(q.dead === 0, `no dead event left (${q.dead})`);
  w.kill('SIGTERM');
  const code = await new Promise((res) => w.on('exit', (x) => res(x)));
  ok(code === 0, `dead: wamd exited cleanly (${code})`);
}

// ---- RabbitMQ switched on and the global output off at run time (SIGHUP)
{
  const HUP = 'hup';
  const conf = path.join(tmpDir('wamd-tls-conf-'), 'wamd.conf');
  const writeConf = (lines) => {
    fs.writeFileSync(conf, ['broker_retry_max_ms = 500', ...lines, ''].join('\n'));
    fs.chmodSync(conf, 0o600);
  };
  writeConf([]);
  const port = await freePort();
  log = '';
  const w = spawn(wamdExe, ['--data', tmpDir('wamd-tls-hup-'), '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--log-level', 'debug', '--config', conf],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(w);
  w.stderr.on('data', (d) => { log += d; });
  const api = async (method, p, body) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, { method, headers: { apikey: KEY, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined });
    const t = await res.text();
    return { status: res.status, json: t ? JSON.parse(t) : null };
  };
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/health/live`)).ok) break; } catch { /* not yet */ }
    await sleep(50);
  }
  const set = { rabbitmq: { enabled: true, events: ['CONNECTION_UPDATE'] } };
  r = await api('POST', '/instance/create', { instanceName: 'hup1', qrcode: true, integration: 'WHATSAPP-BAILEYS' });
  ok(r.status === 201, `hup: instance created (${r.status})`);
  r = await api('POST', '/rabbitmq/set/hup1', set);
  ok(r.status === 400, `hup: /rabbitmq/set refused while RabbitMQ is off (${r.status})`);
  let reloads = 0;
  const reload = async () => {
    w.kill('SIGHUP');
    reloads++;
    for (let i = 0; i < 50 && (log.match(/configuration reloaded/g) || []).length < reloads; i++) await sleep(100);
    ok((log.match(/configuration reloaded/g) || []).length === reloads, `hup: reload ${reloads} done`);
  };
  writeConf([`amqp_uri = amqps://guest:guest@localhost:${amqpsPort}/`, `amqp_ca_file = ${path.join(pki, 'ca.pem')}`,
    'amqp_global = true', `amqp_prefix_key = ${HUP}`]);
  await reload();
  r = await api('POST', '/rabbitmq/set/hup1', set);
  ok(r.status === 201, `hup: /rabbitmq/set accepted after the reload (${r.status})`);
  r = await api('POST', '/instance/restart/hup1');
  ok(r.status === 200, `hup: instance restarted (${r.status})`);
  r = await api('POST', '/instance/create', { instanceName: 'hup2', qrcode: true, integration: 'WHATSAPP-BAILEYS' });
  const counts = async () => {
    const q = await ctl('list_queues', 'name', 'messages');
    return Object.fromEntries(q.out.split('\n').map((l) => l.split(/\s+/)).filter(([n]) => /^hup/.test(n || ''))
      .map(([n, c]) => [n, Number(c)]));
  };
  let c = {};
  for (let i = 0; i < 150; i++) {
    c = await counts();
    if (c['hup1.connection.update'] >= 1 && c[`${HUP}.instance.create`] >= 1) break;
    await sleep(200);
  }
  ok(c['hup1.connection.update'] >= 1 && c[`${HUP}.instance.create`] >= 1 && !c['hup1.qrcode.updated'],
    `hup: the instance output and the global output deliver after the reload (${JSON.stringify(c)})`);
  const created = c[`${HUP}.instance.create`];
  writeConf([`amqp_uri = amqps://guest:guest@localhost:${amqpsPort}/`, `amqp_ca_file = ${path.join(pki, 'ca.pem')}`,
    'amqp_global = false', `amqp_prefix_key = ${HUP}`]);
  await reload();
  r = await api('POST', '/instance/create', { instanceName: 'hup3', qrcode: true, integration: 'WHATSAPP-BAILEYS' });
  ok(r.status === 201, `hup: a third instance (${r.status})`);
  r = await api('POST', '/instance/restart/hup1');
  const conn = c['hup1.connection.update'];
  for (let i = 0; i < 100 && !((c = await counts())['hup1.connection.update'] > conn); i++) await sleep(200);
  ok(c['hup1.connection.update'] > conn && c[`${HUP}.instance.create`] === created,
    `hup: amqp_global off live, the instance output still on (${JSON.stringify(c)})`);
  w.kill('SIGTERM');
  const code = await new Promise((res) => w.on('exit', (x) => res(x)));
  ok(code === 0, `hup: wamd exited cleanly (${code})`);
}

sim.stop?.();
console.log('brokers over TLS: all checks passed');
process.exit(0);
