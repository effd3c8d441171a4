// A group poll and a member's kinds through wamd (suite e2e): wamd (real
// engine), three unmodified Baileys members and a member who has only
// wasim's phone (no companion), on wasim.
// - wamd's poll (several choices) gets votes from the three Baileys members
//   and the phone; one member changes its vote. The tally (voters per
//   option) in the last MESSAGES_UPDATE and in the stored record
//   (findMessages) is exactly the votes cast. The phone's vote is checked
//   independently: a Baileys member decrypts it with decryptPollVote.
//   wamd's vote on a member's group poll (wamd/sendPollVote) is read by the
//   members with decryptPollVote and counts in our tally.
// - A Baileys member's live location, several contact cards
//   (contactsArrayMessage) and its own revoke: our message, key and
//   messageType equal Baileys' field by field (the key as another Baileys
//   member has it), the revoke gives MESSAGES_DELETE with Baileys' key and
//   the stored record becomes DELETED.
// - Replies embed the quoted message itself, as Baileys does (a quoted image
//   shows its preview): a text quoting a member's image by id (from the
//   store) and an image reply given the quoted image in `quoted.message`
//   reach Baileys with contextInfo.quotedMessage.imageMessage equal to the
//   member's image field by field (the image reply's answer says the same).
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { freePort, hookReceiver, waitFor } from './e2e_daemon_util.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { waitHistorySynced, createAccount } from '../sim/e2e_msg_util.mjs';

watchdog(110);
const { B } = await baileys();
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-e2e-key-kinds-poll-3f9d';
const W = '15550008200';
const P = { b: '15550008201', c: '15550008202', d: '15550008203' };
const PHONE = '15550008204'; // a member with only its phone
const jid = (n) => `${n}@s.whatsapp.net`;

const { hooks, url: hookUrl, server: rx } = await hookReceiver();
const sim = await startWasim(wasimExe, { tls: true }); // its HTTPS media host
check((await sim.api('POST', '/_sim/accounts', { phone: W, push_name: 'Wamd' })).status === 201, 'wasim account for wamd');
await createAccount(sim, PHONE, 'Phone');
const cl = {};
for (const [k, n] of Object.entries(P)) {
  await createAccount(sim, n, k.toUpperCase());
  cl[k] = await pairByQr(sim, n, `p${k}`);
  await waitHistorySynced(cl[k]);
  cl[k].msgs = [];
  cl[k].updates = [];
  cl[k].sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) if (!m.key.fromMe && m.key.remoteJid?.endsWith('@g.us')) cl[k].msgs.push(m);
  });
  cl[k].sock.ev.on('messages.update', (us) => { for (const u of us) cl[k].updates.push(u); });
}
const got = (k, id) => waitFor(() => cl[k].msgs.find((m) => m.key.id === id), 20000, `${k} receives ${id}`);

const data = tmpDir('wamd-kinds-poll-');
const port = await freePort();
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--webhook-allow-loopback',
  '--webhook-initial-delay-ms', '200', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  let json = null;
  try { json = t ? JSON.parse(t) : null; } catch { json = t; }
  return { status: res.status, json };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-16000)); check(cond, msg); };
const hook = (event, pred, what) => waitFor(() => hooks.find((h) => h.event === event && pred(h.data)), 20000, what);
const pbJson = (m) => B.proto.Message.toObject(B.proto.Message.fromObject(m),
  { longs: String, enums: String, bytes: String, json: true });
