// wamd in a LID-addressed group (suite e2e): wasim creates groups with
// addressing_mode "lid" (members named by LID, phone number beside, as
// WhatsApp does now); wamd and two unmodified Baileys members.
// - findGroupInfos: addressingMode lid and the participants as Baileys'
//   groupMetadata has them (id the LID, phoneNumber beside, admin).
// - wamd's texts decrypt at both members (our sender key went to their LID
//   devices, sessions and pre-keys by LID); they see wamd's LID as
//   participant and its phone number as participantAlt.
// - A member's text reaches MESSAGES_UPSERT with the key the other Baileys
//   member has (participant LID, participantAlt PN, addressingMode lid) and
//   Baileys' message JSON and messageType; wamd's read receipt reaches its
//   author (Baileys credits wamd's LID), the members' receipts reach wamd.
// - A member added later (by LID in the notification) reads our next send;
//   the removed one reads nothing more.
// - wamd killed (SIGKILL) in a burst the server has not acked: every
//   accepted message reaches every member exactly once after the restart.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { freePort, hookReceiver, waitFor } from './e2e_daemon_util.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { waitHistorySynced, createAccount } from '../sim/e2e_msg_util.mjs';

watchdog(200);
const { B } = await baileys();
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-e2e-key-groups-lid-3b9e';
const W = '15550008200';
const P = { b: '15550008201', c: '15550008202', d: '15550008203' };
const jid = (n) => `${n}@s.whatsapp.net`;
const canon = (v) => (Array.isArray(v) ? v.map(canon)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().filter((k) => v[k] !== undefined)
    .map((k) => [k, canon(v[k])])) : v);
const sameJson = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
const pbJson = (m) => B.proto.Message.toObject(B.proto.Message.fromObject(m),
  { longs: String, enums: String, bytes: String, json: true });

const { hooks, url: hookUrl, server: rx } = await hookReceiver();
const sim = await startWasim(wasimExe);
check((await sim.api('POST', '/_sim/accounts', { phone: W, push_name: 'Wamd' })).status === 201, 'wasim account for wamd');
check((await sim.api('POST', '/_sim/groups/addressing', { mode: 'lid' })).status === 200, 'wasim creates LID groups');
const lidOf = async (n) => `${(await sim.api('GET', `/_sim/accounts/${n}`)).json.lid}@lid`;
const cl = {};
for (const [k, n] of Object.entries(P)) {
  await createAccount(sim, n, k.toUpperCase());
  cl[k] = await pairByQr(sim, n, `m${k}`);
  await waitHistorySynced(cl[k]);
  cl[k].msgs = [];
  cl[k].gev = [];
  cl[k].sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) {
      if (!m.key.remoteJid?.endsWith('@g.us')) continue;
      if (!m.key.fromMe && m.message) cl[k].msgs.push(m);
      // a receipt that arrives while Baileys still buffers its own upsert is
      // merged into it (userReceipt) instead of a message-receipt.update
      for (const u of m.userReceipt ?? []) cl[k].receipts.push({ key: m.key, receipt: u });
    }
    cl[k].poke();
  });
  cl[k].receipts = [];
  cl[k].sock.ev.on('message-receipt.update', (us) => { cl[k].receipts.push(...us); cl[k].poke(); });
  cl[k].sock.ev.on('group-participants.update', (u) => { cl[k].gev.push({ kind: 'participants', ...u }); cl[k].poke(); });
  cl[k].sock.ev.on('groups.update', (us) => { for (const u of us) cl[k].gev.push({ kind: 'update', ...u }); cl[k].poke(); });
}
const L = { w: await lidOf(W) };
for (const [k, n] of Object.entries(P)) L[k] = await lidOf(n);
const textOf = (m) => m.message?.extendedTextMessage?.text ?? m.message?.conversation;
const got = async (k, text) => {
  const find = () => cl[k].msgs.find((m) => textOf(m) === text);
  await cl[k].waitFor(find, 20000, `${k} reads "${text}"`);
  return find();
};

