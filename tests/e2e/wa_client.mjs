// Drives tests/e2e/wa_client (one libwa session, JSON lines on stdin/stdout)
// from Node e2e tests. Every spawned process is killed when the test exits.
import { spawn } from 'node:child_process';

const procs = new Set();
process.on('exit', () => { for (const p of procs) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });

export class WaClient {
  constructor(exe, { db, instance = 'default', url, root, extra = [] }) {
    this.exe = exe;
    this.args = ['--db', db, '--instance', instance, '--url', url, '--root', root,
      '--log', process.env.WA_CLIENT_LOG || 'info', ...extra];
    this.events = [];
    this.waiters = [];
    this.stderr = '';
  }

  start() {
    this.t0 = Date.now();
    this.proc = spawn(this.exe, this.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    procs.add(this.proc);
    let buf = '';
    this.proc.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let ev;
        try { ev = JSON.parse(line); } catch { continue; }
        if (process.env.WA_CLIENT_VERBOSE) console.error('[client]', line);
        this.events.push(ev);
        this.poke();
      }
    });
    this.proc.stderr.on('data', (d) => {
      this.stderr += d;
      if (process.env.WA_CLIENT_VERBOSE) process.stderr.write(d);
    });
    this.exited = new Promise((r) => this.proc.on('exit', (code, sig) => {
      procs.delete(this.proc);
      this.exitCode = code ?? sig;
      this.poke();
      r(code ?? sig);
    }));
    return this;
  }

  poke() {
    for (const w of [...this.waiters]) w();
  }

  send(obj) { this.proc.stdin.write(JSON.stringify(obj) + '\n'); }

  // Waits for an event matching pred among events after index `from`.
  wait(pred, ms, what, from = 0) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = from; i < this.events.length; i++) {
          if (pred(this.events[i])) { cleanup(); resolve({ ev: this.events[i], index: i }); return true; }
        }
        if (this.exitCode !== undefined) {
          cleanup();
          reject(new Error(`wa_client exited (${this.exitCode}) waiting for ${what}\n${this.stderr.slice(-2000)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; events: ${JSON.stringify(this.events.slice(from).slice(-15))}\n${this.stderr.slice(-2000)}`));
      }, ms);
      const cleanup = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }

  mark() { return this.events.length; }

  async command(obj, ms = 5000) {
    const from = this.mark();
    this.send(obj);
    const { ev } = await this.wait((e) => e.ev === 'result' && e.cmd === obj.cmd, ms, `result of ${obj.cmd}`, from);
    return ev;
  }

  async quit() {
    if (this.exitCode !== undefined) return this.exitCode;
    this.send({ cmd: 'quit' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}
