// Message kinds and actions beyond text through wamd's Evolution API (suite
// e2e), 1:1 with an unmodified Baileys 7.0.0-rc14 peer on wasim:
//   Baileys -> wamd: location, live location, one and several contact cards,
//     a mention, a forward, a kind our schema lacks (generic event, raw),
//     polls (one choice, several), an edit and a revoke. For each content, our webhook's message (and
//     messageType) equals Baileys' own JSON of the message it sent, field by
//     field.
//   wamd -> Baileys: sendLocation (with a quote), sendContact (one, two),
//     sendPoll (one choice, several), wamd/sendPollVote on the peer's poll
//     (Baileys' decryptPollVote reads our choice; our tally counts us),
//     the chat's disappearing timer on text, location, contact, poll and
//     document sends, and (wamdExpireMessages) the stored records of a
//     disappearing chat removed when their timer ends, ours and received,
//     with the session engine's copies,
//     sendText with mentioned, sendReaction, chat/updateMessage and
//     chat/deleteMessageForEveryone; Baileys' parsed message has the fields.
//   sendList / sendButtons: Evolution's 400. A send to a number not on
//     WhatsApp: Evolution's 400 exists:false, nothing queued, the lookup
//     cached; `delay` shows "composing" that long before the send.
//   Edits and revokes sent while wamd is down (one message edited twice,
//   one revoked, one edited then revoked) are applied after restart and
//   reported in the order made.
// argv: [node, script, wamd, wasim]
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { freePort, waitFor } from './e2e_daemon_util.mjs';

watchdog(170);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-kinds-key-5d1e0c';
const WAMD_PHONE = '15550006666';
const PEER_PHONE = '15550007777';
const WAMD_JID = `${WAMD_PHONE}@s.whatsapp.net`;
const PEER_JID = `${PEER_PHONE}@s.whatsapp.net`;
const { B } = await baileys();


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


// protobufjs' toJSON of a Message (what Evolution's `message` is built from)
const pbJson = (m) => B.proto.Message.toObject(B.proto.Message.fromObject(m),
  { longs: String, enums: String, bytes: String, json: true });
const canon = (v) => (Array.isArray(v) ? v.map(canon)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
const textOf = (m) => m?.conversation ?? m?.extendedTextMessage?.text;
const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));

const sim = await startWasim(wasimExe, { tls: true }); // its HTTPS media host: a document send
let r = await sim.api('POST', '/_sim/accounts', { phone: WAMD_PHONE });
check(r.status === 201, 'wasim account for wamd');
const peer = await pairByQr(sim, PEER_PHONE, 'peer');
const peerMsgs = [];
const peerUpdates = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push(m); });
peer.sock.ev.on('messages.update', (us) => { for (const u of us) peerUpdates.push(u); });

const data = tmpDir('wamd-kinds-');
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
// every JSON answer, validated against /openapi.json at the end
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
// on failure: wamd's log (the last 256 KB: a restart's whole drain fits) and
// the last webhooks received, so an ordering problem can be read afterwards
const dumpOnFail = (cond, msg) => {
  if (!cond) {
    process.stderr.write(wamdLog.slice(-262144));
    process.stderr.write(`# last webhooks: ${JSON.stringify(hooks.slice(-40).map((h) => [h.event,
      h.data?.key?.id ?? h.data?.keyId ?? h.data?.id ?? h.data?.[0]?.remoteJid ?? null]))}\n`);
  }
  check(cond, msg);
};
const waitOpen = async () => {
  for (let i = 0; i < 300; i++) {
    try { if ((await api('GET', '/instance/connectionState/k1')).json?.instance?.state === 'open') return true; } catch { /* starting */ }
    await sleep(100);
  }
  return false;
};
const upsertOf = (id, ms = 20000) => waitFor(() => hooks.find((h) => h.event === 'messages.upsert' && h.data.key.id === id), ms, `MESSAGES_UPSERT ${id}`);
const peerGot = (id, ms = 20000) => waitFor(() => peerMsgs.find((m) => m.key.id === id), ms, `Baileys receives ${id}`);
const stored = async (id) => (await api('POST', '/chat/findMessages/k1', { where: { key: { id } } })).json?.messages?.records?.[0];
// what the store holds of a message (wamd's record's expiry, the engine's copy): wamd holds
// the file exclusively, so these checks wait in dbChecks for the SIGKILL below
const dbq = (sql) => execFileSync('sqlite3', [`${data}/wamd.db`, sql], { encoding: 'utf8' }).trim();
const dbChecks = [];
const expiresAt = (id) => dbq(`SELECT expires_at FROM wamd_messages WHERE key_id = '${id}'`);
const engineCopies = (id) => Number(dbq(`SELECT count(*) FROM messages WHERE msg_id = '${id}'`));

