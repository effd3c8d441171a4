// wamd end to end (suite e2e): Evolution's profile routes against wasim,
// with an unmodified Baileys 7.0.0-rc14 on another account as the peer
// that checks what the server keeps:
//  - chat/updateProfileStatus, updateProfileName, updateProfilePicture,
//    removeProfilePicture: Baileys reads the about text (fetchStatus), the
//    new push name (on wamd's next message, and wasim's account), the
//    picture URL serving the JPEG sent, then 404 after the removal;
//  - chat/fetchProfile of the peer (about, picture, business profile) and
//    of ourselves, in Evolution's layout;
//  - chat/fetchPrivacySettings / updatePrivacySettings (a value the server
//    refuses is a 400);
//  - chat/updateBlockStatus and wamd/fetchBlocklist: the peer's messages
//    stop reaching wamd while blocked and flow again after the unblock;
//    the peer's own block (Baileys' updateBlockStatus) hides its about
//    text and picture from wamd's fetchProfile.
// argv: [node, script, wamd, wasim]
import { spawn } from 'node:child_process';
import https from 'node:https';
import { startWasim, pairByQr, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { waitHistorySynced, goOnline, createAccount } from '../sim/e2e_msg_util.mjs';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(150);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-profile-key-5d1e';
const PHONE = '15550006601', PEER = '15550006602';
const ME = `${PHONE}@s.whatsapp.net`, PJ = `${PEER}@s.whatsapp.net`;
const JPEG = Buffer.from('/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////' +
  '////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=', 'base64');

let wamdLog = '';
const until = async (pred, ms, what) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) { process.stderr.write(wamdLog.slice(-6000)); fail(`timed out waiting for ${what}`); }
    await sleep(100);
  }
};
const getUrl = (url) => new Promise((res, rej) => https.get(url, { rejectUnauthorized: false }, (r) => {
  const parts = [];
  r.on('data', (d) => parts.push(d));
  r.on('end', () => res({ status: r.statusCode, body: Buffer.concat(parts) }));
}).on('error', rej));

const sim = await startWasim(wasimExe, { tls: true });
await createAccount(sim, PHONE, 'ACME Vendas');
const data = tmpDir('wamd-profile-');
const port = await freePort();
const wamd = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { wamdLog += d; });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const answers = [];
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

