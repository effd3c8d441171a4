// wamd group invite links, settings and timer end to end (suite e2e): wamd
// (real engine) and two unmodified Baileys clients on wasim. wamd creates a
// group with B and gets its invite code (B, not an admin, gets the server's
// 401); E reads the group from the code and joins by it, the join reaches
// wamd as GROUP_PARTICIPANTS_UPDATE; a revoked code stops working;
// announcement mode set through the API reaches B, and the server then
// refuses B's text (it never reaches wamd) until it is lifted; the
// disappearing timer set through the API reaches B and comes back to wamd as
// GROUP_UPDATE. Bad input is 400; every answer is checked against /openapi.json.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { freePort, hookReceiver, waitFor } from './e2e_daemon_util.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { waitHistorySynced, createAccount } from '../sim/e2e_msg_util.mjs';

watchdog(110);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-e2e-key-ginvite-71a3';
const W = '15550009000';
const P = { b: '15550009001', e: '15550009002' };
const jid = (n) => `${n}@s.whatsapp.net`;

const { hooks, url: hookUrl, server: rx } = await hookReceiver();
// a Baileys call that must fail: the server's code (Boom data) or 'ok'
const refused = async (p) => { try { await p; return 'ok'; } catch (e) { return e?.data ?? e?.output?.statusCode ?? String(e); } };

const sim = await startWasim(wasimExe);
check((await sim.api('POST', '/_sim/accounts', { phone: W, push_name: 'Wamd' })).status === 201, 'wasim account for wamd');
const cl = {};
for (const [k, n] of Object.entries(P)) {
  await createAccount(sim, n, k.toUpperCase());
  cl[k] = await pairByQr(sim, n, `i${k}`);
  await waitHistorySynced(cl[k]);
  cl[k].texts = [];
  cl[k].gev = [];
  cl[k].eph = [];
  cl[k].errs = [];
  cl[k].sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) {
      if (!m.key.remoteJid?.endsWith('@g.us')) continue;
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
}

