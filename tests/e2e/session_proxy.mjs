// libwa e2e (suite e2e): per-session HTTP CONNECT proxy. Our client pairs
// with wasim and logs in through tests/e2e/test_proxy over ws:// and over
// wss:// (TLS inside the tunnel), with Basic proxy credentials whose
// password needs %-encoding; the proxy saw a CONNECT to wasim's port for
// each connection and the password is in no log line. A TLS failure inside
// a working tunnel stays NETWORK. Then a wrong password,
// a refusing proxy and a dead proxy each end attempts with reason PROXY and
// the session backs off (growing delays, no tight loop, no crash).
// argv: [node, script, wa_client, wasim, test_proxy]
import { startWasim, check, fail, watchdog, tmpDir } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import { startProxy, backoffCheck } from './proxy_util.mjs';
import path from 'node:path';

watchdog(110);
const [clientExe, wasimExe, proxyExe] = process.argv.slice(2);
const PX = (args) => startProxy(proxyExe, args);
const PASS = 's3cr:t@x';

const sim = await startWasim(wasimExe, { tls: true });
const phone = '15550003333';
let r = await sim.api('POST', '/_sim/accounts', { phone });
check(r.status === 201, 'account created');
const dir = tmpDir('wa-e2e-proxy-');
const db = path.join(dir, 'client.db');
const px = await PX(['--user', 'bob', '--pass', PASS]);
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

  // ---- a TLS failure past the tunnel is not the proxy's fault ----
  const t0 = tunnels(sim.tls_port);
  c = new WaClient(clientExe, { db: path.join(dir, 'strict.db'), url: sim.tlsUrl, root: sim.root,
    extra: ['--proxy', proxyUrl(PASS)] }).start();
  const { ev: bo } = await c.wait((e) => e.ev === 'state' && e.state === 'BACKOFF', 10000, 'strict TLS backoff');
  check(bo.reason === 'NETWORK' && tunnels(sim.tls_port) > t0,
    `self-signed server refused inside a working tunnel: reason ${bo.reason}, not PROXY`);
  await c.quit();

  // ---- failures: clear reason, backoff ----
  let mark = px.lines.length;
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', proxyUrl('wrong'), '--log', 'debug'] }).start();
  await backoffCheck(c, 'wrong password',
    () => px.lines.slice(mark).filter((l) => l.endsWith('auth=bad auth-required')).length);
  check(!c.stderr.includes('wrong'), 'wrong password: not logged either');

  const refusing = await PX(['--refuse']);
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', `http://127.0.0.1:${refusing.port}`] }).start();
  await backoffCheck(c, 'refusing proxy (403)', () => refusing.lines.filter((l) => l.endsWith('refused')).length);

  const dead = await PX();
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
