// On-demand history through wamd (suite e2e): a wasim phone with a seeded
// history of 3 chats of 100 messages pairs a wamd instance without
// syncFullHistory, so the first sync holds each chat's newest 20. Then
// POST /wamd/fetchHistory asks the phone for older messages of one chat:
// the phone gets the peer request (chat, oldest key, its time in ms,
// count), answers with an ON_DEMAND history sync, and wamd stores the
// older messages for findMessages (byte-identical texts, timestamps,
// fromMe) and reports them as MESSAGES_SET. Asking again for what is
// already stored adds nothing and reports nothing; the next request starts
// from the new oldest message; a request the phone leaves unanswered is
// reported once as HISTORY_DEMAND_TIMEOUT after history_demand_timeout_s
// (and an answered one never); bad requests are refused.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(150);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-history-demand-key-5c3e';
const PHONE = '15550004949';
const CHATS = 3;
const DEADLINE_S = 3;
const PER_CHAT = 100;
const RECENT = 20; // wasim's chunk without requireFullSync

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

const sim = await startWasim(wasimExe, { tls: true });
let r = await sim.api('POST', '/_sim/accounts', { phone: PHONE });
check(r.status === 201, 'wasim account');
r = await sim.api('POST', '/_sim/history/seed', { phone: PHONE, chats: CHATS, messages: CHATS * PER_CHAT });
check(r.status === 200, `history seeded (${JSON.stringify(r.json)})`);

const data = tmpDir('wamd-history-demand-');
const port = await freePort();
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--history-demand-timeout-s', String(DEADLINE_S), '--log-level', 'debug'],
{ stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const answers = [];
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  const json = t ? JSON.parse(t) : null;
  if (json !== null) answers.push({ method, path: p, status: res.status, body: json });
  return { status: res.status, json };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-8000)); check(cond, msg); };
const until = async (pred, ms) => {
  const e = Date.now() + ms;
  while (Date.now() < e) { if (await pred()) return true; await sleep(100); }
  return false;
};
const recordsOf = async (jid) => (await api('POST', '/chat/findMessages/h1',
  { where: { key: { remoteJid: jid } }, offset: 1000 })).json?.messages?.records ?? [];
const onDemandDone = () => (wamdLog.match(/history ON_DEMAND chunk 0: .*\(chunk done\)/g) || []).length;
const setRecords = () => hooks.filter((h) => h.event === 'messages.set').flatMap((h) => h.data);

check(await until(async () => { try { return (await api('GET', '/')).status === 200; } catch { return false; } }, 10000),
  'wamd answers');
r = await api('POST', '/instance/create', {
  instanceName: 'h1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
  webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_SET', 'HISTORY_DEMAND_TIMEOUT'] },
});
dumpOnFail(r.status === 201, `instance created (${r.status})`);
const qr = r.json.qrcode?.code || (await api('GET', '/instance/connect/h1')).json.code;
r = await sim.api('POST', '/_sim/scan', { phone: PHONE, qr });
check(r.status === 200, 'the phone scanned the QR');

const list = (await sim.api('GET', `/_sim/history/${PHONE}`)).json.list;
check(list.length === CHATS && list.every((c) => c.messages.length === PER_CHAT), 'the phone lists its chats');
const chat = list[1];
const msgs = chat.messages; // oldest first
dumpOnFail(await until(async () => (await recordsOf(chat.id)).length === RECENT, 30000),
  `the first sync brought the newest ${RECENT} messages of the chat`);

// the stored records of the chat are exactly messages [from, PER_CHAT), as the phone has them
const exactly = async (from, what) => {
  const recs = await recordsOf(chat.id);
  const byId = new Map(recs.map((x) => [x.key.id, x]));
  const want = msgs.slice(from);
  const bad = want.filter((m) => {
    const x = byId.get(m.id);
    return !x || x.message?.conversation !== m.text || x.messageTimestamp !== m.t || x.key.fromMe !== m.from_me ||
      x.key.remoteJid !== chat.id || x.messageType !== 'conversation';
  });
  dumpOnFail(recs.length === want.length && byId.size === recs.length && bad.length === 0,
    `${what}: ${recs.length} records (${byId.size} ids), ${bad.length} differ from the phone's (${JSON.stringify(bad.slice(0, 2))})`);
};