// Baileys sent `sent`; our webhook for it must carry the same content.
const sameAsBaileys = async (sent, what) => {
  const up = await upsertOf(sent.key.id);
  dumpOnFail(up, `${what}: MESSAGES_UPSERT`);
  const ref = pbJson(sent.message);
  const type = B.getContentType(sent.message);
  check(up.data.key.id === sent.key.id && up.data.key.fromMe === false && up.data.key.remoteJid === PEER_JID,
    `${what}: key (${JSON.stringify(up.data.key)})`);
  if (type === 'extendedTextMessage') {
    // Evolution's normalization: reported as conversation, context on top
    const ext = ref.extendedTextMessage;
    check(up.data.messageType === 'conversation' && up.data.message.conversation === ext.text &&
      !('extendedTextMessage' in up.data.message), `${what}: extendedTextMessage reported as conversation`);
    check(same(up.data.contextInfo ?? null, ext.contextInfo ?? null),
      `${what}: contextInfo equals Baileys' field by field (${JSON.stringify(up.data.contextInfo)} vs ${JSON.stringify(ext.contextInfo)})`);
  } else {
    check(up.data.messageType === type, `${what}: messageType ${up.data.messageType} = Baileys' ${type}`);
    check(same(up.data.message[type], ref[type]),
      `${what}: message.${type} equals Baileys' JSON field by field\n#  ours   ${JSON.stringify(canon(up.data.message[type]))}\n#  Baileys ${JSON.stringify(canon(ref[type]))}`);
  }
  if (ref.messageContextInfo?.messageSecret)
    check(up.data.message.messageContextInfo?.messageSecret === ref.messageContextInfo.messageSecret,
      `${what}: messageContextInfo.messageSecret as Baileys`);
  return up;
};

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  r = await api('POST', '/instance/create', {
    instanceName: 'k1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_UPSERT', 'MESSAGES_UPDATE', 'MESSAGES_EDITED',
      'MESSAGES_DELETE', 'SEND_MESSAGE', 'SEND_MESSAGE_UPDATE', 'CHATS_UPDATE'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  let qr = r.json.qrcode?.code;
  if (!qr) qr = (await api('GET', '/instance/connect/k1')).json.code;
  r = await sim.api('POST', '/_sim/scan', { phone: WAMD_PHONE, qr });
  check(r.status === 200, 'simulated phone scanned the QR');
  dumpOnFail(await waitOpen(), 'wamd open');

  // ---------------- Baileys -> wamd ----------------
  let sent = await peer.sock.sendMessage(WAMD_JID, { location: { degreesLatitude: -19.93359, degreesLongitude: -43.93851, name: 'Praça da Liberdade', address: 'Belo Horizonte' } });
  await sameAsBaileys(sent, 'location');

  const live = { liveLocationMessage: { degreesLatitude: 48.8584, degreesLongitude: 2.2945, accuracyInMeters: 12,
    speedInMps: 1.5, degreesClockwiseFromMagneticNorth: 270, caption: 'on my way', sequenceNumber: '7', timeOffset: 30 } };
  let lid = await peer.sock.relayMessage(WAMD_JID, live, {});
  await sameAsBaileys({ key: { id: lid }, message: live }, 'live location update');

  const vc = (n, p) => `BEGIN:VCARD\nVERSION:3.0\nFN:${n}\nTEL;type=CELL;waid=${p}:+${p}\nEND:VCARD`;
  sent = await peer.sock.sendMessage(WAMD_JID, { contacts: { displayName: 'Ana', contacts: [{ displayName: 'Ana', vcard: vc('Ana', '5511977776666') }] } });
  await sameAsBaileys(sent, 'one contact card');
  sent = await peer.sock.sendMessage(WAMD_JID, { contacts: { displayName: '2 contacts', contacts: [
    { displayName: 'Ana', vcard: vc('Ana', '5511977776666') }, { displayName: 'Bia', vcard: vc('Bia', '5511966665555') }] } });
  await sameAsBaileys(sent, 'two contact cards');

  sent = await peer.sock.sendMessage(WAMD_JID, { text: `hi @${WAMD_PHONE}`, mentions: [WAMD_JID] });
  let up = await sameAsBaileys(sent, 'mention');
  check(same(up.data.contextInfo?.mentionedJid, [WAMD_JID]), `mention: contextInfo.mentionedJid (${JSON.stringify(up.data.contextInfo)})`);

  sent = await peer.sock.sendMessage(WAMD_JID, { forward: { key: { remoteJid: WAMD_JID, fromMe: false, id: 'FWD0' }, message: { conversation: 'pass it on' } } });
  up = await sameAsBaileys(sent, 'forward');
  check(up.data.contextInfo?.isForwarded === true && up.data.contextInfo?.forwardingScore === 1, 'forward: flagged');

  // view once, both wrappers as phones send them: the wrapper kept (Baileys emits it so)
  const img = { url: 'https://mmg.whatsapp.net/v/t62.7118-24/once.enc', mimetype: 'image/jpeg',
    fileSha256: Buffer.alloc(32, 1), fileLength: 1234, height: 64, width: 48, mediaKey: Buffer.alloc(32, 2),
    fileEncSha256: Buffer.alloc(32, 3), directPath: '/v/t62.7118-24/once.enc', mediaKeyTimestamp: 1790000000,
    caption: 'see once', viewOnce: true };
  for (const w of ['viewOnceMessage', 'viewOnceMessageV2']) {
    const vo = { [w]: { message: { imageMessage: img } } };
    lid = await peer.sock.relayMessage(WAMD_JID, vo, {});
    up = await sameAsBaileys({ key: { id: lid }, message: vo }, `view once (${w})`);
    check(up.data.message[w]?.message?.imageMessage?.viewOnce === true, `${w}: flagged viewOnce`);
  }

  // a link preview as the phone sends it (no fetch on our side)
  const lp = { extendedTextMessage: { text: 'look https://example.org/a', matchedText: 'https://example.org/a',
    title: 'Example A', description: 'An example page', jpegThumbnail: Buffer.from([0xff, 0xd8, 0xff, 0xd9]) } };
  lid = await peer.sock.relayMessage(WAMD_JID, lp, {});
  up = await sameAsBaileys({ key: { id: lid }, message: lp }, 'link preview');
  const lpRef = pbJson(lp).extendedTextMessage;
  delete lpRef.text;
  check(same(up.data.wamdLinkPreview, lpRef), `link preview: wamdLinkPreview equals Baileys' fields\n#  ours    ${JSON.stringify(canon(up.data.wamdLinkPreview))}\n#  Baileys ${JSON.stringify(canon(lpRef))}`);
  const plain = hooks.find((h) => h.event === 'messages.upsert' && h.data.message?.conversation === `hi @${WAMD_PHONE}`);
  check(plain && !('wamdLinkPreview' in plain.data), 'an extended text without a preview (the mention) has no wamdLinkPreview');

  // disappearing messages: the peer turns the chat's timer on, then off
  // (Baileys' chats.update fields, the protocol message not a MESSAGES_UPSERT)
  // the instance removes disappearing messages when their timer ends (additive setting)
  const cur = (await api('GET', '/settings/find/k1')).json;
  const setExp = await api('POST', '/settings/set/k1', { ...cur, wamdExpireMessages: true });
  check(setExp.status === 201 && setExp.json?.settings?.settings?.wamdExpireMessages === true &&
    (await api('GET', '/settings/find/k1')).json?.wamdExpireMessages === true, `settings: wamdExpireMessages on (${JSON.stringify(setExp.json)})`);
  const eph = (exp) => waitFor(() => hooks.find((h) => h.event === 'chats.update' &&
    h.data.some?.((c) => c.remoteJid === PEER_JID && c.ephemeralExpiration === exp)), 15000, `CHATS_UPDATE ephemeral ${exp}`);
  sent = await peer.sock.sendMessage(WAMD_JID, { disappearingMessagesInChat: 86400 });
  up = await eph(86400);
  dumpOnFail(up, 'disappearing on: CHATS_UPDATE with ephemeralExpiration 86400');
  check(up.data[0].ephemeralSettingTimestamp === Number(sent.messageTimestamp),
    `disappearing on: ephemeralSettingTimestamp is the message's (${up.data[0].ephemeralSettingTimestamp} vs ${sent.messageTimestamp})`);
  check(!hooks.some((h) => h.event === 'messages.upsert' && h.data.key.id === sent.key.id), 'the setting is not a MESSAGES_UPSERT');
  // our sends in that chat carry the timer as clients send it
  const ephTs = Number(sent.messageTimestamp);
  let ours = await api('POST', '/message/sendText/k1', { number: PEER_PHONE, text: 'this one disappears' });
  let egot = ours.status === 201 && await peerGot(ours.json.key.id);
  dumpOnFail(egot, 'text in the disappearing chat reached Baileys');
  const gci = egot.message?.extendedTextMessage?.contextInfo;
  check(gci?.expiration === 86400 && Number(gci?.ephemeralSettingTimestamp) === ephTs,
    `our text carries contextInfo.expiration and ephemeralSettingTimestamp (${JSON.stringify(egot.message)})`);
  // stored to go a day after it was sent (the record's timestamp)
  const ephRec = await stored(ours.json.key.id);
  const ephId = ours.json.key.id;
  dbChecks.push(() => check(ephRec && expiresAt(ephId) === String(Number(ephRec.messageTimestamp) + 86400),
    `our text in the disappearing chat expires a day after it was sent (${expiresAt(ephId)} vs ${ephRec?.messageTimestamp})`));
  // and so do the other kinds: a location, a contact, a poll, a document
  const ephSends = [
    ['sendLocation', { latitude: 1.5, longitude: 2.5, name: 'here', address: 'there' }, 'locationMessage'],
    ['sendContact', { contact: [{ fullName: 'Ana Lima', wuid: '5511977776666', phoneNumber: '+55 11 97777-6666' }] }, 'contactMessage'],
    ['sendPoll', { name: 'eph poll', selectableCount: 1, values: ['x', 'y'] }, 'pollCreationMessageV3'],
    ['sendMedia', { mediatype: 'document', mimetype: 'application/octet-stream', fileName: 'eph.bin',
      media: Buffer.from('disappearing bytes').toString('base64') }, 'documentMessage'],
  ];
  for (const [route, body, field] of ephSends) {
    ours = await api('POST', `/message/${route}/k1`, { number: PEER_PHONE, ...body });
    egot = ours.status === 201 && await peerGot(ours.json.key.id);
    dumpOnFail(egot, `${route} in the disappearing chat reached Baileys (${ours.status} ${JSON.stringify(ours.json)?.slice(0, 200)})`);
    const eci = egot.message?.[field]?.contextInfo;
    check(eci?.expiration === 86400 && Number(eci?.ephemeralSettingTimestamp) === ephTs,
      `${route}: ${field}.contextInfo carries the timer (${JSON.stringify(egot.message)?.slice(0, 300)})`);
  }
  sent = await peer.sock.sendMessage(WAMD_JID, { disappearingMessagesInChat: false });
  dumpOnFail(await eph(null), 'disappearing off: CHATS_UPDATE with ephemeralExpiration null');
  ours = await api('POST', '/message/sendText/k1', { number: PEER_PHONE, text: 'this one stays' });
  egot = ours.status === 201 && await peerGot(ours.json.key.id);
  dumpOnFail(egot, 'text after the timer was turned off reached Baileys');
  check(egot.message?.conversation === 'this one stays' && !egot.message?.extendedTextMessage,
    `timer off: a plain conversation again (${JSON.stringify(egot.message)})`);
  const stayId = ours.json.key.id;
  dbChecks.push(() => check(expiresAt(stayId) === '0', 'timer off: our text never expires'));
  // a received message goes when the timer it carries ends, counted from
  // its send, with the engine's copy; one without a timer stays. (Clients
  // offer a day or more; the peer relays 2 s to see it happen.)
  const short = { extendedTextMessage: { text: 'gone in 2 s', contextInfo: { expiration: 2 } } };
  const goneId = await peer.sock.relayMessage(WAMD_JID, short, {});
  const keptId = await peer.sock.relayMessage(WAMD_JID, { conversation: 'no timer here' }, {});
  dumpOnFail(await upsertOf(goneId) && await upsertOf(keptId), 'the 2 s message and the plain one arrived');
  const goneRec = await stored(goneId);
  check(goneRec, 'received with a 2 s timer: stored (findMessages)');
  let goneAt = null;
  for (let i = 0; i < 150 && !goneAt; i++) {
    if (!(await stored(goneId))) goneAt = Date.now();
    else await sleep(100);
  }
  check(goneAt && goneAt - Number(goneRec?.messageTimestamp) * 1000 < 5000,
    `the 2 s message left findMessages on time (${goneAt ? goneAt - Number(goneRec?.messageTimestamp) * 1000 : 'never'} ms after its send second)`);
  check(await stored(keptId), 'the message without a timer stays (findMessages)');
  dbChecks.push(() => {
    check(engineCopies(goneId) === 0 && dbq(`SELECT count(*) FROM wamd_messages WHERE key_id = '${goneId}'`) === '0',
      'the expired message is gone from the store, the engine\'s copy too');
    check(engineCopies(keptId) === 1 && expiresAt(keptId) === '0', 'the message without a timer: no expiry, the engine\'s copy kept');
  });
  // with the setting off a timer is kept as Evolution does: nothing expires
  check((await api('POST', '/settings/set/k1', { ...cur, wamdExpireMessages: false })).status === 201, 'settings: wamdExpireMessages off');
  const offId = await peer.sock.relayMessage(WAMD_JID, short, {});
  dumpOnFail(await upsertOf(offId), 'a 2 s message with the setting off arrived');
  dbChecks.push(() => check(expiresAt(offId) === '0', 'setting off: the 2 s message is stored without an expiry'));

  // polls: one choice (V3) and several
  sent = await peer.sock.sendMessage(WAMD_JID, { poll: { name: 'Best day?', values: ['Mon', 'Tue', 'Wed'], selectableCount: 1 } });
  await sameAsBaileys(sent, 'single-choice poll');
  sent = await peer.sock.sendMessage(WAMD_JID, { poll: { name: 'Which fruits?', values: ['apple', 'pear'], selectableCount: 0 } });
  await sameAsBaileys(sent, 'multiple-choice poll');
  // wamd votes on the peer's poll (wamd's own route): Baileys decrypts the
  // vote with its poll's secret, and our tally counts us
  r = await api('POST', '/wamd/sendPollVote/k1', { number: PEER_PHONE, pollMessageId: sent.key.id, selectedOptions: ['pear', 'apple'] });
  dumpOnFail(r.status === 201 && r.json.messageType === 'pollUpdateMessage', `sendPollVote 201 (${r.status} ${JSON.stringify(r.json)})`);
  const vgot = await peerGot(r.json.key.id);
  const vu = vgot?.message?.pollUpdateMessage;
  check(vu?.pollCreationMessageKey?.id === sent.key.id, `Baileys gets a pollUpdateMessage for its poll (${JSON.stringify(vgot?.message)?.slice(0, 300)})`);
  let theirs = null;
  try {
    theirs = B.decryptPollVote(vu.vote, { pollCreatorJid: PEER_JID, pollMsgId: sent.key.id,
      pollEncKey: sent.message.messageContextInfo.messageSecret, voterJid: WAMD_JID });
  } catch (e) { check(false, `Baileys' decryptPollVote fails: ${e.message}`); }
  const sha = async (o) => (await import('node:crypto')).createHash('sha256').update(o).digest('hex');
  const decoded = (theirs?.selectedOptions ?? []).map((h) => Buffer.from(h).toString('hex')).sort();
  check(same(decoded, [await sha('apple'), await sha('pear')].sort()), `Baileys decrypts our vote to apple and pear (${decoded})`);
  const ourTally = await waitFor(() => hooks.find((h) => h.event === 'messages.update' && h.data.keyId === sent.key.id && h.data.pollUpdates)?.data, 5000, 'our tally');
  check(ourTally && same(ourTally.pollUpdates, [{ name: 'apple', voters: [WAMD_JID] }, { name: 'pear', voters: [WAMD_JID] }]),
    `our vote counts in our tally (${JSON.stringify(ourTally?.pollUpdates)})`);
  r = await api('POST', '/wamd/sendPollVote/k1', { number: PEER_PHONE, pollMessageId: sent.key.id, selectedOptions: ['plum'] });
  check(r.status === 400, `a vote for an option the poll lacks is refused (${r.status})`);
  r = await api('POST', '/wamd/sendPollVote/k1', { number: PEER_PHONE, pollMessageId: 'NOSUCHPOLL', selectedOptions: ['pear'] });
  check(r.status === 404, `a vote on an unknown poll is 404 (${r.status})`);

  // a kind our schema does not declare: a generic event with the raw fields
  const ev = { eventMessage: { name: 'Launch party', description: 'rooftop', isCanceled: false } };
  lid = await peer.sock.relayMessage(WAMD_JID, ev, {});
  up = await upsertOf(lid);
  dumpOnFail(up, 'unknown kind: delivered as MESSAGES_UPSERT, not dropped');
  const uf = up.data.message.unknownFields?.find((f) => f.field === 75);
  const rawRef = Buffer.from(B.proto.Message.EventMessage.encode(ev.eventMessage).finish()).toString('base64');
  check(up.data.messageType === 'unknown' && uf && uf.wireType === 2 && uf.data === rawRef,
    `unknown kind: messageType unknown with field 75's raw bytes (${JSON.stringify(up.data.message).slice(0, 200)})`);

  // edit and revoke from Baileys
  const orig = await peer.sock.sendMessage(WAMD_JID, { text: 'typo here' });
  dumpOnFail(await upsertOf(orig.key.id), 'text to be edited arrived');
  const edit = await peer.sock.sendMessage(WAMD_JID, { text: 'no typo here', edit: orig.key });
  const eup = await waitFor(() => hooks.find((h) => h.event === 'messages.update' && h.data.keyId === orig.key.id), 20000, 'edit update');
  dumpOnFail(eup, 'edit: MESSAGES_UPDATE for the edited message');
  const ered = pbJson(edit.message).protocolMessage;
  check(textOf(eup.data.message?.editedMessage?.message) === 'no typo here' && eup.data.remoteJid === PEER_JID &&
    eup.data.fromMe === false && eup.data.messageId === orig.key.id, `edit: update carries the new text (${JSON.stringify(eup.data)})`);
  const eed = hooks.find((h) => h.event === 'messages.edited' && h.data.key?.id === orig.key.id);
  check(eed && same(eed.data, ered), `edit: MESSAGES_EDITED equals Baileys' protocolMessage (${JSON.stringify(eed?.data)})`);
  check(!hooks.some((h) => h.event === 'messages.upsert' && h.data.key.id === edit.key.id), 'edit: no MESSAGES_UPSERT of its own');
  let rec = await stored(orig.key.id);
  check(rec?.message?.conversation === 'no typo here' && rec.editHistory?.[0]?.message?.conversation === 'typo here',
    `edit: stored message updated, history kept (${JSON.stringify(rec)?.slice(0, 300)})`);

  // Baileys replaces the key of its own buffered upsert with the revoke's
  // key when the revoke is processed: keep copies of the keys we send
  const gone = { key: { ...(await peer.sock.sendMessage(WAMD_JID, { text: 'regret' })).key } };
  dumpOnFail(await upsertOf(gone.key.id), 'text to be revoked arrived');
  await peer.sock.sendMessage(WAMD_JID, { delete: { ...gone.key } });
  const del = await waitFor(() => hooks.find((h) => h.event === 'messages.delete' && h.data.id === gone.key.id), 20000, 'MESSAGES_DELETE');
  dumpOnFail(del && del.data.remoteJid === PEER_JID && del.data.fromMe === false, `revoke: MESSAGES_DELETE with the key (${JSON.stringify(del?.data)})`);
  rec = await stored(gone.key.id);
  check(rec?.status === 'DELETED', `revoke: stored message marked DELETED (${rec?.status})`);

  // ---------------- wamd -> Baileys ----------------
  r = await api('POST', '/message/sendLocation/k1', { number: PEER_PHONE, latitude: -23.5505, longitude: -46.6333,
    name: 'Sé', address: 'São Paulo', quoted: { key: { id: orig.key.id, remoteJid: PEER_JID, fromMe: false }, message: { conversation: 'no typo here' } } });
  dumpOnFail(r.status === 201 && r.json.messageType === 'locationMessage', `sendLocation 201 (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
  let got = await peerGot(r.json.key.id);
  const loc = got?.message?.locationMessage;
  check(loc && loc.degreesLatitude === -23.5505 && loc.degreesLongitude === -46.6333 && loc.name === 'Sé' && loc.address === 'São Paulo',
    `Baileys renders our location (${JSON.stringify(loc)})`);
  check(loc.contextInfo?.stanzaId === orig.key.id && loc.contextInfo?.participant === PEER_JID,
    `quoted on sendLocation: contextInfo.stanzaId (${JSON.stringify(loc.contextInfo)})`);
  check(same(r.json.message.locationMessage, { degreesLatitude: -23.5505, degreesLongitude: -46.6333, name: 'Sé', address: 'São Paulo' }),
    'sendLocation record: locationMessage fields');

  r = await api('POST', '/message/sendContact/k1', { number: PEER_PHONE, contact: [{ fullName: 'Ana Lima', wuid: '5511977776666',
    phoneNumber: '+55 11 97777-6666', organization: 'ACME', email: 'ana@acme.com', url: 'https://acme.com' }] });
  dumpOnFail(r.status === 201 && r.json.messageType === 'contactMessage', `sendContact one 201 (${r.status})`);
  got = await peerGot(r.json.key.id);
  const cm = got?.message?.contactMessage;
  check(cm && cm.displayName === 'Ana Lima' && cm.vcard.includes('item1.TEL;waid=5511977776666:+55 11 97777-6666') &&
    cm.vcard.includes('ORG:ACME;') && cm.vcard === r.json.message.contactMessage.vcard, `Baileys renders our contact card (${JSON.stringify(cm)})`);
  r = await api('POST', '/message/sendContact/k1', { number: PEER_PHONE, contact: [
    { fullName: 'Ana Lima', phoneNumber: '5511977776666' }, { fullName: 'Bia Melo', phoneNumber: '5511966665555' }] });
  dumpOnFail(r.status === 201 && r.json.messageType === 'contactsArrayMessage', `sendContact two 201 (${r.status})`);
  got = await peerGot(r.json.key.id);
  const ca = got?.message?.contactsArrayMessage;
  check(ca && ca.displayName === '2 contacts' && ca.contacts.length === 2 && ca.contacts[1].displayName === 'Bia Melo' &&
    ca.contacts[1].vcard.includes('waid=5511966665555'), `Baileys renders our contact list (${JSON.stringify(ca)?.slice(0, 200)})`);

  const polls = {};
  for (const [sel, type] of [[1, 'pollCreationMessageV3'], [0, 'pollCreationMessage']]) {
    r = await api('POST', '/message/sendPoll/k1', { number: PEER_PHONE, name: `Poll ${sel}`, selectableCount: sel, values: ['Mon', 'Tue', 'Wed'] });
    dumpOnFail(r.status === 201 && r.json.messageType === type, `sendPoll selectableCount ${sel}: 201 ${type} (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
    got = await peerGot(r.json.key.id);
    const pc = got?.message?.[type];
    check(pc && pc.name === `Poll ${sel}` && pc.options.map((o) => o.optionName).join() === 'Mon,Tue,Wed' && pc.selectableOptionsCount === sel,
      `Baileys renders our poll (${JSON.stringify(got?.message)?.slice(0, 200)})`);
    check(Buffer.from(got.message.messageContextInfo.messageSecret).toString('base64') === r.json.message.messageContextInfo.messageSecret,
      'the poll\'s messageSecret in our record is the one Baileys got (votes decrypt with it)');
    polls[sel] = { id: r.json.key.id, secret: Buffer.from(got.message.messageContextInfo.messageSecret) };
  }
  // votes from the peer, encrypted as WhatsApp does (checked against
  // Baileys' decryptPollVote first); wamd decrypts them and keeps the tally
  const vote = async (poll, choices) => {
    const crypto = await import('node:crypto');
    const sign = Buffer.concat([Buffer.from(poll.id), Buffer.from(WAMD_JID), Buffer.from(PEER_JID), Buffer.from('Poll Vote'), Buffer.from([1])]);
    const key0 = crypto.createHmac('sha256', Buffer.alloc(32)).update(poll.secret).digest();
    const key = crypto.createHmac('sha256', key0).update(sign).digest();
    const iv = crypto.randomBytes(12);
    const pt = B.proto.Message.PollVoteMessage.encode({ selectedOptions: choices.map((c) => crypto.createHash('sha256').update(c).digest()) }).finish();
    const c = crypto.createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(`${poll.id}\u0000${PEER_JID}`));
    const encPayload = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
    const back = B.decryptPollVote({ encPayload, encIv: iv }, { pollCreatorJid: WAMD_JID, pollMsgId: poll.id, pollEncKey: poll.secret, voterJid: PEER_JID });
    check(back.selectedOptions.length === choices.length, 'the test\'s vote decrypts with Baileys\' decryptPollVote');
    await peer.sock.relayMessage(WAMD_JID, { pollUpdateMessage: { pollCreationMessageKey: { remoteJid: WAMD_JID, fromMe: false, id: poll.id },
      vote: { encPayload, encIv: iv }, senderTimestampMs: Date.now() } }, {});
  };
  const tallyOf = (id, n) => waitFor(() => {
    const u = hooks.filter((h) => h.event === 'messages.update' && h.data.keyId === id && h.data.pollUpdates);
    return u.length >= n ? u[n - 1].data : null;
  }, 20000, `poll tally #${n}`);
  await vote(polls[0], ['Tue']);
  let tally = await tallyOf(polls[0].id, 1);
  dumpOnFail(tally && same(tally.pollUpdates, [{ name: 'Mon', voters: [] }, { name: 'Tue', voters: [PEER_JID] }, { name: 'Wed', voters: [] }]),
    `vote decrypted, MESSAGES_UPDATE pollUpdates (${JSON.stringify(tally)})`);
  await vote(polls[0], ['Mon', 'Wed']);
  tally = await tallyOf(polls[0].id, 2);
  check(tally && same(tally.pollUpdates, [{ name: 'Mon', voters: [PEER_JID] }, { name: 'Tue', voters: [] }, { name: 'Wed', voters: [PEER_JID] }]),
    `a changed vote replaces the voter's earlier one (${JSON.stringify(tally?.pollUpdates)})`);
  check(same((await stored(polls[0].id))?.pollUpdates, tally.pollUpdates), 'the tally is stored with the poll (findMessages)');
  check(!hooks.some((h) => h.event === 'messages.upsert' && h.data.messageType === 'pollUpdateMessage'), 'votes are not MESSAGES_UPSERT');
  r = await api('POST', '/message/sendPoll/k1', { number: PEER_PHONE, name: 'dup', selectableCount: 1, values: ['a', 'a'] });
  check(r.status === 400, 'sendPoll refuses repeated values');

  r = await api('POST', '/message/sendText/k1', { number: PEER_PHONE, text: `hello @${PEER_PHONE}`, mentioned: [PEER_PHONE] });
  dumpOnFail(r.status === 201, `sendText with mentioned 201 (${r.status})`);
  got = await peerGot(r.json.key.id);
  check(same(got?.message?.extendedTextMessage?.contextInfo?.mentionedJid, [PEER_JID]),
    `Baileys sees the mention (${JSON.stringify(got?.message)})`);

  // a link preview the caller built (nothing fetched); linkPreview false drops it
  const lpv = { matchedText: 'https://example.org/b', title: 'Example B', description: 'Page B',
    jpegThumbnail: Buffer.from([0xff, 0xd8, 0xff, 0xd9]).toString('base64') };
  r = await api('POST', '/message/sendText/k1', { number: PEER_PHONE, text: 'see https://example.org/b', linkPreview: true, wamdLinkPreview: lpv });
  dumpOnFail(r.status === 201, `sendText with a link preview 201 (${r.status})`);
  got = await peerGot(r.json.key.id);
  const ge = got?.message?.extendedTextMessage;
  check(ge?.text === 'see https://example.org/b' && ge.matchedText === lpv.matchedText && ge.title === lpv.title &&
    ge.description === lpv.description && Buffer.from(ge.jpegThumbnail ?? []).toString('base64') === lpv.jpegThumbnail,
    `Baileys renders the preview (${JSON.stringify(got?.message)})`);
  r = await api('POST', '/message/sendText/k1', { number: PEER_PHONE, text: 'no preview https://example.org/b', linkPreview: false, wamdLinkPreview: lpv });
  got = await peerGot(r.json.key.id);
  check(got?.message?.conversation === 'no preview https://example.org/b', `linkPreview false: no preview (${JSON.stringify(got?.message)})`);

  // quoted without its message: the original comes from the store (as
  // Evolution); an id not in the store sends without the quote
  r = await api('POST', '/message/sendText/k1', { number: PEER_PHONE, text: 'about that', quoted: { key: { id: orig.key.id } } });
  got = await peerGot(r.json.key.id);
  const qc = got?.message?.extendedTextMessage?.contextInfo;
  check(qc?.stanzaId === orig.key.id && qc.participant === PEER_JID && qc.quotedMessage?.conversation === 'no typo here',
    `quoted by id only: the stored (edited) original is quoted (${JSON.stringify(got?.message)})`);
  r = await api('POST', '/message/sendText/k1', { number: PEER_PHONE, text: 'no quote', quoted: { key: { id: 'NOT-STORED-1' } } });
  got = await peerGot(r.json.key.id);
  check(got?.message?.conversation === 'no quote', `quoted id not stored: sent without the quote (${JSON.stringify(got?.message)})`);

  r = await api('POST', '/message/sendReaction/k1', { key: { remoteJid: PEER_JID, fromMe: false, id: orig.key.id }, reaction: '👍' });
  dumpOnFail(r.status === 201 && r.json.messageType === 'reactionMessage', `sendReaction 201 (${r.status} ${JSON.stringify(r.json)})`);
  got = await peerGot(r.json.key.id);
  check(got?.message?.reactionMessage?.text === '👍' && got.message.reactionMessage.key.id === orig.key.id,
    `Baileys gets the reaction (${JSON.stringify(got?.message)})`);
  r = await api('POST', '/message/sendReaction/k1', { key: { remoteJid: PEER_JID, fromMe: false, id: orig.key.id }, reaction: 'ok' });
  check(r.status === 400 && r.json.response.message[0] === 'Reaction must be a single emoji or empty string', 'sendReaction refuses a word');

  r = await api('POST', '/message/sendText/k1', { number: PEER_PHONE, text: 'first draft' });
  const mine = r.json.key.id;
  dumpOnFail(await peerGot(mine), 'our text reached Baileys');
  r = await api('POST', '/chat/updateMessage/k1', { number: PEER_PHONE, key: { id: mine, remoteJid: PEER_JID, fromMe: true }, text: 'final text' });
  dumpOnFail(r.status === 200 && r.json.message?.protocolMessage?.type === 'MESSAGE_EDIT', `updateMessage 200 (${r.status} ${JSON.stringify(r.json)})`);
  const pu = await waitFor(() => peerUpdates.find((u) => u.key.id === mine && u.update.message?.editedMessage), 20000, 'Baileys edit update');
  check(pu?.update?.message?.editedMessage?.message?.conversation === 'final text', `Baileys applies our edit (${JSON.stringify(pu)})`);
  rec = await stored(mine);
  check(rec?.message?.conversation === 'final text' && rec.editHistory?.[0]?.message?.conversation === 'first draft', 'our edit stored with history');
  // webhooks arrive on their own schedule: wait for it
  check(await waitFor(() => hooks.find((h) => h.event === 'send.message.update' && h.data.editedMessage?.conversation === 'final text'), 10000, 'SEND_MESSAGE_UPDATE'),
    'SEND_MESSAGE_UPDATE for our edit');
  r = await api('POST', '/chat/updateMessage/k1', { number: PEER_PHONE, key: { id: 'NOPE0000', remoteJid: PEER_JID, fromMe: true }, text: 'x' });
  check(r.status === 400 && r.json.response.message[0] === 'Message not compatible', `updateMessage of an unknown message: 400 (${JSON.stringify(r.json)})`);

  r = await api('DELETE', '/chat/deleteMessageForEveryone/k1', { id: mine, remoteJid: PEER_JID, fromMe: true });
  dumpOnFail(r.status === 201 && r.json.message?.protocolMessage?.type === 'REVOKE' && r.json.message.protocolMessage.key.id === mine,
    `deleteMessageForEveryone 201 (${r.status} ${JSON.stringify(r.json)})`);
  const pr = await waitFor(() => peerUpdates.find((u) => u.key.id === mine && u.update.messageStubType === B.WAMessageStubType.REVOKE), 20000, 'Baileys revoke update');
  check(pr && pr.update.message === null, `Baileys deletes our message (${JSON.stringify(pr)})`);
  // the webhook may come after Baileys has the revoke: wait for it
  check(await waitFor(() => hooks.some((h) => h.event === 'messages.delete' && h.data.id === mine && h.data.fromMe === true), 10000, 'MESSAGES_DELETE'),
    'MESSAGES_DELETE for our revoke');
  check((await stored(mine))?.status === 'DELETED', 'our revoked message stored as DELETED');

  for (const route of ['sendList', 'sendButtons']) {
    r = await api('POST', `/message/${route}/k1`, { number: PEER_PHONE, title: 't', buttons: [] });
    check(r.status === 400 && r.json.response.message[0] === 'Method not available on WhatsApp Baileys', `${route}: Evolution's 400`);
  }

  // ---------------- the number check and delay before every send ----------------
  const NOBODY = '15550009999';
  const sendsBefore = hooks.filter((h) => h.event === 'send.message').length;
  const notOn = JSON.stringify([{ jid: `${NOBODY}@s.whatsapp.net`, exists: false, number: NOBODY }]);
  for (const [route, body] of [['sendText', { text: 'hi' }], ['sendLocation', { latitude: 1, longitude: 2, name: 'n', address: 'a' }],
    ['sendContact', { contact: [{ fullName: 'X Y', phoneNumber: '5511977776666' }] }], ['sendText', { text: 'again' }]]) {
    r = await api('POST', `/message/${route}/k1`, { number: NOBODY, ...body });
    dumpOnFail(r.status === 400 && JSON.stringify(r.json.response.message) === notOn, `${route} to a number not on WhatsApp: 400 exists:false (${r.status} ${JSON.stringify(r.json)})`);
  }
  check(/numbers: 1 answered from the cache/.test(wamdLog), 'later checks of that number answered from the cache');
  await sleep(300);
  check(hooks.filter((h) => h.event === 'send.message').length === sendsBefore, 'nothing queued for it');
  const typing = [];
  peer.sock.ev.on('presence.update', (p) => typing.push({ at: Date.now(), p }));
  const t0 = Date.now();
  r = await api('POST', '/message/sendText/k1', { number: PEER_PHONE, text: 'after a pause', delay: 1500 });
  const took = Date.now() - t0;
  dumpOnFail(r.status === 201 && took >= 1500, `sendText with delay 1500 answered after ${took} ms`);
  got = await peerGot(r.json.key.id);
  const comp = typing.find((x) => x.p.presences?.[WAMD_JID]?.lastKnownPresence === 'composing');
  check(got && comp && comp.at < got.messageTimestamp * 1000 + 1000 && comp.at - t0 < 1000,
    `Baileys saw "composing" before the message (${JSON.stringify(typing.map((x) => x.p))})`);

  // ---------------- edits and a revoke while wamd is down ----------------
  const a = await peer.sock.sendMessage(WAMD_JID, { text: 'v1' });
  const bmsg = { key: { ...(await peer.sock.sendMessage(WAMD_JID, { text: 'doomed' })).key } };
  const cmsg = { key: { ...(await peer.sock.sendMessage(WAMD_JID, { text: 'c1' })).key } };
  dumpOnFail(await upsertOf(a.key.id) && await upsertOf(bmsg.key.id) && await upsertOf(cmsg.key.id),
    'messages to change offline arrived');
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.on('exit', res));
  for (const f of dbChecks) f();
  await peer.sock.sendMessage(WAMD_JID, { text: 'v2', edit: a.key });
  await peer.sock.sendMessage(WAMD_JID, { delete: { ...bmsg.key } });
  await peer.sock.sendMessage(WAMD_JID, { text: 'v3', edit: a.key });
  // one message edited, then revoked
  await peer.sock.sendMessage(WAMD_JID, { text: 'c2', edit: cmsg.key });
  await peer.sock.sendMessage(WAMD_JID, { delete: { ...cmsg.key } });
  await sleep(300);
  wamd = startWamd();
  dumpOnFail(await waitOpen(), 'wamd open again after SIGKILL');
  const late = await waitFor(() => {
    const e = hooks.filter((h) => h.event === 'messages.update' && h.data.keyId === a.key.id);
    return e.length >= 2 ? e : null;
  }, 20000, 'offline edits');
  dumpOnFail(late, 'both offline edits reached the webhook');
  check(late.map((h) => textOf(h.data.message.editedMessage.message)).join(',') === 'v2,v3', `offline edits in order (${late.map((h) => textOf(h.data.message.editedMessage.message))})`);
  dumpOnFail(await waitFor(() => hooks.find((h) => h.event === 'messages.delete' && h.data.id === bmsg.key.id), 20000, 'offline revoke'),
    'offline revoke reached the webhook');
  rec = await stored(a.key.id);
  check(rec?.message?.conversation === 'v3' && rec.editHistory?.map((e) => e.message.conversation).join(',') === 'v1,v2',
    `offline edits applied in order with history (${JSON.stringify(rec?.editHistory)})`);
  check((await stored(bmsg.key.id))?.status === 'DELETED', 'offline revoke applied');
  // the events in the order the changes were made: a→v2, b revoked, a→v3, c→c2, c revoked
  const order = [['messages.update', a.key.id, 'v2'], ['messages.delete', bmsg.key.id], ['messages.update', a.key.id, 'v3'],
    ['messages.update', cmsg.key.id, 'c2'], ['messages.delete', cmsg.key.id]];
  const idxOf = ([ev, id, text]) => hooks.findIndex((h) => h.event === ev && (ev === 'messages.delete' ? h.data.id === id
    : h.data.keyId === id && textOf(h.data.message?.editedMessage?.message) === text));
  dumpOnFail(await waitFor(() => idxOf(order[4]) >= 0, 20000, 'offline edit then revoke'), 'the revoke of the edited message reached the webhook');
  const at = order.map(idxOf);
  check(at.every((x, i) => x >= 0 && (i === 0 || x > at[i - 1])), `offline changes reported in the order made (${JSON.stringify(at)})`);
  rec = await stored(cmsg.key.id);
  check(rec?.status === 'DELETED' && rec.message?.conversation === 'c2' && rec.editHistory?.[0]?.message?.conversation === 'c1',
    `an edit then a revoke made offline: the record edited, then DELETED (${JSON.stringify(rec)?.slice(0, 300)})`);
  await checkRecordedAnswers(api, answers, check, [
    'POST /message/sendLocation/{instance}',
    'POST /message/sendContact/{instance}',
    'POST /message/sendPoll/{instance}',
    'POST /message/sendReaction/{instance}',
    'POST /chat/updateMessage/{instance}',
    'DELETE /chat/deleteMessageForEveryone/{instance}',
    'POST /message/sendList/{instance}',
    'POST /message/sendButtons/{instance}',
  ]);
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  rx.close();
  await peer.stop();
}
process.exit(0);
