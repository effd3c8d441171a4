// Event outputs to RabbitMQ and Redis Streams (suite e2e), against Debian's
// rabbitmq-server and redis-server started here on free loopback ports with
// private data folders, the real session engine, wasim and a Baileys peer:
//   1. texts received (MESSAGES_UPSERT) and sent (SEND_MESSAGE) arrive, in
//      order, in the instance's quorum queues (/rabbitmq/set: only the
//      events listed), in the global exchange's queues (<prefix>.<event>),
//      bound with Evolution's routing keys, as the webhook's envelope
//      without `destination`; and in the instance's Redis stream (XADD
//      fields event, instance, data);
//   2. both brokers stopped, more texts both ways, wamd restarted while
//      they are down (the events wait in its queue), then the brokers
//      started again: every event arrives, none twice, in order.
// RabbitMQ starts once (slow) and is only stop_app'ed / start_app'ed.
// Every JSON answer is validated against /openapi.json.
// argv: [node, script, wamd, wasim]
import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(280);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-broker-key-8c41d2a7f3';
const PEER_PHONE = '15550008881';
const PHONE = '15550008882';
const PREFIX = 'wt';

const run = (cmd, args, env) => new Promise((res) => {
  execFile(cmd, args, { env, timeout: 60000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
    res({ code: err ? (err.code ?? -1) : 0, out: stdout.toString(), err: stderr.toString() }));
});
const portOpen = (port) => new Promise((res) => {
  const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
  s.on('error', () => res(false));
});
const children = [];
// each child leads its own process group: rabbitmq-server is a script whose
// Erlang VM must go with it
let epmdPort = 0;
const reapAll = () => {
  for (const c of children) {
    try { process.kill(-c.pid, 'SIGKILL'); } catch { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
  // an epmd an Erlang program started by itself on our port (not a child)
  if (epmdPort) try { execFileSync('epmd', ['-port', String(epmdPort), '-kill'], { stdio: 'ignore' }); } catch { /* none */ }
};
process.on('exit', reapAll);
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1);

// ---- RabbitMQ: own node name, ports, epmd, HOME (cookie), data and logs
const rdir = tmpDir('wamd-rabbit-');
const [amqpPort, distPort] = [await freePort(), await freePort()];
epmdPort = await freePort();
fs.writeFileSync(path.join(rdir, 'enabled_plugins'), '[].\n');
fs.writeFileSync(path.join(rdir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${amqpPort}\n`);
const node = `wamdt${process.pid}@localhost`;
const renv = {
  PATH: process.env.PATH, HOME: rdir, RABBITMQ_NODENAME: node, RABBITMQ_NODE_PORT: String(amqpPort),
  RABBITMQ_DIST_PORT: String(distPort), ERL_EPMD_PORT: String(epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1',
  RABBITMQ_MNESIA_BASE: path.join(rdir, 'mnesia'), RABBITMQ_LOG_BASE: path.join(rdir, 'log'),
  RABBITMQ_ENABLED_PLUGINS_FILE: path.join(rdir, 'enabled_plugins'),
  RABBITMQ_CONFIG_FILE: path.join(rdir, 'rabbitmq'), RABBITMQ_PID_FILE: path.join(rdir, 'pid'),
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
};
// our own epmd, so that it ends with the test
const epmd = spawn('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1', '-relaxed_command_check'],
  { stdio: 'ignore', env: renv, detached: true });
children.push(epmd);
for (let i = 0; i < 100 && !(await portOpen(epmdPort)); i++) await sleep(50);
const rabbit = spawn('/usr/lib/rabbitmq/bin/rabbitmq-server', [], { stdio: 'ignore', env: renv, detached: true });
children.push(rabbit);
const rabbitUp = (async () => {
  for (let i = 0; i < 1800; i++) {
    if (await portOpen(amqpPort)) return true;
    await sleep(100);
  }
  return false;
})();
const ctl = (...args) => run('/usr/lib/rabbitmq/bin/rabbitmqctl', ['-q', '-n', node, ...args], renv);
const AMQP_URL = `amqp://guest:guest@127.0.0.1:${amqpPort}`;
// drains a queue: the bodies in order, or null when the queue does not exist
async function drain(queue) {
  const out = [];
  for (;;) {
    const r = await run('amqp-get', ['-u', AMQP_URL, '-q', queue]);
    if (r.code !== 0) {
      if (/NOT_FOUND/.test(r.err)) return out.length ? out : null;
      return out; // empty queue
    }
    out.push(JSON.parse(r.out));
  }
}

// ---- Redis: AOF on, so a stop keeps the stream
const ddir = tmpDir('wamd-redis-');
const redisPort = await freePort();
let redis = null;
async function startRedis() {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', ddir,
    '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
  children.push(redis);
  for (let i = 0; i < 100 && !(await portOpen(redisPort)); i++) await sleep(50);
}
async function stopRedis() {
  const r = redis;
  r.kill('SIGTERM');
  await new Promise((res) => r.on('exit', res));
}
await startRedis();
const STREAM = 'wamd:events:s1';
async function xrange() {
  const r = await run('redis-cli', ['-p', String(redisPort), '--raw', 'XRANGE', STREAM, '-', '+']);
  const lines = r.out.split('\n');
  const entries = [];
  for (let i = 0; i + 6 < lines.length; i += 7) {
    const f = {};
    for (let k = 1; k < 7; k += 2) f[lines[i + k]] = lines[i + k + 1];
    entries.push({ id: lines[i], event: f.event, instance: f.instance, data: JSON.parse(f.data) });
  }
  return entries;
}

// ---- wasim, the peer, wamd
const sim = await startWasim(wasimExe);
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
check((await sim.api('POST', '/_sim/accounts', { phone: PHONE })).status === 201, 'wasim account');

const data = tmpDir('wamd-brokers-');
const port = await freePort();
let log = '';
function startWamd() {
  const args = ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY, '--wa-url', sim.url,
    '--wa-trust-root', sim.root, '--log-level', 'debug', '--amqp-uri', `${AMQP_URL}/`,
    '--amqp-global', 'true', '--amqp-prefix-key', PREFIX, '--redis-url', `redis://127.0.0.1:${redisPort}`,
    '--broker-retry-max-ms', '1000'];
  const w = spawn(wamdExe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(w);
  w.stderr.on('data', (d) => { log += d; });
  return w;
}
const answers = []; // every JSON answer, validated against /openapi.json at the end
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  let json = null;
  try { json = t ? JSON.parse(t) : null; } catch { json = t; }
  if (json !== null && typeof json === 'object') answers.push({ method, path: p, status: res.status, body: json });
  return { status: res.status, json };
};
const ok = (cond, msg) => { if (!cond) process.stderr.write(log.slice(-8000)); check(cond, msg); };
async function waitApi() {
  for (let i = 0; i < 200; i++) {
    try { if ((await api('GET', '/')).status === 200) return true; } catch { /* not yet */ }
    await sleep(50);
  }
  return false;
}
async function metrics() {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { apikey: KEY } });
  const t = await r.text();
  const m = {};
  for (const l of t.split('\n')) {
    const x = /^(wamd_broker_\w+)\{output="(\w+)"\} (-?\d+)/.exec(l);
    if (x) m[`${x[1]}:${x[2]}`] = Number(x[3]);
  }
  return m;
}
const depth = (m) => ['amqp_instance', 'amqp_global', 'redis'].reduce((a, o) => a + m[`wamd_broker_queue_depth:${o}`], 0);
async function drained(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (depth(await metrics()) === 0) return true;
    await sleep(200);
  }
  return false;
}

