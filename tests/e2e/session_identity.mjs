// libwa e2e (suite e2e): a contact's identity key changes (their phone is
// reinstalled: wasim POST /_sim/phone/reinstall gives account B's phone a
// new identity key, regid, signed pre-key and an empty Signal store).
//  1. we write first: our message on the old session cannot be decrypted,
//     B's phone sends a retry receipt, we fetch its new bundle; the session
//     built on the new identity makes us emit identity_changed for B, the
//     resend is decrypted, DELIVERED; later messages go through at once;
//  2. reinstalled again, B writes first: its pkmsg carries the new identity,
//     we emit identity_changed and the message, and our answer is decrypted
//     by the new install.
// Before any reinstall no identity_changed is emitted.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(90);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe);
const A = '15550007001', B = '15550007002';
const jidB = `${B}@s.whatsapp.net`;
const db = path.join(tmpDir('wa-ident-'), 'client.db');
for (const p of [A, B]) {
  const r = await sim.api('POST', '/_sim/accounts', { phone: p });
  check(r.status === 201, `account ${p} created`);
}
const lidB = `${(await sim.api('GET', `/_sim/accounts/${B}`)).json.lid}@lid`;
const ST_DELIVERED = 3;

const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
let r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}
const ourStatus = (id) => Math.max(-1, ...c.events.filter((e) => e.ev === 'message_status' && e.key.id === id).map((e) => e.status));
const identEvents = (from = 0) => c.events.slice(from).filter((e) => e.ev === 'identity_changed');
const isB = (jid) => jid === jidB || jid === lidB;
const phoneB = async () => (await sim.api('GET', `/_sim/accounts/${B}/messages`)).json.messages;
async function sendDelivered(text) {
  const res = await c.command({ cmd: 'send_text', to: B, text });
  if (!res.ok) fail(`send_text: ${res.err}`);
  await until(() => ourStatus(res.id) >= ST_DELIVERED, 20000, `"${text}" delivered`);
  const got = (await phoneB()).filter((m) => m.id === res.id && m.kind === 'message');
  check(got.length === 1 && got[0].text === text, `"${text}" decrypted once by B's phone`);
  return res.id;
}
async function fromB(text, from) {
  r = await sim.api('POST', '/_sim/phone/send', { phone: B, to: A, text });
  check(r.status === 200, `B's phone sends "${text}"`);
  const { ev } = await c.wait((e) => e.ev === 'message' && e.text === text, 20000, `"${text}" at our client`, from);
  check(isB(ev.key.remote_jid) && !ev.key.from_me, `"${text}" arrives from B`);
}

try {
  // sessions both ways with the first install
  await sendDelivered('hello old install');
  await fromB('hi from the old install', 0);
  check(identEvents().length === 0, 'no identity_changed while the identity is the same');

  // ---- 1. reinstall, we write first ----
  const before = (await sim.api('GET', `/_sim/accounts/${B}`)).json.identity;
  r = await sim.api('POST', '/_sim/phone/reinstall', { phone: B });
  check(r.status === 200 && r.json.identity !== before, "B's phone reinstalled with a new identity key");
  let m = c.mark();
  await sendDelivered('to the new install');
  const und = (await phoneB()).filter((x) => x.kind === 'undecryptable');
  check(und.length >= 1, `our first copy on the old session failed at the new install (${und.length}), it asked again`);
  const ev1 = identEvents(m);
  check(ev1.length >= 1 && ev1.every((e) => isB(e.jid)), `identity_changed for B (${ev1.map((e) => e.jid).join(', ')})`);
  m = c.mark();
  await sendDelivered('and once more');
  check(identEvents(m).length === 0, 'no second identity_changed for the same key');
  await fromB('the new install answers', m);

  // ---- 2. reinstall again, B writes first ----
  r = await sim.api('POST', '/_sim/phone/reinstall', { phone: B });
  check(r.status === 200, "B's phone reinstalled again");
  m = c.mark();
  await fromB('first words of the second install', m);
  const ev2 = identEvents(m);
  check(ev2.length >= 1 && ev2.every((e) => isB(e.jid)), `identity_changed for B on receipt of its pkmsg (${ev2.map((e) => e.jid).join(', ')})`);
  const ord = c.events.slice(m);
  check(ord.findIndex((e) => e.ev === 'identity_changed') < ord.findIndex((e) => e.ev === 'message'),
    'identity_changed comes before the message it came with');
  m = c.mark();
  await sendDelivered('answer to the second install');
  check(identEvents(m).length === 0, 'our answer needs no new identity');
  r = await sim.api('POST', '/_sim/phone/reinstall', { phone: '15550007999' });
  check(r.status === 404, 'reinstall of an unknown account refused');
  const code = await c.quit();
  check(code === 0, `client exits cleanly (${code})`);
} catch (e) {
  fail(e.stack || e.message);
}
await sim.stop();
process.exit(0);
