// What the wamd end-to-end tests share: a free TCP port for wamd's
// listener, a webhook receiver that keeps every event it gets, a
// poll-until-true with a deadline, and a JSON client of a wamd on TCP.
import http from 'node:http';
import net from 'node:net';
import { sleep } from '../sim/harness.mjs';

export const freePort = () => new Promise((res) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
});

// { hooks: the parsed bodies in arrival order, url, server }
export async function hookReceiver() {
  const hooks = [];
  const server = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => { b += d; });
    req.on('end', () => { try { hooks.push(JSON.parse(b)); } catch { /* not JSON: ignored */ } res.writeHead(200).end('ok'); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { hooks, url: `http://127.0.0.1:${server.address().port}/hook`, server };
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
// 127.0.0.1:port with the admin key; 5 s per request
export function apiAt(port, key) {
  return async (method, p, body) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, {
      method, headers: { apikey: key, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(5000),
    });
    const t = await res.text();
    return { status: res.status, json: t ? JSON.parse(t) : null };
  };
}