// 1. without oldestMessage: from the oldest stored, messages [80, 100) held, 30 more asked
r = await api('POST', '/wamd/fetchHistory/h1', { chat: chat.id, count: 30 });
const oldest = msgs[PER_CHAT - RECENT];
dumpOnFail(r.status === 201 && /^[0-9A-F]{16,}$/.test(r.json?.requestId ?? '') && r.json.chat === chat.id &&
  r.json.count === 30 && r.json.oldestMessage?.key?.id === oldest.id && r.json.oldestMessage.key.fromMe === oldest.from_me &&
  r.json.oldestMessage.messageTimestamp === oldest.t, `fetchHistory answers the request (${JSON.stringify(r.json)})`);
const rid1 = r.json.requestId;
// the phone got the peer request with the fields Baileys' fetchMessageHistory sends
let req1;
check(await until(async () => {
  const pm = (await sim.api('GET', `/_sim/accounts/${PHONE}/messages`)).json.messages;
  req1 = pm.find((m) => m.id === rid1);
  return !!req1;
}, 10000), 'the phone got the request, under the id the route answered');
check(req1.kind === 'protocol' && req1.from_me === true && JSON.stringify(req1.history_request) === JSON.stringify({
  chat: chat.id, oldest_id: oldest.id, oldest_from_me: oldest.from_me, oldest_ts_ms: oldest.t * 1000, count: 30,
}), `the request names the chat, the oldest key, its time in ms and the count (${JSON.stringify(req1)})`);
dumpOnFail(await until(async () => (await recordsOf(chat.id)).length === RECENT + 30, 20000),
  'the 30 older messages are stored');
await exactly(PER_CHAT - RECENT - 30, 'after the first request');
const older = new Set(msgs.slice(PER_CHAT - RECENT - 30, PER_CHAT - RECENT).map((m) => m.id));
check(await until(() => setRecords().filter((m) => older.has(m.key.id)).length === 30, 10000),
  'MESSAGES_SET reports the 30 older messages');
const m0 = msgs.slice(PER_CHAT - RECENT - 30, PER_CHAT - RECENT).find((m) => !m.from_me);
const rec = setRecords().find((m) => m.key.id === m0.id);
check(rec && rec.key.remoteJid === chat.id && rec.key.fromMe === false &&
  JSON.stringify(rec.message) === JSON.stringify({ conversation: m0.text }) && rec.messageType === 'conversation' &&
  rec.messageTimestamp === m0.t && rec.pushName === chat.push_name && typeof rec.instanceId === 'string',
`MESSAGES_SET record: key, message, messageType, messageTimestamp, pushName (${JSON.stringify(rec)})`);
// the other chats are untouched
for (const c of [list[0], list[2]])
  check((await api('POST', '/chat/findMessages/h1', { where: { key: { remoteJid: c.id } } })).json.messages.total === RECENT,
    `${c.id} still has its ${RECENT}`);

// 2. the same request again (oldestMessage given): the phone sends the same 30; nothing doubles, nothing reported again
const setBefore = setRecords().length;
r = await api('POST', '/wamd/fetchHistory/h1', { chat: chat.id.split('@')[0], count: 30,
  oldestMessage: { key: { id: oldest.id, fromMe: oldest.from_me }, messageTimestamp: oldest.t } });
check(r.status === 201 && r.json.requestId !== rid1 && r.json.chat === chat.id, `a number for chat, a new request id (${JSON.stringify(r.json)})`);
dumpOnFail(await until(() => onDemandDone() === 2, 20000), 'the second answer was imported');
await sleep(1000);
await exactly(PER_CHAT - RECENT - 30, 'after the repeated request');
check(setRecords().length === setBefore, `nothing reported again (${setRecords().length - setBefore} records)`);

// 3. again without oldestMessage: from the new oldest (message 50); only 50 are older than it
r = await api('POST', '/wamd/fetchHistory/h1', { chat: chat.id, count: 80 });
check(r.status === 201 && r.json.oldestMessage.key.id === msgs[PER_CHAT - RECENT - 30].id,
  `the next request starts from the new oldest message (${JSON.stringify(r.json)})`);
