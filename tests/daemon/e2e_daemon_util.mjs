// What the wamd end-to-end tests share: a free TCP port for wamd's
// listener, a webhook receiver that keeps every event it gets, and a
// poll-until-true with a deadline.
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
