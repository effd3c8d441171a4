// libwa e2e (suite e2e): the receipts a history-sync notification gets.
// Our phone's INITIAL_BOOTSTRAP notification (a peer message carrying
// protocolMessage.historySyncNotification) is answered, as Baileys and
// whatsmeow do, with a peer_msg receipt and then a hist_sync one to our own
// user JID. wasim runs with WASIM_REAL=hist_sync: its phone sends the
// notification again (new id) every 2 s until the hist_sync receipt comes,
// so a client without it is seen getting several.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(60);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe, { real: 'hist_sync' });
const A = '15550009201';
const db = path.join(tmpDir('wa-hist-'), 'client.db');
let r = await sim.api('POST', '/_sim/accounts', { phone: A });
check(r.status === 201, 'account created');

const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');
const ourDev = Number(/:(\d+)@/.exec(c.events.find((e) => e.ev === 'paired').jid)[1]);
const dev = async () => (await sim.api('GET', `/_sim/accounts/${A}`)).json.devices.find((d) => d.device === ourDev);

const end = Date.now() + 8000;
let d;
while (!(d = await dev()).hist_acked) {
  if (Date.now() > end) fail(`no hist_sync receipt: ${d.hist_sends} notification(s), receipts ${JSON.stringify(d.receipts_sent)}`);
  await sleep(100);
}
check(d.hist_sends === 1, `the phone sent the notification once (${d.hist_sends})`);
const mine = d.receipts_sent.filter((x) => x.id === d.hist_id).map((x) => x.type);
check(JSON.stringify(mine) === '["peer_msg","hist_sync"]', `peer_msg then hist_sync for the notification (${JSON.stringify(mine)})`);
// nothing was sent again meanwhile
await sleep(2500);
check((await dev()).hist_sends === 1, 'no resend after the receipt');
check((await c.quit()) === 0, 'client exits cleanly');
console.log('ok: session_hist_sync');
process.exit(0);