let b = null;
try {
  await until(async () => { try { return (await api('GET', '/')).status === 200; } catch { return false; } },
    5000, 'wamd up');
  let r = await api('POST', '/instance/create', { instanceName: 'pf1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  check(r.status === 201, `instance created (${r.status})`);
  const qr = r.json.qrcode?.code ?? (await api('GET', '/instance/connect/pf1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: PHONE, qr })).status === 200, 'phone scanned wamd\'s QR');
  await until(async () => (await api('GET', '/instance/fetchInstances?instanceName=pf1')).json?.[0]?.profileName ===
    'ACME Vendas', 30000, 'wamd open, its push name from app state');

  await createAccount(sim, PEER, 'Paula');
  b = await pairByQr(sim, PEER, 'pf-peer', { tls: true });
  await waitHistorySynced(b);
  await goOnline(b, 'Paula');
  const got = [];
  b.sock.ev.on('messages.upsert', ({ messages, type }) => {
    for (const m of messages) {
      if (!m.key.fromMe && type === 'notify') got.push({ text: m.message?.conversation ?? m.message?.extendedTextMessage?.text, pushName: m.pushName });
    }
    b.poke();
  });

  // ---- our about text, push name and picture, as the peer sees them ----
  r = await api('POST', '/chat/updateProfileStatus/pf1', { status: 'Atendimento 8h-18h' });
  check(r.status === 200 && r.json.update === 'success', `updateProfileStatus answers 200 {update} (${JSON.stringify(r.json)})`);
  const st = (await b.sock.fetchStatus(ME))?.[0]?.status;
  check(st?.status === 'Atendimento 8h-18h', `the peer reads our about text (${JSON.stringify(st)})`);

  r = await api('POST', '/chat/updateProfileName/pf1', { name: 'ACME Suporte' });
  check(r.status === 200 && r.json.update === 'success', `updateProfileName answers 200 {update} (${JSON.stringify(r.json)})`);
  // the presence carrying the name has no answer: the API may reply before
  // wasim has read it, so the server's copy is polled
  await until(async () => (await sim.api('GET', `/_sim/profile/${PHONE}`)).json.pushName === 'ACME Suporte', 5000,
    'the server to take the new name from our presence');
  await until(async () => (await api('GET', '/instance/fetchInstances?instanceName=pf1')).json?.[0]?.profileName ===
    'ACME Suporte', 10000, 'profileName follows our own app-state mutation');
  const app = (await sim.api('GET', `/_sim/appstate/${PHONE}`)).json;
  check(app.accepted >= 1 && app.refused === 0, `the setting_pushName patch was accepted (${JSON.stringify(app)})`);
  r = await api('POST', '/message/sendText/pf1', { number: PEER, text: 'nome novo' });
  check(r.status === 201, `sendText (${r.status})`);
  await b.waitFor(() => got.some((m) => m.text === 'nome novo'), 20000, 'our text at the peer');
  const seen = got.find((m) => m.text === 'nome novo');
  check(seen.pushName === 'ACME Suporte', `the peer sees the new name on our message (${seen.pushName})`);

  r = await api('POST', '/chat/updateProfilePicture/pf1', { picture: 'data:image/jpeg;base64,' + JPEG.toString('base64') });
  check(r.status === 200 && r.json.update === 'success', `updateProfilePicture answers 200 {update} (${JSON.stringify(r.json)})`);
  const url = await b.sock.profilePictureUrl(ME, 'image');
  const dl = await getUrl(url);
  check(dl.status === 200 && dl.body.equals(JPEG), `the peer downloads the JPEG we set (${url}, ${dl.body.length} bytes)`);
  r = await api('POST', '/chat/updateProfilePicture/pf1', { picture: Buffer.from('GIF89a....').toString('base64') });
  check(r.status === 400, `a picture that is not a JPEG is refused (${r.status})`);
  r = await api('POST', '/chat/fetchProfilePictureUrl/pf1', { number: PHONE });
  check(r.status === 200 && r.json.profilePictureUrl === url, `our own picture URL (${JSON.stringify(r.json)})`);
  r = await api('DELETE', '/chat/removeProfilePicture/pf1');
  check(r.status === 200 && r.json.update === 'success', `removeProfilePicture answers 200 {update} (${r.status})`);
  let e = null;
  try { await b.sock.profilePictureUrl(ME, 'image'); } catch (x) { e = x; }
  check(/item-not-found/.test(String(e?.message)), `removed: the peer gets 404 (${e?.message})`);

  // ---- the peer's profile (its name: the phone's address book, via app state) ----
  const fromPeer = async (text) => (await api('POST', '/chat/findMessages/pf1', { where: { key: { remoteJid: PJ } } }))
    .json?.messages?.records?.some((m) => m.message?.conversation === text || m.message?.extendedTextMessage?.text === text);
  check((await sim.api('POST', '/_sim/appstate/mutate', { phone: PHONE, action: 'contact', jid: PJ,
    full_name: 'Paula Doces', first_name: 'Paula' })).status === 200, 'the phone names the peer');
  await until(async () => (await api('POST', '/chat/findContacts/pf1', { where: { remoteJid: PJ } })).json?.[0]?.pushName ===
    'Paula Doces', 15000, 'the contact name at wamd');
  await b.sock.updateProfileStatus('Olá, sou a Paula');
  await b.sock.query({ tag: 'iq', attrs: { to: 's.whatsapp.net', xmlns: 'w:profile:picture', type: 'set' },
    content: [{ tag: 'picture', attrs: { type: 'image' }, content: JPEG }] });
  check((await sim.api('POST', '/_sim/business', { phone: PEER, profile: { description: 'Doces finos',
    email: 'paula@doces.example', website: 'https://doces.example', category: 'Bakery' } })).status === 200,
  'the peer is a business');
  r = await api('POST', '/chat/fetchProfile/pf1', { number: PEER });
  const pr = r.json;
  check(r.status === 200 && pr.wuid === PJ && pr.numberExists === true && typeof pr.picture === 'string' &&
    pr.picture.startsWith('https://') && pr.status?.status === 'Olá, sou a Paula' && /^\d{4}-\d\d-\d\dT/.test(pr.status?.setAt) &&
    pr.isBusiness === true && pr.email === 'paula@doces.example' && pr.description === 'Doces finos' &&
    pr.website === 'https://doces.example' && pr.name === 'Paula Doces',
  `fetchProfile of the peer in Evolution's layout (${JSON.stringify(pr)})`);
  check(Object.keys(pr).sort().join() === 'description,email,isBusiness,name,numberExists,picture,status,website,wuid',
    `exactly Evolution's fields (${Object.keys(pr)})`);
  r = await api('POST', '/chat/fetchProfile/pf1', {});
  check(r.status === 200 && r.json.wuid === ME && r.json.name === 'ACME Suporte' && r.json.numberExists === true &&
    r.json.status === 'open' && r.json.isBusiness === false && r.json.picture === null,
  `fetchProfile of ourselves (${JSON.stringify(r.json)})`);
  r = await api('POST', '/chat/fetchProfile/pf1', { number: '15550006699' });
  check(r.status === 400 && r.json.response?.message?.[0]?.exists === false,
    `a number not on WhatsApp: 400, as Evolution (${JSON.stringify(r.json)})`);

  // ---- privacy ----
  r = await api('GET', '/chat/fetchPrivacySettings/pf1');
  check(r.status === 200 && r.json.readreceipts === 'all' && r.json.profile === 'all' && r.json.last === 'all' &&
    r.json.online === 'all' && r.json.groupadd === 'all' && 'status' in r.json,
  `fetchPrivacySettings: the defaults (${JSON.stringify(r.json)})`);
  const want = { readreceipts: 'none', profile: 'contacts', status: 'contacts', online: 'match_last_seen',
    last: 'none', groupadd: 'contacts' };
  r = await api('POST', '/chat/updatePrivacySettings/pf1', want);
  check(r.status === 201 && r.json.update === 'success' && JSON.stringify(r.json.data) === JSON.stringify(want),
    `updatePrivacySettings answers 201 {update, data} (${JSON.stringify(r.json)})`);
  r = await api('GET', '/chat/fetchPrivacySettings/pf1');
  check(JSON.stringify(r.json) === JSON.stringify(want), `the server keeps them (${JSON.stringify(r.json)})`);
  const kept = (await sim.api('GET', `/_sim/profile/${PHONE}`)).json.privacy;
  check(kept.last === 'none' && kept.online === 'match_last_seen', `wasim's copy (${JSON.stringify(kept)})`);
  r = await api('POST', '/chat/updatePrivacySettings/pf1', { online: 'contacts' });
  check(r.status === 400, `a value the server refuses: 400 (${JSON.stringify(r.json)})`);
  r = await api('POST', '/chat/updatePrivacySettings/pf1', {});
  check(r.status === 400, `nothing to change: 400 (${r.status})`);

  // ---- blocking ----
  r = await api('POST', '/chat/updateBlockStatus/pf1', { number: PEER, status: 'block' });
  check(r.status === 201 && r.json.block === 'success', `updateBlockStatus answers 201 {block} (${JSON.stringify(r.json)})`);
  r = await api('GET', '/wamd/fetchBlocklist/pf1');
  check(r.status === 200 && JSON.stringify(r.json) === JSON.stringify([PJ]), `the blocklist names the peer (${JSON.stringify(r.json)})`);
  await b.sock.sendMessage(ME, { text: 'antes' });
  await sleep(2500);
  check(!(await fromPeer('antes')), 'a blocked peer\'s message never reaches wamd');
  r = await api('POST', '/chat/updateBlockStatus/pf1', { number: PEER, status: 'unblock' });
  check(r.status === 201, `unblock (${r.status})`);
  r = await api('GET', '/wamd/fetchBlocklist/pf1');
  check(r.status === 200 && r.json.length === 0, `the blocklist is empty again (${JSON.stringify(r.json)})`);
  await b.sock.sendMessage(ME, { text: 'depois' });
  await until(() => fromPeer('depois'), 20000, 'the peer\'s message after the unblock');
  check(!(await fromPeer('antes')), 'the message sent while blocked stays undelivered');
  r = await api('POST', '/chat/updateBlockStatus/pf1', { number: PEER, status: 'maybe' });
  check(r.status === 400, `a status other than block / unblock: 400 (${r.status})`);

  // the peer blocks us: its about text and picture are gone for us
  await b.sock.updateBlockStatus(ME, 'block');
  r = await api('POST', '/chat/fetchProfile/pf1', { number: PEER });
  check(r.status === 200 && r.json.picture === null && r.json.status?.status === '',
    `the peer's block hides its picture and about text (${JSON.stringify(r.json)})`);
  await b.sock.updateBlockStatus(ME, 'unblock');

  await checkRecordedAnswers(api, answers, check, [
    'POST /chat/fetchProfile/{instance}',
    'POST /chat/updateBlockStatus/{instance}',
    'GET /wamd/fetchBlocklist/{instance}',
    'POST /chat/updateProfileName/{instance}',
    'POST /chat/updateProfileStatus/{instance}',
    'POST /chat/updateProfilePicture/{instance}',
    'DELETE /chat/removeProfilePicture/{instance}',
    'GET /chat/fetchPrivacySettings/{instance}',
    'POST /chat/updatePrivacySettings/{instance}',
  ]);
} finally {
  await b?.stop();
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.on('exit', (c, s) => res(c ?? s)));
  if (code !== 0) process.stderr.write(wamdLog.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
}
console.log('ok: wamd_profile');
process.exit(0);
