// Incoming calls through wamd (suite e2e), against wasim with an unmodified
// Baileys 7.0.0-rc14 peer:
//   - a video call offer placed by wasim reaches wamd and Baileys alike; our
//     CALL webhook's data equals Baileys' `call` event field by field, for
//     the offer and for its terminate (which carries the offer's flags);
//   - wamd acks every call stanza (wasim sees each leave the device's queue);
//   - with the settings rejectCall and msgCall, Baileys' call to wamd is
//     rejected with the stanza Baileys' rejectCall sends (wasim records it,
//     the caller sees status "reject"), and msgCall reaches the caller as a
//     text, which wamd reports as MESSAGES_UPSERT fromMe;
//   - with msgCall alone (rejectCall off), the call is not rejected but the
//     text is sent, as Evolution does;
//   - the other settings: readMessages (Baileys sees its message read only
//     when on), groupsIgnore (a group's messages and events are not reported
//     while on, and are again once off), alwaysOnline (announced at once).
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(110);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-calls-key-9a41c2';
const WAMD_PHONE = '15550008811';
const PEER_PHONE = '15550008822';
const CALLER_PHONE = '15550008833';
const WAMD_JID = `${WAMD_PHONE}@s.whatsapp.net`;
const PEER_JID = `${PEER_PHONE}@s.whatsapp.net`;
const CALLER_JID = `${CALLER_PHONE}@s.whatsapp.net`;


const hooks = [];
const rx = http.createServer((req, res) => {
  let b = '';
  req.on('data', (d) => { b += d; });
  req.on('end', () => {
    try { hooks.push(JSON.parse(b)); } catch { /* ignore */ }
    res.writeHead(200).end('ok');
  });
});
await new Promise((r) => rx.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${rx.address().port}/hook`;

const waitFor = async (pred, ms, what) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await pred();
    if (v) return v;
    await sleep(50);
  }
  console.error(`# timed out waiting for ${what}`);
  return null;
};
const canon = (v) => (Array.isArray(v) ? v.map(canon)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));

const sim = await startWasim(wasimExe);
let r = await sim.api('POST', '/_sim/accounts', { phone: WAMD_PHONE });
check(r.status === 201, 'wasim account for wamd');
r = await sim.api('POST', '/_sim/accounts', { phone: CALLER_PHONE });
check(r.status === 201, 'wasim account for the caller');
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const peerCalls = [];
const peerMsgs = [];
const peerUpdates = [];
peer.sock.ev.on('messages.update', (us) => { for (const u of us) peerUpdates.push(u); });
peer.sock.ev.on('call', (cs) => { for (const c of cs) peerCalls.push(JSON.parse(JSON.stringify(c))); });
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });

const data = tmpDir('wamd-calls-');
const port = await freePort();
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  return { status: res.status, json: t ? JSON.parse(t) : null };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-8000)); check(cond, msg); };
const callHook = (id, status) => waitFor(() => hooks.find((h) => h.event === 'call' && h.data.id === id &&
  h.data.status === status), 15000, `CALL ${status} ${id}`);
const peerCall = (id, status) => waitFor(() => peerCalls.find((c) => c.id === id && c.status === status),
  15000, `Baileys call ${status} ${id}`);
