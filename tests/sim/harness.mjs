// Shared helpers for wasim e2e tests: start wasim on OS-chosen ports, talk
// to its control API, and run UNMODIFIED Baileys 7.0.0-rc14 clients against
// it (only the websocket URL and the trust root are replaced, through the
// documented config option and the exported WA_CERT_DETAILS object).
// Every spawned wasim is killed when the test process exits, even on failure.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { loadBaileys, baileysPath } from '../interop/baileys.mjs';

const children = new Set();
const tmpDirs = new Set();
function cleanup() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const d of tmpDirs) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* ignore */ }
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(1); });

export function fail(msg) {
  console.error('FAIL:', msg);
  process.exit(1);
}

export function check(cond, msg) {
  if (!cond) fail(msg);
  console.log('ok -', msg);
}

// A whole-test watchdog: fail rather than hang.
export function watchdog(seconds) {
  const t = setTimeout(() => fail(`test did not finish within ${seconds}s`), seconds * 1000);
  t.unref();
}

export function tmpDir(prefix = 'wasim-e2e-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.add(d);
  return d;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts wasim; resolves when it printed its JSON line.
// real: WASIM_REAL switches for this wasim ("all", "hist_sync,tctoken"...;
// default: whatever the environment says).
export async function startWasim(exe, { state, tls = false, extra = [], real } = {}) {
  const args = ['--port', '0'];
  if (tls) args.push('--tls-port', '0');
  if (state) args.push('--state', state);
  args.push(...extra);
  const env = real === undefined ? process.env : { ...process.env, WASIM_REAL: real };
  const proc = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(proc);
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
    if (process.env.WASIM_VERBOSE) process.stderr.write(d);
  });
  const info = await new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        proc.stdout.off('data', onData);
        try { resolve(JSON.parse(out.slice(0, nl))); } catch (e) { reject(e); }
      }
    };
    proc.stdout.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`wasim exited (${code}) before listening: ${stderr}`)));
  });
  const base = `http://127.0.0.1:${info.port}`;
  const sim = {
    proc,
    ...info,
    url: `ws://127.0.0.1:${info.port}/ws/chat`,
    tlsUrl: info.tls_port > 0 ? `wss://127.0.0.1:${info.tls_port}/ws/chat` : null,
    stderr: () => stderr,
    async api(method, p, body) {
      const res = await fetch(base + p, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      let json;
      try { json = JSON.parse(text); } catch { json = text; }
      return { status: res.status, json };
    },
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      const done = new Promise((r) => proc.once('exit', (code, sig) => r(code ?? sig)));
      proc.kill('SIGTERM');
      const code = await done;
      children.delete(proc);
      return code;
    },
    alive: () => proc.exitCode === null && proc.signalCode === null,
  };
  return sim;
}

// Copies a Baileys auth folder for a second client of the same device.
// useMultiFileAuthState rewrites creds.json in place (truncate, then write,
// on libuv's thread pool), so a copy taken while the first client saves can
// hold an empty creds.json: the second client then silently starts a new
// registration instead of logging in (seen under load). Retries until every
// JSON file of the copy parses and creds.json names the device.
export async function copyAuth(from, to, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    fs.rmSync(to, { recursive: true, force: true });
    fs.cpSync(from, to, { recursive: true });
    let ok = true;
    try {
      for (const f of fs.readdirSync(to)) if (f.endsWith('.json')) JSON.parse(fs.readFileSync(path.join(to, f), 'utf8'));
      ok = !!JSON.parse(fs.readFileSync(path.join(to, 'creds.json'), 'utf8')).me?.id;
    } catch { ok = false; }
    if (ok) return;
    if (Date.now() > end) fail(`no consistent copy of ${from} within ${ms} ms`);
    await sleep(50);
  }
}

let cached;
export async function baileys() {
  if (cached) return cached;
  const B = await loadBaileys();
  const req = createRequire(baileysPath('package.json'));
  const pino = req('pino');
  cached = { B, makeWASocket: B.default ?? B.makeWASocket, logger: pino({ level: process.env.BAILEYS_LOG || 'silent' }) };
  return cached;
}

