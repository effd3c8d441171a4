// wasim e2e 2: an unmodified Baileys pairs by pairing code. The client asks
// for a code on its registration connection (companion_hello); the "user"
// types it on the simulated phone (POST /_sim/pair-code), which sends
// primary_hello; Baileys answers companion_finish; wasim derives the ADV
// secret from the key bundle, sends pair-success, 515, and the client logs in.
// A wrong code must not pair.
import { startWasim, Client, check, watchdog, sleep } from './harness.mjs';

watchdog(100);
const sim = await startWasim(process.argv[2]);
const phone = '15550002222';
check((await sim.api('POST', '/_sim/accounts', { phone })).status === 201, 'account created');

// wrong code first
const bad = new Client(sim, 'badcode');
await bad.start();
await bad.waitQr();
const badCode = await bad.sock.requestPairingCode(phone);
check(typeof badCode === 'string' && badCode.length === 8, `Baileys shows an 8-character code`);
await sleep(200);
const wrong = badCode === 'ABCDEFGH' ? 'HGFEDCBA' : 'ABCDEFGH';
let r = await sim.api('POST', '/_sim/pair-code', { phone, code: wrong });
check(r.status === 200, 'phone accepts typing a (wrong) code');
await sleep(1500);
r = await sim.api('GET', `/_sim/accounts/${phone}`);
check(r.json.devices.length === 0 && bad.opens === 0, 'a wrong code pairs nothing');
await bad.stop();

r = await sim.api('POST', '/_sim/pair-code', { phone, code: 'ABCDEFGH' });
check(r.status === 404, 'typing a code with no waiting client is refused');

const c = new Client(sim, 'code');
await c.start();
await c.waitQr();
const code = await c.sock.requestPairingCode(phone);
await sleep(200); // companion_hello is sent without waiting for the answer
r = await sim.api('POST', '/_sim/pair-code', { phone, code: `${code.slice(0, 4)}-${code.slice(4)}` });
check(r.status === 200, 'phone entered the code (XXXX-XXXX form accepted)');
await c.waitOpen(1, 30000);
check(c.closes[0] === 515, 'closed with 515 after pairing, then reconnected');
check(c.sock.user?.id?.startsWith(`${phone}:1@`), `logged in as ${c.sock.user?.id}`);
r = await sim.api('GET', `/_sim/accounts/${phone}`);
check(r.json.devices.length === 1 && r.json.devices[0].online, 'wasim lists the device online');
await c.stop();
check((await sim.stop()) === 0, 'wasim exited cleanly');
process.exit(0);