dumpOnFail(await until(async () => (await recordsOf(chat.id)).length === PER_CHAT, 20000), 'the rest of the chat is stored');
await exactly(0, 'the whole chat');
check(await until(() => new Set(setRecords().map((m) => m.key.id)).size === setRecords().length &&
  setRecords().length === setBefore + 50, 10000), `MESSAGES_SET: the 50 new ones, each once (${setRecords().length - setBefore})`);

// 4. unanswered (a chat the phone does not know): HISTORY_DEMAND_TIMEOUT once, after the deadline
const timeouts = () => hooks.filter((h) => h.event === 'history-demand.timeout');
const lost = '15559990001@s.whatsapp.net';
const t0 = Date.now();
r = await api('POST', '/wamd/fetchHistory/h1', { chat: lost,
  oldestMessage: { key: { id: '3EB0AAAAAAAAAAAAAAAA', fromMe: false }, messageTimestamp: 1765000000 } });
check(r.status === 201, `a request the phone will not answer (${r.status})`);
const ridLost = r.json.requestId;
dumpOnFail(await until(() => timeouts().some((h) => h.data?.requestId === ridLost), DEADLINE_S * 1000 + 8000),
  'HISTORY_DEMAND_TIMEOUT for the unanswered request');
const took = Date.now() - t0;
const to = timeouts().find((h) => h.data.requestId === ridLost);
check(to.data.chat === lost && typeof to.data.instanceId === 'string' && to.data.instanceId.length > 0 &&
  to.instance === 'h1', `HISTORY_DEMAND_TIMEOUT {requestId, chat, instanceId} (${JSON.stringify(to)})`);
check(took >= DEADLINE_S * 1000 - 200, `not before history_demand_timeout_s (${took} ms)`);
await sleep(1000);
check(timeouts().length === 1, `reported once, and never for the answered requests (${timeouts().length})`);

// refusals
r = await api('POST', '/wamd/fetchHistory/h1', { count: 10 });
check(r.status === 400, `no chat: 400 (${r.status})`);
for (const count of [0, 501, 2.5, '10']) {
  r = await api('POST', '/wamd/fetchHistory/h1', { chat: chat.id, count });
  check(r.status === 400, `count ${JSON.stringify(count)}: 400 (${r.status})`);
}
r = await api('POST', '/wamd/fetchHistory/h1', { chat: chat.id, oldestMessage: { key: { fromMe: false }, messageTimestamp: 1 } });
check(r.status === 400, `oldestMessage without key.id: 400 (${r.status})`);
r = await api('POST', '/wamd/fetchHistory/h1', { chat: chat.id, oldestMessage: { key: { id: oldest.id }, messageTimestamp: 9e15 } });
check(r.status === 400, `a messageTimestamp whose milliseconds would overflow: 400 (${r.status})`);
r = await api('POST', '/wamd/fetchHistory/h1', { chat: '15559990000' });
check(r.status === 404, `a chat with nothing stored and no oldestMessage: 404 (${r.status})`);
r = await api('POST', '/wamd/fetchHistory/nope', { chat: chat.id });
check(r.status === 404, `an unknown instance: 404 (${r.status})`);
// an instance never paired: not connected
r = await api('POST', '/instance/create', { instanceName: 'h2', integration: 'WHATSAPP-BAILEYS', qrcode: false });
check(r.status === 201, `second instance (${r.status})`);
r = await api('POST', '/wamd/fetchHistory/h2', { chat: chat.id,
  oldestMessage: { key: { id: oldest.id, fromMe: oldest.from_me }, messageTimestamp: oldest.t } });
check(r.status === 500 && JSON.stringify(r.json?.response?.message) === '["Connection Closed"]',
  `not connected: 500 Connection Closed (${JSON.stringify(r.json)})`);

await checkRecordedAnswers(api, answers, check, ['POST /wamd/fetchHistory/{instance}']);
wamd.kill('SIGTERM');
console.log('ok: wamd_history_demand');
process.exit(0);