const simCall = async (id) => (await sim.api('GET', '/_sim/calls')).json.calls.find((c) => c.id === id);
const settings = (s) => api('POST', '/settings/set/c1', { rejectCall: false, msgCall: '', groupsIgnore: false,
  alwaysOnline: false, readMessages: false, readStatus: false, syncFullHistory: false, ...s });

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  r = await api('POST', '/instance/create', {
    instanceName: 'c1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['CALL', 'MESSAGES_UPSERT', 'GROUPS_UPSERT'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  let qr = r.json.qrcode?.code;
  if (!qr) qr = (await api('GET', '/instance/connect/c1')).json.code;
  r = await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr });
  check(r.status === 200, 'simulated phone scanned the QR');
  dumpOnFail(await waitFor(async () => (await api('GET', '/instance/connectionState/c1')).json?.instance?.state === 'open',
    30000, 'open'), 'wamd open');

  // one video call offered to wamd and to Baileys under the same call id
  const CID = 'CALLKINDS0001';
  const T = Math.floor(Date.now() / 1000); // one stanza time for both, as the server would
  for (const to of [WAMD_PHONE, PEER_PHONE]) {
    r = await sim.api('POST', '/_sim/call', { from: CALLER_PHONE, to, video: true, id: CID, t: T });
    check(r.status === 200 && r.json.stanzas.length === 1, `wasim placed the offer to ${to}`);
  }
  const ours = await callHook(CID, 'offer');
  const theirs = await peerCall(CID, 'offer');
  dumpOnFail(ours && theirs, 'offer: CALL webhook and Baileys call event');
  check(same(ours.data, theirs), `offer: CALL data equals Baileys' call field by field\n#  ours    ${JSON.stringify(canon(ours.data))}\n#  Baileys ${JSON.stringify(canon(theirs))}`);
  check(ours.data.isVideo === true && ours.data.isGroup === false && ours.data.from === CALLER_JID &&
    ours.data.status === 'offer' && ours.data.offline === false, `offer: flags (${JSON.stringify(ours.data)})`);
  check(await waitFor(async () => (await simCall(CID))?.stanzas.every((s) => s.acked), 10000, 'acks'),
    'wamd and Baileys acked the offer (it left their queues)');
  check((await simCall(CID)).rejects.length === 0, 'rejectCall off: nobody rejected');

  for (const to of [WAMD_PHONE, PEER_PHONE])
    await sim.api('POST', '/_sim/call', { from: CALLER_PHONE, to, id: CID, status: 'terminate', t: T + 5 });
  const oursEnd = await callHook(CID, 'terminate');
  const theirsEnd = await peerCall(CID, 'terminate');
  dumpOnFail(oursEnd && theirsEnd, 'terminate: CALL webhook and Baileys call event');
  check(same(oursEnd.data, theirsEnd), `terminate: CALL data equals Baileys' field by field\n#  ours    ${JSON.stringify(canon(oursEnd.data))}\n#  Baileys ${JSON.stringify(canon(theirsEnd))}`);
  check(oursEnd.data.isVideo === true, 'terminate carries the offer\'s video flag');
  check(!hooks.some((h) => h.event === 'messages.upsert' && h.data.key.fromMe), 'no msgCall set: no text sent');

  // rejectCall + msgCall: Baileys (the peer) calls wamd
  r = await settings({ rejectCall: true, msgCall: 'No calls here, send a message.' });
  check(r.status === 201, 'settings set');
  const CID2 = 'CALLKINDS0002';
  r = await sim.api('POST', '/_sim/call', { from: PEER_PHONE, to: WAMD_PHONE, id: CID2 });
  check(r.status === 200, 'peer calls wamd');
  dumpOnFail(await callHook(CID2, 'offer'), 'offer from the peer: CALL webhook');
  const rej = await waitFor(async () => (await simCall(CID2))?.rejects[0], 10000, 'reject');
  dumpOnFail(rej, 'wamd rejected the call');
  check(rej.to === PEER_JID && rej.creator === PEER_JID && rej.by.startsWith(`${WAMD_PHONE}:`),
    `reject stanza as Baileys' rejectCall: to and call-creator the caller (${JSON.stringify(rej)})`);
  check(await peerCall(CID2, 'reject'), 'the caller (Baileys) sees status reject');
  const txt = await waitFor(() => peerMsgs.find((m) => (m.message?.conversation ?? m.message?.extendedTextMessage?.text) ===
    'No calls here, send a message.'), 15000, 'msgCall text');
  dumpOnFail(txt, 'msgCall reached the caller');
  const up = await waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === txt.key.id), 10000,
    'MESSAGES_UPSERT of msgCall');
  check(up && up.data.key.fromMe === true && up.data.key.remoteJid === PEER_JID &&
    up.data.message.conversation === 'No calls here, send a message.', `msgCall reported as MESSAGES_UPSERT fromMe (${JSON.stringify(up?.data)})`);

  // msgCall alone: not rejected, the text still goes (Evolution's rule)
  r = await settings({ msgCall: 'Busy, text me.' });
  check(r.status === 201, 'settings: msgCall only');
  const CID3 = 'CALLKINDS0003';
  await sim.api('POST', '/_sim/call', { from: PEER_PHONE, to: WAMD_PHONE, id: CID3 });
  dumpOnFail(await callHook(CID3, 'offer'), 'second offer: CALL webhook');
  check(await waitFor(() => peerMsgs.find((m) => (m.message?.conversation ?? m.message?.extendedTextMessage?.text) ===
    'Busy, text me.'), 15000, 'second msgCall'), 'msgCall without rejectCall is sent');
  check((await simCall(CID3)).rejects.length === 0, 'rejectCall off: the call was not rejected');

  // readMessages: off, a message is not read; on, the next one is
  const upsertOf = (id, ms = 15000) => waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === id), ms, `upsert ${id}`);
  const readOf = (id) => peerUpdates.find((u) => u.key.id === id && u.update?.status === 4);
  let m1 = await peer.sock.sendMessage(WAMD_JID, { text: 'not read yet' });
  dumpOnFail(await upsertOf(m1.key.id), 'text arrived (readMessages off)');
  r = await settings({ readMessages: true });
  let m2 = await peer.sock.sendMessage(WAMD_JID, { text: 'read me' });
  dumpOnFail(await upsertOf(m2.key.id), 'text arrived (readMessages on)');
  check(await waitFor(() => readOf(m2.key.id), 10000, 'read receipt'), 'readMessages on: Baileys sees its message read');
  check(!readOf(m1.key.id), 'readMessages off: the earlier message was not read');

  // groupsIgnore: a group's creation and messages are not reported while on
  r = await settings({ groupsIgnore: true });
  const g = await peer.sock.groupCreate('ignored group', [WAMD_JID]);
  const gm = await peer.sock.sendMessage(g.id, { text: 'to the group' });
  m1 = await peer.sock.sendMessage(WAMD_JID, { text: 'after the group message' });
  dumpOnFail(await upsertOf(m1.key.id), '1:1 text after the group message arrived');
  await sleep(500);
  check(!hooks.some((h) => h.event === 'messages.upsert' && h.data.key.id === gm.key.id), 'groupsIgnore: group message not reported');
  check(!hooks.some((h) => h.event === 'groups.upsert'), 'groupsIgnore: group creation not reported');
  r = await settings({ groupsIgnore: false });
  const gm2 = await peer.sock.sendMessage(g.id, { text: 'to the group again' });
  dumpOnFail(await upsertOf(gm2.key.id), 'groupsIgnore off: group message reported');

  // alwaysOnline: announced when the setting changes
  const dev = async () => (await sim.api('GET', `/_sim/accounts/${WAMD_PHONE}`)).json.devices[0];
  r = await settings({ alwaysOnline: true });
  check(await waitFor(async () => (await dev()).presence === 'available', 10000, 'available'), 'alwaysOnline on: available');
  r = await settings({ alwaysOnline: false });
  check(await waitFor(async () => (await dev()).presence === 'unavailable', 10000, 'unavailable'), 'alwaysOnline off: unavailable');
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  rx.close();
  await peer.stop();
}
process.exit(0);