const data = tmpDir('wamd-groups-lid-');
const port = await freePort();
let wamdLog = '';
const startWamd = () => {
  const p = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--webhook-allow-loopback',
    '--webhook-initial-delay-ms', '200', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
  return p;
};
let wamd = startWamd();
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const answers = []; // every JSON answer, validated against /openapi.json at the end
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
const hook = (event, pred, what) => waitFor(() => hooks.find((h) => h.event === event && pred(h.data)), 20000, what);

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  let r = await api('POST', '/instance/create', {
    instanceName: 'g1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_UPSERT', 'MESSAGES_UPDATE', 'GROUP_PARTICIPANTS_UPDATE'] },
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
  r = await api('POST', '/settings/set/g1', { rejectCall: false, msgCall: '', groupsIgnore: false,
    alwaysOnline: false, readMessages: true, readStatus: false, syncFullHistory: false });
  check(r.status === 201 || r.status === 200, `readMessages on (${r.status})`);

  r = await api('POST', '/group/create/g1', { subject: 'LID group', participants: [P.b, P.c] });
  dumpOnFail(r.status === 201 && r.json.id?.endsWith('@g.us'), `group/create 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 300)})`);
  const G = r.json.id;
  check(r.json.addressingMode === 'lid', `the group is LID-addressed (${r.json.addressingMode})`);
  const sg = (await sim.api('GET', '/_sim/groups')).json.groups.find((g) => `${g.id}@g.us` === G);
  check(sg?.addressing_mode === 'lid', 'wasim serves it as a LID group');

  // metadata: the participants as Baileys' groupMetadata has them
  r = await api('GET', `/group/findGroupInfos/g1?groupJid=${G}`);
  const bMeta = await cl.b.sock.groupMetadata(G);
  const pick = (ps) => ps.map((p) => ({ id: p.id, phoneNumber: p.phoneNumber, admin: p.admin ?? null }))
    .sort((x, y) => x.id.localeCompare(y.id));
  check(r.status === 200 && r.json.addressingMode === 'lid' && bMeta.addressingMode === 'lid',
    `findGroupInfos: addressingMode lid (${r.json.addressingMode}, Baileys ${bMeta.addressingMode})`);
  check(sameJson(pick(r.json.participants), pick(bMeta.participants)) &&
    r.json.participants.some((p) => p.id === L.w && p.phoneNumber === jid(W) && p.admin === 'superadmin'),
    `findGroupInfos participants equal Baileys' (ours ${JSON.stringify(pick(r.json.participants))} Baileys ${JSON.stringify(pick(bMeta.participants))})`);
  // who made it, set its subject and its description: LIDs with the phone number beside
  r = await api('POST', `/group/updateGroupDescription/g1?groupJid=${G}`, { description: 'lid desc' });
  check(r.status === 201, `updateGroupDescription (${r.status})`);
  await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'update' && e.desc === 'lid desc'), 10000, 'desc at b');
  r = await api('GET', `/group/findGroupInfos/g1?groupJid=${G}`);
  const bMeta2 = await cl.b.sock.groupMetadata(G);
  const owners = ['owner', 'ownerPn', 'subjectOwner', 'subjectOwnerPn', 'subjectTime', 'desc', 'descId', 'descOwner',
    'descOwnerPn', 'descTime'];
  const pickO = (m) => Object.fromEntries(owners.map((k) => [k, m[k] ?? null]));
  check(sameJson(pickO(r.json), pickO(bMeta2)) && r.json.ownerPn === jid(W) && r.json.descOwner === L.w,
    `findGroupInfos: owners as Baileys' (ours ${JSON.stringify(pickO(r.json))} Baileys ${JSON.stringify(pickO(bMeta2))})`);

  // wamd -> members: our key to their LID devices
  const ours = [];
  for (let i = 0; i < 2; i++) {
    r = await api('POST', '/message/sendText/g1', { number: G, text: `wamd lid ${i}` });
    dumpOnFail(r.status === 201, `sendText to the LID group 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
    ours.push(r.json.key.id);
    if (i === 0) {
      // the distribution message went to the members' LID devices, as
      // Baileys addresses a LID group
      let sg0;
      for (let t = 0; t < 200 && sg0?.last_id !== ours[0]; t++) {
        sg0 = (await sim.api('GET', '/_sim/groups')).json.groups.find((g) => `${g.id}@g.us` === G);
        if (sg0.last_id !== ours[0]) await sleep(50);
      }
      check(sg0.last_id === ours[0] && sg0.last_copies.length >= 2 && sg0.last_copies.every((j) => j.endsWith('@lid')) &&
        [L.b, L.c].every((l) => sg0.last_copies.some((j) => j.startsWith(l.split('@')[0]))),
        `our key went to the LID devices (${JSON.stringify(sg0.last_copies)})`);
    }
  }
  for (const k of ['b', 'c']) {
    const m = await got(k, 'wamd lid 0');
    dumpOnFail(m && await got(k, 'wamd lid 1'), `${k} decrypted wamd's texts in the LID group`);
    check(m.key.participant === L.w && m.key.participantAlt === jid(W) && m.key.addressingMode === 'lid',
      `${k} sees wamd by LID, phone number beside (${JSON.stringify(m.key)})`);
  }
  // both members' receipts for it reach wamd (routed by wamd's LID)
  dumpOnFail(await waitFor(() => wamdLog.split(`<- <receipt id=${ours[0]}`).length - 1 >= 2, 10000, 'receipts'),
    'the members\' receipts reached wamd');

  // mentionsEveryOne: every member as the group names them (Evolution
  // mentions its groupMetadata's participant ids: LIDs here)
  r = await api('POST', '/message/sendText/g1', { number: G, text: 'all of you', mentionsEveryOne: true });
  check(r.status === 201, `sendText mentionsEveryOne (${r.status})`);
  const all = (await got('b', 'all of you')).message.extendedTextMessage?.contextInfo?.mentionedJid;
  check(sameJson(all, bMeta.participants.map((p) => p.id)),
    `mentionsEveryOne: mentionedJid = Baileys' participant ids (ours ${JSON.stringify(all)} Baileys ${JSON.stringify(bMeta.participants.map((p) => p.id))})`);

  // a member's new device (our key is held by every device we know): the
  // next send carries our key to it pairwise, in that very stanza
  const b2 = await pairByQr(sim, P.b, 'mb2');
  b2.msgs = [];
  b2.sock.ev.on('messages.upsert', ({ messages }) => { b2.msgs.push(...messages.filter((m) => m.message)); b2.poke(); });
  const b2dev = (await sim.api('GET', `/_sim/accounts/${P.b}`)).json.devices.map((d) => d.device)
    .filter((d) => d > 0).sort((x, y) => y - x)[0];
  await sleep(500); // the devices notification reaches wamd
  r = await api('POST', '/message/sendText/g1', { number: G, text: 'to the new device' });
  check(r.status === 201, 'send after the new device');
  const sgN = async (id) => {
    for (let t = 0; t < 200; t++) {
      const g = (await sim.api('GET', '/_sim/groups')).json.groups.find((x) => `${x.id}@g.us` === G);
      if (g.last_id === id) return g;
      await sleep(50);
    }
    return null;
  };
  const nd = await sgN(r.json.key.id);
  dumpOnFail(nd?.last_copies.includes(`${L.b.split('@')[0]}:${b2dev}@lid`),
    `our key went to b's new device ${b2dev} in that stanza (${JSON.stringify(nd?.last_copies)})`);
  await b2.waitFor(() => b2.msgs.some((m) => textOf(m) === 'to the new device'), 20000, 'the new device reads it');
  check(b2.msgs.some((m) => textOf(m) === 'to the new device'), 'b\'s new device read it');
  await b2.stop();

  // members -> wamd: key, message and messageType as Baileys has them
  const fromMember = async (k, other, content, what) => {
    const sent = await cl[k].sock.sendMessage(G, content);
    const up = await hook('messages.upsert', (d) => d.key.id === sent.key.id, `${what} at wamd`);
    dumpOnFail(up, `${what}: MESSAGES_UPSERT`);
    const find = () => cl[other].msgs.find((m) => m.key.id === sent.key.id);
    await cl[other].waitFor(find, 20000, `${what} at ${other}`);
    const oKey = find()?.key;
    check(oKey && sameJson(up.data.key, oKey) && up.data.key.participant === L[k] &&
      up.data.key.participantAlt === jid(P[k]) && up.data.key.addressingMode === 'lid',
      `${what}: the key equals Baileys' (ours ${JSON.stringify(up.data.key)} vs ${JSON.stringify(oKey)})`);
    const type = B.getContentType(sent.message);
    const ourType = up.data.messageType;
    const ourMsg = up.data.message[ourType === 'conversation' && type === 'extendedTextMessage' ? 'conversation' : type];
    check(ourType === type || (type === 'extendedTextMessage' && ourType === 'conversation'),
      `${what}: messageType ${ourType} = Baileys' ${type}`);
    if (type !== 'extendedTextMessage')
      check(sameJson(ourMsg, pbJson(sent.message)[type]),
        `${what}: message.${type} equals Baileys' JSON\n#  ours    ${JSON.stringify(canon(ourMsg))}\n#  Baileys ${JSON.stringify(canon(pbJson(sent.message)[type]))}`);
    else
      check(ourMsg === sent.message.extendedTextMessage.text, `${what}: the text intact`);
    // wamd's read receipt names the author by LID: Baileys credits wamd's LID
    const rc = () => cl[k].receipts.find((u) => u.key.id === sent.key.id && u.receipt.userJid === L.w &&
      u.receipt.readTimestamp);
    await waitFor(rc, 10000, `wamd's read receipt at ${k}`);
    check(rc(), `${what}: wamd's read receipt reached the author (${JSON.stringify(rc()?.receipt ?? cl[k].receipts)})`);
    return up;
  };
  await fromMember('b', 'c', { text: 'b in lid' }, 'b text');
  await fromMember('c', 'b', { location: { degreesLatitude: -19.93359, degreesLongitude: -43.93851, name: 'Praça' } },
    'c location');

  // remove c, add d (named by LID in the notification): d reads, c does not
  // GROUP_PARTICIPANTS_UPDATE: participantsData names each LID's phone
  // number as Baileys' event has it (participant.phoneNumber)
  const partsEv = async (action, who) => {
    const h = await hook('group-participants.update', (d) => d.action === action && d.participants[0] === L[who],
      `${action} ${who} webhook`);
    await cl.b.waitFor(() => cl.b.gev.some((e) => e.action === action), 10000, `${action} at b`);
    const be = cl.b.gev.find((e) => e.action === action).participants[0];
    const pd = h?.data.participantsData?.[0];
    check(pd && pd.jid === be.id && pd.phoneNumber === be.phoneNumber && be.phoneNumber === jid(P[who]),
      `${action}: participantsData ${JSON.stringify(pd)} as Baileys' ${JSON.stringify(be)}`);
  };
  r = await api('POST', `/group/updateParticipant/g1?groupJid=${G}`, { action: 'remove', participants: [P.c] });
  check(r.status === 201 && r.json.updateParticipants[0].status === '200', `remove c (${JSON.stringify(r.json)})`);
  await cl.c.waitFor(() => cl.c.gev.some((e) => e.action === 'remove'), 10000, 'remove at c');
  await partsEv('remove', 'c');
  r = await api('POST', `/group/updateParticipant/g1?groupJid=${G}`, { action: 'add', participants: [P.d] });
  check(r.status === 201 && r.json.updateParticipants[0].status === '200', `add d (${JSON.stringify(r.json)})`);
  await cl.d.waitFor(() => cl.d.gev.some((e) => e.action === 'add'), 10000, 'add at d');
  await partsEv('add', 'd');
  r = await api('GET', `/group/findGroupInfos/g1?groupJid=${G}`);
  check(r.json.participants.some((p) => p.id === L.d && p.phoneNumber === jid(P.d)) &&
    !r.json.participants.some((p) => p.id === L.c), `the cache follows: d by LID with its number, c gone (${JSON.stringify(r.json.participants)})`);
  const cBefore = cl.c.msgs.length;
  r = await api('POST', '/message/sendText/g1', { number: G, text: 'after the change' });
  check(r.status === 201, 'send after the change');
  dumpOnFail(await got('d', 'after the change') && await got('b', 'after the change'), 'd (added later) and b read it');
  await sleep(800);
  check(cl.c.msgs.length === cBefore, 'the removed member got nothing more');

  // SIGKILL in a burst the server has not acked: after the restart every
  // accepted message reaches every member exactly once (the stanzas as recorded)
  const wdev = (await sim.api('GET', `/_sim/accounts/${W}`)).json.devices.map((d) => d.device).find((d) => d > 0);
  check((await sim.api('POST', '/_sim/fault', { phone: W, device: wdev, action: 'ack_drop' })).status === 200,
    'the server stops acking wamd');
  const burst = [];
  for (let i = 0; i < 8; i++) {
    r = await api('POST', '/message/sendText/g1', { number: G, text: `lid burst ${i}` });
    if (r.status === 201) burst.push(`lid burst ${i}`);
  }
  await sleep(300);
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.on('exit', res));
  check(burst.length === 8, 'the burst was accepted, then wamd was killed');
  check((await sim.api('POST', '/_sim/fault', { phone: W, device: wdev, action: 'clear' })).status === 200, 'acks again');
  wamd = startWamd();
  let back = false;
  for (let i = 0; i < 300 && !back; i++) {
    try { back = (await api('GET', '/instance/connectionState/g1')).json?.instance?.state === 'open'; } catch { /* starting */ }
    if (!back) await sleep(100);
  }
  dumpOnFail(back, 'wamd open again after SIGKILL');
  for (const k of ['b', 'd']) {
    const all = () => burst.every((t) => cl[k].msgs.some((m) => textOf(m) === t));
    await cl[k].waitFor(all, 30000, `the whole burst at ${k}`);
    await sleep(1000);
    const counts = burst.map((t) => cl[k].msgs.filter((m) => textOf(m) === t).length);
    check(counts.every((n) => n === 1), `${k} got every accepted message exactly once (${counts.join(',')})`);
  }

  await checkRecordedAnswers(api, answers, check, ['POST /group/create/{instance}', 'GET /group/findGroupInfos/{instance}',
    'POST /group/updateParticipant/{instance}']);
  const code = await new Promise((res) => { wamd.on('exit', (c) => res(c)); wamd.kill('SIGTERM'); });
  dumpOnFail(code === 0 && !/Sanitizer|runtime error/.test(wamdLog), `wamd stopped cleanly (exit ${code})`);
} finally {
  wamd.kill('SIGTERM');
  for (const c of Object.values(cl)) await c.stop();
  await sim.stop();
  rx.close();
}
console.log('ok');
process.exit(0);
