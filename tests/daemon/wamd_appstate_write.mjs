// wamd end to end (suite e2e): app state both ways between a wamd instance
// and an unmodified Baileys 7.0.0-rc14 companion of the same account (both
// paired to one wasim phone), Baileys being the independent check of our
// encoding (it verifies patch and snapshot MACs here, and its LT-hash must
// equal the one wasim computes).
//  - archive / pin / mute / mark-unread / star / delete-for-me / clear /
//    delete chat / label edit / label association made by Baileys
//    (chatModify) reach wamd as CHATS_UPDATE, MESSAGES_DELETE, CHATS_DELETE,
//    LABELS_EDIT, LABELS_ASSOCIATION webhooks and label/findLabels;
//  - the same made through wamd's API (chat/archiveChat,
//    chat/markChatUnread, label/handleLabel, wamd/chatModify) reach Baileys
//    and wasim;
//  - a version conflict (the phone changed the collection without telling
//    anyone) is resolved by fetch-and-retry; a tampered patch makes wamd
//    drop the collection and fetch it again from version 0, which (still
//    tampered) stops it with a clear error, and the API says the change
//    failed; the next change, once the server is sound, rebuilds it.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { startWasim, pairByQr, check, fail, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { waitHistorySynced } from '../sim/e2e_msg_util.mjs';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(150);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-appstate-write-key-71c2';
const PHONE = '15550005561';
const J = (n) => `155500055${n}@s.whatsapp.net`;
const [PA, PB, PC, PD, PE] = [J(71), J(72), J(73), J(74), J(75)];

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
let wamdLog = '';
const until = async (pred, ms, what) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) { process.stderr.write(wamdLog.slice(-6000)); fail(`timed out waiting for ${what}`); }
    await sleep(50);
  }
};

const sim = await startWasim(wasimExe);
check((await sim.api('POST', '/_sim/accounts', { phone: PHONE, push_name: 'ACME Vendas' })).status === 201,
  'wasim account');
const data = tmpDir('wamd-appstate-write-');
const port = await freePort();
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { wamdLog += d; });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  const json = t ? JSON.parse(t) : null;
  if (json !== null && typeof json !== 'string') answers.push({ method, path: p, status: res.status, body: json });
  return { status: res.status, json };
};
const answers = [];
const simInfo = async () => (await sim.api('GET', `/_sim/appstate/${PHONE}`)).json;

// Baileys' warnings and errors: any MAC or LT-hash complaint fails the test
const complaints = [];
const note = (o, m) => { complaints.push(typeof o === 'string' ? o : `${m ?? ''} ${JSON.stringify(o)?.slice(0, 300)}`); };
const mk = () => ({
  level: 'trace', child() { return mk(); }, isLevelEnabled() { return true; },
  trace() {}, debug() {}, info() {}, warn: note, error: note, fatal: note,
});

