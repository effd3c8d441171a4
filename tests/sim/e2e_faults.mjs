// wasim e2e 3: every fault of POST /_sim/fault, and what an unmodified
// Baileys does about it (the status code in connection.update's
// lastDisconnect, and whether the app-style harness reconnects):
//   drop (close frame) -> 428, reconnects      drop_noclose (TCP cut) -> 428, reconnects
//   refuse N s         -> reconnects fail until the window ends, then open
//   stream_error 515   -> 515 restart          stream_error 503 -> 503, reconnects
//   stream_error 440   -> 440 replaced         stream_error 401 -> 401 logged out
//   second login of the same device -> the first gets 440 (connectionReplaced)
//   unpair -> 401 (device_removed); logging in again -> <failure 401> -> 401
//   ack_delay / ack_drop -> server message acks arrive late / never (Baileys
//   only reacts to error acks, so the test watches the raw ack frames)
import { startWasim, Client, pairByQr, check, fail, watchdog, sleep, copyAuth } from './harness.mjs';

watchdog(200);
const sim = await startWasim(process.argv[2]);
const phone = '15550003333';
const c = await pairByQr(sim, phone, 'faults', { reconnect: true });
const fault = async (body) => {
  const r = await sim.api('POST', '/_sim/fault', { phone, device: 1, ...body });
  if (r.status !== 200) fail(`fault ${JSON.stringify(body)}: ${JSON.stringify(r)}`);
  return r.json;
};
let opens = c.opens, closes = c.closes.length;
async function expectCloseThenOpen(code, what) {
  await c.waitClose(closes + 1, 15000);
  check(c.closes[closes] === code, `${what}: Baileys closed with ${c.closes[closes]} (want ${code})`);
  await c.waitOpen(opens + 1, 20000);
  check(true, `${what}: reconnected and open again`);
  opens = c.opens;
  closes = c.closes.length;
}

await fault({ action: 'drop' });
await expectCloseThenOpen(428, 'drop with close frame');
await fault({ action: 'drop_noclose' });
await expectCloseThenOpen(428, 'drop without close frame');
await fault({ action: 'stream_error', code: 515 });
await expectCloseThenOpen(515, 'stream:error 515');
await fault({ action: 'stream_error', code: 503 });
await expectCloseThenOpen(503, 'stream:error 503');

// refuse logins for 3 s and cut the current connection
const t0 = Date.now();
await fault({ action: 'refuse', seconds: 3, drop: true });
await c.waitOpen(opens + 1, 25000);
check(Date.now() - t0 >= 2900, `refused for the window: open again after ${Date.now() - t0} ms`);
check(c.closes.length - closes >= 2, `Baileys' retries inside the window were dropped (${c.closes.length - closes} closes: ${c.closes.slice(closes)})`);
opens = c.opens;
closes = c.closes.length;

// ack faults: watch server acks of our messages on the raw frame stream
const other = '15550004444';
await sim.api('POST', '/_sim/accounts', { phone: other });
const acks = new Map(); // message id -> arrival time (all server message acks)
const watchAcks = () => c.sock.ws.on('CB:ack,class:message', (node) => acks.set(node.attrs.id, Date.now()));
watchAcks();
async function ackDelay() {
  const sent = Date.now();
  const msg = await c.sock.sendMessage(`${other}@s.whatsapp.net`, { text: 'ack?' });
  const id = msg.key.id;
  for (let i = 0; i < 30 && !acks.has(id); i++) await sleep(100);
  return acks.has(id) ? acks.get(id) - sent : null;
}
let d = await ackDelay();
check(d !== null && d < 1000, `server ack arrives promptly without faults (${d} ms)`);
await fault({ action: 'ack_delay', ms: 1500 });
d = await ackDelay();
check(d !== null && d >= 1400, `ack_delay 1500: ack after ${d} ms`);
await fault({ action: 'ack_delay', ms: 0 });
await fault({ action: 'ack_drop' });
d = await ackDelay();
check(d === null, 'ack_drop: no server ack within 3 s');
await fault({ action: 'clear' });
d = await ackDelay();
check(d !== null && d < 1000, 'clear: acks are back');
check(c.closes.length === closes, 'Baileys stayed connected through the ack faults');

// 440: replaced (the harness, like apps, does not reconnect)
await fault({ action: 'stream_error', code: 440 });
await c.waitClose(closes + 1);
check(c.closes[closes] === 440, `stream:error conflict replaced -> ${c.closes[closes]} (connectionReplaced)`);
closes++;
await sleep(1500);
check(c.opens === opens, 'no reconnect after 440');

// a real second login of the same device replaces the first connection
await c.start();
await c.waitOpen(opens + 1);
opens = c.opens;
const twin = new Client(sim, 'twin');
await copyAuth(c.authDir, twin.authDir);
await twin.start();
await twin.waitOpen(1);
await c.waitClose(closes + 1);
check(c.closes[closes] === 440, `second connection of the device replaces the first (${c.closes[closes]})`);
closes++;
await twin.stop();
await sleep(300);

// 401 stream error: logged out (device stays paired on the server)
await c.start();
await c.waitOpen(opens + 1);
opens = c.opens;
await fault({ action: 'stream_error', code: 401 });
await c.waitClose(closes + 1);
check(c.closes[closes] === 401, `stream:error 401 -> ${c.closes[closes]} (loggedOut)`);
closes++;

// unpair: device_removed while online, then a login attempt gets <failure 401>
await c.start();
await c.waitOpen(opens + 1);
opens = c.opens;
let r = await sim.api('POST', '/_sim/unpair', { phone, device: 1 });
check(r.status === 200, 'unpair accepted');
await c.waitClose(closes + 1);
check(c.closes[closes] === 401, `unpaired device sees ${c.closes[closes]} (loggedOut)`);
closes++;
r = await sim.api('GET', `/_sim/accounts/${phone}`);
check(r.json.devices.length === 0, 'device gone from the account');
const again = new Client(sim, 'again');
await copyAuth(c.authDir, again.authDir);
await again.start();
await again.waitClose(1);
check(again.closes[0] === 401 && again.opens === 0, `login of the removed device fails with ${again.closes[0]}`);
await again.stop();
await c.stop();
check((await sim.stop()) === 0, 'wasim exited cleanly');
process.exit(0);
