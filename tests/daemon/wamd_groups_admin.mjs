// wamd group admin features end to end (suite e2e): wamd (real engine) and
// two unmodified Baileys clients on wasim. Who may add members
// (member_add_mode): a member who is not an admin is refused, then allowed
// once wamd sets all_member_add, and both ends see the change; an add
// refused for the user's privacy answers 403 with the invite (add_request
// code and expiration) in the same raw shape as Baileys gets it; sendInvite
// sends Evolution's link text, or with that code WhatsApp's invite message
// (groupInviteMessage), which Baileys receives as sent, and one Baileys
// sends reaches wamd with the JSON Baileys made. Join
// approval: set through the API (a member who is not an admin gets 403),
// a join by link becomes a request that wamd sees as a webhook, lists,
// approves (the requester becomes a member) and rejects (the requester is
// told); wamd's own join into a Baileys group with approval becomes a
// request that the Baileys admin sees and approves. A revoked invite link
// reaches members as an event. Every answer is checked against /openapi.json.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { freePort, hookReceiver, waitFor } from './e2e_daemon_util.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { waitHistorySynced, createAccount } from '../sim/e2e_msg_util.mjs';

// protobufjs' toJSON of a Message (what Evolution's `message` is built from)
const sameKeys = (o, ks) => JSON.stringify(Object.keys(o).sort()) === JSON.stringify([...ks].sort());
const pbJson = (m) => B.proto.Message.toObject(B.proto.Message.fromObject(m),
  { longs: String, enums: String, bytes: String, json: true });
const canon = (v) => (Array.isArray(v) ? v.map(canon)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));

watchdog(110);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-e2e-key-gadmin-5c21';
const W = '15550009100';
const P = { b: '15550009101', e: '15550009102' };
const X = '15550009103'; // added by a member
const F = '15550009104'; // refuses adds (privacy)
const jid = (n) => `${n}@s.whatsapp.net`;

const { hooks, url: hookUrl, server: rx } = await hookReceiver();
// a Baileys call that must fail: the server's code (Boom data) or 'ok'
const refused = async (p) => { try { await p; return 'ok'; } catch (e) { return e?.data ?? e?.output?.statusCode ?? String(e); } };

const { B } = await baileys();
const sim = await startWasim(wasimExe);
check((await sim.api('POST', '/_sim/accounts', { phone: W, push_name: 'Wamd' })).status === 201, 'wasim account for wamd');
await createAccount(sim, X, 'X');
await createAccount(sim, F, 'F');
check((await sim.api('POST', '/_sim/groups/refuse-adds', { phone: F })).status === 200, 'F refuses adds');
const cl = {};
for (const [k, n] of Object.entries(P)) {
  await createAccount(sim, n, k.toUpperCase());
  cl[k] = await pairByQr(sim, n, `a${k}`);
  await waitHistorySynced(cl[k]);
  cl[k].texts = [];
  cl[k].gev = [];
  cl[k].eph = [];
  cl[k].errs = [];
  cl[k].jr = [];
  cl[k].dm = [];
  cl[k].pics = [];
  cl[k].stubs = [];
  cl[k].sock.ev.on('contacts.update', (us) => { for (const u of us) cl[k].pics.push(u); cl[k].poke(); });
  cl[k].sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) if (!m.key.fromMe && m.key.remoteJid?.endsWith('@s.whatsapp.net') && m.message) cl[k].dm.push(m);
    cl[k].poke();
  });
  cl[k].sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) {
      if (!m.key.remoteJid?.endsWith('@g.us')) continue;
      if (m.messageStubType) cl[k].stubs.push(m);
      const pm = m.message?.protocolMessage;
      if (pm && pm.ephemeralExpiration !== undefined && pm.ephemeralExpiration !== null)
        cl[k].eph.push(Number(pm.ephemeralExpiration));
      const text = m.message?.extendedTextMessage?.text ?? m.message?.conversation;
      if (text !== undefined && !m.key.fromMe) cl[k].texts.push(text);
    }
    cl[k].poke();
  });
  cl[k].sock.ev.on('messages.update', (us) => {
    for (const u of us) if (u.update?.status === 0) cl[k].errs.push({ id: u.key.id, why: u.update.messageStubParameters?.[0] });
    cl[k].poke();
  });
  cl[k].sock.ev.on('group-participants.update', (u) => { cl[k].gev.push({ kind: 'participants', ...u }); cl[k].poke(); });
  cl[k].sock.ev.on('groups.update', (us) => { for (const u of us) cl[k].gev.push({ kind: 'update', ...u }); cl[k].poke(); });
  cl[k].sock.ev.on('group.join-request', (u) => { cl[k].jr.push(u); cl[k].poke(); });
}

