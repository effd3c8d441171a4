// wamd end to end (suite e2e): app state through the Evolution API. wasim's
// phone shares its sync key with the instance after pairing; the instance
// learns the account's push name (setting_pushName) and shows it as
// profileName, announces itself available with it (wasim records the
// presence), and the phone's archive / pin / mute / mark-unread / contact
// rename arrive as CHATS_UPDATE and CONTACTS_UPDATE webhooks in Evolution's
// shapes ({remoteJid, instanceId, ...} arrays; {remoteJid, pushName,
// profilePicUrl, instanceId}). chat/findChats shows the flags of the chats
// table: those of the phone's history, those the phone sets later, and
// those set through wamd's own API; a chat known only from app state (no
// message) is listed too, and the label ids on each chat (label_jid). Our
// own archive whose iq went unanswered (never got / answer lost) when the
// connection dropped is settled after the reconnect, applied exactly once.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(120);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-appstate-key-5d1e0c';
const PHONE = '15550005551', PEER = '15550005553';
const PJ = `${PEER}@s.whatsapp.net`;

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
const until = async (pred, ms, what) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) { process.stderr.write(wamdLog.slice(-6000)); fail(`timed out waiting for ${what}`); }
    await sleep(50);
  }
};

const sim = await startWasim(wasimExe, { tls: true });
check((await sim.api('POST', '/_sim/accounts', { phone: PHONE, push_name: 'ACME Vendas' })).status === 201,
  'wasim account with a push name');
// a small history: chat 0 and 5 without flags, 1..4 archived, pinned, muted
// for ever, marked unread (wasim's seed)
check((await sim.api('POST', '/_sim/history/seed', { phone: PHONE, chats: 6, messages: 12 })).status === 200,
  'history seeded');
const hist = (await sim.api('GET', `/_sim/history/${PHONE}`)).json.list;
const data = tmpDir('wamd-appstate-');
const port = await freePort();
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { wamdLog += d; });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  return { status: res.status, json: t ? JSON.parse(t) : null };
};

