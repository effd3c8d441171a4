// History sync through wamd (suite e2e): a wasim phone with a seeded
// history of 200 chats and 20,000 messages pairs a new wamd instance whose
// settings say syncFullHistory. The phone sends INITIAL_BOOTSTRAP (inline),
// PUSH_NAME and FULL chunks (encrypted blobs on wasim's media host). wamd
// is SIGKILLed in the middle of the import and started again; the import
// resumes and completes. Then every chat, contact name and message is
// there exactly once (findMessages per chat: ids, byte-identical texts,
// timestamps, fromMe; the total is exactly 20,000), findChats lists every
// chat, findContacts every contact name, MESSAGES_SET / CHATS_SET /
// CONTACTS_UPSERT webhooks carry Evolution's shapes, and the phone got its
// hist_sync receipt for the last notification.
// The phone's chunks hold 66 chats (three batches of wamd's), so the kill
// lands inside a notification and the restart resumes after its committed
// conversations.
// argv: [node, script, wamd, wasim]
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import http from 'node:http';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(240);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-history-key-81a7';
const PHONE = '15550004848';
const CHATS = 200;
const MSGS = 20000;

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
r = await sim.api('POST', '/_sim/history/seed', { phone: PHONE, chats: CHATS, messages: MSGS, chunk_chats: 66 });
check(r.status === 200, `history seeded (${JSON.stringify(r.json)})`);
r = await sim.api('POST', '/_sim/history/seed', { phone: PHONE, chats: 0, messages: 1 });
check(r.status === 400, 'a seed without chats is refused');

