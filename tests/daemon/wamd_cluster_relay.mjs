// Cluster mode, any node answers sends and streams (suite e2e): wamd nodes
// on one private PostgreSQL server (tests/unit/store_pg.py), one wasim, a
// Baileys peer, a 3 s lease.
//   B's stream (all instances) shows the QR and CONNECTION_UPDATE of i1,
//   created and paired on A. An event stream on B for i1 ->
//   sendText through B: 201 with the key A sends it with; the peer gets it
//   once with that id; B's stream shows A's SEND_MESSAGE for it and the
//   peer's reply (MESSAGES_UPSERT); a location, a reaction, a contact and a
//   poll through B reach the peer once too; so do texts with a quote,
//   mentions, a link preview and options, mentionsEveryOne in a group (A
//   names the members), a document by base64 (its file through the
//   database in two parts), an image by URL, a voice note and a sticker,
//   their bytes intact; a file over 16 MiB is 409 naming A -> SIGSTOP A, a
//   send through B waits in wamd_relay; SIGKILL A: B takes i1 after the lease, sends it once ->
//   C joins; drain B: i1 goes to C, B keeps answering (its state, a send
//   through it reaches the peer once from C), takes nothing back; undrain;
//   each relayed send's SEND_MESSAGE webhook delivered once by its owner,
//   none again after the handovers.
// argv: [node, script, wamd, wasim]
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { check, watchdog, sleep, baileys } from '../sim/harness.mjs';
import { baileysPath } from '../interop/baileys.mjs';
import { until, apiAt, hookReceiver, clusterNodes, pgTest, wasimWithPeer, textOf } from './e2e_daemon_util.mjs';

const WebSocket = createRequire(baileysPath('package.json'))('ws');
const { B: Bl } = await baileys();
watchdog(110);
const [wamdExe, wasimExe] = process.argv.slice(2);
const { URI, psql } = pgTest();
const KEY = 'wasim-cluster-relay-key-7c2d';
const LEASE = 3; // seconds
const PEER = '15550009300';
const W1 = '15550009301';

const { hooks, url: hookUrl, server: rx } = await hookReceiver();
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // wasim's self-signed media host
const { sim, peer, peerMsgs } = await wasimWithPeer(wasimExe, PEER, W1, { tls: true }); // media uploads go over HTTPS
const got = (id) => peerMsgs.filter((m) => m.key.id === id);

const { startNode, ok } = clusterNodes({ wamdExe, sim, uri: URI, key: KEY, lease: LEASE, prefix: 'wamd-crelay',
  env: { WAMD_WA_TLS_INSECURE: 'true' } });
const api = (n, method, p, body) => apiAt(n.port, KEY)(method, p, body);
const isOpen = async (n) => (await api(n, 'GET', '/instance/connectionState/i1')).json?.instance?.state === 'open';
const up = async (n) => ok(await until(async () => (await api(n, 'GET', '/')).status === 200, 20000), `node ${n.name} up`);
const send = (n, text) => api(n, 'POST', '/message/sendText/i1', { number: PEER, text });
const relayRows = () => Number(psql('SELECT count(*) FROM wamd_relay'));

const stream = async (n, query) => {
  const evs = [];
  const w = new WebSocket(`ws://127.0.0.1:${n.port}/ws/events?${query}apikey=${KEY}`);
  w.on('message', (d) => { try { evs.push(JSON.parse(String(d))); } catch { /* not JSON */ } });
  await new Promise((res, rej) => { w.on('open', res); w.on('error', rej); });
  return { evs, w };
};

// 1. A and B; B's all-instance stream shows the QR and the pairing of i1,
// created and paired on A (the creator holds it; A stays at its share)
const A = await startNode('A');
const B = await startNode('B');
await up(A);
await up(B);
const all = await stream(B, '');
let r = await api(A, 'POST', '/instance/create', { instanceName: 'i1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
  webhook: { url: hookUrl, enabled: true, events: ['SEND_MESSAGE'] } });
