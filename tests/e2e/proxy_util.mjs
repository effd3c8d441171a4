// Helpers of the proxy e2e tests: start tests/e2e/test_proxy and collect
// its log lines; check that a client backs off with reason PROXY.
import { spawn } from 'node:child_process';
import { check } from '../sim/harness.mjs';

const proxies = new Set();
process.on('exit', () => { for (const p of proxies) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });

export async function startProxy(proxyExe, args = []) {
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

// Waits for 3 PROXY disconnects and checks the delays grow (backoff), no
// connection got past the proxy, the proxy saw few attempts (proxyLines()
// counts them; null: not countable) and the client still runs; quits it.
export async function backoffCheck(cl, what, proxyLines) {
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
    // the proxy's own log line races the client's event through another pipe
    for (let i = 0; i < 30 && proxyLines() < 3; i++) await new Promise((res) => setTimeout(res, 50));
    const n = proxyLines();
    check(n >= 3 && n <= 4 + (Date.now() - t0) / 700, `${what}: ${n} attempts reached the proxy (no tight loop)`);
  }
  check(cl.exitCode === undefined, `${what}: client still running`);
  const code = await cl.quit();
  check(code === 0, `${what}: client exits cleanly (${code})`);
}
