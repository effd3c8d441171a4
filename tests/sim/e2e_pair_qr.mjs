// wasim e2e 1: an unmodified Baileys 7.0.0-rc14 pairs by QR (the phone's
// scan is driven over the control API), goes through the 515 restart, logs
// in, passes the pre-key and passive iqs and reaches connection 'open'.
// Also: a QR with a wrong ADV secret is rejected by Baileys (its HMAC check
// fails, nothing is paired), and scans that don't match any connection fail.
import { startWasim, Client, check, fail, watchdog } from './harness.mjs';

watchdog(100);
const sim = await startWasim(process.argv[2]);
const phone = '15550001111';
let r = await sim.api('POST', '/_sim/accounts', { phone });
check(r.status === 201 && r.json.lid, 'account created with a LID');
const lid = r.json.lid;
check((await sim.api('POST', '/_sim/accounts', { phone })).status === 409, 'duplicate account refused');

// -- a tampered QR (wrong adv secret) must not pair
const bad = new Client(sim, 'bad');
await bad.start();
await bad.waitQr();
const parts = bad.qrs[0].split('#')[1].split(',');
check(bad.qrs[0].startsWith('https://wa.me/settings/linked_devices#') && parts.length === 5,
  'QR string is prefix#ref,noise,identity,adv,platform');
r = await sim.api('POST', '/_sim/scan', { phone, qr: 'https://x#nosuchref,' + parts.slice(1).join(',') });
check(r.status === 404, 'scan with an unknown ref is refused');
const wrongNoise = [parts[0], parts[2], parts[2], parts[3]].join(',');
r = await sim.api('POST', '/_sim/scan', { phone, qr: wrongNoise });
check(r.status === 400, 'scan whose noise key does not match the connection is refused');
const wrongAdv = [parts[0], parts[1], parts[2], Buffer.alloc(32, 7).toString('base64'), parts[4]].join(',');
r = await sim.api('POST', '/_sim/scan', { phone, qr: wrongAdv });
check(r.status === 200, 'scan with a wrong adv secret reaches the client');
await bad.waitClose(1, 10000);
check(bad.closes[0] !== 515 && bad.opens === 0, `Baileys rejects pair-success with a bad HMAC (closed ${bad.closes[0]})`);
await bad.stop();
r = await sim.api('GET', `/_sim/accounts/${phone}`);
check(r.json.devices.length === 0, 'nothing paired by the tampered QR');

// -- the real pairing
const c = new Client(sim, 'qr');
await c.start();
await c.waitQr();
r = await sim.api('POST', '/_sim/scan', { phone, qr: c.qrs[0] });
check(r.status === 200, 'phone scanned the QR');
await c.waitOpen(1, 30000);
check(c.closes[0] === 515, 'first connection closed with 515 restart required');
check(c.sock.user?.id?.startsWith(`${phone}:1@`), `Baileys me.id = ${c.sock.user?.id}`);
check(c.creds.me?.lid?.startsWith(`${lid}:1@lid`), `Baileys me.lid = ${c.creds.me?.lid}`);
const ask = c.creds.account?.accountSignatureKey;
const askHex = Buffer.from(typeof ask === 'string' ? Buffer.from(ask, 'base64') : ask).toString('hex');
check(askHex === (await sim.api('GET', `/_sim/accounts/${phone}`)).json.identity,
  'Baileys stored the phone identity as accountSignatureKey');
r = await sim.api('GET', `/_sim/accounts/${phone}`);
const d = r.json.devices[0];
check(r.json.devices.length === 1 && d.device === 1 && d.key_index === 1 && d.online, 'wasim lists device 1 online, key-index 1');
check(d.noise_pub === Buffer.from(c.creds.noiseKey.public).toString('hex'), 'stored noise key is the client\'s');
check(d.identity === Buffer.from(c.creds.signedIdentityKey.public).toString('hex'), 'stored identity is the client\'s');
await c.waitFor(() => c.updates.some((u) => u.receivedPendingNotifications), 10000, 'offline ib');
check(true, 'Baileys saw <ib><offline count/> (receivedPendingNotifications)');

// -- a second device gets the next device number and key index
const c2 = new Client(sim, 'qr2');
await c2.start();
await c2.waitQr();
check((await sim.api('POST', '/_sim/scan', { phone, qr: c2.qrs[0] })).status === 200, 'second scan');
await c2.waitOpen(1, 30000);
r = await sim.api('GET', `/_sim/accounts/${phone}`);
check(r.json.devices.length === 2 && r.json.devices[1].device === 2 && r.json.devices[1].key_index === 2, 'second companion is device 2, key-index 2');
check(c.opens === 1 && c.closes.length === 1, 'first companion unaffected');

// Baileys logout(): remove-companion-device for itself -> device 2 unlinked
await c2.sock.logout();
await c2.waitClose(2, 10000);
check(c2.closes[1] === 401, `logout closes with ${c2.closes[1]} (loggedOut)`);
for (let i = 0; i < 20; i++) {
  r = await sim.api('GET', `/_sim/accounts/${phone}`);
  if (r.json.devices.length === 1) break;
  await new Promise((res) => setTimeout(res, 100));
}
check(r.json.devices.length === 1 && r.json.devices[0].device === 1, 'logout removed device 2 only');
await c.stop();
await c2.stop();
const code = await sim.stop();
check(code === 0, `wasim exited cleanly (${code})`);
process.exit(0);
