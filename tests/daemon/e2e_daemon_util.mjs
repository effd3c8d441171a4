// What the wamd end-to-end tests share: a free TCP port for wamd's
// listener, a webhook receiver that keeps every event it gets, a
// poll-until-true with a deadline, a JSON client of a wamd on TCP, and
// the nodes of a cluster test.
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { sleep, tmpDir, check, startWasim, pairByQr } from '../sim/harness.mjs';

export const freePort = () => new Promise((res) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
});

// { hooks: the parsed bodies in arrival order, heads: each one's request
// headers (same index), url, server }
export async function hookReceiver() {
  const hooks = [];
  const heads = [];
  const server = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => { b += d; });
    req.on('end', () => {
      try { hooks.push(JSON.parse(b)); heads.push(req.headers); } catch { /* not JSON: ignored */ }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { hooks, heads, url: `http://127.0.0.1:${server.address().port}/hook`, server };
}

// pred()'s first truthy value, or null (and a note) after ms
export async function waitFor(pred, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = pred();
    if (v) return v;
    await sleep(50);
  }
  console.error(`# timed out waiting for ${what}`);
  return null;
}

// true once async pred() answers truthy (a throw counts as not yet: the
// node may still be starting), false after ms
export async function until(pred, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try { if (await pred()) return true; } catch { /* not up yet */ }
    await sleep(100);
  }
  return false;
}

// (method, path, body?) => {status, json} against the wamd listening on
// 127.0.0.1:port with the admin key; ms (5 s) per request
export function apiAt(port, key, ms = 5000) {
  return async (method, p, body) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, {
      method, headers: { apikey: key, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(ms),
    });
    const t = await res.text();
    return { status: res.status, json: t ? JSON.parse(t) : null };
  };
}

// Cluster tests: wamd nodes on one PostgreSQL store (uri) against wasim.
// startNode(name[, extra flags]) spawns node `node${name}` with the admin
// key, lease seconds and env (beside process.env); ok(cond, msg) prints
// every node's log tail before it fails; nodes by name. WAMD_VERBOSE
// echoes the logs.
export function clusterNodes({ wamdExe, sim, uri, key, lease, prefix, env = {} }) {
  const nodes = {};
  const startNode = async (name, extra = []) => {
    const n = { name, port: await freePort(), data: tmpDir(`${prefix}-${name}-`), log: '' };
    n.p = spawn(wamdExe, ['--data', n.data, '--listen', `127.0.0.1:${n.port}`, '--api-key', key,
      '--store', uri, '--cluster', '--node-id', `node${name}`, '--lease-seconds', String(lease),
      '--wa-url', sim.url, '--wa-trust-root', sim.root, '--log-level', 'info', '--webhook-allow-loopback',
      '--webhook-initial-delay-ms', '200', ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    n.p.stderr.on('data', (d) => { n.log += d; if (process.env.WAMD_VERBOSE) process.stderr.write(`[${name}] ${d}`); });
    n.done = new Promise((res) => n.p.on('exit', (c, s) => res(c ?? s)));
    process.on('exit', () => { try { n.p.kill('SIGKILL'); } catch { /* gone */ } });
    nodes[name] = n;
    return n;
  };
  const ok = (cond, msg) => {
    if (!cond) for (const n of Object.values(nodes)) process.stderr.write(`---- node ${n.name}\n${n.log.slice(-5000)}\n`);
    check(cond, msg);
  };
  return { nodes, startNode, ok };
}

// Under store_pg.py: the private server's URI, and psql(sql[, uri]) on it
// (unaligned, tuples only, trimmed).
export function pgTest() {
  const uri = process.env.WA_TEST_PG_URI;
  const bindir = process.env.WA_TEST_PG_BINDIR;
  check(uri && bindir, 'run by store_pg.py (WA_TEST_PG_URI, WA_TEST_PG_BINDIR)');
  const psql = (sql, u = uri) => execFileSync(path.join(bindir, 'psql'), [u, '-X', '-A', '-t', '-q', '-c', sql],
    { encoding: 'utf8' }).trim();
  return { URI: uri, psql };
}

// wasim with a paired Baileys peer (every message it gets in peerMsgs) and
// a wasim account for the instance under test (simOpts: startWasim's, e.g.
// { tls: true } for its HTTPS media host)
export async function wasimWithPeer(wasimExe, peerPhone, phone, simOpts = {}) {
  const sim = await startWasim(wasimExe, simOpts);
  const peer = await pairByQr(sim, peerPhone, 'peer');
  const peerMsgs = [];
  peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });
  check((await sim.api('POST', '/_sim/accounts', { phone })).status === 201, 'wasim account');
  return { sim, peer, peerMsgs };
}

// a text message's text (plain or extended)
export const textOf = (m) => m.message?.conversation ?? m.message?.extendedTextMessage?.text;
