// libwa e2e (suite e2e): socks5:// proxies through the loopback bridge
// (src/transport/socks_bridge.c; Debian's lws has no SOCKS5 client). Our
// client pairs with wasim and logs in through tests/e2e/test_proxy speaking
// SOCKS5 with username/password (RFC 1929) over ws:// and wss://, and
// through a no-auth SOCKS5 proxy, and over SOCKS4a with a user id (a wrong
// one backs off); the proxy saw the SOCKS connect to
// wasim's port each time and the password is in no log line. A wrong
// password, missing credentials, a refusing proxy and a dead proxy end
// attempts with reason PROXY and back off.
// argv: [node, script, wa_client, wasim, test_proxy]
import { startWasim, check, fail, watchdog, tmpDir } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import { startProxy, backoffCheck } from './proxy_util.mjs';
import path from 'node:path';

watchdog(110);
const [clientExe, wasimExe, proxyExe] = process.argv.slice(2);
const PASS = 'p@ss:1 x';
const PX = (args) => startProxy(proxyExe, args);

const sim = await startWasim(wasimExe, { tls: true });
const phone = '15550004444';
let r = await sim.api('POST', '/_sim/accounts', { phone });
check(r.status === 201, 'account created');
const dir = tmpDir('wa-e2e-socks-');
const db = path.join(dir, 'client.db');
const px = await PX(['--user', 'alice', '--pass', PASS]);
const socksUrl = (pass, port = px.port) => `socks5://alice:${encodeURIComponent(pass)}@127.0.0.1:${port}`;
const tunnels = (p, port) => p.lines.filter((l) => l === `SOCKS5 127.0.0.1:${port} auth=ok tunnel`).length;
const noSecret = (c, what) => check(!c.stderr.includes(PASS) && !c.stderr.includes(encodeURIComponent(PASS)),
  `${what}: the proxy password is in no log line`);
process.env.WA_LWS_LOG = String(1 | 2 | 4 | 8);

let mark;
try {
  // ---- pair and log in over ws:// through SOCKS5 with credentials ----
  let c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', socksUrl(PASS), '--log', 'debug'] }).start();
  const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'QR through SOCKS5');
  r = await sim.api('POST', '/_sim/scan', { phone, qr: qr.qr });
  check(r.status === 200, 'phone scanned the QR that came through SOCKS5');
  await c.wait((e) => e.ev === 'paired', 10000, 'paired');
  await c.wait((e) => e.ev === 'connected', 15000, 'logged in after 515');
  check(tunnels(px, sim.port) >= 2, `ws://: SOCKS5 connects to wasim's port ${sim.port} with accepted ` +
    `credentials (${tunnels(px, sim.port)})`);
  check((await c.command({ cmd: 'state' })).state === 'READY', 'READY through SOCKS5');
  { const code = await c.quit(); check(code === 0, `client exits cleanly (${code})`); }
  noSecret(c, 'ws://');

  // ---- wss:// through the same proxy ----
  c = new WaClient(clientExe, { db, url: sim.tlsUrl, root: sim.root,
    extra: ['--insecure', '--proxy', socksUrl(PASS), '--log', 'debug'] }).start();
  await c.wait((e) => e.ev === 'connected', 15000, 'login over wss through SOCKS5');
  check(tunnels(px, sim.tls_port) >= 1, `wss://: logged in through a SOCKS5 connect to TLS port ${sim.tls_port}`);
  { const code = await c.quit(); check(code === 0, `client exits cleanly (${code})`); }
  noSecret(c, 'wss://');

  // ---- a no-auth SOCKS5 proxy ----
  const open = await PX();
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', `socks5://127.0.0.1:${open.port}`] }).start();
  await c.wait((e) => e.ev === 'connected', 15000, 'login through a no-auth SOCKS5 proxy');
  check(open.lines.includes(`SOCKS5 127.0.0.1:${sim.port} auth=none tunnel`), 'no-auth SOCKS5: tunnel without credentials');
  { const code = await c.quit(); check(code === 0, `client exits cleanly (${code})`); }

  // ---- SOCKS4a with a user id ----
  c = new WaClient(clientExe, { db, url: sim.tlsUrl, root: sim.root,
    extra: ['--insecure', '--proxy', `socks4://alice@127.0.0.1:${px.port}`] }).start();
  await c.wait((e) => e.ev === 'connected', 15000, 'login over wss through SOCKS4a');
  check(px.lines.includes(`SOCKS4 127.0.0.1:${sim.tls_port} auth=ok tunnel`), 'SOCKS4a: tunnel with the user id');
  { const code = await c.quit(); check(code === 0, `client exits cleanly (${code})`); }
  mark = px.lines.length;
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', `socks4://mallory@127.0.0.1:${px.port}`] }).start();
  await backoffCheck(c, 'SOCKS4a wrong user id',
    () => px.lines.slice(mark).filter((l) => l.startsWith('SOCKS4') && l.endsWith('auth=bad auth-required')).length);

  // ---- failures ----
  mark = px.lines.length;
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', socksUrl('wrong'), '--log', 'debug'] }).start();
  await backoffCheck(c, 'SOCKS5 wrong password',
    () => px.lines.slice(mark).filter((l) => l.endsWith('auth=bad auth-required')).length);
  check(/username\/password refused/.test(c.stderr), 'SOCKS5 wrong password: logged as such (without the password)');

  mark = px.lines.length;
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', `socks5://127.0.0.1:${px.port}`] }).start();
  await backoffCheck(c, 'SOCKS5 without credentials',
    () => px.lines.slice(mark).filter((l) => l.endsWith('auth=none auth-required')).length);

  const refusing = await PX(['--refuse']);
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', `socks5://127.0.0.1:${refusing.port}`] }).start();
  await backoffCheck(c, 'SOCKS5 ruleset refusal',
    () => refusing.lines.filter((l) => l.startsWith('SOCKS5') && l.endsWith('refused')).length);

  const dead = await PX();
  const deadPort = dead.port;
  await dead.stop();
  c = new WaClient(clientExe, { db, url: sim.url, root: sim.root,
    extra: ['--proxy', `socks5://127.0.0.1:${deadPort}`] }).start();
  await backoffCheck(c, 'dead SOCKS5 proxy', null);
} catch (e) {
  fail(e.message);
}
await px.stop();
await sim.stop();
process.exit(0);
