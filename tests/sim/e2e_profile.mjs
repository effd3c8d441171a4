// wasim e2e (profile iqs): what an account that set nothing gets for the
// profile iqs clients send, read through an unmodified Baileys 7.0.0-rc14:
// profile picture 404 item-not-found (Baileys' profilePictureUrl throws
// it), no business profile (getBusinessProfile resolves to nothing), status
// privacy as a <privacy><list type default/> answer, a contact QR code that
// changes on revoke, push config accepted. Any of them answered 501 fails.
// Then what an account sets, seen by another account's Baileys: about text
// (fetchStatus), picture (profilePictureUrl, the URL serves the JPEG),
// privacy settings (checked values; "profile: none" hides the picture),
// business profile, and a block (Baileys' updateBlockStatus): the blocker's
// blocklist names the peer, the peer's messages are acked but never
// delivered and its view of the about text and picture is gone; after the
// unblock messages flow again.
import https from 'node:https';
import { startWasim, pairByQr, check, watchdog, sleep } from './harness.mjs';
import { waitHistorySynced, goOnline, createAccount } from './e2e_msg_util.mjs';

watchdog(90);
const sim = await startWasim(process.argv[2], { tls: true });
const A = '15550003201';
const a = await pairByQr(sim, A, 'profile');
const q = (xmlns, type, content) => a.sock.query({ tag: 'iq', attrs: { to: 's.whatsapp.net', xmlns, type },
  content });

let err = null;
try { await a.sock.profilePictureUrl(`${A}@s.whatsapp.net`, 'image'); } catch (e) { err = e; }
check(err?.output?.statusCode === 404 || err?.data === 404 || /item-not-found/.test(String(err?.message)),
  `profile picture unset: 404 item-not-found (${err?.message} ${err?.output?.statusCode})`);

const biz = await a.sock.getBusinessProfile(`${A}@s.whatsapp.net`);
check(biz === undefined, `not a business: no business profile (${JSON.stringify(biz)})`);

const sp = await q('status', 'get', [{ tag: 'privacy', attrs: {} }]);
const list = sp.content?.[0]?.content?.[0];
check(sp.content?.[0]?.tag === 'privacy' && list?.tag === 'list' && list.attrs.type === 'contacts' &&
  list.attrs.default === 'true', `status privacy: contacts, the default (${JSON.stringify(sp.content)})`);

const qr1 = (await q('w:qr', 'set', [{ tag: 'qr', attrs: { type: 'contact', action: 'get' } }])).content?.[0];
const qr2 = (await q('w:qr', 'set', [{ tag: 'qr', attrs: { type: 'contact', action: 'get' } }])).content?.[0];
const qr3 = (await q('w:qr', 'set', [{ tag: 'qr', attrs: { type: 'contact', action: 'revoke' } }])).content?.[0];
check(qr1?.tag === 'qr' && qr1.attrs.code && qr1.attrs.code === qr2.attrs.code && qr3.attrs.code !== qr1.attrs.code,
  `contact QR link: stable, new after a revoke (${qr1?.attrs.code} -> ${qr3?.attrs.code})`);

const push = await q('urn:xmpp:whatsapp:push', 'set', [{ tag: 'config', attrs: { version: '1', platform: 'fcm' } }]);
check(push.attrs.type === 'result', 'push config accepted');

// ---- what A sets, seen by B ----
const B = '15550003202';
await createAccount(sim, B, 'Bruno');
const b = await pairByQr(sim, B, 'profile-b', { tls: true });
const jidA = `${A}@s.whatsapp.net`, jidB = `${B}@s.whatsapp.net`;
const bq = (xmlns, type, content) => b.sock.query({ tag: 'iq', attrs: { to: 's.whatsapp.net', xmlns, type },
  content });
const statusOf = async (c, jid) => (await c.sock.fetchStatus(jid))?.[0]?.status;

let st = await statusOf(b, jidA);
check(st && st.status === null, `no about set: null (${JSON.stringify(st)})`);
await a.sock.updateProfileStatus('Atendimento das 8h às 18h');
st = await statusOf(b, jidA);
check(st?.status === 'Atendimento das 8h às 18h' && st.setAt instanceof Date &&
  Math.abs(st.setAt.getTime() - Date.now()) < 60000, `B reads A's about text and when it was set (${JSON.stringify(st)})`);

// a JPEG (Baileys' updateProfilePicture needs an image library to resize: the
// iq it sends, with the bytes as they would come out of it)
const jpeg = Buffer.from('/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////' +
  '////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=', 'base64');
const setPic = await q('w:profile:picture', 'set', [{ tag: 'picture', attrs: { type: 'image' }, content: jpeg }]);
check(setPic.attrs.type === 'result' && setPic.content?.[0]?.attrs?.id, 'picture set: the server names its id');
let err2 = null;
try { await q('w:profile:picture', 'set', [{ tag: 'picture', attrs: { type: 'image' }, content: Buffer.from('GIF89a') }]); } catch (e) { err2 = e; }
check(err2?.output?.statusCode === 400 || err2?.data === 400, `a picture that is not a JPEG is refused (${err2?.message})`);
const url = await b.sock.profilePictureUrl(jidA, 'image');
check(typeof url === 'string' && url.startsWith('https://'), `B gets A's picture URL (${url})`);
const body = await new Promise((res, rej) => https.get(url, { rejectUnauthorized: false }, (r) => {
  const parts = [];
  r.on('data', (d) => parts.push(d));
  r.on('end', () => res(Buffer.concat(parts)));
}).on('error', rej));
check(body.equals(jpeg), `the URL serves the JPEG A set (${body.length} bytes)`);