try {
  await until(async () => { try { return (await api('GET', '/')).status === 200; } catch { return false; } },
    5000, 'wamd up');
  let r = await api('POST', '/instance/create', {
    instanceName: 'as1', integration: 'WHATSAPP-BAILEYS', qrcode: true, alwaysOnline: true,
    webhook: { url: hookUrl, enabled: true, events: ['CONNECTION_UPDATE', 'CHATS_UPDATE', 'CONTACTS_UPDATE'] },
  });
  check(r.status === 201, `instance created (${r.status})`);
  const uuid = r.json.instance?.instanceId;
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/as1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: PHONE, qr })).status === 200, 'phone scanned the QR');
  await until(async () => (await api('GET', '/instance/connectionState/as1')).json?.instance?.state === 'open',
    30000, 'open');

  // the push name: profileName, and presence available with it
  const inst = await until(async () => {
    const f = await api('GET', '/instance/fetchInstances?instanceName=as1');
    const i = f.json?.[0];
    return i?.profileName === 'ACME Vendas' ? i : null;
  }, 15000, 'profileName from app state');
  check(inst.profileName === 'ACME Vendas', 'fetchInstances shows the push name as profileName');
  const dev = async () => (await sim.api('GET', `/_sim/accounts/${PHONE}`)).json.devices[0];
  await until(async () => (await dev()).presence === 'available', 10000, 'presence available');
  check((await dev()).presence_name === 'ACME Vendas', 'wamd announced itself available with the push name');

  const mutate = async (body) => {
    const m = await sim.api('POST', '/_sim/appstate/mutate', { phone: PHONE, ...body });
    check(m.status === 200, `phone mutation ${JSON.stringify(body)}`);
  };
  const chat = (pred, what) => until(() => hooks.find((h) => h.event === 'chats.update' &&
    Array.isArray(h.data) && h.data.some((c) => c.remoteJid === PJ && pred(c))), 15000, what);
  const chat4 = (jid, pred, what) => until(() => hooks.find((x) => x.event === 'chats.update' &&
    Array.isArray(x.data) && x.data.some((c) => c.remoteJid === jid && pred(c))), 15000, what);
  await mutate({ action: 'archive', jid: PJ, value: true });
  let h = await chat((c) => c.archived === true, 'CHATS_UPDATE archived');
  check(h.data[0].instanceId === uuid && h.instance === 'as1', 'CHATS_UPDATE names the instance');
  await mutate({ action: 'pin', jid: PJ, value: true });
  await chat((c) => typeof c.pinned === 'number' && c.pinned > 0, 'CHATS_UPDATE pinned');
  await mutate({ action: 'mute', jid: PJ, value: true, mute_end: 1893456000000 });
  await chat((c) => c.muteEndTime === 1893456000000, 'CHATS_UPDATE muteEndTime');
  await mutate({ action: 'read', jid: PJ, value: false });
  await chat((c) => c.unreadMessages === 1, 'CHATS_UPDATE unread');
  await mutate({ action: 'contact', jid: PJ, full_name: 'Carlos Cliente', first_name: 'Carlos' });
  h = await until(() => hooks.find((x) => x.event === 'contacts.update' && x.data.pushName === 'Carlos Cliente'),
    15000, 'CONTACTS_UPDATE with the address-book name');
  check(h.data.remoteJid === PJ && h.data.instanceId === uuid && 'profilePicUrl' in h.data,
    'CONTACTS_UPDATE in Evolution\'s shape');

  // findChats: the history's flags, then the phone's and our own changes
  const [h0, h1, h2, h3, h4, h5] = hist.map((c) => c.id);
  const flags = (c) => c && [c.archived, c.pinned, c.muteEndTime, c.markedAsUnread].join();
  const find = async () => new Map((await api('POST', '/chat/findChats/as1', {})).json.map((c) => [c.remoteJid, c]));
  // (PEER has no message: its chat is known only from the phone's app state)
  let fc = await until(async () => { const m = await find(); return m.size === hist.length + 1 ? m : null; }, 15000,
    'findChats lists the history\'s chats and the app-state-only one');
  const pc = fc.get(PJ);
  check(pc && pc.lastMessage === null && pc.unreadCount === 0 && Array.isArray(pc.labels) && pc.labels.length === 0,
    `a chat without messages is listed, with no lastMessage (${JSON.stringify(pc)})`);
  check(flags(pc) === 'true,true,1893456000000,true', `with the flags the phone set (${flags(pc)})`);
  check(hist.every((c) => fc.get(c.id)?.lastMessage?.key?.remoteJid === c.id), 'the history\'s chats have their last message');
  check(flags(fc.get(h0)) === 'false,false,,false' && flags(fc.get(h1)) === 'true,false,,false' &&
    flags(fc.get(h2)) === 'false,true,,false' && flags(fc.get(h3)) === 'false,false,-1,false' &&
    flags(fc.get(h4)) === 'false,false,,true', `findChats has the history's flags (${
    JSON.stringify([...fc.values()].map((c) => [c.remoteJid, flags(c)]))})`);
  await mutate({ action: 'archive', jid: h0, value: true });
  await mutate({ action: 'pin', jid: h0, value: true });
  await mutate({ action: 'mute', jid: h0, value: true, mute_end: 1893456000000 });
  await mutate({ action: 'archive', jid: h1, value: false });
  await mutate({ action: 'read', jid: h4, value: true });
  await chat4(h4, (c) => c.unreadMessages === 0, 'CHATS_UPDATE read (h4)');
  fc = await find();
  check(flags(fc.get(h0)) === 'true,true,1893456000000,false' && flags(fc.get(h1)) === 'false,false,,false' &&
    flags(fc.get(h4)) === 'false,false,,false',
  `findChats shows the phone's archive / pin / mute / unarchive / read (${flags(fc.get(h0))}; ${
    flags(fc.get(h1))}; ${flags(fc.get(h4))})`);
  r = await api('POST', '/chat/archiveChat/as1', { chat: h5, archive: true });
  check(r.status === 201, `chat/archiveChat (${r.status})`);
  r = await api('POST', '/wamd/chatModify/as1', { chat: h5, action: 'pin' });
  check(r.status === 201, `wamd/chatModify pin (${r.status})`);
  r = await api('POST', '/wamd/chatModify/as1', { chat: h5, action: 'mute', muteEnd: 1893456000000 });
  check(r.status === 201, `wamd/chatModify mute (${r.status})`);
  r = await api('POST', '/chat/markChatUnread/as1', { lastMessage: { key: { remoteJid: h5, id: 'X1', fromMe: false },
    messageTimestamp: 1765000000 } });
  check(r.status === 201, `chat/markChatUnread (${r.status})`);
  fc = await find();
  check(flags(fc.get(h5)) === 'true,true,1893456000000,true',
    `findChats shows wamd's own archive / pin / mute / unread (${flags(fc.get(h5))})`);

  // labels: the phone's label on a chat shows in findChats (label ids) and
  // findLabels; removed, it goes; one set through label/handleLabel too
  await mutate({ action: 'label_edit', jid: '7', name: 'Clientes VIP', color: 3 });
  await mutate({ action: 'label', label: '7', jid: h2, value: true });
  fc = await until(async () => { const m = await find(); return m.get(h2)?.labels?.length ? m : null; }, 15000,
    'the label on h2 in findChats');
  check(JSON.stringify(fc.get(h2).labels) === '["7"]', `findChats: h2 labels ${JSON.stringify(fc.get(h2).labels)}`);
  check([...fc.values()].filter((c) => c.labels.length).length === 1, 'no other chat has a label');
  r = await api('GET', '/label/findLabels/as1');
  check(r.status === 200 && r.json.some((l) => l.id === '7' && l.name === 'Clientes VIP'), 'findLabels lists it');
  r = await api('POST', '/label/handleLabel/as1', { number: PJ.split('@')[0], labelId: '7', action: 'add' });
  check(r.status === 200 || r.status === 201, `label/handleLabel add (${r.status})`);
  await mutate({ action: 'label', label: '7', jid: h2, value: false });
  fc = await until(async () => { const m = await find(); return m.get(h2)?.labels?.length === 0 ? m : null; }, 15000,
    'the label removed from h2');
  check(JSON.stringify(fc.get(PJ).labels) === '["7"]', `handleLabel's label on the app-state-only chat (${
    JSON.stringify(fc.get(PJ).labels)})`);

  // our own mutation when the connection goes before the answer: kept and
  // sent again after the reconnect when the server never got it; not sent
  // again when it did (its answer lost): applied exactly once either way
  const asInfo = async () => (await sim.api('GET', `/_sim/appstate/${PHONE}`)).json;
  const ourDev = (await dev()).device;
  for (const [code, what, jid] of [[0, 'the server never got it', h3], [1, 'its answer was lost', h0]]) {
    const before = await asInfo();
    r = await sim.api('POST', '/_sim/fault', { phone: PHONE, device: ourDev, action: 'iq_error',
      xmlns: 'w:sync:app:state', code, count: 1 });
    check(r.status === 200, `fault: the next app-state iq ${what}`);
    const hooksAt = hooks.length;
    const pending = api('POST', '/chat/archiveChat/as1', { chat: jid, archive: code === 0 });
    if (code === 1)
      await until(async () => (await asInfo()).accepted === before.accepted + 1, 10000, 'the server took the patch');
    else
      await sleep(500);
    check((await sim.api('POST', '/_sim/fault', { phone: PHONE, device: ourDev, action: 'drop' })).status === 200,
      'connection dropped before any answer');
    r = await pending;
    check(r.status === 201 && r.json?.archived === true, `archiveChat answered once reconnected (${r.status} ${
      JSON.stringify(r.json)})`);
    const after = await asInfo();
    check(after.accepted === before.accepted + 1, `the server took it exactly once (${after.accepted - before.accepted})`);
    check(after.collections.regular_low === before.collections.regular_low + 1, 'one new version');
    await sleep(300);
    const ups = hooks.slice(hooksAt).filter((x) => x.event === 'chats.update' && Array.isArray(x.data) &&
      x.data.some((c) => c.remoteJid === jid && c.archived === (code === 0)));
    check(ups.length === 1, `one CHATS_UPDATE for it (${ups.length})`);
    fc = await find();
    check(fc.get(jid).archived === (code === 0), `findChats shows it (${fc.get(jid).archived})`);
  }
} finally {
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
  rx.close();
  if (code !== 0) process.stderr.write(wamdLog.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
console.log('ok: wamd_appstate');
process.exit(0);
