// wamd groups end to end (suite e2e): wamd (real engine) and three
// unmodified Baileys clients on wasim. The group is created through wamd's
// Evolution API; every member's texts decrypt at every other member both
// ways (sender keys), group messages reach wamd as MESSAGES_UPSERT with
// key.participant; sendText with mentionsEveryOne mentions every member;
// subject / description / promote / demote done through
// the API arrive as events at Baileys, and those done by Baileys arrive as
// webhooks at wamd; a removed member cannot read what follows (our key was
// replaced); a member added later reads our next message; bad input gets
// Evolution's status codes and changes nothing.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { freePort, hookReceiver, waitFor } from './e2e_daemon_util.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { waitHistorySynced, createAccount } from '../sim/e2e_msg_util.mjs';

watchdog(240);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-e2e-key-groups-5d1e';
const W = '15550008000';
const P = { b: '15550008001', c: '15550008002', d: '15550008003' };
const jid = (n) => `${n}@s.whatsapp.net`;

const { hooks, url: hookUrl, server: rx } = await hookReceiver();

const sim = await startWasim(wasimExe);
check((await sim.api('POST', '/_sim/accounts', { phone: W, push_name: 'Wamd' })).status === 201, 'wasim account for wamd');
const cl = {};
for (const [k, n] of Object.entries(P)) {
  await createAccount(sim, n, k.toUpperCase());
  cl[k] = await pairByQr(sim, n, `m${k}`);
  await waitHistorySynced(cl[k]);
  cl[k].texts = [];
  cl[k].gev = [];
  cl[k].sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) {
      if (m.key.fromMe || !m.key.remoteJid?.endsWith('@g.us')) continue;
      const text = m.message?.extendedTextMessage?.text ?? m.message?.conversation;
      if (text !== undefined) cl[k].texts.push({ text, participant: m.key.participant, group: m.key.remoteJid,
        mentioned: m.message?.extendedTextMessage?.contextInfo?.mentionedJid ?? [] });
    }
    cl[k].poke();
  });
  cl[k].sock.ev.on('group-participants.update', (u) => { cl[k].gev.push({ kind: 'participants', ...u }); cl[k].poke(); });
  cl[k].sock.ev.on('groups.update', (us) => { for (const u of us) cl[k].gev.push({ kind: 'update', ...u }); cl[k].poke(); });
  cl[k].sock.ev.on('groups.upsert', (gs) => { for (const g of gs) cl[k].gev.push({ kind: 'upsert', id: g.id }); cl[k].poke(); });
}

const data = tmpDir('wamd-groups-');
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
// every JSON answer, validated against /openapi.json at the end
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