const data = tmpDir('wamd-ginvite-');
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
    instanceName: 'gi', integration: 'WHATSAPP-BAILEYS', qrcode: true,
    webhook: { url: hookUrl, enabled: true, events: ['MESSAGES_UPSERT', 'GROUPS_UPSERT', 'GROUP_UPDATE',
      'GROUP_PARTICIPANTS_UPDATE'] },
  });
  dumpOnFail(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/gi')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: W, qr })).status === 200, 'phone scanned the QR');
  let open = false;
  for (let i = 0; i < 300 && !open; i++) {
    open = (await api('GET', '/instance/connectionState/gi')).json?.instance?.state === 'open';
    if (!open) await sleep(100);
  }
  dumpOnFail(open, 'wamd open');

  r = await api('POST', '/group/create/gi', { subject: 'Convites', participants: [P.b] });
  dumpOnFail(r.status === 201, `group/create 201 (${r.status})`);
  const G = r.json.id;
  const simGroup = async () => (await sim.api('GET', '/_sim/groups')).json.groups.find((g) => `${g.id}@g.us` === G);

  // bad input: Evolution's 400s, nothing asked of the server
  r = await api('GET', '/group/inviteCode/gi');
  check(r.status === 400, `inviteCode without groupJid: 400 (${r.status})`);
  r = await api('GET', '/group/acceptInviteCode/gi');
  check(r.status === 400, `acceptInviteCode without inviteCode: 400 (${r.status})`);
  r = await api('GET', '/group/inviteInfo/gi?inviteCode=not%20a%20code');
  check(r.status === 404 && r.json.response.message[0] === 'No invite info', `inviteInfo of a malformed code: 404 (${r.status})`);
  r = await api('POST', `/group/updateSetting/gi?groupJid=${G}`, { action: 'everyone' });
  check(r.status === 400, `updateSetting with an unknown action: 400 (${r.status})`);
  r = await api('POST', `/group/toggleEphemeral/gi?groupJid=${G}`, { expiration: 5 });
  check(r.status === 400, `toggleEphemeral with an unknown timer: 400 (${r.status})`);
  let sg = await simGroup();
  check(!sg.announce && sg.ephemeral === 0 && sg.invite === '', 'bad input changed nothing');

  // the code: admins only
  check(await refused(cl.b.sock.groupInviteCode(G)) === 401, 'a member who is not an admin gets 401 for the code');
  r = await api('GET', `/group/inviteCode/gi?groupJid=${G}`);
  const code = r.json?.inviteCode;
  sg = await simGroup();
  dumpOnFail(r.status === 200 && code && code === sg.invite && r.json.inviteUrl === `https://chat.whatsapp.com/${code}`,
    `inviteCode 200 with the group's code (${r.status} ${JSON.stringify(r.json)})`);
  r = await api('GET', `/group/inviteCode/gi?groupJid=${G.split('@')[0]}`);
  check(r.status === 200 && r.json.inviteCode === code, 'asked again: the same code');

  // E reads the group from the code, then joins by it
  r = await api('GET', `/group/inviteInfo/gi?inviteCode=${code}`);
  check(r.status === 200 && r.json.id === G && r.json.subject === 'Convites' && r.json.size === 2,
    `inviteInfo: the group (${r.status} ${JSON.stringify(r.json)?.slice(0, 200)})`);
  const info = await cl.e.sock.groupGetInviteInfo(code);
  check(info.id === G && info.subject === 'Convites', 'Baileys reads the group from the code');
  const joined = await cl.e.sock.groupAcceptInvite(code);
  check(joined === G, `Baileys joined by the code (${joined})`);
  dumpOnFail(await gw('group-participants.update', (d) => d.id === G && d.action === 'add' && d.participants[0] === jid(P.e),
    'join webhook'), 'the join reached wamd as GROUP_PARTICIPANTS_UPDATE add');
  await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'participants' && e.action === 'add'), 10000, 'join at b');
  const meta = await cl.e.sock.groupMetadata(G);
  check(meta.participants.length === 3, `the newcomer sees the group (${meta.participants.length} members)`);
  r = await api('GET', `/group/findGroupInfos/gi?groupJid=${G}`);
  check(r.status === 200 && r.json.participants.some((p) => p.id === jid(P.e)), 'findGroupInfos lists the newcomer');
  // B talks before the announcement mode (its sender key reaches wamd and E now)
  const txt = (d) => d.message?.conversation ?? d.message?.extendedTextMessage?.text;
  await cl.b.sock.sendMessage(G, { text: 'b hello' });
  dumpOnFail(await gw('messages.upsert', (d) => d.key.remoteJid === G && txt(d) === 'b hello', 'b hello'), 'B\'s text reached wamd');
  await cl.e.waitFor(() => cl.e.texts.includes('b hello'), 15000, 'b hello at e');

  // revoke: a new code, the old one is gone
  r = await api('POST', `/group/revokeInviteCode/gi?groupJid=${G}`);
  const code2 = r.json?.inviteCode;
  check(r.status === 201 && r.json.revoked === true && code2 && code2 !== code && (await simGroup()).invite === code2,
    `revokeInviteCode 201 with a new code (${r.status} ${JSON.stringify(r.json)})`);
  r = await api('GET', `/group/inviteInfo/gi?inviteCode=${code}`);
  check(r.status === 404 && r.json.response.message[1] === code, `inviteInfo of the revoked code: 404 (${r.status})`);
  r = await api('GET', `/group/acceptInviteCode/gi?inviteCode=https://chat.whatsapp.com/${code}`);
  check(r.status === 404 && r.json.response.message[0] === 'Accept invite error' && r.json.response.message[1] === 'gone',
    `joining by the revoked link: 404 gone (${r.status} ${JSON.stringify(r.json)})`);
  check(await refused(cl.b.sock.groupRevokeInvite(G)) === 401, 'a member who is not an admin cannot revoke');
  r = await api('GET', `/group/acceptInviteCode/gi?inviteCode=${code2}`);
  check(r.status === 200 && r.json.accepted === true && r.json.groupJid === G, `acceptInviteCode of a group we are in (${r.status})`);

  // announcement mode: only admins send
  check(await refused(cl.b.sock.groupSettingUpdate(G, 'announcement')) === 403, 'a member who is not an admin cannot set it');
  check(!(await simGroup()).announce, 'and nothing changed');
  r = await api('POST', `/group/updateSetting/gi?groupJid=${G}`, { action: 'announcement' });
  check(r.status === 201 && JSON.stringify(r.json) === '{}', `updateSetting announcement 201 (${r.status} ${JSON.stringify(r.json)})`);
  await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'update' && e.announce === true), 10000, 'announce at b');
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === G && d[0].announce === true, 'announce webhook'),
    'GROUP_UPDATE announce at wamd');
  const refusedMsg = await cl.b.sock.sendMessage(G, { text: 'b in an announcement group' });
  await cl.b.waitFor(() => cl.b.errs.some((e) => e.id === refusedMsg.key.id), 10000, 'the server refuses b');
  check(cl.b.errs.find((e) => e.id === refusedMsg.key.id)?.why === '403', 'the server refused the non-admin\'s text (403)');
  r = await api('POST', '/message/sendText/gi', { number: G, text: 'admins still talk' });
  check(r.status === 201, 'wamd (admin) sends');
  await cl.b.waitFor(() => cl.b.texts.includes('admins still talk'), 15000, 'admin text at b');
  await cl.e.waitFor(() => cl.e.texts.includes('admins still talk'), 15000, 'admin text at e');
  r = await api('POST', `/group/updateSetting/gi?groupJid=${G}`, { action: 'not_announcement' });
  check(r.status === 201, 'updateSetting not_announcement');
  await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'update' && e.announce === false), 10000, 'announce off at b');
  await cl.b.sock.sendMessage(G, { text: 'b speaks again' });
  dumpOnFail(await gw('messages.upsert', (d) => d.key.remoteJid === G && txt(d) === 'b speaks again', 'b again'),
    'after it is lifted, the member\'s text reaches wamd');
  check(!hooks.some((h) => h.event === 'messages.upsert' && JSON.stringify(h.data.message ?? {}).includes('announcement group')),
    'the refused text never reached wamd');
  r = await api('POST', `/group/updateSetting/gi?groupJid=${G}`, { action: 'locked' });
  check(r.status === 201, 'updateSetting locked');
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === G && d[0].restrict === true, 'locked webhook'), 'GROUP_UPDATE restrict');
  check(await refused(cl.b.sock.groupToggleEphemeral(G, 86400)) === 403, 'in a locked group a member who is not an admin cannot set the timer');

  // the timer
  r = await api('POST', `/group/toggleEphemeral/gi?groupJid=${G}`, { expiration: 86400 });
  check(r.status === 201 && r.json.success === true, `toggleEphemeral 201 (${r.status} ${JSON.stringify(r.json)})`);
  await cl.b.waitFor(() => cl.b.eph.includes(86400), 10000, 'timer at b');
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === G && d[0].ephemeralDuration === 86400, 'timer webhook'),
    'GROUP_UPDATE ephemeralDuration at wamd');
  r = await api('GET', `/group/findGroupInfos/gi?groupJid=${G}`);
  check(r.json.ephemeralDuration === 86400 && r.json.restrict === true && r.json.announce === false, 'the metadata has the timer');
  r = await api('POST', `/group/toggleEphemeral/gi?groupJid=${G}`, { expiration: 0 });
  check(r.status === 201, 'toggleEphemeral 0');
  await cl.b.waitFor(() => cl.b.eph.includes(0), 10000, 'timer off at b');
  dumpOnFail(await gw('groups.update', (d) => d[0]?.id === G && d[0].ephemeralDuration === 0, 'timer off webhook'),
    'GROUP_UPDATE ephemeralDuration 0');
  check((await simGroup()).ephemeral === 0, 'the server has no timer');

  await checkRecordedAnswers(api, answers, check, [
    'GET /group/inviteCode/{instance}',
    'POST /group/revokeInviteCode/{instance}',
    'GET /group/acceptInviteCode/{instance}',
    'GET /group/inviteInfo/{instance}',
    'POST /group/updateSetting/{instance}',
    'POST /group/toggleEphemeral/{instance}',
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