let b = null;
try {
  await until(async () => { try { return (await api('GET', '/')).status === 200; } catch { return false; } },
    5000, 'wamd up');
  let r = await api('POST', '/instance/create', {
    instanceName: 'aw1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['CHATS_UPDATE', 'CHATS_DELETE', 'LABELS_EDIT',
      'LABELS_ASSOCIATION', 'MESSAGES_DELETE'] },
  });
  check(r.status === 201, `instance created (${r.status})`);
  const uuid = r.json.instance?.instanceId;
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/aw1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: PHONE, qr })).status === 200, 'phone scanned wamd\'s QR');
  await until(async () => (await api('GET', '/instance/fetchInstances?instanceName=aw1')).json?.[0]?.profileName ===
    'ACME Vendas', 30000, 'wamd open and synced (profileName from app state)');

  // the second companion of the same account
  (await baileys()).logger = mk();
  b = await pairByQr(sim, PHONE, 'aw-baileys', { sockOpts: { appStateMacVerification: { patch: true, snapshot: true } } });
  await waitHistorySynced(b);
  const bChats = [], bLabels = [], bAssoc = [];
  b.sock.ev.on('chats.update', (u) => { bChats.push(...u); b.poke(); });
  b.sock.ev.on('labels.edit', (l) => { bLabels.push(l); b.poke(); });
  b.sock.ev.on('labels.association', (a) => { bAssoc.push(a); b.poke(); });
  await b.waitFor(() => !!b.creds.myAppStateKeyId, 15000, 'Baileys got the sync key');

  // ---- Baileys -> wamd ----
  const hook = (ev, pred, what) => until(() => hooks.find((h) => h.event === ev && pred(h.data)), 15000, what);
  const chatHook = (jid, pred, what) => hook('chats.update', (d) => Array.isArray(d) &&
    d.some((c) => c.remoteJid === jid && pred(c)), what);
  await b.sock.chatModify({ archive: true, lastMessages: [] }, PA);
  let h = await chatHook(PA, (c) => c.archived === true, 'CHATS_UPDATE archived (from Baileys)');
  check(h.data[0].instanceId === uuid, 'CHATS_UPDATE in Evolution\'s shape');
  await b.sock.chatModify({ pin: true }, PA);
  await chatHook(PA, (c) => typeof c.pinned === 'number' && c.pinned > 0, 'CHATS_UPDATE pinned (from Baileys)');
  await b.sock.chatModify({ mute: 1893456000000 }, PA);
  await chatHook(PA, (c) => c.muteEndTime === 1893456000000, 'CHATS_UPDATE muteEndTime (from Baileys)');
  await b.sock.chatModify({ markRead: false, lastMessages: [] }, PA);
  await chatHook(PA, (c) => c.unreadMessages === 1, 'CHATS_UPDATE unread (from Baileys)');
  await b.sock.addLabel(PA, { id: '7', name: 'Cliente VIP', color: 3, deleted: false });
  h = await hook('labels.edit', (d) => d.id === '7', 'LABELS_EDIT (from Baileys)');
  check(h.data.name === 'Cliente VIP' && h.data.color === 3 && h.data.deleted === false && h.data.instance === 'aw1',
    `LABELS_EDIT {id, name, color, deleted, instance} (${JSON.stringify(h.data)})`);
  await b.sock.addChatLabel(PA, '7');
  h = await hook('labels.association', (d) => d.association?.chatId === PA, 'LABELS_ASSOCIATION (from Baileys)');
  check(h.data.type === 'add' && h.data.association.labelId === '7' && h.data.association.type === 'label_jid',
    `LABELS_ASSOCIATION {association: {type, chatId, labelId}, type} (${JSON.stringify(h.data)})`);
  r = await api('GET', '/label/findLabels/aw1');
  check(r.status === 200 && r.json.length === 1 && r.json[0].id === '7' && r.json[0].name === 'Cliente VIP' &&
    r.json[0].color === '3', `label/findLabels lists the label (${JSON.stringify(r.json)})`);
  // star, delete for me, clear, delete chat
  await b.sock.chatModify({ star: { messages: [{ id: 'S1', fromMe: false }], star: true } }, PA);
  await chatHook(PA, (c) => c.starred?.id === 'S1' && c.starred.starred === true && c.starred.fromMe === false,
    'CHATS_UPDATE starred (from Baileys)');
  await b.sock.chatModify({ deleteForMe: { key: { id: 'D1', fromMe: true }, timestamp: 1765000000,
    deleteMedia: false } }, PA);
  h = await hook('messages.delete', (d) => d.id === 'D1', 'MESSAGES_DELETE (delete for me, from Baileys)');
  check(h.data.remoteJid === PA && h.data.fromMe === true, 'MESSAGES_DELETE names the message');
  await b.sock.chatModify({ clear: true, lastMessages: [] }, PA);
  await chatHook(PA, (c) => c.cleared === true, 'CHATS_UPDATE cleared (from Baileys)');
  await b.sock.chatModify({ delete: true, lastMessages: [] }, PA);
  await hook('chats.delete', (d) => Array.isArray(d) && d.includes(PA), 'CHATS_DELETE (from Baileys)');
  check((await simInfo()).refused === 0, 'wasim verified every Baileys patch with our decoder');

  // ---- wamd -> Baileys ----
  const bChat = (jid, pred, what) => b.waitFor(() => bChats.some((u) => u.id === jid && pred(u)), 15000, what);
  r = await api('POST', '/chat/archiveChat/aw1', { chat: PB, archive: true });
  check(r.status === 201 && r.json.chatId === PB && r.json.archived === true,
    `chat/archiveChat answers 201 {chatId, archived} (${JSON.stringify(r.json)})`);
  await bChat(PB, (u) => u.archived === true, 'archive from wamd at Baileys');
  r = await api('POST', '/chat/markChatUnread/aw1', { lastMessage: { key: { remoteJid: PB, id: 'X1', fromMe: false },
    messageTimestamp: 1765000000 } });
  check(r.status === 201 && r.json.markedChatUnread === true, `chat/markChatUnread answers 201 (${r.status})`);
  await bChat(PB, (u) => u.unreadCount === -1, 'mark unread from wamd at Baileys');
  r = await api('POST', '/wamd/chatModify/aw1', { chat: PB, action: 'pin' });
  check(r.status === 201 && r.json.applied === true, `wamd/chatModify pin (${r.status})`);
  await bChat(PB, (u) => typeof u.pinned === 'number' && u.pinned > 0, 'pin from wamd at Baileys');
  r = await api('POST', '/wamd/chatModify/aw1', { chat: PB, action: 'mute', muteEnd: 1893456000000 });
  check(r.status === 201, `wamd/chatModify mute (${r.status})`);
  await bChat(PB, (u) => u.muteEndTime === 1893456000000, 'mute from wamd at Baileys');
  r = await api('POST', '/wamd/chatModify/aw1', { action: 'labelEdit', labelId: '8', name: 'Pago', color: 5 });
  check(r.status === 201, `wamd/chatModify labelEdit (${r.status})`);
  await b.waitFor(() => bLabels.some((l) => l.id === '8' && l.name === 'Pago' && l.color === 5), 15000,
    'label edit from wamd at Baileys');
  r = await api('POST', '/label/handleLabel/aw1', { number: PB, labelId: '8', action: 'add' });
  check(r.status === 200 && r.json.numberJid === PB && r.json.add === true,
    `label/handleLabel answers {numberJid, labelId, add} (${JSON.stringify(r.json)})`);
  await b.waitFor(() => bAssoc.some((a) => a.type === 'add' && a.association?.chatId === PB &&
    a.association?.labelId === '8'), 15000, 'label association from wamd at Baileys');
  const bMsgs = [], bDel = [];
  b.sock.ev.on('messages.update', (u) => { bMsgs.push(...u); b.poke(); });
  b.sock.ev.on('chats.delete', (d) => { bDel.push(...d); b.poke(); });
  r = await api('POST', '/wamd/chatModify/aw1', { chat: PB, action: 'star', messageId: 'S2', fromMe: true });
  check(r.status === 201, `wamd/chatModify star (${r.status})`);
  await b.waitFor(() => bMsgs.some((u) => u.key?.id === 'S2' && u.key.fromMe === true && u.update?.starred === true),
    15000, 'star from wamd at Baileys');
  r = await api('POST', '/wamd/chatModify/aw1', { chat: PB, action: 'delete' });
  check(r.status === 201, `wamd/chatModify delete (${r.status})`);
  await b.waitFor(() => bDel.includes(PB), 15000, 'chat delete from wamd at Baileys');
  r = await api('POST', '/wamd/chatModify/aw1', { chat: PB, action: 'star' });
  check(r.status === 400, `star without messageId is refused (${r.status})`);
  // our own changes are events too, as from another device
  await chatHook(PB, (c) => c.archived === true, 'CHATS_UPDATE for our own archive');
  r = await api('GET', '/label/findLabels/aw1');
  check(r.json.map((l) => l.id).sort().join() === '7,8', `findLabels has both labels (${JSON.stringify(r.json)})`);

  r = await api('POST', '/chat/fetchProfilePictureUrl/aw1', { number: PB });
  check(r.status === 200 && r.json.wuid === PB && r.json.profilePictureUrl === null,
    `chat/fetchProfilePictureUrl: null when none is set (${JSON.stringify(r.json)})`);

  // ---- a conflict: the phone moves regular_low on without telling anyone ----
  let info = await simInfo();
  const before = info.collections.regular_low;
  check((await sim.api('POST', '/_sim/appstate/mutate', { phone: PHONE, action: 'pin', jid: PC, value: true,
    quiet: true })).status === 200, 'phone pinned a chat quietly');
  r = await api('POST', '/chat/archiveChat/aw1', { chat: PD, archive: true });
  check(r.status === 201, `archive after a conflict accepted (${r.status} ${JSON.stringify(r.json)})`);
  info = await simInfo();
  check(info.conflicts >= 1 && info.collections.regular_low === before + 2,
    `wasim answered a conflict, then took the retry (conflicts ${info.conflicts}, v${before} -> v${info.collections.regular_low})`);
  await chatHook(PC, (c) => typeof c.pinned === 'number', 'the fetch brought the phone\'s pin to wamd');
  await bChat(PD, (u) => u.archived === true, 'the retried archive at Baileys');

  // Baileys' LT-hash of each collection equals wasim's (so ours, which wasim
  // checked patch by patch, agrees with an independent implementation)
  await sleep(500);
  info = await simInfo();
  for (const name of ['regular', 'regular_low', 'regular_high']) {
    const st = (await b.sock.authState.keys.get('app-state-sync-version', [name]))[name];
    check(st && st.version === info.collections[name] && Buffer.from(st.hash).toString('hex') === info.hashes[name],
      `${name}: Baileys at v${st?.version} with wasim's LT-hash (v${info.collections[name]})`);
  }
  const bad = complaints.filter((c) => /mac|LTHash|decode patch|failed to find key|HMAC/i.test(c));
  check(bad.length === 0, `Baileys reported no MAC / LT-hash failure (${JSON.stringify(bad)})`);
  check(info.refused === 0 && info.accepted >= 16, `wasim accepted every patch (${info.accepted}, refused ${info.refused})`);

  // ---- a tampered patch: refused, the collection stops, the API says so ----
  check((await sim.api('POST', '/_sim/appstate/fault', { phone: PHONE, tamper: 'patch_mac' })).status === 200,
    'tamper on');
  check((await sim.api('POST', '/_sim/appstate/mutate', { phone: PHONE, action: 'archive', jid: PE, value: true,
    quiet: true })).status === 200, 'phone archived a chat (served tampered)');
  r = await api('POST', '/wamd/chatModify/aw1', { chat: PE, action: 'pin' });
  check(r.status === 400 && JSON.stringify(r.json).includes('refused again after a full resync'),
    `a change on top of a tampered patch fails clearly (${r.status} ${JSON.stringify(r.json)})`);
  await until(() => /app state regular_low stopped at v\d+: patch v\d+ refused: patch MAC mismatch/.test(wamdLog), 5000,
    'wamd logged the refused patch');
  check(/app state regular_low stopped at v0: stopped: refused again after a full resync/.test(wamdLog),
    'wamd logged the failed full resync');
  check(!hooks.some((x) => x.event === 'chats.update' && x.data.some((c) => c.remoteJid === PE)),
    'nothing of the tampered patch was applied');
  check((await sim.api('POST', '/_sim/appstate/fault', { phone: PHONE, tamper: 'none' })).status === 200, 'tamper off');
  r = await api('POST', '/wamd/chatModify/aw1', { chat: PE, action: 'pin' });
  check(r.status === 201, `after the fault the same change goes through (${r.status})`);
  await chatHook(PE, (c) => c.archived === true, 'the phone\'s archive, fetched untampered');
  await checkRecordedAnswers(api, answers, check, [
    'POST /chat/archiveChat/{instance}',
    'POST /chat/markChatUnread/{instance}',
    'GET /label/findLabels/{instance}',
    'POST /label/handleLabel/{instance}',
    'POST /wamd/chatModify/{instance}',
    'POST /chat/fetchProfilePictureUrl/{instance}',
  ]);
} finally {
  await b?.stop();
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
  rx.close();
  if (code !== 0) process.stderr.write(wamdLog.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
console.log('ok: wamd_appstate_write');
process.exit(0);
