// libwa e2e (suite e2e): per-session HTTP CONNECT proxy. Our client pairs
// with wasim and logs in through tests/e2e/test_proxy over ws:// and over
// wss:// (TLS inside the tunnel), with Basic proxy credentials whose
// password needs %-encoding; the proxy saw a CONNECT to wasim's port for
// each connection and the password is in no log line. Then a wrong password,
// a refusing proxy and a dead proxy each end attempts with reason PROXY and
// the session backs off (growing delays, no tight loop, no crash).
// argv: [node, script, wa_client, wasim, test_proxy]
import { startWasim, check, fail, watchdog, tmpDir } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import { spawn } from 'node:child_process';
import path from 'node:path';

watchdog(110);
const [clientExe, wasimExe, proxyExe] = process.argv.slice(2);
const PASS = 's3cr:t@x';

const proxies = new Set();
process.on('exit', () => { for (const p of proxies) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });

async function startProxy(args = []) {
  const proc = spawn(proxyExe, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  proxies.add(proc);
  const px = { proc, lines: [] };
  let buf = '';
  await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^PORT (\d+)$/.exec(line);
        if (m) { px.port = Number(m[1]); resolve(); } else px.lines.push(line);
      }
    });
    proc.on('exit', (c) => reject(new Error(`test_proxy exited (${c})`)));
  });
  px.stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const done = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await done;
    proxies.delete(proc);
  };
  return px;
}

const sim = await startWasim(wasimExe, { tls: true });
const phone = '15550003333';
let r = await sim.api('POST', '/_sim/accounts', { phone });
check(r.status === 201, 'account created');
const dir = tmpDir('wa-e2e-proxy-');
const db = path.join(dir, 'client.db');
const px = await startProxy(['--user', 'bob', '--pass', PASS]);
const proxyUrl = (pass, port = px.port) => `http://bob:${encodeURIComponent(pass)}@127.0.0.1:${port}`;
const tunnels = (port) => px.lines.filter((l) => l === `CONNECT 127.0.0.1:${port} auth=ok tunnel`).length;
const noSecret = (c, what) => check(!c.stderr.includes(PASS) && !c.stderr.includes(encodeURIComponent(PASS)) &&
  !c.stderr.includes(Buffer.from(`bob:${PASS}`).toString('base64')), `${what}: the proxy password is in no log line`);
// debug logs of libwa and lws' info level, so a leaked password would show
const env = { WA_LWS_LOG: String(1 | 2 | 4 | 8) };
Object.assign(process.env, env);

try {
  // ---- pair and log in over ws:// through the proxy ----
  let c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', proxyUrl(PASS), '--log', 'debug'] }).start();
  const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'QR through the proxy');
  r = await sim.api('POST', '/_sim/scan', { phone, qr: qr.qr });
  check(r.status === 200, 'phone scanned the QR that came through the proxy');
  await c.wait((e) => e.ev === 'paired', 10000, 'paired');
  await c.wait((e) => e.ev === 'connected', 15000, 'logged in after 515');
  check(tunnels(sim.port) >= 2, `ws://: the proxy tunnelled to wasim's port ${sim.port} for pairing and login ` +
    `(${tunnels(sim.port)} CONNECTs, credentials accepted)`);
  { const code = await c.quit(); check(code === 0, `client exits cleanly (${code})`); }
  noSecret(c, 'ws://');

  // ---- log in over wss:// through the same proxy ----
  c = new WaClient(clientExe, { db, url: sim.tlsUrl, root: sim.root,
    extra: ['--insecure', '--proxy', proxyUrl(PASS), '--log', 'debug'] }).start();
  await c.wait((e) => e.ev === 'connected', 15000, 'login over wss through the proxy');
  check(tunnels(sim.tls_port) >= 1 && !c.events.some((e) => e.ev === 'qr'),
    `wss://: logged in with stored credentials through a CONNECT to TLS port ${sim.tls_port}`);
  { const code = await c.quit(); check(code === 0, `client exits cleanly (${code})`); }
  noSecret(c, 'wss://');

  // ---- failures: clear reason, backoff ----
  const backoffCheck = async (cl, what, proxyLines) => {
    const t0 = Date.now();
    await cl.wait((e) => e.ev === 'state' && e.state === 'BACKOFF' && e.reason === 'PROXY', 10000, `${what}: BACKOFF`);
    const { index: i1 } = await cl.wait((e) => e.ev === 'disconnected' && e.reason === 'PROXY', 10000, `${what}: 1st`);
    const { ev: d2 } = await cl.wait((e) => e.ev === 'disconnected' && e.reason === 'PROXY', 10000, `${what}: 2nd`, i1 + 1);
    const { ev: d3 } = await cl.wait((e) => e.ev === 'disconnected' && e.reason === 'PROXY', 10000, `${what}: 3rd`,
      cl.events.indexOf(d2) + 1);
    const gap1 = d2.ms - cl.events[i1].ms, gap2 = d3.ms - d2.ms;
    check(gap1 >= 700 && gap2 >= 1500 && gap2 > gap1,
      `${what}: reason PROXY, retried with growing backoff (${gap1} ms, ${gap2} ms)`);
    check(!cl.events.some((e) => e.ev === 'connected' || e.state === 'HANDSHAKING'), `${what}: never got past the proxy`);
    if (proxyLines) {
      const n = proxyLines();
      check(n >= 3 && n <= 4 + (Date.now() - t0) / 700, `${what}: ${n} attempts reached the proxy (no tight loop)`);
    }
    check(cl.exitCode === undefined, `${what}: client still running`);
    const code = await cl.quit();
    check(code === 0, `${what}: client exits cleanly (${code})`);
  };

  let mark = px.lines.length;
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', proxyUrl('wrong'), '--log', 'debug'] }).start();
  await backoffCheck(c, 'wrong password',
    () => px.lines.slice(mark).filter((l) => l.endsWith('auth=bad auth-required')).length);
  check(!c.stderr.includes('wrong'), 'wrong password: not logged either');

  const refusing = await startProxy(['--refuse']);
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', `http://127.0.0.1:${refusing.port}`] }).start();
  await backoffCheck(c, 'refusing proxy (403)', () => refusing.lines.filter((l) => l.endsWith('refused')).length);

  const dead = await startProxy();
  const deadPort = dead.port;
  await dead.stop();
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', `http://127.0.0.1:${deadPort}`] }).start();
  await backoffCheck(c, 'dead proxy', null);

  // the proxy tunnels to whatever wasim the session asks for: an unknown
  // port gives 502, still a proxy-side failure
  mark = px.lines.length;
  c = new WaClient(clientExe, { db, url: `ws://127.0.0.1:${deadPort}/ws/chat`, root: sim.root,
    extra: ['--proxy', proxyUrl(PASS)] }).start();
  await backoffCheck(c, 'target down behind the proxy (502)',
    () => px.lines.slice(mark).filter((l) => l.endsWith('upstream-failed')).length);
} catch (e) {
  fail(e.message);
}
await px.stop();
await sim.stop();
process.exit(0);
