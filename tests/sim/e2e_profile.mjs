// wasim e2e (profile iqs): what an account that set nothing gets for the
// profile iqs clients send, read through an unmodified Baileys 7.0.0-rc14:
// profile picture 404 item-not-found (Baileys' profilePictureUrl throws
// it), no business profile (getBusinessProfile resolves to nothing), status
// privacy as a <privacy><list type default/> answer, a contact QR code that
// changes on revoke, push config accepted. Any of them answered 501 fails.
import { startWasim, pairByQr, check, watchdog } from './harness.mjs';

watchdog(50);
const sim = await startWasim(process.argv[2]);
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
await a.stop();
console.log('ok: wasim_profile');
process.exit(0);