const canon = (v) => (Array.isArray(v) ? v.map(canon)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
const sameJson = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
const stored = async (id) => (await api('POST', '/chat/findMessages/q1', { where: { key: { id } } })).json?.messages?.records?.[0];

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  let r = await api('POST', '/instance/create', {
    instanceName: 'q1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_UPSERT', 'MESSAGES_UPDATE', 'MESSAGES_DELETE'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/q1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: W, qr })).status === 200, 'phone scanned the QR');
  let open = false;
  for (let i = 0; i < 300 && !open; i++) {
    open = (await api('GET', '/instance/connectionState/q1')).json?.instance?.state === 'open';
    if (!open) await sleep(100);
  }
  dumpOnFail(open, 'wamd open');
  r = await api('POST', '/group/create/q1', { subject: 'polls', participants: [P.b, P.c, P.d, PHONE] });
  dumpOnFail(r.status === 201 && r.json.id?.endsWith('@g.us'), `group/create 201 (${r.status})`);
  const G = r.json.id;

  // ---------------- a poll with votes from three Baileys members and the phone ----------------
  r = await api('POST', '/message/sendPoll/q1', { number: G, name: 'where?', selectableCount: 0, values: ['park', 'beach', 'museum'] });
  dumpOnFail(r.status === 201, `sendPoll to the group 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
  const pollId = r.json.key.id;
  const atB = await got('b', pollId);
  for (const k of ['c', 'd']) check(await got(k, pollId), `${k} got the poll`);
  const secret = Buffer.from(atB.message.messageContextInfo.messageSecret);
  // the phone decrypted the group poll (its sender key from wamd) and kept its secret
  let phoneRec = null;
  for (let i = 0; i < 200 && !phoneRec; i++) {
    phoneRec = (await sim.api('GET', `/_sim/accounts/${PHONE}/messages`)).json?.messages?.find((m) => m.id === pollId && m.poll_secret);
    if (!phoneRec) await sleep(100);
  }
  check(phoneRec && phoneRec.chat === G && phoneRec.from === jid(W) && phoneRec.poll_secret === secret.toString('hex'),
    `the phone decrypted wamd's group poll, its secret as Baileys has it (${JSON.stringify(phoneRec)})`);

  // a Baileys member votes as WhatsApp encrypts a vote (checked with Baileys' decryptPollVote)
  const vote = async (k, choices) => {
    const voter = jid(P[k]);
    const sign = Buffer.concat([Buffer.from(pollId), Buffer.from(jid(W)), Buffer.from(voter), Buffer.from('Poll Vote'), Buffer.from([1])]);
    const key = crypto.createHmac('sha256', crypto.createHmac('sha256', Buffer.alloc(32)).update(secret).digest()).update(sign).digest();
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(`${pollId}\u0000${voter}`));
    const pt = B.proto.Message.PollVoteMessage.encode({ selectedOptions: choices.map((o) => crypto.createHash('sha256').update(o).digest()) }).finish();
    const encPayload = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
    const back = B.decryptPollVote({ encPayload, encIv: iv }, { pollCreatorJid: jid(W), pollMsgId: pollId, pollEncKey: secret, voterJid: voter });
    check(back.selectedOptions.length === choices.length, `${k}'s vote decrypts with Baileys' decryptPollVote`);
    await cl[k].sock.relayMessage(G, { pollUpdateMessage: { pollCreationMessageKey: { remoteJid: G, fromMe: false, id: pollId,
      participant: jid(W) }, vote: { encPayload, encIv: iv }, senderTimestampMs: Date.now() } }, {});
  };
  const tallies = () => hooks.filter((h) => h.event === 'messages.update' && h.data.keyId === pollId && h.data.pollUpdates);
  const tallyAfter = async (n, what) => {
    const t = await waitFor(() => tallies().length >= n && tallies()[n - 1], 20000, what);
    dumpOnFail(t, `${what}: MESSAGES_UPDATE with the tally`);
    return t.data.pollUpdates;
  };
  const want = (park, beach, museum) => [{ name: 'park', voters: park.map(jid) }, { name: 'beach', voters: beach.map(jid) },
    { name: 'museum', voters: museum.map(jid) }];
  // voters per option, order-free within an option
  const sameTally = (a, b) => sameJson(a?.map((o) => ({ name: o.name, voters: [...o.voters].sort() })),
    b.map((o) => ({ name: o.name, voters: [...o.voters].sort() })));
  await vote('b', ['park']);
  let t = await tallyAfter(1, 'b votes');
  check(sameTally(t, want([P.b], [], [])), `tally after b (${JSON.stringify(t)})`);
  await vote('c', ['beach', 'museum']);
  t = await tallyAfter(2, 'c votes');
  check(sameTally(t, want([P.b], [P.c], [P.c])), `tally after c (${JSON.stringify(t)})`);
  await vote('d', ['park', 'museum']);
  t = await tallyAfter(3, 'd votes');
  check(sameTally(t, want([P.b, P.d], [P.c], [P.c, P.d])), `tally after d (${JSON.stringify(t)})`);
  r = await sim.api('POST', '/_sim/phone/pollvote', { phone: PHONE, poll: pollId, options: ['beach'] });
  dumpOnFail(r.status === 200 && r.json.id, `the phone votes (${r.status} ${JSON.stringify(r.json)})`);
  const phoneVoteId = r.json.id;
  r = await sim.api('POST', '/_sim/phone/pollvote', { phone: PHONE, poll: 'NO-SUCH-POLL', options: ['beach'] });
  check(r.status === 404, `the phone cannot vote on a poll it never got (${r.status})`);
  t = await tallyAfter(4, 'the phone votes');
  check(sameTally(t, want([P.b, P.d], [P.c, PHONE], [P.c, P.d])), `tally after the phone's vote (${JSON.stringify(t)})`);
  // the phone's vote as a Baileys member gets it: Baileys' own decryption reads the choice
  const pv = await got('b', phoneVoteId);
  const pu = pv?.message?.pollUpdateMessage;
  check(pv?.key.participant === jid(PHONE) && pu?.pollCreationMessageKey?.id === pollId,
    `b gets the phone's pollUpdateMessage (${JSON.stringify(pv?.key)} ${JSON.stringify(pu?.pollCreationMessageKey)})`);
  let dec = null;
  try {
    dec = B.decryptPollVote(pu.vote, { pollCreatorJid: jid(W), pollMsgId: pollId, pollEncKey: secret, voterJid: jid(PHONE) });
  } catch (e) { check(false, `Baileys' decryptPollVote fails on the phone's vote: ${e.message}`); }
  check(dec?.selectedOptions?.length === 1 && Buffer.compare(Buffer.from(dec.selectedOptions[0]),
    crypto.createHash('sha256').update('beach').digest()) === 0, 'Baileys reads the phone\'s choice (beach)');
  // c changes its vote: its earlier choices no longer count
  await vote('c', ['park']);
  t = await tallyAfter(5, 'c changes its vote');
  const final = want([P.b, P.c, P.d], [PHONE], [P.d]);
  check(sameTally(t, final), `tally after c's change (${JSON.stringify(t)})`);
  const rec = await stored(pollId);
  check(sameTally(rec?.pollUpdates, final), `the stored tally (findMessages) is the same (${JSON.stringify(rec?.pollUpdates)})`);

  // wamd votes on a member's group poll: the members read it with Baileys'
  // decryptPollVote (the member the creator, wamd the voter), our tally counts us
  const dPoll = await cl.d.sock.sendMessage(G, { poll: { name: 'tea?', values: ['green', 'black'], selectableCount: 1 } });
  dumpOnFail(await hook('messages.upsert', (x) => x.key.id === dPoll.key.id, 'd\'s poll at wamd'), 'd\'s group poll at wamd');
  r = await api('POST', '/wamd/sendPollVote/q1', { number: G, pollMessageId: dPoll.key.id, selectedOptions: ['black'] });
  dumpOnFail(r.status === 201 && r.json.messageType === 'pollUpdateMessage', `our vote on d's group poll: 201 (${r.status} ${JSON.stringify(r.json)})`);
  const ov = await got('b', r.json.key.id);
  let odec = null;
  try {
    odec = B.decryptPollVote(ov.message.pollUpdateMessage.vote, { pollCreatorJid: jid(P.d), pollMsgId: dPoll.key.id,
      pollEncKey: dPoll.message.messageContextInfo.messageSecret, voterJid: jid(W) });
  } catch (e) { check(false, `Baileys' decryptPollVote fails on our group vote: ${e.message}`); }
  check(ov?.key.participant === jid(W) && ov.message.pollUpdateMessage.pollCreationMessageKey?.id === dPoll.key.id &&
    odec?.selectedOptions?.length === 1 && Buffer.compare(Buffer.from(odec.selectedOptions[0]), crypto.createHash('sha256').update('black').digest()) === 0,
    `a member reads our group vote with decryptPollVote (${JSON.stringify(ov?.message?.pollUpdateMessage?.pollCreationMessageKey)})`);
  const ot = await hook('messages.update', (x) => x.keyId === dPoll.key.id && x.pollUpdates, 'our tally of d\'s poll');
  check(ot && sameTally(ot.data.pollUpdates, [{ name: 'green', voters: [] }, { name: 'black', voters: [jid(W)] }]),
    `our vote counts in our tally of d's poll (${JSON.stringify(ot?.data?.pollUpdates)})`);

  // ---------------- a member's live location, contact cards and own revoke ----------------
  const fromMember = async (id, message, what) => {
    const up = await hook('messages.upsert', (d) => d.key.id === id, `${what} at wamd`);
    dumpOnFail(up, `${what}: MESSAGES_UPSERT`);
    const type = B.getContentType(message);
    const bKey = (await got('b', id))?.key;
    check(bKey && sameJson(up.data.key, bKey) && up.data.key.participant === jid(P.c),
      `${what}: the group key as Baileys' (${JSON.stringify(up.data.key)} vs ${JSON.stringify(bKey)})`);
    check(up.data.messageType === type, `${what}: messageType ${up.data.messageType} = Baileys' ${type}`);
    check(sameJson(up.data.message[type], pbJson(message)[type]),
      `${what}: message.${type} equals Baileys' JSON field by field\n#  ours    ${JSON.stringify(canon(up.data.message[type]))}\n#  Baileys ${JSON.stringify(canon(pbJson(message)[type]))}`);
  };
  const live = { liveLocationMessage: { degreesLatitude: 48.8584, degreesLongitude: 2.2945, accuracyInMeters: 12,
    speedInMps: 1.5, degreesClockwiseFromMagneticNorth: 270, caption: 'on my way', sequenceNumber: '7', timeOffset: 30 } };
  const lid = await cl.c.sock.relayMessage(G, live, {});
  await fromMember(lid, live, 'group live location');
  const vc = (n, p) => `BEGIN:VCARD\nVERSION:3.0\nFN:${n}\nTEL;type=CELL;waid=${p}:+${p}\nEND:VCARD`;
  let sent = await cl.c.sock.sendMessage(G, { contacts: { displayName: '3 contacts', contacts: [
    { displayName: 'Ana', vcard: vc('Ana', '5511977776666') }, { displayName: 'Bia', vcard: vc('Bia', '5511966665555') },
    { displayName: 'Caio', vcard: vc('Caio', '5511955554444') }] } });
  check(B.getContentType(sent.message) === 'contactsArrayMessage', 'Baileys sends several cards as contactsArrayMessage');
  await fromMember(sent.key.id, sent.message, 'group contact cards');
  // a copy of the key: Baileys replaces the key of its own buffered upsert
  // with the revoke's key when it processes the revoke
  sent = { key: { ...(await cl.c.sock.sendMessage(G, { text: 'I take it back' })).key } };
  dumpOnFail(await hook('messages.upsert', (d) => d.key.id === sent.key.id, 'text to revoke'), 'the text to revoke arrived');
  await got('b', sent.key.id);
  await cl.c.sock.sendMessage(G, { delete: { ...sent.key } });
  const del = await hook('messages.delete', (d) => d.id === sent.key.id, 'MESSAGES_DELETE for the member\'s own revoke');
  dumpOnFail(del, 'MESSAGES_DELETE for a member\'s own revoke');
  const u = await waitFor(() => cl.b.updates.find((x) => x.key.id === sent.key.id &&
    x.update.messageStubType === B.WAMessageStubType.REVOKE), 20000, 'revoke at b');
  check(u && sameJson(del?.data, u.key) && del.data.participant === jid(P.c),
    `MESSAGES_DELETE carries Baileys' key (${JSON.stringify(del?.data)} vs ${JSON.stringify(u?.key)})`);
  check((await stored(sent.key.id))?.status === 'DELETED', 'the revoked message stored as DELETED');

  // ---------------- replies embed the quoted message itself ----------------
  const imgMsg = { imageMessage: { url: 'https://mmg.whatsapp.net/v/t62.7118-24/q.enc', mimetype: 'image/jpeg',
    fileSha256: Buffer.alloc(32, 1), fileLength: 1234, height: 64, width: 48, mediaKey: Buffer.alloc(32, 2),
    fileEncSha256: Buffer.alloc(32, 3), directPath: '/v/t62.7118-24/q.enc', mediaKeyTimestamp: 1790000000,
    caption: 'look at this', jpegThumbnail: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]) } };
  const iid = await cl.c.sock.relayMessage(G, imgMsg, {});
  await fromMember(iid, imgMsg, 'group image');
  const wantQuote = { stanzaId: iid, participant: jid(P.c), quotedMessage: pbJson(imgMsg) };
  r = await api('POST', '/message/sendText/q1', { number: G, text: 'nice photo', quoted: { key: { id: iid } } });
  dumpOnFail(r.status === 201, `a text reply quoting the image by id: 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
  let m = await got('b', r.json.key.id);
  let theirs = m && pbJson(m.message).extendedTextMessage?.contextInfo;
  check(sameJson(theirs, wantQuote),
    `a text quoting an image by id: Baileys gets the image itself as the quote (${JSON.stringify(canon(theirs))})`);
  r = await api('POST', '/message/sendMedia/q1', { number: G, mediatype: 'image', mimetype: 'image/jpeg',
    media: crypto.randomBytes(1500).toString('base64'), caption: 'mine too',
    quoted: { key: { id: iid, remoteJid: G, fromMe: false, participant: jid(P.c) }, message: pbJson(imgMsg) } });
  dumpOnFail(r.status === 201, `an image reply given the quoted image: 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
  m = await got('b', r.json.key.id);
  theirs = m && pbJson(m.message).imageMessage?.contextInfo;
  check(sameJson(theirs, wantQuote) && sameJson(r.json.message.imageMessage?.contextInfo, theirs),
    `an image reply: Baileys gets the quoted image itself, as our answer\n#  Baileys ${JSON.stringify(canon(theirs))}\n#  ours    ${JSON.stringify(canon(r.json.message.imageMessage?.contextInfo))}`);
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  rx.close();
  for (const k of Object.keys(cl)) await cl[k].stop();
}
process.exit(0);
