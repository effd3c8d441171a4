// wamd killed (SIGKILL) mid-transfer (suite e2e), with wasim's phone as the
// peer and wasim's media fault controls holding each window open:
//  upload: the host reads slowly (read_kib_s), or has the whole body and
//    holds its answer (answer_delay_ms); killed there, wamd restarted: the
//    send completes, and the phone has the message exactly once, verified,
//    its SHA-256 the file's.
//  download: the host writes slowly (send_kib_s); killed while GET
//    /wamd/media downloads, and while mediaAutoDownload downloads: no file
//    that looks complete exists meanwhile (only .part staging, never
//    the stored file's content-addressed path); after the restart the
//    leftovers are gone and the file comes back byte-identical through the
//    streaming route and getBase64FromMediaMessage; the automatic download
//    runs again once the instance is open and stores the file whole; a
//    MESSAGES_UPSERT held for webhook base64 goes out once, with the file.
// argv: [node, script, wamd, wasim]
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort, hookReceiver, waitFor } from './e2e_daemon_util.mjs';

watchdog(150);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-media-kill-key-77e1';
const WAMD_PHONE = '15550007791';
const PEER_PHONE = '15550007792';
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

const { hooks, url: hookUrl, server: rx } = await hookReceiver();
const sim = await startWasim(wasimExe, { tls: true });
for (const phone of [WAMD_PHONE, PEER_PHONE])
  check((await sim.api('POST', '/_sim/accounts', { phone })).status === 201, `wasim account ${phone}`);
const data = tmpDir('wamd-media-kill-');
const port = await freePort();
let wamdLog = '';
let wamd;
const startWamd = () => {
  wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
    '--webhook-initial-delay-ms', '200', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  wamd.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
};
const kill = async () => {
  const p = wamd;
  p.kill('SIGKILL');
  await new Promise((res) => p.on('exit', res));
};
startWamd();
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  let json = null;
  try { json = t ? JSON.parse(t) : null; } catch { json = { raw: t }; }
  return { status: res.status, json };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-6000)); check(cond, msg); };