ok(r.status === 201, `i1 created on A (${r.status})`);
const qr = r.json.qrcode?.code ?? (await api(A, 'GET', '/instance/connect/i1')).json.code;
ok(await until(() => all.evs.some((e) => e.event === 'qrcode.updated' && e.instance === 'i1' && e.data?.qrcode?.code), 10000),
  `B's stream shows i1's QR from A (${JSON.stringify(all.evs.map((e) => e.event))})`);
check((await sim.api('POST', '/_sim/scan', { phone: W1, qr })).status === 200, 'i1: QR scanned');
ok(await until(() => isOpen(A), 30000), 'i1 open on A');
ok(await until(() => all.evs.some((e) => e.event === 'connection.update' && e.instance === 'i1' && e.data?.state === 'open'), 10000),
  `B's stream shows i1's CONNECTION_UPDATE open from A (${JSON.stringify(all.evs.filter((e) => e.event === 'connection.update').map((e) => e.data))})`);
ok(await until(() => isOpen(B), 5000), 'B reads i1 open');
all.w.close();

// 2. B's event stream for i1 shows what A emits
const { evs: events, w: ws } = await stream(B, 'instance=i1&');
await sleep(200);

// 3. a send through B (and, for the figure, one through A first)
const arrival = async (n, text) => {
  const t0 = Date.now();
  const res = await send(n, text);
  ok(res.status === 201, `a send through node ${n.name} (${res.status})`);
  ok(await until(() => got(res.json.key.id).length, 15000), `it reached the peer (${text})`);
  return Date.now() - t0;
};
const msA = await arrival(A, 'through A 77e0');
const msB = await arrival(B, 'through B 77e1');
console.log(`# API call to the peer's receipt: ${msA} ms through the owner, ${msB} ms through another node`);
r = await send(B, 'through B 1a7e');
ok(r.status === 201 && /^3EB0/.test(r.json?.key?.id ?? '') && r.json.key.remoteJid === `${PEER}@s.whatsapp.net`
  && r.json.key.fromMe === true && r.json.status === 'PENDING' && r.json.message?.conversation === 'through B 1a7e',
`sendText through B: 201, Evolution's record with the key (${r.status} ${JSON.stringify(r.json)})`);
const id1 = r.json.key.id;
ok(await until(() => got(id1).length, 15000), 'the peer got it, with the id B answered');
ok(textOf(got(id1)[0]) === 'through B 1a7e', 'its text');
ok(await until(() => events.some((e) => e.event === 'send.message' && e.data?.key?.id === id1), 5000),
  `B's stream shows A's SEND_MESSAGE for it (${JSON.stringify(events.map((e) => e.event))})`);
ok(/(took|sent) 3EB\w+ accepted by another node/.test(A.log), 'A took it from the relay');
ok(relayRows() === 0, 'the relay row is gone');
const hooked = (id) => hooks.filter((h) => h.event === 'send.message' && h.data?.key?.id === id).length;
ok(await until(() => hooked(id1), 10000), 'its SEND_MESSAGE webhook, from A');
await peer.sock.sendMessage(`${W1}@s.whatsapp.net`, { text: 'reply to A via B 5e90' });
ok(await until(() => events.some((e) => e.event === 'messages.upsert' && textOf(e.data ?? {}) === 'reply to A via B 5e90'), 10000),
  'B\'s stream shows the peer\'s reply that A received');
// the other sends of the same path: a location and a reaction through B
r = await api(B, 'POST', '/message/sendLocation/i1', { number: PEER, latitude: 48.85, longitude: 2.35, name: 'Here', address: 'Paris' });
ok(r.status === 201 && r.json?.message?.locationMessage?.name === 'Here' && /^3EB0/.test(r.json.key?.id ?? ''),
  `sendLocation through B: 201 with its record (${r.status} ${JSON.stringify(r.json)})`);