const data = tmpDir('wamd-history-');
const port = await freePort();
const wamdArgs = ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--log-level', 'debug'];
let wamdLog = '';
const startWamd = () => {
  const p = spawn(wamdExe, wamdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
  return p;
};
let wamd = startWamd();
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
const up = async () => {
  for (let i = 0; i < 200; i++) {
    try { if ((await api('GET', '/')).status === 200) return true; } catch { /* not yet */ }
    await sleep(50);
  }
  return false;
};
const total = async () => (await api('POST', '/chat/findMessages/h1', { where: {}, offset: 1 })).json?.messages?.total ?? -1;

check(await up(), 'wamd answers');
r = await api('POST', '/instance/create', {
  instanceName: 'h1', integration: 'WHATSAPP-BAILEYS', qrcode: true, syncFullHistory: true,
  webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_SET', 'CHATS_SET', 'CONTACTS_UPSERT'] },
});
dumpOnFail(r.status === 201, `instance created (${r.status})`);
check((await api('GET', '/settings/find/h1')).json?.syncFullHistory === true, 'syncFullHistory in the settings');
let qr = r.json.qrcode?.code;
if (!qr) qr = (await api('GET', '/instance/connect/h1')).json.code;
const t0 = Date.now();
r = await sim.api('POST', '/_sim/scan', { phone: PHONE, qr });
check(r.status === 200, 'the phone scanned the QR');

// the DeviceProps asked for the whole history
let dev;
for (let i = 0; i < 100 && !dev; i++) {
  dev = (await sim.api('GET', `/_sim/accounts/${PHONE}`)).json.devices?.find((d) => d.device > 0);
  if (!dev) await sleep(100);
}
check(dev?.full_sync === true, 'requireFullSync at pairing');

// kill wamd inside a notification: once a second batch of one FULL chunk is
// being imported, the first one is committed (one commit per loop turn, and
// the batch's event comes inside its transaction). Read from the log, not the
// API, whose answers wait for the loop's turns and come late on a busy machine.
const midChunk = () => {
  const per = {};
  for (const m of wamdLog.matchAll(/history FULL chunk (\d+): .*%$/gm)) per[m[1]] = (per[m[1]] || 0) + 1;
  return Object.values(per).some((n) => n >= 2);
};
for (let i = 0; i < 3000 && !midChunk(); i++) await sleep(10);
wamd.kill('SIGKILL');
await new Promise((res) => wamd.once('exit', res));
// what the kill left committed, read from the store while wamd is down
const q = spawnSync('sqlite3', [path.join(data, 'wamd.db'), 'SELECT count(*) FROM wamd_messages'], { encoding: 'utf8' });
const before = Number(q.stdout.trim());
dumpOnFail(before >= 1500 && before < MSGS, `wamd killed in the middle of the import (${before} of ${MSGS} messages in)`);
wamd = startWamd();
check(await up(), 'wamd answers again');

let n = 0;
const end = Date.now() + 150000;
const resumed = () => /resuming after [1-9][0-9]* conversations/.test(wamdLog);
while (Date.now() < end && (n = await total()) < MSGS) await sleep(200);
const took = Date.now() - t0;
dumpOnFail(n === MSGS, `every message imported after the restart (${n} of ${MSGS}, ${took} ms from the scan)`);
// the blob being imported at the kill was resumed after its committed batches
check(resumed(), 'the import resumed inside a notification, after its committed conversations');
console.log(`# import: ${MSGS} messages in ${CHATS} chats, ${took} ms from the scan (ASan build, one restart)`);

// every chat, message by message, against the phone's own list
const list = (await sim.api('GET', `/_sim/history/${PHONE}`)).json.list;
check(list.length === CHATS, 'the phone lists its chats');
let bad = 0;
let seen = 0;
for (const c of list) {
  const res = await api('POST', '/chat/findMessages/h1', { where: { key: { remoteJid: c.id } }, offset: 1000 });
  const recs = res.json?.messages?.records ?? [];
  const byId = new Map(recs.map((x) => [x.key.id, x]));
  if (recs.length !== c.messages.length || byId.size !== recs.length) {
    bad++;
    console.error(`# ${c.id}: ${recs.length} records (${byId.size} ids) for ${c.messages.length} messages`);
    continue;
  }
  for (const m of c.messages) {
    const x = byId.get(m.id);
    seen++;
    if (!x || x.message?.conversation !== m.text || x.messageTimestamp !== m.t || x.key.fromMe !== m.from_me ||
        x.key.remoteJid !== c.id || x.messageType !== 'conversation' || (!m.from_me && x.pushName !== c.push_name)) {
      if (bad++ < 5) console.error(`# ${c.id} ${m.id}: ${JSON.stringify(x)} vs ${JSON.stringify(m)}`);
    }
  }
}
check(bad === 0 && seen === MSGS, `every message once, byte-identical text, timestamp, fromMe (${bad} bad of ${seen})`);

// findChats and findContacts
const chats = (await api('POST', '/chat/findChats/h1', {})).json;
const chatIds = new Set(chats.map((c) => c.remoteJid));
check(list.every((c) => chatIds.has(c.id)) && chats.length === CHATS, `findChats lists every chat (${chats.length})`);
// the chat flags of the history (archived, pinned, muted, marked unread)
const byJid = new Map(chats.map((c) => [c.remoteJid, c]));
const flagBad = list.filter((c) => {
  const x = byJid.get(c.id);
  return !x || x.archived !== c.archived || x.pinned !== (c.pinned > 0) || x.markedAsUnread !== c.marked_unread ||
    x.muteEndTime !== (c.mute_end === 0 ? null : c.mute_end);
});
check(flagBad.length === 0 && list.some((c) => c.archived) && list.some((c) => c.pinned) &&
  list.some((c) => c.mute_end === -1) && list.some((c) => c.mute_end > 0) && list.some((c) => c.marked_unread),
  `findChats has the history's archived / pinned / muteEndTime / markedAsUnread (${flagBad.length} differ: ${
    JSON.stringify(flagBad.slice(0, 2).map((c) => [c, byJid.get(c.id)]))})`);
const contacts = (await api('POST', '/chat/findContacts/h1', { where: {} })).json;
const names = new Map(contacts.map((c) => [c.remoteJid, c.pushName]));
check(list.every((c) => names.get(c.id) === c.name), 'findContacts: every contact with its address-book name');
const one = (await api('POST', '/chat/findContacts/h1', { where: { remoteJid: list[7].id } })).json;
check(one.length === 1 && one[0].pushName === list[7].name && one[0].isSaved === true && one[0].type === 'contact',
  `findContacts by remoteJid (${JSON.stringify(one)})`);

// webhooks: Evolution's shapes
const wait = async (pred, ms) => {
  const e = Date.now() + ms;
  while (Date.now() < e) { if (pred()) return true; await sleep(100); }
  return false;
};
const setIds = () => new Set(hooks.filter((h) => h.event === 'messages.set').flatMap((h) => h.data.map((m) => m.key.id)));
await wait(() => setIds().size >= MSGS, 30000);
check(setIds().size === MSGS, `MESSAGES_SET webhooks carry every message (${setIds().size})`);
const c3 = list[3];
const m3 = c3.messages.find((m) => !m.from_me);
const rec = hooks.filter((h) => h.event === 'messages.set').flatMap((h) => h.data).find((m) => m.key.id === m3.id);
check(rec && rec.key.remoteJid === c3.id && rec.key.fromMe === false && rec.key.id === m3.id &&
  JSON.stringify(rec.message) === JSON.stringify({ conversation: m3.text }) && rec.messageType === 'conversation' &&
  rec.messageTimestamp === m3.t && rec.pushName === c3.push_name && typeof rec.instanceId === 'string',
`MESSAGES_SET record: key, message, messageType, messageTimestamp, pushName (${JSON.stringify(rec)})`);
const chatSet = hooks.filter((h) => h.event === 'chats.set').flatMap((h) => h.data);
const cs = chatSet.find((c) => c.remoteJid === c3.id);
check(cs && cs.name === c3.name && Number.isInteger(cs.unreadMessages) && typeof cs.instanceId === 'string',
  `CHATS_SET: {remoteJid, instanceId, name, unreadMessages} (${JSON.stringify(cs)})`);
check(new Set(chatSet.map((c) => c.remoteJid)).size === CHATS, 'CHATS_SET covers every chat');
const cu = hooks.filter((h) => h.event === 'contacts.upsert').flatMap((h) => h.data).find((c) => c.remoteJid === c3.id);
check(cu && 'pushName' in cu && 'profilePicUrl' in cu && typeof cu.instanceId === 'string',
  `CONTACTS_UPSERT: {remoteJid, pushName, profilePicUrl, instanceId} (${JSON.stringify(cu)})`);

// the phone has its hist_sync receipt for the last notification
let d;
const e2 = Date.now() + 10000;
while (Date.now() < e2) {
  d = (await sim.api('GET', `/_sim/accounts/${PHONE}`)).json.devices.find((x) => x.device > 0);
  if (d.receipts_sent?.some((x) => x.id === d.hist_id && x.type === 'hist_sync')) break;
  await sleep(100);
}
check(d.receipts_sent?.some((x) => x.id === d.hist_id && x.type === 'hist_sync'), 'hist_sync receipt for the last notification');

await checkRecordedAnswers(api, answers, check, ['POST /chat/findContacts/{instance}']);
wamd.kill('SIGTERM');
console.log('ok: wamd_history');
process.exit(0);