// A Baileys client that behaves like a real app: it recreates the socket
// after a close with 515 (restart required) and, optionally, after other
// non-logout closes. Every connection.update is recorded in `updates`.
export class Client {
  // tls: connect to wasim's wss:// port (self-signed: certificate checks off,
  // as Baileys' own e2e harness does). `sim` may be replaced between
  // reconnects (a restarted wasim): each start() reads this.sim.
  // sockOpts: more makeWASocket options (e.g. appStateMacVerification).
  constructor(sim, name, { reconnect = false, browser, tls = false, sockOpts = {} } = {}) {
    this.tls = tls;
    this.sockOpts = sockOpts;
    this.sim = sim;
    this.name = name;
    this.authDir = tmpDir(`wasim-auth-${name}-`);
    this.reconnect = reconnect;
    this.browser = browser;
    this.updates = [];
    this.closes = [];  // status codes of closes, in order
    this.opens = 0;
    this.qrs = [];
    this.sock = null;
    this.stopped = false;
    this.waiters = [];
  }

  async start() {
    const { B, makeWASocket, logger } = await baileys();
    B.WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(this.sim.root, 'hex');
    const { state, saveCreds } = await B.useMultiFileAuthState(this.authDir);
    this.creds = state.creds;
    const opts = {
      waWebSocketUrl: this.tls ? this.sim.tlsUrl : this.sim.url,
      agent: this.tls ? new https.Agent({ rejectUnauthorized: false }) : undefined,
      auth: state,
      logger,
      printQRInTerminal: false,
      markOnlineOnConnect: false,
      syncFullHistory: false,
      fireInitQueries: false,
      connectTimeoutMs: 20000,
    };
    if (this.browser) opts.browser = this.browser;
    Object.assign(opts, this.sockOpts);
    const sock = makeWASocket(opts);
    this.sock = sock;
    sock.ev.on('creds.update', saveCreds);
    sock.ev.on('connection.update', (u) => {
      if (sock !== this.sock) return;
      this.updates.push(u);
      if (u.qr) this.qrs.push(u.qr);
      if (u.connection === 'open') this.opens++;
      if (u.connection === 'close') {
        const code = u.lastDisconnect?.error?.output?.statusCode;
        this.closes.push(code);
        const again = code === 515 || (this.reconnect && code !== 401 && code !== 440 && code !== 403);
        if (again && !this.stopped) setTimeout(() => this.start().catch((e) => fail(e.stack)), code === 515 ? 0 : 500);
      }
      this.poke();
    });
    return sock;
  }

  poke() {
    const still = [];
    for (const w of this.waiters) {
      if (w.pred()) { clearTimeout(w.timer); w.resolve(); } else still.push(w);
    }
    this.waiters = still;
  }

  // Resolves when pred() becomes true (re-checked on every update).
  waitFor(pred, ms, what) {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { pred, resolve };
      // `what` may be a function, to describe the state at the timeout
      w.timer = setTimeout(() => fail(`${this.name}: timed out waiting for ${typeof what === 'function' ? what() : what}; closes=${JSON.stringify(this.closes)} opens=${this.opens}`), ms);
      this.waiters.push(w);
    });
  }

  waitOpen(n = 1, ms = 30000) { return this.waitFor(() => this.opens >= n, ms, `open #${n}`); }
  waitClose(n, ms = 30000) { return this.waitFor(() => this.closes.length >= n, ms, `close #${n}`); }
  waitQr(ms = 20000) { return this.waitFor(() => this.qrs.length > 0, ms, 'qr'); }

  async stop() {
    this.stopped = true;
    try { this.sock?.end(undefined); } catch { /* ignore */ }
    try { this.sock?.ws?.close(); } catch { /* ignore */ }
  }
}

// Creates the account and pairs a new Baileys client by QR; resolves once it
// is logged in (connection open after the 515 restart).
export async function pairByQr(sim, phone, name, opts = {}) {
  const acct = await sim.api('POST', '/_sim/accounts', { phone });
  if (acct.status !== 201 && acct.status !== 409) fail(`create account: ${JSON.stringify(acct)}`);
  const c = new Client(sim, name, opts);
  await c.start();
  await c.waitQr();
  const r = await sim.api('POST', '/_sim/scan', { phone, qr: c.qrs[0] });
  if (r.status !== 200) fail(`scan: ${JSON.stringify(r)}`);
  await c.waitOpen(1, 30000);
  return c;
}