const idLoc = r.json.key.id;
r = await api(B, 'POST', '/message/sendReaction/i1', { key: { remoteJid: `${PEER}@s.whatsapp.net`, fromMe: true, id: id1 }, reaction: '\u{1F44D}' });
ok(r.status === 201 && r.json?.message?.reactionMessage?.key?.id === id1, `sendReaction through B: 201 (${r.status} ${JSON.stringify(r.json)})`);
const idReact = r.json.key.id;
r = await api(B, 'POST', '/message/sendContact/i1', { number: PEER, contact: [{ fullName: 'Ana Relay', phoneNumber: '+15550009399' }] });
ok(r.status === 201 && r.json?.message?.contactMessage, `sendContact through B: 201 (${r.status} ${JSON.stringify(r.json)})`);
const idCard = r.json.key.id;
r = await api(B, 'POST', '/message/sendPoll/i1', { number: PEER, name: 'Relay poll?', selectableCount: 1, values: ['yes', 'no'] });
ok(r.status === 201 && /^3EB0/.test(r.json?.key?.id ?? ''), `sendPoll through B: 201 (${r.status} ${JSON.stringify(r.json)})`);
const idPoll = r.json.key.id;
ok(await until(() => [idLoc, idReact, idCard, idPoll].every((id) => got(id).length), 15000),
  'the location, reaction, contact and poll reached the peer');
ok(got(idCard)[0].message?.contactMessage?.displayName === 'Ana Relay'
  && (got(idPoll)[0].message?.pollCreationMessageV3 ?? got(idPoll)[0].message?.pollCreationMessage)?.name === 'Relay poll?',
`the contact and the poll as sent (${JSON.stringify(got(idCard)[0].message)} ${JSON.stringify(got(idPoll)[0].message)})`);
ok(got(idLoc)[0].message?.locationMessage?.degreesLatitude === 48.85
  && got(idReact)[0].message?.reactionMessage?.key?.id === id1, 'as sent');
// texts with a quote, mentions, a link preview, v1 options; media by
// base64 (two parts in the database) and by URL (fetched by B), a voice
// note and a sticker: each sent by A as a local send would be
const PEER_JID = `${PEER}@s.whatsapp.net`;
r = await api(A, 'POST', '/wamd/pace/i1', { perMinute: 100, gapMs: 0, jitterMs: 0, typing: false });
ok(r.status === 201, `i1's pacing loosened on A for the burst below (${r.status})`);
r = await api(B, 'POST', '/message/sendText/i1', { number: PEER, text: `about that @${PEER}`, quoted: { key: { id: id1 } },
  mentioned: [PEER], options: { presence: 'composing' } });
ok(r.status === 201 && /^3EB0/.test(r.json?.key?.id ?? '') && r.json.message?.conversation === `about that @${PEER}`,
  `sendText with quoted, mentioned and options through B: 201 (${r.status} ${JSON.stringify(r.json)})`);
const idQ = r.json.key.id;
const lp = { matchedText: 'https://example.org/relay', title: 'Relay preview', description: 'through B' };
r = await api(B, 'POST', '/message/sendText/i1', { number: PEER, text: 'see https://example.org/relay', linkPreview: true, wamdLinkPreview: lp });
ok(r.status === 201, `sendText with a link preview through B: 201 (${r.status} ${JSON.stringify(r.json)})`);
const idLp = r.json.key.id;
const doc = crypto.randomBytes((3 << 19) + 7);
r = await api(B, 'POST', '/message/sendMedia/i1', { number: PEER, mediatype: 'document', fileName: 'relay.bin',
  mimetype: 'application/octet-stream', caption: 'doc via B', media: doc.toString('base64') });
ok(r.status === 201 && r.json?.message?.documentMessage?.fileName === 'relay.bin' && r.json.message.documentMessage.fileLength === String(doc.length),
  `sendMedia (base64) through B: 201 with its record (${r.status} ${JSON.stringify(r.json)?.slice(0, 300)})`);
const idDoc = r.json.key.id;
const img = crypto.randomBytes(3000);
const files = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'image/png' }); res.end(img); });
await new Promise((res) => files.listen(0, '127.0.0.1', res));
r = await api(B, 'POST', '/message/sendMedia/i1', { number: PEER, mediatype: 'image', caption: 'img via B',
  media: `http://127.0.0.1:${files.address().port}/relay.png`, quoted: { key: { id: idQ } } });
ok(r.status === 201 && r.json?.message?.imageMessage?.contextInfo?.stanzaId === idQ,
  `sendMedia (URL) with quoted through B: 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 300)})`);