const data = tmpDir('wamd-gadmin-');
const port = await freePort();
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--webhook-allow-loopback',
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
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-12000)); check(cond, msg); };
const gw = (ev, pred, what) => waitFor(() => hooks.find((h) => h.event === ev && pred(h.data)), 10000, what);

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  let r = await api('POST', '/instance/create', {
    instanceName: 'ga', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_UPSERT', 'GROUPS_UPSERT', 'GROUP_UPDATE',
      'GROUP_PARTICIPANTS_UPDATE', 'SEND_MESSAGE', 'CONTACTS_UPDATE'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/ga')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: W, qr })).status === 200, 'phone scanned the QR');
  let open = false;
  for (let i = 0; i < 300 && !open; i++) {
    open = (await api('GET', '/instance/connectionState/ga')).json?.instance?.state === 'open';
    if (!open) await sleep(100);
  }
  dumpOnFail(open, 'wamd open');

  r = await api('POST', '/group/create/ga', { subject: 'Admin', participants: [P.b] });
  dumpOnFail(r.status === 201, `group/create 201 (${r.status})`);
  const G = r.json.id;
  const simGroup = async (g = G) => (await sim.api('GET', '/_sim/groups')).json.groups.find((x) => `${x.id}@g.us` === g);
  r = await api('GET', `/group/findGroupInfos/ga?groupJid=${G}`);
  check(r.status === 200 && r.json.memberAddMode === false && r.json.joinApprovalMode === false,
    `a new group: admins add, no approval (${JSON.stringify(r.json)?.slice(0, 300)})`);
  let meta = await cl.b.sock.groupMetadata(G);
  check(meta.memberAddMode === false && meta.joinApprovalMode === false, 'Baileys reads the same');

  // ---- who may add members ----
  check(await refused(cl.b.sock.groupMemberAddMode(G, 'all_member_add')) === 403, 'a member who is not an admin cannot change it');
  const bAdd = await cl.b.sock.groupParticipantsUpdate(G, [jid(X)], 'add').then(() => 'ok', (e) => e?.data ?? String(e));
  check(bAdd === 403, `admin_add: a member who is not an admin cannot add (${bAdd})`);
  r = await api('POST', `/group/updateSetting/ga?groupJid=${G}`, { action: 'all_member_add' });
  check(r.status === 201, `updateSetting all_member_add 201 (${r.status})`);
  await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'update' && e.memberAddMode === true), 10000, 'add mode at b');
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === G && d[0].memberAddMode === true, 'add mode webhook'),
    'GROUP_UPDATE memberAddMode true at wamd');
  check((await simGroup()).add_all === true, 'the server has it');
  const bRes = await cl.b.sock.groupParticipantsUpdate(G, [jid(X), jid(F)], 'add');
  check(bRes.find((p) => p.jid === jid(X))?.status === '200', `all_member_add: the member added X (${JSON.stringify(bRes)})`);
  dumpOnFail(await gw('group-participants.update', (d) => d.id === G && d.action === 'add' && d.participants.includes(jid(X)),
    'x added webhook'), 'the member\'s add reached wamd');
  r = await api('GET', `/group/findGroupInfos/ga?groupJid=${G}`);
  check(r.json.memberAddMode === true && r.json.participants.some((p) => p.id === jid(X)), 'the metadata has the mode and X');

  // ---- an add refused for privacy: the invite to send instead ----
  const bF = bRes.find((p) => p.jid === jid(F));
  check(bF?.status === '403' && bF.content?.content?.[0]?.tag === 'add_request', `Baileys gets 403 with add_request (${JSON.stringify(bF)})`);
  r = await api('POST', `/group/updateParticipant/ga?groupJid=${G}`, { action: 'add', participants: [F] });
  const wF = r.json?.updateParticipants?.[0];
  dumpOnFail(r.status === 201 && wF?.status === '403', `updateParticipant add F: 403 (${r.status} ${JSON.stringify(r.json)})`);
  const shape = (p) => JSON.stringify({ status: p.status, jid: p.jid, tag: p.content.tag, attrs: Object.keys(p.content.attrs).sort(),
    ctag: p.content.content?.[0]?.tag, cattrs: Object.keys(p.content.content?.[0]?.attrs ?? {}).sort() });
  check(shape(wF) === shape(bF), `the same raw shape as Baileys' (${shape(wF)} vs ${shape(bF)})`);
  const ar = wF.content.content[0].attrs;
  const now = Math.floor(Date.now() / 1000);
  check(/^[A-Za-z0-9]{22}$/.test(ar.code) && Number(ar.expiration) > now + 86400 && Number(ar.expiration) < now + 8 * 86400,
    `add_request code and expiration (${JSON.stringify(ar)})`);
  check(!(await simGroup()).members.some((m) => m.phone === F), 'F was not added');

  // ---- sendInvite: Evolution's link text, or the invite message with the add_request ----
  r = await api('POST', `/group/sendInvite/ga?groupJid=${G}`, { description: 'Venha', numbers: [P.e] });
  const link = r.json?.inviteUrl;
  dumpOnFail(r.status === 200 && r.json.send === true && /^https:\/\/chat\.whatsapp\.com\/[A-Za-z0-9]{22}$/.test(link),
    `sendInvite 200 with the link (${r.status} ${JSON.stringify(r.json)})`);
  await cl.e.waitFor(() => cl.e.dm.some((m) => m.message.conversation === `Venha\n\n${link}`), 15000, 'invite text at e');
  check(link === `https://chat.whatsapp.com/${(await simGroup()).invite}`, 'the link is the group\'s');
  r = await api('POST', `/group/sendInvite/ga?groupJid=${G}`, { description: 'Convite', numbers: [P.e],
    inviteCode: ar.code, inviteExpiration: ar.expiration });
  dumpOnFail(r.status === 200 && r.json.send === true && r.json.inviteCode === ar.code,
    `sendInvite with the add_request 200 (${r.status} ${JSON.stringify(r.json)})`);
  const sentInv = await gw('send.message', (d) => d.messageType === 'groupInviteMessage', 'invite SEND_MESSAGE');
  await cl.e.waitFor(() => cl.e.dm.some((m) => m.message.groupInviteMessage), 15000, 'invite message at e');
  const gotInv = pbJson(cl.e.dm.find((m) => m.message.groupInviteMessage).message).groupInviteMessage;
  check(gotInv.groupJid === G && gotInv.inviteCode === ar.code && gotInv.inviteExpiration === ar.expiration &&
    gotInv.groupName === 'Admin' && gotInv.caption === 'Convite', `Baileys received the invite message (${JSON.stringify(gotInv)})`);
  check(sentInv && same(sentInv.data.message.groupInviteMessage, gotInv),
    `SEND_MESSAGE's groupInviteMessage is what Baileys received (${JSON.stringify(sentInv?.data.message)})`);
  r = await api('POST', `/group/sendInvite/ga?groupJid=${G}`, { numbers: [P.e], inviteCode: ar.code });
  check(r.status === 400, `an inviteCode without its expiration: 400 (${r.status})`);
  r = await api('POST', `/group/sendInvite/ga?groupJid=${G}`, { description: 'x' });
  check(r.status === 400, `sendInvite without numbers: 400 (${r.status})`);
  check(await refused(cl.b.sock.groupInviteCode(G)) === 401, 'B may not read the link, so B could not send it');
  // received: one Baileys sends, wamd's MESSAGES_UPSERT carries Baileys' JSON
  const inv = { groupInviteMessage: { groupJid: G, inviteCode: 'Abc123Abc123Abc123Abc1', inviteExpiration: now + 86400,
    groupName: 'Admin', caption: 'entre' } };
  const invId = await cl.b.sock.relayMessage(jid(W), inv, {});
  const upInv = await gw('messages.upsert', (d) => d.key.id === invId, 'invite upsert');
  dumpOnFail(upInv && upInv.data.messageType === 'groupInviteMessage' &&
    same(upInv.data.message.groupInviteMessage, pbJson(inv).groupInviteMessage),
    `a received invite message: Baileys' JSON (${JSON.stringify(upInv?.data.message)} vs ${JSON.stringify(pbJson(inv))})`);

  // ---- the group's picture: the server stores and serves it, the members see the change ----
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(300), Buffer.from([0xff, 0xd9])]);
  r = await api('POST', `/group/updateGroupPicture/ga?groupJid=${G}`, { image: jpeg.toString('base64') });
  dumpOnFail(r.status === 201 && r.json?.update === 'success', `updateGroupPicture 201 (${r.status} ${JSON.stringify(r.json)})`);
  await cl.b.waitFor(() => cl.b.pics.some((u) => u.id === G && u.imgUrl === 'changed'), 10000, 'picture change at b');
  const picId = (await simGroup()).picture_id;
  await cl.b.waitFor(() => cl.b.stubs.some((m) => m.messageStubType === B.WAMessageStubType.GROUP_CHANGE_ICON), 10000, 'icon stub at b');
  const stub = cl.b.stubs.find((m) => m.messageStubType === B.WAMessageStubType.GROUP_CHANGE_ICON);
  check(picId && stub.messageStubParameters?.[0] === picId && stub.participant === jid(W),
    `Baileys' GROUP_CHANGE_ICON names wamd and the picture (${JSON.stringify({ p: stub.participant, s: stub.messageStubParameters, picId })})`);
  const picUrl = await cl.b.sock.profilePictureUrl(G, 'image');
  const served = Buffer.from(await (await fetch(`http://127.0.0.1:${sim.port}${new URL(picUrl).pathname}`)).arrayBuffer());
  check(served.equals(jpeg), `Baileys' profilePictureUrl serves the bytes wamd set (${picUrl}, ${served.length} bytes)`);
  r = await api('POST', `/group/updateGroupPicture/ga?groupJid=${G}`, { image: Buffer.from('GIF89a').toString('base64') });
  check(r.status === 400, `updateGroupPicture with no JPEG: 400 (${r.status})`);
  r = await api('POST', `/group/updateGroupPicture/ga?groupJid=${G}`, {});
  check(r.status === 400, `updateGroupPicture without image: 400 (${r.status})`);
  check((await simGroup()).picture_id === picId, 'the refused ones changed nothing');
  // a locked group's picture is for admins: Baileys' own iq (its updateProfilePicture, without the resize)
  const bPic = () => refused(cl.b.sock.query({ tag: 'iq', attrs: { target: G, to: 's.whatsapp.net', type: 'set',
    xmlns: 'w:profile:picture' }, content: [{ tag: 'picture', attrs: { type: 'image' }, content: jpeg }] }));
  check((await api('POST', `/group/updateSetting/ga?groupJid=${G}`, { action: 'locked' })).status === 201, 'locked');
  check(await bPic() === 403, 'locked: a member who is not an admin may not change the picture');
  check((await simGroup()).picture_id === picId, 'and nothing changed');
  check((await api('POST', `/group/updateSetting/ga?groupJid=${G}`, { action: 'unlocked' })).status === 201, 'unlocked');
  check(await bPic() === 'ok', 'unlocked: a member may');
  const picId2 = (await simGroup()).picture_id;
  check(picId2 !== picId, 'and the server has the new one');
  // a member's change reaches wamd as GROUP_UPDATE (author, Baileys' imgUrl word, the new id)
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === G && d[0].imgUrl === 'changed' && d[0].author === jid(P.b) &&
    d[0].pictureId === picId2, 'picture webhook'), 'GROUP_UPDATE for a picture a member changed');
  // findGroupInfos carries the picture's URL, the one Baileys gets, serving the bytes
  r = await api('GET', `/group/findGroupInfos/ga?groupJid=${G}`);
  const bUrl = await cl.b.sock.profilePictureUrl(G, 'image');
  check(r.status === 200 && r.json.pictureUrl === bUrl && r.json.pictureUrl.includes(picId2),
    `findGroupInfos pictureUrl is the current picture (${r.json.pictureUrl} vs Baileys ${bUrl})`);
  const served2 = Buffer.from(await (await fetch(`http://127.0.0.1:${sim.port}${new URL(r.json.pictureUrl).pathname}`)).arrayBuffer());
  check(served2.equals(jpeg), `pictureUrl serves the picture (${served2.length} bytes)`);
  // and as Evolution's CONTACTS_UPDATE of the group (Baileys' contacts.update, the URL asked for)
  const cu = await gw('contacts.update', (d) => Array.isArray(d) && d[0]?.remoteJid === G && d[0].profilePicUrl?.includes(picId2),
    'picture contacts.update');
  dumpOnFail(cu && cu.data.length === 1 && sameKeys(cu.data[0], ['remoteJid', 'profilePicUrl', 'instanceId']) &&
    cu.data[0].profilePicUrl === bUrl, `CONTACTS_UPDATE of the group: its new picture's URL (${JSON.stringify(cu?.data)})`);

  r = await api('POST', `/group/updateSetting/ga?groupJid=${G}`, { action: 'admin_add' });
  check(r.status === 201, 'updateSetting admin_add');
  await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'update' && e.memberAddMode === false), 10000, 'add mode off at b');
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === G && d[0].memberAddMode === false, 'add mode off webhook'),
    'GROUP_UPDATE memberAddMode false');

  // ---- join approval ----
  check(await refused(cl.b.sock.groupJoinApprovalMode(G, 'on')) === 403, 'a member who is not an admin cannot turn approval on');
  r = await api('POST', `/group/updateSetting/ga?groupJid=${G}`, { action: 'approval_on' });
  check(r.status === 201, `updateSetting approval_on 201 (${r.status})`);
  await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'update' && e.joinApprovalMode === true), 10000, 'approval at b');
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === G && d[0].joinApprovalMode === true, 'approval webhook'),
    'GROUP_UPDATE joinApprovalMode true at wamd');
  meta = await cl.b.sock.groupMetadata(G);
  check(meta.joinApprovalMode === true, 'Baileys reads the group as needing approval');
  r = await api('GET', `/group/findGroupInfos/ga?groupJid=${G}`);
  check(r.json.joinApprovalMode === true, 'findGroupInfos too');
  r = await api('GET', `/group/inviteCode/ga?groupJid=${G}`);
  const code = r.json?.inviteCode;
  await cl.e.sock.groupAcceptInvite(code);
  const req = await gw('group-participants.update', (d) => d.id === G && d.action === 'join_request' && d.requestAction === 'created',
    'join request webhook');
  dumpOnFail(req && req.data.participants[0] === jid(P.e) && req.data.method === 'invite_link' && req.data.author === jid(P.e),
    `the join became a request wamd sees (${JSON.stringify(req?.data)})`);
  let sg = await simGroup();
  check(!sg.members.some((m) => m.phone === P.e) && sg.requests.includes(P.e), 'E is not a member, E\'s request is pending');
  check(await refused(cl.b.sock.groupRequestParticipantsList(G)) === 403, 'a member who is not an admin cannot list requests');
  r = await api('GET', `/group/joinRequests/ga?groupJid=${G}`);
  check(r.status === 200 && r.json.joinRequests.length === 1 && r.json.joinRequests[0].jid === jid(P.e) &&
    Math.abs(r.json.joinRequests[0].request_time - now) < 120, `joinRequests lists E (${JSON.stringify(r.json)})`);
  r = await api('POST', `/group/updateJoinRequests/ga?groupJid=${G}`, { action: 'approve', participants: [P.e, X] });
  check(r.status === 201 && r.json.updateJoinRequests.find((p) => p.jid === jid(P.e))?.status === '200' &&
    r.json.updateJoinRequests.find((p) => p.jid === jid(X))?.status === '404',
    `approve E (X has no request: 404) (${r.status} ${JSON.stringify(r.json)})`);
  dumpOnFail(await gw('group-participants.update', (d) => d.id === G && d.action === 'add' && d.participants.includes(jid(P.e)),
    'approved add webhook'), 'the approved requester was added');
  meta = await cl.e.sock.groupMetadata(G);
  check(meta.participants.some((p) => p.id === jid(P.e)), 'E is a member and reads the group');
  r = await api('GET', `/group/joinRequests/ga?groupJid=${G}`);
  check(r.json.joinRequests.length === 0, 'no request pending');

  // rejected: E leaves and asks again
  await cl.e.sock.groupLeave(G);
  await gw('group-participants.update', (d) => d.id === G && d.action === 'remove' && d.participants.includes(jid(P.e)), 'e left');
  await cl.e.sock.groupAcceptInvite(code);
  await gw('group-participants.update', (d) => d.id === G && d.action === 'join_request' && d.requestAction === 'created' &&
    hooks.filter((h) => h.data?.action === 'join_request').length >= 2, 'second request');
  r = await api('POST', `/group/updateJoinRequests/ga?groupJid=${G}`, { action: 'reject', participants: [P.e] });
  check(r.status === 201 && r.json.updateJoinRequests[0].status === '200', `reject E (${JSON.stringify(r.json)})`);
  dumpOnFail(await gw('group-participants.update', (d) => d.id === G && d.action === 'join_request' && d.requestAction === 'rejected' &&
    d.participants[0] === jid(P.e) && d.author === jid(W), 'rejected webhook'), 'the rejection reached wamd');
  await cl.e.waitFor(() => cl.e.jr.some((j) => j.id === G && j.action === 'rejected'), 10000, 'rejection at e');
  check(!(await simGroup()).members.some((m) => m.phone === P.e) && (await simGroup()).requests.length === 0, 'E is out, nothing pending');

  // ---- the invite link changed: an event at every member ----
  r = await api('POST', `/group/revokeInviteCode/ga?groupJid=${G}`);
  const code2 = r.json?.inviteCode;
  check(r.status === 201 && code2 && code2 !== code, 'revoked');
  await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'update' && e.inviteCode === code2), 10000, 'new code at b');
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === G && d[0].inviteCode === code2, 'invite webhook'),
    'GROUP_UPDATE inviteCode at wamd');

  // ---- wamd asks to join a Baileys group with approval ----
  const g2 = await cl.b.sock.groupCreate('Fechado', [jid(P.e)]);
  await cl.b.sock.groupJoinApprovalMode(g2.id, 'on');
  const code3 = await cl.b.sock.groupInviteCode(g2.id);
  r = await api('GET', `/group/acceptInviteCode/ga?inviteCode=${code3}`);
  dumpOnFail(r.status === 200 && r.json.accepted === false && r.json.joinRequest === true && r.json.groupJid === g2.id,
    `acceptInviteCode into an approval group: a request (${r.status} ${JSON.stringify(r.json)})`);
  await cl.b.waitFor(() => cl.b.jr.some((j) => j.id === g2.id && j.action === 'created' && j.participant === jid(W)), 10000,
    'wamd\'s request at b');
  const list = await cl.b.sock.groupRequestParticipantsList(g2.id);
  check(list.length === 1 && list[0].jid === jid(W), `Baileys lists wamd's request (${JSON.stringify(list)})`);
  const upd = await cl.b.sock.groupRequestParticipantsUpdate(g2.id, [jid(W)], 'approve');
  check(upd[0]?.status === '200', `Baileys approves (${JSON.stringify(upd)})`);
  dumpOnFail(await gw('group-participants.update', (d) => d.id === g2.id && d.action === 'add' && d.participants.includes(jid(W)),
    'wamd added webhook'), 'wamd was added to the group');
  r = await api('GET', `/group/findGroupInfos/ga?groupJid=${g2.id}`);
  check(r.status === 200 && r.json.joinApprovalMode === true && r.json.participants.some((p) => p.id === jid(W)),
    'wamd reads the group it now belongs to');
  // a revoke by the Baileys admin reaches wamd
  const code4 = await cl.b.sock.groupRevokeInvite(g2.id);
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === g2.id && d[0].inviteCode === code4, 'b revoke webhook'),
    'a revoke by another admin reaches wamd as GROUP_UPDATE inviteCode');

  // bad input
  r = await api('POST', `/group/updateJoinRequests/ga?groupJid=${G}`, { action: 'maybe', participants: [P.e] });
  check(r.status === 400, `updateJoinRequests with an unknown action: 400 (${r.status})`);
  r = await api('GET', '/group/joinRequests/ga');
  check(r.status === 400, `joinRequests without groupJid: 400 (${r.status})`);

  await checkRecordedAnswers(api, answers, check, [
    'GET /group/joinRequests/{instance}',
    'POST /group/updateJoinRequests/{instance}',
    'GET /group/acceptInviteCode/{instance}',
    'POST /group/updateParticipant/{instance}',
    'POST /group/updateSetting/{instance}',
    'GET /group/findGroupInfos/{instance}',
    'POST /group/sendInvite/{instance}',
    'POST /group/updateGroupPicture/{instance}',
  ]);
  const exit = await new Promise((res) => { wamd.on('exit', (c) => res(c)); wamd.kill('SIGTERM'); });
  dumpOnFail(exit === 0 && !/Sanitizer|runtime error/.test(wamdLog), `wamd stopped cleanly (exit ${exit})`);
} finally {
  wamd.kill('SIGTERM');
  for (const c of Object.values(cl)) await c.stop();
  await sim.stop();
  rx.close();
}
console.log('ok');
process.exit(0);
