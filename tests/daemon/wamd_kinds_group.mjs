// wamd's message kinds in a group and view once, end to end (suite e2e):
// wamd (real engine) and two unmodified Baileys members on wasim.
// - The group's disappearing timer, set by a Baileys admin (w:gp2
//   notification), is carried by every kind wamd sends to the group
//   (contextInfo.expiration) and dropped when the admin turns it off.
// - sendMedia with mentionsEveryOne: the caption's contextInfo.mentionedJid
//   names every member, in the record as in what Baileys parses.
// - sendMedia with viewOnce: Baileys gets the viewOnceMessage wrapper (its
//   own) around the media flagged viewOnce; documents are refused.
// - Admin revokes both ways: wamd (admin) deletes a member's message
//   (deleteMessageForEveryone with participant); a Baileys admin deletes
//   wamd's message and another member's; the stored records become DELETED
//   and MESSAGES_DELETE carries Baileys' key.
// - A member's location, contact card and reaction reach MESSAGES_UPSERT with
//   Baileys' JSON of the message and the key another Baileys member has
//   (participant, participantAlt); its edit reaches MESSAGES_UPDATE and
//   MESSAGES_EDITED as Baileys' protocolMessage; a media reply to it quotes
//   the member (contextInfo.participant), at Baileys as in our record.
// - Poll votes in the group: a member's votes on wamd's poll and on another
//   member's poll decrypt (the member the voter, the poll's sender its
//   creator) and the tally names the voter.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { freePort, hookReceiver, waitFor } from './e2e_daemon_util.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { waitHistorySynced, createAccount } from '../sim/e2e_msg_util.mjs';

watchdog(240);
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // wasim's self-signed media host
const { B } = await baileys();
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-e2e-key-kinds-group-7c2a';
const W = '15550008100';
const P = { b: '15550008101', c: '15550008102' };
const jid = (n) => `${n}@s.whatsapp.net`;

const { hooks, url: hookUrl, server: rx } = await hookReceiver();

const sim = await startWasim(wasimExe, { tls: true }); // its HTTPS media host
check((await sim.api('POST', '/_sim/accounts', { phone: W, push_name: 'Wamd' })).status === 201, 'wasim account for wamd');
const cl = {};
for (const [k, n] of Object.entries(P)) {
  await createAccount(sim, n, k.toUpperCase());
  cl[k] = await pairByQr(sim, n, `m${k}`);
  await waitHistorySynced(cl[k]);
  cl[k].msgs = [];
  cl[k].updates = [];
  cl[k].sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) if (!m.key.fromMe && m.key.remoteJid?.endsWith('@g.us')) cl[k].msgs.push(m);
  });
  cl[k].sock.ev.on('messages.update', (us) => { for (const u of us) cl[k].updates.push(u); });
}
const got = (k, id) => waitFor(() => cl[k].msgs.find((m) => m.key.id === id), 20000, `${k} receives ${id}`);
const revokedAt = (k, id) => waitFor(() => cl[k].updates.find((u) => u.key.id === id &&
  u.update.messageStubType === B.WAMessageStubType.REVOKE), 20000, `revoke of ${id} at ${k}`);

const data = tmpDir('wamd-kinds-group-');
const port = await freePort();
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const answers = [];
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  let json = null;
  try { json = t ? JSON.parse(t) : null; } catch { json = t; }
  if (json !== null && typeof json !== 'string') answers.push({ method, path: p, status: res.status, body: json });
  return { status: res.status, json };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-16000)); check(cond, msg); };
const hook = (event, pred, what) => waitFor(() => hooks.find((h) => h.event === event && pred(h.data)), 20000, what);
// protobufjs' toJSON of a Message (what Evolution's `message` is built from), keys sorted
const pbJson = (m) => B.proto.Message.toObject(B.proto.Message.fromObject(m),
  { longs: String, enums: String, bytes: String, json: true });