try {
  for (let i = 0; i < 100; i++) {
    try { if ((await api('GET', '/')).status === 200) break; } catch { /* not yet */ }
    await sleep(50);
  }
  let r = await api('POST', '/instance/create', {
    instanceName: 'g1', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['CONNECTION_UPDATE', 'MESSAGES_UPSERT', 'GROUPS_UPSERT',
      'GROUP_UPDATE', 'GROUP_PARTICIPANTS_UPDATE'] },
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

  // bad input first: nothing exists yet, nothing gets created
  r = await api('GET', '/group/findGroupInfos/g1');
  check(r.status === 400 && r.json.response.message[0].startsWith('The group id needs'), `no groupJid: 400 (${r.status})`);
  r = await api('GET', '/group/findGroupInfos/g1?groupJid=120363999999999999@g.us');
  dumpOnFail(r.status === 404 && r.json.response.message[0] === 'Error fetching group', `unknown group: 404 (${r.status} ${JSON.stringify(r.json)})`);
  r = await api('GET', '/group/fetchAllGroups/g1');
  check(r.status === 400, `fetchAllGroups without getParticipants: 400 (${r.status})`);
  r = await api('POST', '/group/create/g1', { subject: 'x', participants: ['not a number'] });
  check(r.status === 400, `create with a bad participant: 400 (${r.status})`);
  check((await sim.api('GET', '/_sim/groups')).json.groups.length === 0, 'no group was created by bad input');

  // create through the API, Baileys members get it
  r = await api('POST', '/group/create/g1', { subject: 'Equipe ✓', description: 'first desc',
    participants: [P.b, P.c] });
  dumpOnFail(r.status === 201 && r.json.id?.endsWith('@g.us'), `group/create 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 300)})`);
  const G = r.json.id;
  check(r.json.subject === 'Equipe ✓' && r.json.size === 3 && r.json.owner === jid(W) && r.json.desc === 'first desc',
    'create answers Evolution\'s group object (subject, size, owner, desc)');
  check(JSON.stringify(r.json.participants.map((p) => [p.id, p.admin]).sort()) ===
    JSON.stringify([[jid(P.b), null], [jid(P.c), null], [jid(W), 'superadmin']].sort()), `participants with admin roles (${JSON.stringify(r.json.participants)})`);
  for (const k of ['b', 'c'])
    await cl[k].waitFor(() => cl[k].gev.some((e) => e.kind === 'upsert' && e.id === G), 10000, `groups.upsert at ${k}`);
  dumpOnFail(await waitFor(() => hooks.find((h) => h.event === 'groups.upsert' && h.data[0]?.id === G), 10000, 'GROUPS_UPSERT'),
    'GROUPS_UPSERT webhook for our own creation');

  r = await api('GET', `/group/findGroupInfos/g1?groupJid=${G.split('@')[0]}`);
  check(r.status === 200 && r.json.id === G && r.json.participants.length === 3 && r.json.desc === 'first desc',
    'findGroupInfos (groupJid without @g.us)');
  r = await api('GET', '/group/fetchAllGroups/g1?getParticipants=false');
  check(r.status === 200 && r.json.length === 1 && r.json[0].id === G && !('participants' in r.json[0]),
    `fetchAllGroups without participants (${r.status} ${JSON.stringify(r.json)?.slice(0, 300)})`);
  r = await api('GET', `/group/participants/g1?groupJid=${G}`);
  check(r.status === 200 && r.json.participants.length === 3 && 'imgUrl' in r.json.participants[0], 'participants route');

  // messages both ways: wamd -> everyone, everyone -> wamd and each other
  const sent = [];
  for (let i = 0; i < 3; i++) {
    r = await api('POST', '/message/sendText/g1', { number: G, text: `wamd ${i} ünï 🙂` });
    dumpOnFail(r.status === 201, `sendText to the group 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
    sent.push(r.json.key.id);
  }
  for (const k of ['b', 'c']) {
    const ok = await waitFor(() => cl[k].texts.filter((t) => t.text.startsWith('wamd ')).length === 3, 20000, `wamd texts at ${k}`);
    dumpOnFail(ok, `${k} decrypted wamd's 3 group texts`);
    check(JSON.stringify(cl[k].texts.filter((t) => t.text.startsWith('wamd ')).map((t) => t.text).sort()) ===
      JSON.stringify([0, 1, 2].map((i) => `wamd ${i} ünï 🙂`)), `${k}: texts intact, participant ${cl[k].texts[0].participant}`);
    check(cl[k].texts.filter((t) => t.text.startsWith('wamd ')).every((t) => t.participant?.startsWith(W)), `${k}: key.participant is wamd`);
  }
  // mentionsEveryOne: every member of the group (the cached metadata), us included
  r = await api('POST', '/message/sendText/g1', { number: G, text: 'all of you', mentionsEveryOne: true });
  dumpOnFail(r.status === 201, `sendText mentionsEveryOne 201 (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
  for (const k of ['b', 'c']) {
    const t = await waitFor(() => cl[k].texts.find((x) => x.text === 'all of you'), 20000, `mentionsEveryOne at ${k}`);
    check(t && JSON.stringify([...t.mentioned].sort()) === JSON.stringify([jid(W), jid(P.b), jid(P.c)].sort()),
      `${k}: mentionedJid names every member (${JSON.stringify(t?.mentioned)})`);
  }
  r = await api('POST', '/message/sendText/g1', { number: G, text: 'none of you', mentionsEveryOne: false });
  const none = r.status === 201 && await waitFor(() => cl.b.texts.find((x) => x.text === 'none of you'), 20000, 'plain group text');
  check(none && none.mentioned.length === 0, `mentionsEveryOne false: no mentions (${JSON.stringify(none?.mentioned)})`);
  // the members answer once they have read ours, one after the other: a
  // Baileys client whose first pkmsg to a device crosses that device's
  // first pkmsg to it can lose the session (see tests/sim/e2e_chat.mjs)
  await cl.b.sock.sendMessage(G, { text: 'b says hi' });
  await cl.c.waitFor(() => cl.c.texts.some((t) => t.text === 'b says hi'), 15000, 'b -> c');
  await cl.c.sock.sendMessage(G, { text: 'c says hi' });
  await cl.b.waitFor(() => cl.b.texts.some((t) => t.text === 'c says hi'), 15000, 'c -> b');
  const ups = await waitFor(() => {
    const u = hooks.filter((h) => h.event === 'messages.upsert' && h.data.key.remoteJid === G);
    return u.length >= 2 ? u : null;
  }, 20000, 'group MESSAGES_UPSERT at wamd');
  dumpOnFail(ups, 'both members\' texts reached wamd as MESSAGES_UPSERT');
  for (const k of ['b', 'c']) {
    const u = ups.find((h) => (h.data.message?.conversation ?? h.data.message?.extendedTextMessage?.text) === `${k} says hi`);
    check(u && u.data.key.participant === jid(P[k]) && u.data.key.fromMe === false,
      `MESSAGES_UPSERT from ${k}: key.participant ${u?.data.key.participant}`);
  }
  // a later send uses the key already given: no distribution message again
  const simGroup = async () => (await sim.api('GET', '/_sim/groups')).json.groups.find((g) => `${g.id}@g.us` === G);
  r = await api('POST', '/message/sendText/g1', { number: G, text: 'warm' });
  const warm = r.json.key.id;
  for (const k of ['b', 'c'])
    await cl[k].waitFor(() => cl[k].texts.some((t) => t.text === 'warm'), 15000, `warm text at ${k}`);
  let sg = await simGroup();
  check(sg.last_id === warm && sg.last_copies.length === 0,
    `a warm send carries no distribution message (${JSON.stringify(sg.last_copies)})`);

  // B loses our sender key (as after a restore): its retry receipt makes
  // wamd resend that message to B alone, with our key, and B reads it once
  const gone = fs.readdirSync(cl.b.authDir).filter((f) => f.startsWith('sender-key-') &&
    f.includes(G.split('@')[0]) && f.includes(W));
  for (const f of gone) fs.unlinkSync(path.join(cl.b.authDir, f));
  check(gone.length >= 1, `B's copy of our sender key deleted (${gone.join(',')})`);
  const cSeen = cl.c.texts.length;
  r = await api('POST', '/message/sendText/g1', { number: G, text: 'after a lost key' });
  await cl.b.waitFor(() => cl.b.texts.some((t) => t.text === 'after a lost key'), 20000, 'B reads after the retry');
  await cl.c.waitFor(() => cl.c.texts.length > cSeen, 20000, 'C reads it too');
  await sleep(1000);
  check(cl.b.texts.filter((t) => t.text === 'after a lost key').length === 1 &&
    cl.c.texts.filter((t) => t.text === 'after a lost key').length === 1,
    'a group retry receipt recovers the message, delivered once');
  dumpOnFail(wamdLog.includes(`group resend of ${r.json.key.id} to ${P.b}:`), 'wamd resent it to the device that asked');

  // API actions arrive as events at Baileys
  r = await api('POST', `/group/updateGroupSubject/g1?groupJid=${G}`, { subject: 'Renamed' });
  check(r.status === 201 && r.json.update === 'success', `updateGroupSubject 201 (${r.status})`);
  await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'update' && e.subject === 'Renamed'), 10000, 'subject at b');
  r = await api('POST', `/group/updateGroupDescription/g1?groupJid=${G}`, { description: 'new desc' });
  check(r.status === 201, `updateGroupDescription 201 (${r.status} ${JSON.stringify(r.json)})`);
  await cl.c.waitFor(() => cl.c.gev.some((e) => e.kind === 'update' && e.desc === 'new desc'), 10000, 'desc at c');
  r = await api('POST', `/group/updateParticipant/g1?groupJid=${G}`, { action: 'promote', participants: [P.b] });
  check(r.status === 201 && r.json.updateParticipants[0].status === '200' && r.json.updateParticipants[0].jid === jid(P.b),
    `promote 201 with status "200" (${JSON.stringify(r.json)})`);
  await cl.c.waitFor(() => cl.c.gev.some((e) => e.kind === 'participants' && e.action === 'promote'), 10000, 'promote at c');
  check(true, 'subject, description and promote done through the API arrived as Baileys events');
  const gw = (ev, pred, what) => waitFor(() => hooks.find((h) => h.event === ev && pred(h.data)), 10000, what);
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === G && d[0].subject === 'Renamed', 'subject webhook'), 'GROUP_UPDATE subject webhook');
  dumpOnFail(await gw('group-participants.update', (d) => d.id === G && d.action === 'promote' && d.participants[0] === jid(P.b),
    'promote webhook'), 'GROUP_PARTICIPANTS_UPDATE promote webhook');

  // Baileys' actions arrive as webhooks at wamd
  await cl.b.sock.groupUpdateSubject(G, 'By B');
  dumpOnFail(await gw('groups.update', (d) => d[0]?.subject === 'By B' && d[0].author === jid(P.b), 'subject by b'),
    'GROUP_UPDATE for a subject changed by a member, author set');
  await cl.b.sock.groupUpdateDescription(G, 'desc by b');
  dumpOnFail(await gw('groups.update', (d) => d[0]?.desc === 'desc by b', 'desc by b'), 'GROUP_UPDATE description');
  await cl.b.sock.groupParticipantsUpdate(G, [jid(P.c)], 'promote');
  dumpOnFail(await gw('group-participants.update', (d) => d.action === 'promote' && d.participants[0] === jid(P.c) &&
    d.author === jid(P.b), 'promote by b'), 'GROUP_PARTICIPANTS_UPDATE promote by b');
  await cl.b.sock.groupParticipantsUpdate(G, [jid(P.c)], 'demote');
  dumpOnFail(await gw('group-participants.update', (d) => d.action === 'demote' && d.participants[0] === jid(P.c),
    'demote by b'), 'GROUP_PARTICIPANTS_UPDATE demote');
  r = await api('POST', `/group/updateParticipant/g1?groupJid=${G}`, { action: 'demote', participants: [P.b] });
  check(r.status === 201, 'demote through the API');
  await cl.c.waitFor(() => cl.c.gev.some((e) => e.kind === 'participants' && e.action === 'demote' &&
    e.participants.some((p) => (p.id ?? p) === jid(P.b))), 10000, 'demote at c');

  // a member who is not an admin cannot act; wamd demoted itself? no: B
  // removes wamd's admin? keep it simple: adding someone who is already in
  r = await api('POST', `/group/updateParticipant/g1?groupJid=${G}`, { action: 'add', participants: [P.b, '15559999999'] });
  check(r.status === 201 && r.json.updateParticipants.find((e) => e.jid === jid(P.b))?.status === '409' &&
    r.json.updateParticipants.find((e) => e.jid === jid('15559999999'))?.status !== '200',
    `per-participant codes: already a member 409, not on WhatsApp refused (${JSON.stringify(r.json.updateParticipants.map((e) => e.status))})`);

  // remove C: our key changes, C reads nothing more; add D: D reads the next send
  r = await api('POST', `/group/updateParticipant/g1?groupJid=${G}`, { action: 'remove', participants: [P.c] });
  check(r.status === 201 && r.json.updateParticipants[0].status === '200', 'remove C');
  await cl.c.waitFor(() => cl.c.gev.some((e) => e.kind === 'participants' && e.action === 'remove'), 10000, 'remove at c');
  dumpOnFail(await gw('group-participants.update', (d) => d.action === 'remove' && d.participants[0] === jid(P.c), 'remove webhook'),
    'GROUP_PARTICIPANTS_UPDATE remove webhook');
  r = await api('POST', `/group/updateParticipant/g1?groupJid=${G}`, { action: 'add', participants: [P.d] });
  check(r.status === 201 && r.json.updateParticipants[0].status === '200', 'add D');
  await cl.d.waitFor(() => cl.d.gev.some((e) => e.kind === 'participants' && e.action === 'add'), 10000, 'add at d');
  const cBefore = cl.c.texts.length;
  r = await api('POST', '/message/sendText/g1', { number: G, text: 'after the change' });
  check(r.status === 201, 'send after the membership change');
  for (let i = 0; i < 100 && (await simGroup()).last_id !== r.json.key.id; i++) await sleep(50);
  sg = await simGroup();
  // our key was replaced after C left: B (who had the old one) gets the new one, D gets it too
  check(sg.last_copies.some((j) => j.startsWith(`${P.b}:`)) && sg.last_copies.some((j) => j.startsWith(`${P.d}:`)) &&
    !sg.last_copies.some((j) => j.startsWith(P.c)), `new key to B and D, not C (${JSON.stringify(sg.last_copies)})`);
  await cl.d.waitFor(() => cl.d.texts.some((t) => t.text === 'after the change'), 20000, 'D reads the next send');
  await cl.b.waitFor(() => cl.b.texts.some((t) => t.text === 'after the change'), 20000, 'B still reads');
  check(true, 'the member added later got our (new) key with the next send');
  await sleep(1000);
  check(cl.c.texts.length === cBefore, 'the removed member got nothing more');
  await cl.d.sock.sendMessage(G, { text: 'd says hi' });
  dumpOnFail(await gw('messages.upsert', (d) => d.key.remoteJid === G && d.key.participant === jid(P.d), 'd -> wamd'),
    'the new member\'s text reached wamd');

  // wamd killed (SIGKILL) in the middle of a group burst: every accepted
  // message reaches every member exactly once. The server acks none of the
  // burst, so every stanza is still unacked at the kill and goes out again
  // (its recorded bytes) after the restart.
  const wdev = (await sim.api('GET', `/_sim/accounts/${W}`)).json.devices.map((d) => d.device).find((d) => d > 0);
  check((await sim.api('POST', '/_sim/fault', { phone: W, device: wdev, action: 'ack_drop' })).status === 200,
    'the server stops acking wamd');
  const sentBefore = (await sim.api('GET', `/_sim/accounts/${W}`)).json.devices.find((d) => d.device === wdev).msgs_in;
  const burst = [];
  for (let i = 0; i < 15; i++) {
    r = await api('POST', '/message/sendText/g1', { number: G, text: `burst ${i}` });
    if (r.status === 201) burst.push(`burst ${i}`);
  }
  for (let i = 0; i < 100; i++) {
    const dv = (await sim.api('GET', `/_sim/accounts/${W}`)).json.devices.find((d) => d.device === wdev);
    if (dv.msgs_in >= sentBefore + 8) break;
    await sleep(50);
  }
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.on('exit', res));
  check(burst.length === 15, 'the burst was accepted, then wamd was killed');
  check((await sim.api('POST', '/_sim/fault', { phone: W, device: wdev, action: 'clear' })).status === 200, 'acks again');
  wamd = startWamd();
  let back = false;
  for (let i = 0; i < 300 && !back; i++) {
    try { back = (await api('GET', '/instance/connectionState/g1')).json?.instance?.state === 'open'; } catch { /* starting */ }
    if (!back) await sleep(100);
  }
  dumpOnFail(back, 'wamd open again after SIGKILL');
  for (const k of ['b', 'd']) {
    const all = () => burst.every((t) => cl[k].texts.some((x) => x.text === t));
    await cl[k].waitFor(all, 30000, `the whole burst at ${k}`);
    await sleep(1500);
    const counts = burst.map((t) => cl[k].texts.filter((x) => x.text === t).length);
    check(counts.every((n) => n === 1), `${k} got every accepted message exactly once (${counts.join(',')})`);
  }

  // leave, then every admin route on the group is refused and nothing changes
  r = await api('DELETE', `/group/leaveGroup/g1?groupJid=${G}`);
  check(r.status === 200 && r.json.leave === true, `leaveGroup 200 (${r.status})`);
  await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'participants' && e.action === 'remove' &&
    e.participants.some((p) => (p.id ?? p) === jid(W))), 10000, 'leave seen at b');
  r = await api('POST', `/group/updateGroupSubject/g1?groupJid=${G}`, { subject: 'not mine' });
  check(r.status === 400, `subject after leaving: 400 (${r.status} ${JSON.stringify(r.json)})`);
  r = await api('POST', `/group/updateParticipant/g1?groupJid=${G}`, { action: 'add', participants: [P.c] });
  check(r.status === 400 && r.json.response.message[0] === 'Error updating participants', `add after leaving: 400 (${r.status})`);
  sg = await simGroup();
  check(sg.subject === 'By B' && sg.members.length === 2, `nothing was applied (subject ${sg.subject}, ${sg.members.length} members)`);
  await checkRecordedAnswers(api, answers, check, [
    'POST /group/create/{instance}',
    'GET /group/findGroupInfos/{instance}',
    'GET /group/fetchAllGroups/{instance}',
    'GET /group/participants/{instance}',
    'POST /group/updateParticipant/{instance}',
    'POST /group/updateGroupSubject/{instance}',
    'POST /group/updateGroupDescription/{instance}',
    'DELETE /group/leaveGroup/{instance}',
  ]);
  // a clean stop: no sanitizer report (leaks included) on the way out
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