const idImg = r.json.key.id;
files.close();
const voice = crypto.randomBytes(2000);
r = await api(B, 'POST', '/message/sendWhatsAppAudio/i1', { number: PEER, audio: voice.toString('base64'), encoding: false });
ok(r.status === 201 && r.json?.message?.audioMessage?.ptt === true, `sendWhatsAppAudio through B: 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 300)})`);
const idVoice = r.json.key.id;
const sticker = crypto.randomBytes(1500);
r = await api(B, 'POST', '/message/sendSticker/i1', { number: PEER, sticker: sticker.toString('base64') });
ok(r.status === 201 && r.json?.message?.stickerMessage, `sendSticker through B: 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 300)})`);
const idSticker = r.json.key.id;
const more = [idQ, idLp, idDoc, idImg, idVoice, idSticker];
ok(await until(() => more.every((id) => got(id).length), 20000),
  `they reached the peer (${more.map((id) => got(id).length)})`);
const pb = (m) => JSON.parse(JSON.stringify(m.message));
const xq = pb(got(idQ)[0]).extendedTextMessage;
ok(xq?.text === `about that @${PEER}` && xq.contextInfo?.stanzaId === id1 && xq.contextInfo.quotedMessage?.conversation === 'through B 1a7e'
  && JSON.stringify(xq.contextInfo.mentionedJid) === JSON.stringify([PEER_JID]),
`the quote and the mention as sent (${JSON.stringify(xq)})`);
const xl = pb(got(idLp)[0]).extendedTextMessage;
ok(xl?.matchedText === lp.matchedText && xl.title === lp.title && xl.description === lp.description, `the link preview as sent (${JSON.stringify(xl)})`);
const dm = pb(got(idDoc)[0]).documentMessage;
ok(dm?.fileName === 'relay.bin' && dm.caption === 'doc via B', `the document as sent (${JSON.stringify(dm)?.slice(0, 300)})`);
ok(Buffer.compare(await Bl.downloadMediaMessage(got(idDoc)[0], 'buffer', {}), doc) === 0, 'the document\'s bytes, intact');
const im = pb(got(idImg)[0]).imageMessage;
ok(im?.caption === 'img via B' && im.contextInfo?.stanzaId === idQ, `the image and its quote as sent (${JSON.stringify(im?.contextInfo)})`);
ok(Buffer.compare(await Bl.downloadMediaMessage(got(idImg)[0], 'buffer', {}), img) === 0, 'the image\'s bytes, intact');
ok(pb(got(idVoice)[0]).audioMessage?.ptt === true
  && Buffer.compare(await Bl.downloadMediaMessage(got(idVoice)[0], 'buffer', {}), voice) === 0, 'the voice note, intact');
