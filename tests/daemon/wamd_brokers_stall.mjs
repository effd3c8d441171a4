// A broker that accepts the connection and then never answers (suite e2e):
// the publisher threads wait on it, the event loop does not. wamd runs with
// amqp_uri and redis_url pointing at two such silent servers; an event is
// queued for both; while both publishes hang, the API keeps answering at
// once; each attempt ends at the 10 s I/O limit as a retried failure with
// the event still queued and a log line; SIGTERM still stops wamd cleanly.
// argv: [node, script, wamd]
import { spawn } from 'node:child_process';
import net from 'node:net';
import { check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(110);
const [wamdExe] = process.argv.slice(2);
const KEY = 'broker-stall-key-1f7e29c4d8';

// accepts, reads, never writes
const held = [];
const silent = () => new Promise((res) => {
  const srv = net.createServer((sock) => { held.push(sock); srv.accepted++; sock.on('error', () => {}); sock.resume(); });
  srv.accepted = 0;
  srv.listen(0, '127.0.0.1', () => res(srv));
});
const amqp = await silent(), redis = await silent();
const port = await freePort();
const data = tmpDir('wamd-stall-');
let log = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', 'ws://127.0.0.1:1/ws/chat', '--log-level', 'debug',
  '--amqp-uri', `amqp://guest:guest@127.0.0.1:${amqp.address().port}`, '--amqp-global', 'true',
  '--redis-url', `redis://127.0.0.1:${redis.address().port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
wamd.stderr.on('data', (d) => { log += d; });
const ok = (cond, msg) => { if (!cond) process.stderr.write(log.slice(-6000)); check(cond, msg); };
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, text: await res.text() };
};
const metric = async (name, output) => {
  const t = (await api('GET', '/metrics')).text;
  const m = new RegExp(`^${name}\\{output="${output}"\\} (-?\\d+)`, 'm').exec(t);
  return m ? Number(m[1]) : NaN;
};

let up = false;
for (let i = 0; i < 200 && !up; i++) {
  try { up = (await api('GET', '/')).status === 200; } catch { await sleep(50); }
}
ok(up, 'wamd up');
const r = await api('POST', '/instance/create', { instanceName: 's1', integration: 'WHATSAPP-BAILEYS' });
ok(r.status === 201, `instance created (${r.status})`);
for (let i = 0; i < 100 && !(amqp.accepted && redis.accepted); i++) await sleep(50);
ok(amqp.accepted > 0 && redis.accepted > 0, 'both publisher threads connected to the silent brokers');
const tStall = Date.now();

// the loop answers while both publishes hang
let worst = 0, answered = 0;
for (let i = 0; i < 30; i++) {
  const t = Date.now();
  if ((await api('GET', '/instance/fetchInstances')).status === 200) answered++;
  worst = Math.max(worst, Date.now() - t);
  await sleep(100);
}
ok(answered === 30, `fetchInstances answered ${answered} of 30`);
ok(Date.now() - tStall < 9000, `the probes ran inside the publishes' 10 s wait (${Date.now() - tStall} ms)`);
ok(worst < 1000, `API answers while the brokers hang: slowest of 30 in ${worst} ms`);
ok(await metric('wamd_broker_queue_depth', 'redis') >= 1 && await metric('wamd_broker_queue_depth', 'amqp_global') >= 1,
  'the events wait in the queue');

// the 10 s limit ends each attempt: a retried failure, nothing dropped
let failed = false;
for (let i = 0; i < 100 && !failed; i++) {
  failed = await metric('wamd_broker_attempt_failures_total', 'redis') >= 1 &&
    await metric('wamd_broker_attempt_failures_total', 'amqp_global') >= 1;
  if (!failed) await sleep(200);
}
ok(failed, `each hung publish ended as a failed attempt (${Date.now() - tStall} ms after it began)`);
ok(await metric('wamd_broker_queue_depth', 'redis') >= 1 && await metric('wamd_broker_queue_depth', 'amqp_global') >= 1,
  'the events are still queued');
ok(/rabbitmq: .*events wait in the queue/.test(log) && /redis: .*events wait in the queue/.test(log), 'one log line per broker');

// a stop while a publish hangs again: wamd waits for it (at most the limit) and exits 0
const t = Date.now();
wamd.kill('SIGTERM');
const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
ok(code === 0 && Date.now() - t < 15000, `SIGTERM: clean exit in ${Date.now() - t} ms (${code})`);
for (const s of held) s.destroy();
amqp.close();
redis.close();
process.exit(0);
