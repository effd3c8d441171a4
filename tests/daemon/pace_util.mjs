// The harness the pacing e2e tests share: wamd with pacing on and its test
// clock at a given time, an API client that records every JSON answer (for
// the OpenAPI check), and the waits and counters those tests use.
import { spawn } from 'node:child_process';
import { check, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

// opts: { wamdExe, sim, data, key, t0, env?: more environment for wamd,
// args?: more wamd arguments }. The returned object's `vnow` is the test
// clock's time after the last advanceTo (t0 at first), `log` wamd's stderr.
export async function paceHarness({ wamdExe, sim, data, key, t0, env = {}, args = [] }) {
  const port = await freePort();
  const h = { port, vnow: t0, log: '', answers: [], proc: null };
  h.startWamd = (clockMs) => {
    const e = { ...process.env, WAMD_PACING: 'on', WAMD_TEST_CLOCK_MS: String(clockMs), ...env };
    const p = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', key,
      '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--log-level', 'info', ...args],
    { stdio: ['ignore', 'ignore', 'pipe'], env: e });
    p.stderr.on('data', (d) => { h.log += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
    h.proc = p;
    return p;
  };
  process.on('exit', () => { try { h.proc?.kill('SIGKILL'); } catch { /* gone */ } });
  h.api = async (method, p, body) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, {
      method, headers: { apikey: key, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const t = await res.text();
    const json = t ? JSON.parse(t) : null;
    if (json !== null) h.answers.push({ method, path: p, status: res.status, body: json });
    return { status: res.status, json };
  };
  h.dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(h.log.slice(-6000)); check(cond, msg); };
  h.up = async () => {
    for (let i = 0; i < 200; i++) {
      try { if ((await h.api('GET', '/')).status === 200) return; } catch { /* not yet */ }
      await sleep(50);
    }
    check(false, 'wamd answers');
  };
  h.waitOpen = async (name) => {
    for (let i = 0; i < 300; i++) {
      if ((await h.api('GET', `/instance/connectionState/${name}`)).json?.instance?.state === 'open') return true;
      await sleep(100);
    }
    return false;
  };
  // <message> stanzas an account's companions sent to wasim
  h.stanzasFrom = async (phone) => {
    const a = (await sim.api('GET', `/_sim/accounts/${phone}`)).json;
    return a.devices.filter((d) => d.device !== 0).reduce((s, d) => s + (d.msgs_in || 0), 0);
  };
  // moves wamd's test clock to t; answers how many sends it released
  h.advanceTo = async (t) => {
    const r = await h.api('POST', '/wamd/testClock', { nowMs: t });
    h.dumpOnFail(r.status === 200 && r.json.nowMs === t, `test clock at +${(t - t0) / 1000} s (${r.status})`);
    h.vnow = t;
    return r.json.released;
  };
  // creates the instances names[i] and pairs each with wasim's phones[i]
  h.pairAll = async (names, phones) => {
    for (let i = 0; i < names.length; i++) {
      const r = await h.api('POST', '/instance/create', { instanceName: names[i], integration: 'WHATSAPP-BAILEYS', qrcode: true });
      h.dumpOnFail(r.status === 201, `${names[i]} created`);
      const qr = r.json.qrcode?.code || (await h.api('GET', `/instance/connect/${names[i]}`)).json.code;
      check((await sim.api('POST', '/_sim/scan', { phone: phones[i], qr })).status === 200, `${names[i]}: QR scanned`);
    }
    for (const n of names) h.dumpOnFail(await h.waitOpen(n), `${n} open`);
  };
  // SIGTERM: wamd must exit 0 (under ASan: nothing leaked)
  h.stopClean = async () => {
    h.proc.kill('SIGTERM');
    const code = await new Promise((res) => h.proc.once('exit', (c, sg) => res(c ?? sg)));
    if (code !== 0) process.stderr.write(h.log.slice(-5000));
    check(code === 0, `wamd exits cleanly on SIGTERM, nothing leaked (${code})`);
  };
  return h;
}