const canon = (v) => (Array.isArray(v) ? v.map(canon)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
const sameJson = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
const stored = async (id) => (await api('POST', '/chat/findMessages/g1', { where: { key: { id } } })).json?.messages?.records?.[0];

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  let r = await api('POST', '/instance/create', {
    instanceName: 'g1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_UPSERT', 'MESSAGES_UPDATE', 'MESSAGES_DELETE', 'MESSAGES_EDITED', 'SEND_MESSAGE',
      'GROUPS_UPSERT', 'GROUP_UPDATE'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/g1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: W, qr })).status === 200, 'phone scanned the QR');
  let open = false;
  for (let i = 0; i < 300 && !open; i++) {
    open = (await api('GET', '/instance/connectionState/g1')).json?.instance?.state === 'open';
    if (!open) await sleep(100);
  }
  dumpOnFail(open, 'wamd open');

  r = await api('POST', '/group/create/g1', { subject: 'kinds', participants: [P.b, P.c] });
  dumpOnFail(r.status === 201 && r.json.id?.endsWith('@g.us'), `group/create 201 (${r.status})`);
  const G = r.json.id;
  r = await api('POST', `/group/updateParticipant/g1?groupJid=${G}`, { action: 'promote', participants: [P.b] });
  check(r.status === 201, `b promoted to admin (${r.status})`);
  // the group works both ways before anything else
  r = await api('POST', '/message/sendText/g1', { number: G, text: 'hello group' });
  dumpOnFail(r.status === 201 && await got('b', r.json.key.id) && await got('c', r.json.key.id), 'first group text reached both');

  // ---------------- a member's location, contact card, edit and reaction ----------------
  // Each reaches wamd with the JSON Baileys has of the message it sent, field
  // by field, and the key of a group message (participant: the member).
  const fromMember = async (sent, what) => {
    const up = await hook('messages.upsert', (d) => d.key.id === sent.key.id, `${what} at wamd`);
    dumpOnFail(up, `${what}: MESSAGES_UPSERT`);
    const type = B.getContentType(sent.message);
    // the key as Baileys' other member b has it for the same message
    const bKey = (await got('b', sent.key.id))?.key;
    check(bKey && sameJson(up.data.key, bKey) && up.data.key.participant === jid(P.c),
      `${what}: the group key, the member as participant, as Baileys' (${JSON.stringify(up.data.key)} vs ${JSON.stringify(bKey)})`);
    check(up.data.messageType === type, `${what}: messageType ${up.data.messageType} = Baileys' ${type}`);
    check(sameJson(up.data.message[type], pbJson(sent.message)[type]),
      `${what}: message.${type} equals Baileys' JSON field by field\n#  ours    ${JSON.stringify(canon(up.data.message[type]))}\n#  Baileys ${JSON.stringify(canon(pbJson(sent.message)[type]))}`);
    return up;
  };
  let sent = await cl.c.sock.sendMessage(G, { location: { degreesLatitude: -19.93359, degreesLongitude: -43.93851,
    name: 'Praça da Liberdade', address: 'Belo Horizonte' } });
  await fromMember(sent, 'group location');
  const vc = (n, p) => `BEGIN:VCARD\nVERSION:3.0\nFN:${n}\nTEL;type=CELL;waid=${p}:+${p}\nEND:VCARD`;
  sent = await cl.c.sock.sendMessage(G, { contacts: { displayName: 'Ana', contacts: [{ displayName: 'Ana', vcard: vc('Ana', '5511977776666') }] } });
  await fromMember(sent, 'group contact card');
  sent = await cl.c.sock.sendMessage(G, { react: { text: '👍', key: { remoteJid: G, fromMe: false, id: r.json.key.id, participant: jid(W) } } });
  await fromMember(sent, 'group reaction to our message');
  const orig = await cl.c.sock.sendMessage(G, { text: 'typo in group' });
  dumpOnFail(await hook('messages.upsert', (d) => d.key.id === orig.key.id, 'text to edit'), 'group: text to be edited arrived');
  const edit = await cl.c.sock.sendMessage(G, { text: 'fixed in group', edit: orig.key });
  const eup = await hook('messages.update', (d) => d.keyId === orig.key.id && d.message?.editedMessage, 'group edit update');
  dumpOnFail(eup, 'group edit: MESSAGES_UPDATE for the edited message');
  check(sameJson(eup.data.message.editedMessage.message, pbJson(edit.message).protocolMessage.editedMessage) && eup.data.remoteJid === G &&
    eup.data.fromMe === false && eup.data.participant === jid(P.c),
    `group edit: the update carries Baileys' new message and the member (${JSON.stringify(eup.data)})`);
  const eed = await hook('messages.edited', (d) => d.key?.id === orig.key.id, 'MESSAGES_EDITED');
  check(eed && sameJson(eed.data, pbJson(edit.message).protocolMessage),
    `group edit: MESSAGES_EDITED equals Baileys' protocolMessage\n#  ours    ${JSON.stringify(canon(eed?.data))}\n#  Baileys ${JSON.stringify(canon(pbJson(edit.message).protocolMessage))}`);

  // a media reply to the member's message: the quote names the member (the
  // key's participant), at Baileys as in our record
  {
    const rq = await api('POST', '/message/sendMedia/g1', { number: G, mediatype: 'image', mimetype: 'image/jpeg',
      media: crypto.randomBytes(2000).toString('base64'), caption: 're',
      quoted: { key: { id: orig.key.id, remoteJid: G, fromMe: false, participant: jid(P.c) }, message: { conversation: 'fixed in group' } } });
    dumpOnFail(rq.status === 201, `group media reply: 201 (${rq.status} ${JSON.stringify(rq.json)?.slice(0, 200)})`);
    const want = { stanzaId: orig.key.id, participant: jid(P.c), quotedMessage: { conversation: 'fixed in group' } };
    const mb = await got('b', rq.json.key.id);
    const theirs = mb && pbJson(mb.message).imageMessage?.contextInfo;
    check(sameJson(theirs, want) && sameJson(rq.json.message.imageMessage?.contextInfo, theirs),
      `group media reply: the quote's participant is the member, at Baileys as in our record (${JSON.stringify(theirs)} / ${JSON.stringify(rq.json.message.imageMessage?.contextInfo)})`);
  }

  // ---------------- the group's disappearing timer on every kind ----------------
  await cl.b.sock.groupToggleEphemeral(G, 86400);
  dumpOnFail(await hook('groups.update', (d) => d[0]?.id === G && d[0].ephemeralDuration === 86400, 'timer webhook'),
    'GROUP_UPDATE: the timer a Baileys admin set reached wamd');
  const img = crypto.randomBytes(3000).toString('base64');
  const kinds = [
    ['sendText', { text: 'disappearing text' }, 'extendedTextMessage'],
    ['sendLocation', { latitude: -19.9, longitude: -43.9, name: 'BH', address: 'Praça' }, 'locationMessage'],
    ['sendContact', { contact: [{ fullName: 'Ana Lima', phoneNumber: '5511977776666' }] }, 'contactMessage'],
    ['sendPoll', { name: 'when?', selectableCount: 1, values: ['now', 'later'] }, 'pollCreationMessageV3'],
    ['sendMedia', { mediatype: 'image', mimetype: 'image/jpeg', media: img, caption: 'disappearing image' }, 'imageMessage'],
  ];
  for (const [route, body, field] of kinds) {
    r = await api('POST', `/message/${route}/g1`, { number: G, ...body });
    dumpOnFail(r.status === 201, `${route} to a group with a timer: 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
    const m = await got('c', r.json.key.id);
    const ci = m?.message?.[field]?.contextInfo;
    check(ci?.expiration === 86400, `${route}: Baileys gets contextInfo.expiration 86400 (${JSON.stringify(ci)})`);
  }
  await cl.b.sock.groupToggleEphemeral(G, 0);
  dumpOnFail(await hook('groups.update', (d) => d[0]?.id === G && d[0].ephemeralDuration === 0, 'timer off webhook'),
    'GROUP_UPDATE: the timer turned off reached wamd');
  r = await api('POST', '/message/sendLocation/g1', { number: G, latitude: 1, longitude: 2, name: 'n', address: 'a' });
  let m = r.status === 201 && await got('c', r.json.key.id);
  check(m && !m.message.locationMessage.contextInfo?.expiration,
    `timer off: no expiration any more (${JSON.stringify(m?.message?.locationMessage?.contextInfo)})`);

  // ---------------- mentionsEveryOne on a media caption ----------------
  r = await api('POST', '/message/sendMedia/g1', { number: G, mediatype: 'image', mimetype: 'image/jpeg', media: img,
    caption: 'look, all of you', mentionsEveryOne: true });
  dumpOnFail(r.status === 201, `sendMedia with mentionsEveryOne 201 (${r.status})`);
  const everyone = JSON.stringify([jid(W), jid(P.b), jid(P.c)].sort());
  check(JSON.stringify([...(r.json.message.imageMessage?.contextInfo?.mentionedJid ?? [])].sort()) === everyone,
    `the record's imageMessage.contextInfo.mentionedJid names every member (${JSON.stringify(r.json.message.imageMessage?.contextInfo)})`);
  for (const k of ['b', 'c']) {
    m = await got(k, r.json.key.id);
    const ment = m?.message?.imageMessage?.contextInfo?.mentionedJid ?? [];
    check(m?.message.imageMessage.caption === 'look, all of you' && JSON.stringify([...ment].sort()) === everyone,
      `${k}: the caption's mentionedJid names every member, as the record (${JSON.stringify(ment)})`);
  }
  r = await api('POST', '/message/sendMedia/g1', { number: G, mediatype: 'image', mimetype: 'image/jpeg', media: img,
    caption: 'two of you', mentioned: [P.b] });
  m = r.status === 201 && await got('c', r.json.key.id);
  check(JSON.stringify(m?.message?.imageMessage?.contextInfo?.mentionedJid) === JSON.stringify([jid(P.b)]),
    `mentioned on a caption (${JSON.stringify(m?.message?.imageMessage?.contextInfo)})`);

  // ---------------- view once ----------------
  r = await api('POST', '/message/sendMedia/g1', { number: G, mediatype: 'image', mimetype: 'image/jpeg', media: img,
    caption: 'only once', viewOnce: true });
  dumpOnFail(r.status === 201 && r.json.messageType === 'viewOnceMessage',
    `sendMedia viewOnce 201, messageType viewOnceMessage (${r.status} ${r.json?.messageType})`);
  const rec = r.json.message.viewOnceMessage?.message?.imageMessage;
  m = await got('c', r.json.key.id);
  const vo = m?.message?.viewOnceMessage?.message?.imageMessage;
  // Baileys' own { image, viewOnce: true } is a viewOnceMessage around the imageMessage
  check(m && B.getContentType(m.message) === 'viewOnceMessage' && Object.keys(m.message.viewOnceMessage.message)
    .filter((f) => f !== 'messageContextInfo').join() === 'imageMessage', `Baileys parses the viewOnceMessage wrapper (${JSON.stringify(Object.keys(m?.message ?? {}))})`);
  check(vo?.viewOnce === true && rec?.viewOnce === true, 'the image is flagged viewOnce, in the record as at Baileys');
  for (const f of ['caption', 'mimetype'])
    check(vo?.[f] === rec?.[f], `view once: ${f} as the record (${vo?.[f]} / ${rec?.[f]})`);
  check(String(vo?.fileLength) === rec?.fileLength, `view once: fileLength as the record (${vo?.fileLength} / ${rec?.fileLength})`);
  const bytes = m && await B.downloadMediaMessage(m, 'buffer', {});
  check(bytes && Buffer.compare(bytes, Buffer.from(img, 'base64')) === 0, 'Baileys downloads the view-once image intact');
  r = await api('POST', '/message/sendMedia/g1', { number: G, mediatype: 'document', media: img, fileName: 'x.bin',
    viewOnce: true });
  check(r.status === 400, `a view-once document: 400 (${r.status} ${JSON.stringify(r.json)})`);

  // ---------------- admin revokes ----------------
  // wamd (admin) deletes c's message
  const cm = await cl.c.sock.sendMessage(G, { text: 'c says something' });
  dumpOnFail(await hook('messages.upsert', (d) => d.key.id === cm.key.id, 'c message at wamd'), 'c message at wamd');
  await got('b', cm.key.id);
  r = await api('DELETE', '/chat/deleteMessageForEveryone/g1', { id: cm.key.id, remoteJid: G, fromMe: false,
    participant: jid(P.c) });
  dumpOnFail(r.status === 201 && r.json.message.protocolMessage.key.participant === jid(P.c),
    `deleteMessageForEveryone of a member's message 201 (${r.status} ${JSON.stringify(r.json)})`);
  let u = await revokedAt('b', cm.key.id);
  check(u, 'Baileys (b) applies our admin revoke');
  check((await stored(cm.key.id))?.status === 'DELETED', 'the member\'s message stored as DELETED');
  // a Baileys admin deletes wamd's message
  r = await api('POST', '/message/sendText/g1', { number: G, text: 'wamd said this' });
  const mine = r.json.key.id;
  await got('b', mine);
  await got('c', mine);
  await cl.b.sock.sendMessage(G, { delete: { remoteJid: G, fromMe: false, id: mine, participant: jid(W) } });
  let del = await hook('messages.delete', (d) => d.id === mine, 'MESSAGES_DELETE for the admin revoke of ours');
  dumpOnFail(del, 'MESSAGES_DELETE when an admin revokes our message');
  u = await revokedAt('c', mine);
  const same = (a, b) => ['remoteJid', 'fromMe', 'id', 'participant'].every((f) => (a?.[f] ?? null) === (b?.[f] ?? null));
  check(u && same(del?.data, u.key), `MESSAGES_DELETE carries Baileys' key (${JSON.stringify(del?.data)} vs ${JSON.stringify(u?.key)})`);
  check((await stored(mine))?.status === 'DELETED', 'our message revoked by an admin stored as DELETED');
  // a Baileys admin deletes c's message
  const cm2 = await cl.c.sock.sendMessage(G, { text: 'c again' });
  dumpOnFail(await hook('messages.upsert', (d) => d.key.id === cm2.key.id, 'c message 2'), 'second c message at wamd');
  await cl.b.sock.sendMessage(G, { delete: { remoteJid: G, fromMe: false, id: cm2.key.id, participant: jid(P.c) } });
  del = await hook('messages.delete', (d) => d.id === cm2.key.id, 'MESSAGES_DELETE for a member\'s message');
  dumpOnFail(del && del.data.fromMe === false && del.data.participant === jid(P.b), `MESSAGES_DELETE for an admin's revoke of a member's message (${JSON.stringify(del?.data)})`);
  check((await stored(cm2.key.id))?.status === 'DELETED', 'the member\'s message revoked by a Baileys admin stored as DELETED');

  // ---------------- poll votes in the group ----------------
  // b votes as WhatsApp encrypts a vote (checked with Baileys' decryptPollVote)
  const vote = async (poll, creator, choices) => {
    const voter = jid(P.b);
    const sign = Buffer.concat([Buffer.from(poll.id), Buffer.from(creator), Buffer.from(voter), Buffer.from('Poll Vote'), Buffer.from([1])]);
    const key = crypto.createHmac('sha256', crypto.createHmac('sha256', Buffer.alloc(32)).update(poll.secret).digest()).update(sign).digest();
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(`${poll.id}\u0000${voter}`));
    const pt = B.proto.Message.PollVoteMessage.encode({ selectedOptions: choices.map((o) => crypto.createHash('sha256').update(o).digest()) }).finish();
    const encPayload = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
    const back = B.decryptPollVote({ encPayload, encIv: iv }, { pollCreatorJid: creator, pollMsgId: poll.id, pollEncKey: poll.secret, voterJid: voter });
    check(back.selectedOptions.length === choices.length, 'the test\'s group vote decrypts with Baileys\' decryptPollVote');
    await cl.b.sock.relayMessage(G, { pollUpdateMessage: { pollCreationMessageKey: { remoteJid: G, fromMe: creator === jid(W), id: poll.id,
      participant: creator }, vote: { encPayload, encIv: iv }, senderTimestampMs: Date.now() } }, {});
  };
  const tally = (id) => hook('messages.update', (d) => d.keyId === id && d.pollUpdates, `tally of ${id}`);
  r = await api('POST', '/message/sendPoll/g1', { number: G, name: 'lunch?', selectableCount: 0, values: ['pizza', 'sushi'] });
  const ourPoll = r.status === 201 && await got('b', r.json.key.id);
  dumpOnFail(ourPoll, `our group poll reached b (${r.status})`);
  await vote({ id: r.json.key.id, secret: Buffer.from(ourPoll.message.messageContextInfo.messageSecret) }, jid(W), ['sushi']);
  let t = await tally(r.json.key.id);
  dumpOnFail(t && JSON.stringify(t.data.pollUpdates) === JSON.stringify([{ name: 'pizza', voters: [] }, { name: 'sushi', voters: [jid(P.b)] }]),
    `b's vote on our group poll decrypted, b the voter (${JSON.stringify(t?.data)})`);
  const cPoll = await cl.c.sock.sendMessage(G, { poll: { name: 'tea?', values: ['yes', 'no'], selectableCount: 1 } });
  dumpOnFail(await hook('messages.upsert', (d) => d.key.id === cPoll.key.id, 'c poll'), 'c\'s poll at wamd');
  await vote({ id: cPoll.key.id, secret: Buffer.from(cPoll.message.messageContextInfo.messageSecret) }, jid(P.c), ['no']);
  t = await tally(cPoll.key.id);
  dumpOnFail(t && JSON.stringify(t.data.pollUpdates) === JSON.stringify([{ name: 'yes', voters: [] }, { name: 'no', voters: [jid(P.b)] }]),
    `b's vote on c's group poll decrypted, c the creator (${JSON.stringify(t?.data)})`);

  await checkRecordedAnswers(api, answers, check, [
    'POST /message/sendMedia/{instance}',
    'DELETE /chat/deleteMessageForEveryone/{instance}',
  ]);
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  rx.close();
  for (const k of Object.keys(cl)) await cl[k].stop();
}
process.exit(0);