const waitOpen = async () => {
  for (let i = 0; i < 300; i++, await sleep(100)) {
    try { if ((await api('GET', '/instance/connectionState/k1')).json?.instance?.state === 'open') return true; } catch { /* starting */ }
  }
  return false;
};
const phoneMsgs = async (phone, id) => (await sim.api('GET', `/_sim/accounts/${phone}/messages`)).json.messages.filter((m) => m.id === id);
const fault = async (f) => (await sim.api('POST', '/_sim/media/fault', f)).json;
// resolves once counter `k` of the media host passed `was`
const hostCounted = async (k, was, what) => {
  for (const end = Date.now() + 20000; Date.now() < end; await sleep(50))
    if ((await fault({}))[k] > was) return true;
  console.error(`# timed out waiting for ${what}`);
  return false;
};
const mediaDir = `${data}/media`;
const lsMedia = () => (fs.existsSync(mediaDir) ? fs.readdirSync(mediaDir) : []);

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  let r = await api('POST', '/instance/create', {
    instanceName: 'k1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_UPSERT'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  check((await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr: r.json.qrcode.code })).status === 200, 'QR scanned');
  dumpOnFail(await waitOpen(), 'instance open');

  // ---- killed during an upload ----
  for (const [what, f, size] of [
    ['mid-body (the host reads 256 KiB/s)', { read_kib_s: 256, answer_delay_ms: 0 }, 3 << 20],
    ['body sent, answer held (20 s)', { read_kib_s: 0, answer_delay_ms: 20000 }, 1 << 20],
  ]) {
    const bytes = crypto.randomBytes(size);
    const was = await fault(f);
    r = await api('POST', '/message/sendMedia/k1', { number: PEER_PHONE, mediatype: 'document', fileName: 'k.bin',
      mimetype: 'application/octet-stream', media: bytes.toString('base64') });
    dumpOnFail(r.status === 201, `${what}: accepted (${r.status})`);
    const id = r.json.key.id;
    dumpOnFail(await hostCounted('begun', was.begun, 'the upload'), `${what}: the upload began`);
    await sleep(1000);
    await kill();
    const after = await fault({ read_kib_s: 0, answer_delay_ms: 0 });
    check(after.stored === was.stored, `${what}: killed before the host stored it (stored ${was.stored} -> ${after.stored})`);
    check((await phoneMsgs(PEER_PHONE, id)).length === 0, `${what}: nothing reached the phone before the kill`);
    startWamd();
    dumpOnFail(await waitOpen(), `${what}: open again after SIGKILL`);
    let got = null;
    for (const end = Date.now() + 60000; !got && Date.now() < end; await sleep(200))
      got = (await phoneMsgs(PEER_PHONE, id)).find((x) => x.kind === 'message');
    dumpOnFail(got, `${what}: the send completed after the restart`);
    check(got.media?.verified === true && got.media.sha256 === sha(bytes),
      `${what}: the phone downloaded and verified it, SHA-256 = the file's (${JSON.stringify(got.media)})`);
    await sleep(1500);
    const all = await phoneMsgs(PEER_PHONE, id);
    check(all.filter((m) => m.kind === 'message').length === 1 && !all.some((m) => m.kind === 'duplicate'),
      `${what}: exactly once at the phone (${all.map((m) => m.kind).join(',')})`);
  }
  check(!lsMedia().some((n) => n.startsWith('send-')), `staged sends removed once sent (${lsMedia().join(',')})`);

  // ---- killed during a download ----
  let instanceId = null;
  const phoneSend = async (bytes, name) => {
    const s = await sim.api('POST', '/_sim/phone/send', { phone: PEER_PHONE, to: WAMD_PHONE,
      media: { kind: 'document', mimetype: 'application/zip', file_name: name, data: bytes.toString('base64') } });
    check(s.status === 200, `the phone sent ${name}`);
    const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === s.json.id), 30000, `${name} upsert`);
    return { id: s.json.id, up };
  };
  const stream = (id) => new Promise((resolve) => {
    const parts = [];
    const req = http.get(`http://127.0.0.1:${port}/wamd/media/k1?id=${id}`, { headers: { apikey: KEY } }, (res) => {
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }));
      res.on('error', (e) => resolve({ status: res.statusCode, body: Buffer.concat(parts), err: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, body: Buffer.concat(parts), err: e.message }));
  });
  // a staged download may only be named <prefix><hex>.part until complete
  const staging = () => lsMedia().filter((n) => n.startsWith('dl-') || n.startsWith('hook-'));
  const complete = (names) => names.filter((n) => !/\.part$/.test(n));
  {
    const bytes = crypto.randomBytes(3 << 20);
    const { id, up } = await phoneSend(bytes, 'slow.zip');
    dumpOnFail(up, 'streaming: MESSAGES_UPSERT');
    instanceId = up.data.instanceId;
    const was = await fault({ send_kib_s: 256 });
    const pending = stream(id);
    dumpOnFail(await hostCounted('downloads', was.downloads, 'the download'), 'streaming: the download began');
    await sleep(1500);
    const mid = staging();
    check(mid.length > 0 && complete(mid).length === 0, `streaming: mid-download only staging files exist (${mid.join(',')})`);
    await kill();
    const res = await pending;
    check(res.status !== 200 || res.body.length < bytes.length, `streaming: the client got no complete answer (${res.status}, ${res.body.length} bytes)`);
    const left = staging();
    check(complete(left).length === 0, `streaming: after the kill nothing looks complete (${left.join(',')})`);
    await fault({ send_kib_s: 0 });
    startWamd();
    dumpOnFail(await waitOpen(), 'streaming: open again after SIGKILL');
    check(staging().length === 0, `streaming: the leftovers were removed at start (${staging().join(',')})`);
    const again = await stream(id);
    check(again.status === 200 && Buffer.compare(again.body, bytes) === 0, `streaming: downloaded afresh, byte-identical (${again.status}, ${again.body.length})`);
    r = await api('POST', '/chat/getBase64FromMediaMessage/k1', { message: { key: { id } } });
    check(r.status === 201 && Buffer.compare(Buffer.from(r.json.base64 ?? '', 'base64'), bytes) === 0, `streaming: getBase64FromMediaMessage byte-identical (${r.status})`);
  }
  {
    const base = { rejectCall: false, groupsIgnore: false, alwaysOnline: false, readMessages: false, readStatus: false, syncFullHistory: false };
    r = await api('POST', '/settings/set/k1', { ...base, mediaAutoDownload: true });
    check(r.status === 201, `mediaAutoDownload on (${r.status})`);
    const bytes = crypto.randomBytes(3 << 20);
    const stored = `${mediaDir}/store/${instanceId}/${sha(bytes)}`;
    const was = await fault({ send_kib_s: 256 });
    const s = await sim.api('POST', '/_sim/phone/send', { phone: PEER_PHONE, to: WAMD_PHONE,
      media: { kind: 'document', mimetype: 'application/zip', file_name: 'auto.zip', data: bytes.toString('base64') } });
    check(s.status === 200, 'auto-download: the phone sent it');
    const id = s.json.id;
    dumpOnFail(await hostCounted('downloads', was.downloads, 'the auto-download'), 'auto-download: the download began');
    await sleep(1500);
    check(!fs.existsSync(stored) && complete(staging()).length === 0,
      `auto-download: mid-download the stored path does not exist, only staging (${staging().join(',')})`);
    await kill();
    check(!fs.existsSync(stored), 'auto-download: after the kill the stored path does not exist');
    await fault({ send_kib_s: 0 });
    startWamd();
    dumpOnFail(await waitOpen(), 'auto-download: open again after SIGKILL');
    check(staging().length === 0, `auto-download: the leftovers were removed at start (${staging().join(',')})`);
    const res = await stream(id);
    check(res.status === 200 && Buffer.compare(res.body, bytes) === 0, `auto-download: GET /wamd/media byte-identical after the restart (${res.status}, ${res.body.length})`);
    // the job cut short runs again once the instance is open
    dumpOnFail(await waitFor(() => fs.existsSync(stored), 30000, 'the stored file') &&
      Buffer.compare(fs.readFileSync(stored), bytes) === 0, 'auto-download: downloaded again and stored whole after the restart');
    check(!lsMedia().some((n) => n.startsWith('pending-')), `auto-download: its note is gone (${lsMedia().join(',')})`);
    const ups = hooks.filter((h) => h.event === 'messages.upsert' && h.data.key.id === id).length;
    check(ups === 1, `auto-download: its MESSAGES_UPSERT delivered once, before the kill (${ups})`);
    // the next media received is stored whole as usual
    const next = crypto.randomBytes(200000);
    const n = await phoneSend(next, 'next.zip');
    dumpOnFail(n.up, 'auto-download: the next document arrived');
    const nextStored = `${mediaDir}/store/${instanceId}/${sha(next)}`;
    check(await waitFor(() => fs.existsSync(nextStored), 15000, 'next stored') && Buffer.compare(fs.readFileSync(nextStored), next) === 0,
      'auto-download: the next document is stored whole');
  }
  // webhook base64: the MESSAGES_UPSERT is held for the download; killed
  // there, it goes out once after the restart, with the whole file
  {
    r = await api('POST', '/webhook/set/k1', { webhook: { enabled: true, url: hookUrl, base64: true, events: ['MESSAGES_UPSERT'] } });
    check(r.status === 201 && r.json.webhookBase64 === true, `webhook base64 on (${r.status})`);
    const bytes = crypto.randomBytes(2 << 20);
    const was = await fault({ send_kib_s: 256 });
    const s = await sim.api('POST', '/_sim/phone/send', { phone: PEER_PHONE, to: WAMD_PHONE,
      media: { kind: 'document', mimetype: 'application/zip', file_name: 'b64.zip', data: bytes.toString('base64') } });
    check(s.status === 200, 'base64: the phone sent it');
    const id = s.json.id;
    dumpOnFail(await hostCounted('downloads', was.downloads, 'the base64 download'), 'base64: the download began');
    await sleep(1500);
    const upsFor = () => hooks.filter((h) => h.event === 'messages.upsert' && h.data.key.id === id);
    check(upsFor().length === 0, 'base64: the event is held while the file downloads');
    await kill();
    await fault({ send_kib_s: 0 });
    startWamd();
    dumpOnFail(await waitOpen(), 'base64: open again after SIGKILL');
    const up = await waitFor(() => upsFor()[0], 30000, 'the held event');
    dumpOnFail(up, 'base64: the held MESSAGES_UPSERT went out after the restart');
    check(Buffer.compare(Buffer.from(up.data.message?.base64 ?? '', 'base64'), bytes) === 0 && up.data.messageType === 'documentMessage',
      `base64: with the whole file (${up.data.message?.base64?.length} base64 chars, ${up.data.wamdBase64Omitted ?? ''})`);
    await sleep(1500);
    check(upsFor().length === 1, `base64: exactly once (${upsFor().length})`);
    check(!lsMedia().some((n) => n.startsWith('pending-') || n.startsWith('hook-')), `base64: nothing left in media/ (${lsMedia().join(',')})`);
  }
} finally {
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
  rx.close();
  await sim.stop();
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
process.exit(0);