// privacy
let pv = await a.sock.fetchPrivacySettings(true);
check(pv.readreceipts === 'all' && pv.profile === 'all' && pv.last === 'all' && pv.online === 'all' &&
  pv.groupadd === 'all' && pv.calladd === 'all', `privacy defaults (${JSON.stringify(pv)})`);
await a.sock.updateProfilePicturePrivacy('none');
await a.sock.updateLastSeenPrivacy('contacts');
pv = await a.sock.fetchPrivacySettings(true);
check(pv.profile === 'none' && pv.last === 'contacts', `privacy kept (${JSON.stringify(pv)})`);
let err3 = null;
try { await b.sock.profilePictureUrl(jidA, 'image'); } catch (e) { err3 = e; }
check(err3?.output?.statusCode === 401 || err3?.data === 401, `profile: none hides A's picture from B (${err3?.message})`);
check(typeof (await a.sock.profilePictureUrl(jidA, 'image')) === 'string', 'A still sees its own picture');
let err4 = null;
try { await a.sock.updateOnlinePrivacy('contacts'); } catch (e) { err4 = e; }
check(err4?.output?.statusCode === 400 || err4?.data === 400, `online accepts only all / match_last_seen (${err4?.message})`);
await a.sock.updateProfilePicturePrivacy('all');
check(typeof (await b.sock.profilePictureUrl(jidA, 'image')) === 'string', 'profile: all shows it again');

// business profile, set through the control API
check((await sim.api('POST', '/_sim/business', { phone: A, profile: { description: 'Loja de peças',
  email: 'vendas@acme.example', website: 'https://acme.example', category: 'Shopping & Retail' } })).status === 200,
'A made a business');
const bp = await b.sock.getBusinessProfile(jidA);
check(bp?.description === 'Loja de peças' && bp.email === 'vendas@acme.example' && bp.website?.[0] ===
  'https://acme.example' && bp.category === 'Shopping & Retail', `B reads A's business profile (${JSON.stringify(bp)})`);

// ---- A blocks B ----
for (const [c, name] of [[a, null], [b, 'Bruno']]) {
  await waitHistorySynced(c);
  if (name) await goOnline(c, name);
}
const got = [];
a.sock.ev.on('messages.upsert', ({ messages, type }) => {
  for (const m of messages) if (!m.key.fromMe && type === 'notify') got.push(m.message?.conversation ?? m.message?.extendedTextMessage?.text);
  a.poke();
});
await b.sock.sendMessage(jidA, { text: 'antes do bloqueio' });
await a.waitFor(() => got.includes('antes do bloqueio'), 15000, 'a message before the block');
// Baileys blocks by LID: A learns B's from a usync
await a.sock.onWhatsApp(jidB);
await a.sock.updateBlockStatus(jidB, 'block');
const blocked = await a.sock.fetchBlocklist();
const prof = (await sim.api('GET', `/_sim/profile/${A}`)).json;
check(blocked.length === 1 && blocked[0].endsWith('@lid') && prof.blocked.length === 1 && prof.blocked[0] === B,
  `A's blocklist names B (${JSON.stringify(blocked)}, ${JSON.stringify(prof.blocked)})`);
const sent = await b.sock.sendMessage(jidA, { text: 'bloqueado' });
check(sent?.key?.id, 'the blocked sender\'s message is acked');
await sleep(2500);
check(!got.includes('bloqueado'), 'a blocked user\'s message never reaches the blocker');
st = await statusOf(b, jidA);
check(!st?.status, `B no longer reads A's about text (${JSON.stringify(st)})`);
let err5 = null;
try { await b.sock.profilePictureUrl(jidA, 'image'); } catch (e) { err5 = e; }
check(err5?.output?.statusCode === 401 || err5?.data === 401, `nor A's picture (${err5?.message})`);
await a.sock.updateBlockStatus(jidB, 'unblock');
check((await a.sock.fetchBlocklist()).length === 0, 'unblocked: the blocklist is empty');
await b.sock.sendMessage(jidA, { text: 'desbloqueado' });
await a.waitFor(() => got.includes('desbloqueado'), 15000, 'a message after the unblock');
check(!got.includes('bloqueado'), 'the message sent while blocked stays undelivered');

// picture removed
await q('w:profile:picture', 'set', undefined);
let err6 = null;
try { await b.sock.profilePictureUrl(jidA, 'image'); } catch (e) { err6 = e; }
check(err6?.output?.statusCode === 404 || err6?.data === 404, `removed picture: 404 (${err6?.message})`);
await b.stop();
await a.stop();
console.log('ok: wasim_profile');
process.exit(0);
