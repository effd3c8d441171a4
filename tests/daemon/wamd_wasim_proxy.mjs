// wamd's per-instance proxy end to end (suite e2e): wasim on loopback, wamd
// with the real session engine, tests/e2e/test_proxy as an HTTP CONNECT
// proxy and as a SOCKS5 proxy, both with credentials.
//   create with proxy* fields -> QR -> phone scans -> open, through the HTTP
//   proxy -> /proxy/set to the SOCKS5 proxy: the session restarts and opens
//   through it -> /proxy/set to a dead proxy: not open, reason code 428 ->
//   /proxy/set enabled:false: open directly -> back on the HTTP proxy, wamd
//   restarted: logs in through it with the stored proxy. No password in the
//   log or the API answers.
// argv: [node, script, wamd, wasim, test_proxy]
import { spawn } from 'node:child_process';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { startProxy } from '../e2e/proxy_util.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(110);
const [wamdExe, wasimExe, proxyExe] = process.argv.slice(2);
const KEY = 'proxy-e2e-key-4d1e88c07a';
const PHONE = '15550006666';
const HPASS = 'h:p@ss w';
const SPASS = 's@cks:pw';


const sim = await startWasim(wasimExe);
let r = await sim.api('POST', '/_sim/accounts', { phone: PHONE });
check(r.status === 201, 'wasim account for wamd');
const hp = await startProxy(proxyExe, ['--user', 'bob', '--pass', HPASS]);
const sp = await startProxy(proxyExe, ['--user', 'alice', '--pass', SPASS]);
const hTunnels = () => hp.lines.filter((l) => l === `CONNECT 127.0.0.1:${sim.port} auth=ok tunnel`).length;
const sTunnels = () => sp.lines.filter((l) => l === `SOCKS5 127.0.0.1:${sim.port} auth=ok tunnel`).length;

const data = tmpDir('wamd-proxy-');
const port = await freePort();
const wamdArgs = ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--log-level', 'debug'];
let wamdLog = '';
const startWamd = () => {
  const p = spawn(wamdExe, wamdArgs, { stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WAMD_MASTER_KEY: '22'.repeat(32) } });
  p.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
  return p;
};
let wamd = startWamd();
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  return { status: res.status, json: t ? JSON.parse(t) : null, text: t };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-8000)); check(cond, msg); };
const state = async () => (await api('GET', '/instance/connectionState/p1')).json?.instance?.state;
const waitState = async (want, ms) => {
  for (const end = Date.now() + ms; Date.now() < end;) {
    try { if (await state() === want) return true; } catch { /* starting */ }
    await sleep(100);
  }
  return false;
};
// The proxies report each tunnel on their stdout, read asynchronously: a
// session can be open before its proxy's line has been read here.
const waitFor = async (pred, ms) => {
  for (const end = Date.now() + ms; !pred() && Date.now() < end;) await sleep(20);
  return pred();
};
const answers = [];

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  // ---- create with an HTTP proxy, pair through it ----
  r = await api('POST', '/instance/create', {
    instanceName: 'p1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    proxyHost: '127.0.0.1', proxyPort: String(hp.port), proxyProtocol: 'http',
    proxyUsername: 'bob', proxyPassword: HPASS,
  });
  answers.push(r.text);
  dumpOnFail(r.status === 201, `instance created with an http proxy (${r.status})`);
  let qr = r.json.qrcode?.code;
  if (!qr) qr = (await api('GET', '/instance/connect/p1')).json.code;
  dumpOnFail(typeof qr === 'string', 'QR through the HTTP proxy');
  r = await sim.api('POST', '/_sim/scan', { phone: PHONE, qr });
  check(r.status === 200, 'simulated phone scanned the QR');
  dumpOnFail(await waitState('open', 20000), 'open through the HTTP proxy');
  check(await waitFor(() => hTunnels() >= 2, 5000), `HTTP proxy tunnelled pairing and login to wasim (${hTunnels()} CONNECTs)`);

  // ---- switch to SOCKS5: the session restarts through it ----
  const h0 = hTunnels();
  r = await api('POST', '/proxy/set/p1', { enabled: true, host: '127.0.0.1', port: String(sp.port),
    protocol: 'socks5', username: 'alice', password: SPASS });
  answers.push(r.text);
  check(r.status === 201 && r.json.proxy.proxy.protocol === 'socks5', `proxy/set socks5 (${r.status})`);
  dumpOnFail(await waitState('open', 15000) && await waitFor(() => sTunnels() >= 1, 5000),
    `open again through the SOCKS5 proxy (${sTunnels()} SOCKS connects)`);
  check(hTunnels() === h0, 'the HTTP proxy is no longer used');

  // ---- a dead proxy: not open, Evolution reason code ----
  const dead = await startProxy(proxyExe);
  const deadPort = dead.port;
  await dead.stop();
  r = await api('POST', '/proxy/set/p1', { enabled: true, host: '127.0.0.1', port: deadPort, protocol: 'http' });
  check(r.status === 201, 'proxy/set to a dead proxy accepted (not probed)');
  await sleep(1500);
  const inst = (await api('GET', '/instance/fetchInstances?instanceName=p1')).json[0];
  check(inst.connectionStatus !== 'open' && inst.disconnectionReasonCode === 428 && inst.Proxy.port === String(deadPort),
    `dead proxy: ${inst.connectionStatus}, disconnectionReasonCode ${inst.disconnectionReasonCode}`);
  check(/connection ends in \w+: PROXY \(WA_EPROXY\)/.test(wamdLog), 'the log tells it was the proxy');

  // ---- disabled: direct ----
  const s0 = sTunnels();
  r = await api('POST', '/proxy/set/p1', { enabled: false });
  check(r.status === 201 && r.json.proxy.proxy.enabled === false, 'proxy disabled');
  dumpOnFail(await waitState('open', 15000), 'open directly without a proxy');
  check(sTunnels() === s0 && hTunnels() === h0, 'no proxy saw that connection');

  // ---- back to the HTTP proxy, then restart wamd ----
  r = await api('POST', '/proxy/set/p1', { enabled: true, host: '127.0.0.1', port: hp.port, protocol: 'http',
    username: 'bob', password: HPASS });
  dumpOnFail(r.status === 201 && await waitState('open', 15000), 'open through the HTTP proxy again');
  r = await api('GET', '/proxy/find/p1');
  answers.push(r.text);
  check(r.json.password === null && r.json.username === 'bob', 'proxy/find hides the password');
  wamd.kill('SIGTERM');
  await new Promise((res) => wamd.on('exit', res));
  const h1 = hTunnels();
  wamd = startWamd();
  dumpOnFail(await waitState('open', 20000), 'open after a wamd restart');
  check(hTunnels() > h1, 'after the restart the stored proxy carried the login');
  answers.push((await api('GET', '/instance/fetchInstances')).text);
  for (const pw of [HPASS, SPASS, encodeURIComponent(HPASS), encodeURIComponent(SPASS)]) {
    check(!wamdLog.includes(pw) && !answers.some((a) => a.includes(pw)), 'no proxy password in the log or the answers');
  }
} finally {
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => (wamd.exitCode !== null ? res(wamd.exitCode) : wamd.on('exit', (c, s) => res(c ?? s))));
  await hp.stop();
  await sp.stop();
  if (code !== 0) process.stderr.write(wamdLog.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
await sim.stop();
process.exit(0);