let wamd = startWamd();
ok(await waitApi(), 'wamd up');
let r = await api('POST', '/rabbitmq/set/s1', { rabbitmq: { enabled: true, events: ['MESSAGES_UPSERT'] } });
ok(r.status === 404, `rabbitmq/set on an unknown instance: 404 (${r.status})`);
r = await api('POST', '/instance/create', { instanceName: 's1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
ok(r.status === 201, `instance created (${r.status})`);
const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/s1')).json.code;
r = await api('POST', '/rabbitmq/set/s1', { rabbitmq: { enabled: true, events: ['MESSAGES_UPSERT', 'NOPE'] } });
ok(r.status === 400, `rabbitmq/set with an unknown event: 400 (${r.status})`);
r = await api('POST', '/rabbitmq/set/s1', { rabbitmq: { enabled: true, events: ['MESSAGES_UPSERT', 'SEND_MESSAGE'] } });
ok(r.status === 201 && r.json.enabled === true && r.json.events.length === 2, `rabbitmq/set: 201 (${JSON.stringify(r.json)})`);
r = await api('GET', '/rabbitmq/find/s1');
ok(r.status === 200 && JSON.stringify(r.json.events) === '["MESSAGES_UPSERT","SEND_MESSAGE"]', 'rabbitmq/find reads it back');
check((await sim.api('POST', '/_sim/scan', { phone: PHONE, qr })).status === 200, 'QR scanned');
let open = false;
for (let i = 0; i < 300 && !open; i++) {
  open = (await api('GET', '/instance/connectionState/s1')).json?.instance?.state === 'open';
  if (!open) await sleep(100);
}
ok(open, `instance open (${secs()} s)`);

const jid = `${PHONE}@s.whatsapp.net`;
const inIds = [], outIds = [];
async function exchange(ins, outs) {
  for (const text of ins) inIds.push((await peer.sock.sendMessage(jid, { text })).key.id);
  for (const text of outs) {
    const s = await api('POST', '/message/sendText/s1', { number: PEER_PHONE, text });
    ok(s.status === 201, `sendText ${text} (${s.status})`);
    outIds.push(s.json.key.id);
  }
}
const textOf = (d) => d?.message?.conversation ?? d?.message?.extendedTextMessage?.text;
// only events of our texts (wasim may add others, e.g. receipts' updates)
const ours = (list, texts) => list.filter((b) => texts.includes(textOf(b.data)));

// ---- 1. delivered, in order, routing keys and bodies
const IN1 = ['in-1 a91', 'in-2 b72', 'in-3 c53'], OUT1 = ['out-1 d34', 'out-2 e15'];
await exchange(IN1, OUT1);
// wait for wamd to receive all three (MESSAGES_UPSERT emitted)
for (let i = 0; i < 200; i++) {
  const f = await api('POST', '/chat/findMessages/s1', { where: {} });
  const texts = (f.json?.messages?.records ?? []).map((m) => textOf(m));
  if (IN1.every((t) => texts.includes(t))) break;
  await sleep(100);
}
ok(await rabbitUp, `rabbitmq-server listening (${secs()} s after the test started)`);
ok(await drained(60000), `every queued event confirmed by both brokers (${secs()} s)`);

let iq = await drain('s1.messages.upsert');
ok(iq && JSON.stringify(ours(iq, IN1).map((b) => textOf(b.data))) === JSON.stringify(IN1),
  `instance queue s1.messages.upsert: the three texts in order (${JSON.stringify(iq?.map((b) => textOf(b.data)))})`);
const b0 = iq.find((b) => textOf(b.data) === IN1[0]);
ok(b0.event === 'messages.upsert' && b0.instance === 's1' && !('destination' in b0) && typeof b0.date_time === 'string' &&
  'server_url' in b0 && 'apikey' in b0 && b0.data.key.id === inIds[0] && b0.data.key.fromMe === false &&
  b0.data.key.remoteJid === `${PEER_PHONE}@s.whatsapp.net` && b0.data.messageType === 'conversation',
  `body: Evolution's envelope without destination, the message's key and type (${JSON.stringify(b0).slice(0, 400)})`);
ok(JSON.stringify(ours(iq, IN1).map((b) => b.data.key.id)) === JSON.stringify(inIds), 'instance queue: the message ids in order');
let sq = await drain('s1.send.message');
ok(sq && JSON.stringify(sq.map((b) => b.data.key.id)) === JSON.stringify(outIds) &&
  sq.every((b) => b.event === 'send.message' && b.data.key.fromMe === true),
  `instance queue s1.send.message: the two sent texts in order (${JSON.stringify(sq?.map((b) => textOf(b.data)))})`);
ok(await drain('s1.connection.update') === null, 'an event not listed in /rabbitmq/set has no instance queue');
let gq = await drain(`${PREFIX}.messages.upsert`);
ok(gq && JSON.stringify(ours(gq, IN1).map((b) => b.data.key.id)) === JSON.stringify(inIds),
  `global queue ${PREFIX}.messages.upsert: the three texts in order`);
ok((await drain(`${PREFIX}.connection.update`))?.length > 0, 'global exchange: every event (connection.update too)');
const bind = await ctl('list_bindings', 'source_name', 'destination_name', 'routing_key');
const hasBind = (src, q, key) => bind.out.split('\n').some((l) => l.split('\t').join(' ') === `${src} ${q} ${key}`);
ok(hasBind('s1', 's1.messages.upsert', 'messages.upsert') && hasBind('s1', 's1.send.message', 'send.message') &&
  hasBind('evolution_exchange', `${PREFIX}.messages.upsert`, 'messages.upsert'),
  `bindings with Evolution's routing keys (${bind.out.split('\n').filter((l) => /upsert|send/.test(l)).join(' | ')})`);
const qs = await ctl('list_queues', 'name', 'durable', 'type');
ok(/s1\.messages\.upsert\ttrue\tquorum/.test(qs.out), `durable quorum queues (${qs.out.split('\n').find((l) => l.startsWith('s1.messages'))})`);

let xs = await xrange();
const xin = xs.filter((e) => e.event === 'messages.upsert');
ok(JSON.stringify(ours(xin, IN1).map((e) => e.data.key.id)) === JSON.stringify(inIds) && xin.every((e) => e.instance === 's1'),
  `Redis stream ${STREAM}: the three texts in order (${xs.length} entries)`);
ok(JSON.stringify(xs.filter((e) => e.event === 'send.message').map((e) => e.data.key.id)) === JSON.stringify(outIds),
  'Redis stream: the two sent texts in order');
ok(JSON.stringify(xin.find((e) => e.data.key.id === inIds[0]).data) === JSON.stringify(b0.data),
  'Redis data and the AMQP body carry the same data');
let m = await metrics();
ok(m['wamd_broker_delivered_total:redis'] >= 5 && m['wamd_broker_delivered_total:amqp_instance'] === 5 &&
  m['wamd_broker_up:amqp_global'] === 1, `metrics per output (${JSON.stringify(m)})`);

// ---- 2. brokers down, wamd restarted meanwhile, brokers back
r = await ctl('stop_app');
ok(r.code === 0, `rabbitmqctl stop_app (${r.err.trim()})`);
await stopRedis();
const IN2 = ['in-4 f96', 'in-5 a17', 'in-6 b28'], OUT2 = ['out-3 c39'];
await exchange(IN2, OUT2);
let waiting = false;
for (let i = 0; i < 100 && !waiting; i++) {
  m = await metrics();
  waiting = m['wamd_broker_queue_depth:amqp_instance'] >= 4 && m['wamd_broker_queue_depth:redis'] >= 4 &&
    m['wamd_broker_attempt_failures_total:redis'] > 0 && m['wamd_broker_attempt_failures_total:amqp_instance'] > 0;
  if (!waiting) await sleep(100);
}
ok(waiting, `brokers down: the events wait in wamd's queue (${JSON.stringify(m)})`);
ok(/rabbitmq: .*events wait in the queue/.test(log) && /redis: .*events wait in the queue/.test(log), 'a log line says so');
wamd.kill('SIGTERM');
const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
ok(code === 0, `wamd stops cleanly with undelivered events (${code})`);
log = '';
wamd = startWamd();
ok(await waitApi(), 'wamd up again, brokers still down');
await sleep(1500);
m = await metrics();
ok(m['wamd_broker_queue_depth:amqp_instance'] >= 4 && m['wamd_broker_queue_depth:redis'] >= 4,
  `after the restart the events are still queued (${JSON.stringify(m)})`);
await startRedis();
r = await ctl('start_app');
ok(r.code === 0, `rabbitmqctl start_app (${r.err.trim()})`);
ok(await drained(60000), `brokers back: every queued event confirmed (${secs()} s)`);

iq = await drain('s1.messages.upsert');
ok(JSON.stringify(ours(iq, IN2).map((b) => b.data.key.id)) === JSON.stringify(inIds.slice(3)) && ours(iq, IN1).length === 0,
  `after the outage s1.messages.upsert holds the three new texts, in order, none twice (${JSON.stringify(iq.map((b) => textOf(b.data)))})`);
sq = await drain('s1.send.message');
ok(JSON.stringify(sq.map((b) => b.data.key.id)) === JSON.stringify(outIds.slice(2)), 'after the outage s1.send.message: the new sent text');
gq = await drain(`${PREFIX}.messages.upsert`);
ok(JSON.stringify(ours(gq, IN2).map((b) => b.data.key.id)) === JSON.stringify(inIds.slice(3)), 'global queue: the three new texts in order');
xs = await xrange();
ok(JSON.stringify(ours(xs.filter((e) => e.event === 'messages.upsert'), [...IN1, ...IN2]).map((e) => e.data.key.id)) ===
  JSON.stringify(inIds), `Redis stream: all six received texts in order, none lost or twice (${xs.length} entries)`);
ok(JSON.stringify(xs.filter((e) => e.event === 'send.message').map((e) => e.data.key.id)) === JSON.stringify(outIds),
  'Redis stream: all three sent texts in order');

await checkRecordedAnswers(api, answers, check, ['POST /rabbitmq/set/{instance}', 'GET /rabbitmq/find/{instance}']);
wamd.kill('SIGTERM');
await new Promise((res) => wamd.on('exit', res));
await peer.stop();
await sim.stop();
await ctl('stop');
await stopRedis();
reapAll();
for (const d of [rdir, ddir, data]) fs.rmSync(d, { recursive: true, force: true });
process.stderr.write(`wamd_brokers: ${secs()} s\n`);
process.exit(0);
