// libwa e2e (suite e2e): reporting tokens on what we send. A text carries a
// messageSecret, so its stanza carries <reporting><reporting_token v="2">
// (as Baileys' relayMessage and whatsmeow attach it); wasim forwards it
// with the message and the recipient phone recomputes it from the
// plaintext (the derivation itself is checked against Baileys in the
// interop test reporting_baileys). A reaction gets none, as in Baileys.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(60);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe);
const A = '15550009401', C = '15550009403';
const db = path.join(tmpDir('wa-reporting-'), 'client.db');
for (const p of [A, C]) {
  const r = await sim.api('POST', '/_sim/accounts', { phone: p });
  check(r.status === 201, `account ${p} created`);
}
const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
let r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');

async function atPhone(id) {
  const end = Date.now() + 10000;
  for (;;) {
    const m = (await sim.api('GET', `/_sim/accounts/${C}/messages`)).json.messages.find((x) => x.id === id);
    if (m) return m;
    if (Date.now() > end) fail(`message ${id} never reached C's phone`);
    await sleep(50);
  }
}
const chatC = `${C}@s.whatsapp.net`;
const texts = ['plain', 'Привет 👍', 'x'.repeat(3000)];
let last;
for (const text of texts) {
  const s = await c.command({ cmd: 'send_text', to: chatC, text });
  check(s.ok, `sent "${text.slice(0, 20)}"`);
  const m = await atPhone(s.id);
  check(m.kind === 'message' && m.text === text, 'the phone decrypted it');
  check(m.reporting === 'ok', `its reporting token is the one the phone derives (${m.reporting})`);
  last = s.id;
}
const rx = await c.command({ cmd: 'send_reaction', key: { remote_jid: chatC, from_me: true, id: last }, emoji: '👍' });
check(rx.ok, 'sent a reaction');
const m = await atPhone(rx.id);
check(m.reporting === 'none', `a reaction carries no secret and no token (${m.reporting})`);
check((await c.quit()) === 0, 'client exits cleanly');
console.log('ok: session_reporting');
process.exit(0);