ok(Buffer.compare(await Bl.downloadMediaMessage(got(idSticker)[0], 'buffer', {}), sticker) === 0, 'the sticker, intact');
// mentionsEveryOne through B: A, which has the group cached, names every member
r = await api(A, 'POST', '/group/create/i1', { subject: 'Relay group', participants: [PEER] });
ok(r.status === 201 && r.json.id?.endsWith('@g.us'), `a group created on A (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
const G = r.json.id;
r = await api(B, 'POST', '/message/sendText/i1', { number: G, text: 'all of you 4e1b', mentionsEveryOne: true });
ok(r.status === 201, `sendText with mentionsEveryOne through B: 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
const idAll = r.json.key.id;
more.push(idAll);
ok(await until(() => got(idAll).length, 20000), 'the group text reached the peer');
const allMent = pb(got(idAll)[0]).extendedTextMessage?.contextInfo?.mentionedJid ?? [];
ok(JSON.stringify([...allMent].sort()) === JSON.stringify([PEER_JID, `${W1}@s.whatsapp.net`].sort()),
  `its mentionedJid names every member (${JSON.stringify(allMent)})`);
ok(relayRows() === 0 && psql('SELECT count(*) FROM wamd_relay_media') === '0', 'the relay rows and their files are gone');
// a file over 16 MiB is not carried through the database: 409 naming A
const big = Buffer.alloc((16 << 20) + 1, 7);
r = await api(B, 'POST', '/message/sendMedia/i1', { number: PEER, mediatype: 'document', fileName: 'big.bin',
  media: big.toString('base64') });
ok(r.status === 409 && JSON.stringify(r.json).includes('node: nodeA') && relayRows() === 0,
  `a 16 MiB + 1 document through B: 409 naming A, nothing written (${r.status} ${JSON.stringify(r.json)})`);
const leftB = fs.readdirSync(path.join(B.data, 'media')).filter((f) => f.startsWith('held-') || f.startsWith('send-'));
ok(leftB.length === 0, `nothing staged is left on B (${leftB})`);

// 4. the owner frozen, then killed: the next owner sends what B accepted
A.p.kill('SIGSTOP');
r = await send(B, 'while A is frozen 3c11');
ok(r.status === 201, `a send through B while A is frozen (${r.status} ${JSON.stringify(r.json)})`);
const id2 = r.json.key.id;
ok(relayRows() === 1, 'it waits in wamd_relay');
await sleep(500);
ok(!got(id2).length, 'nobody sent it yet');
A.p.kill('SIGKILL');
await A.done;
ok(await until(() => got(id2).length, (LEASE + 15) * 1000), 'B took i1 and sent it');
ok(await isOpen(B) && relayRows() === 0, 'i1 open on B, the row gone');

// 5. drain B: C takes i1, B keeps answering
const C = await startNode('C');
await up(C);
r = await api(B, 'POST', '/wamd/cluster/drain');
ok(r.status === 200 && r.json.draining === true && r.json.instances.length === 0 && r.json.node === 'nodeB',
  `drain: B holds nothing (${r.status} ${JSON.stringify(r.json)})`);
ok(await until(async () => (await api(C, 'GET', '/wamd/cluster')).json?.instances?.includes('i1') && await isOpen(C),
  (LEASE + 10) * 1000), 'C took i1 and it is open');
ok(B.p.exitCode === null && (await api(B, 'GET', '/')).status === 200, 'B still runs');
ok(await until(() => isOpen(B), 5000), 'B answers i1\'s state from the database');
r = await send(B, 'through drained B 9d4a');
ok(r.status === 201, `a send through the drained B (${r.status})`);
const id3 = r.json.key.id;
ok(await until(() => got(id3).length, 15000), 'it reached the peer from C');
ok(await until(() => hooked(id3), 10000), 'its SEND_MESSAGE webhook, from C');
await sleep(LEASE * 1000 + 500);
r = await api(B, 'GET', '/wamd/cluster');
ok(r.json.draining === true && r.json.instances.length === 0 && r.json.nodes.nodeC === 1,
  `a lease later B took nothing back (${JSON.stringify(r.json)})`);
r = await api(B, 'POST', '/wamd/cluster/undrain');
ok(r.status === 200 && r.json.draining === false, `undrain (${JSON.stringify(r.json)})`);
r = await api(C, 'POST', '/wamd/cluster/drain');
ok(r.status === 200 && r.json.draining === true, 'C drained in turn');
ok(await until(async () => (await api(B, 'GET', '/wamd/cluster')).json?.instances?.includes('i1') && await isOpen(B),
  (LEASE + 10) * 1000), 'the undrained B takes i1 back');

await sleep(500);
for (const id of [id1, idLoc, idReact, idCard, idPoll, ...more, id2, id3]) ok(got(id).length === 1, `${id} reached the peer exactly once (${got(id).length})`);
// webhooks stay the owner's: each once, none again from a later owner
for (const id of [id1, id2, id3]) ok(hooked(id) === 1, `${id}: one SEND_MESSAGE webhook (${hooked(id)})`);
const ids = psql("SELECT count(*) FROM wamd_messages m JOIN instances i ON i.id = m.instance_id WHERE i.name = 'i1' "
  + `AND m.key_id IN ('${id1}', '${id2}', '${id3}')`);
ok(ids === '3', `each is one stored record (${ids})`);
ws.close();
for (const n of [B, C]) n.p.kill('SIGTERM');
for (const n of [B, C]) ok(await n.done === 0, `node ${n.name} exits cleanly`);
await peer.stop();
await sim.stop();
rx.close();
process.exit(0);
