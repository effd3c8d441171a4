// wasim e2e 5: persistence and TLS. A Baileys client pairs over wss://
// (wasim's self-signed TLS port); wasim is stopped and restarted on the same
// --state directory (new ports); the trust root, the account and the paired
// device survived, so the client (reconnecting like an app) logs in again
// with its saved credentials, sending the ED routing prefix it got from
// <ib><edge_routing> (--edge-routing). Also checks --root-out.
import fs from 'node:fs';
import path from 'node:path';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep } from './harness.mjs';

watchdog(100);
const state = tmpDir('wasim-state-');
const rootOut = path.join(state, 'root.hex');
const sim1 = await startWasim(process.argv[2], { state, tls: true, extra: ['--root-out', rootOut, '--edge-routing'] });
check(sim1.tls_port > 0 && sim1.port > 0 && sim1.tls_port !== sim1.port, `listening on ${sim1.port} and TLS ${sim1.tls_port}`);
check(fs.readFileSync(rootOut, 'utf8').trim() === sim1.root, '--root-out wrote the root key');
check((await sim1.api('GET', '/_sim/root')).json.root === sim1.root, 'GET /_sim/root matches');
const phone = '15550006666';
const c = await pairByQr(sim1, phone, 'persist', { reconnect: true, tls: true });
check(c.opens === 1, 'paired and logged in over wss://');
const before = (await sim1.api('GET', `/_sim/accounts/${phone}`)).json;

check((await sim1.stop()) === 0, 'wasim stopped cleanly');
await c.waitClose(2, 10000);
check(true, `client noticed (close ${c.closes[1]})`);
const sim2 = await startWasim(process.argv[2], { state, tls: true, extra: ['--edge-routing'] });
check(sim2.root === sim1.root, 'restarted wasim kept its trust root');
const after = (await sim2.api('GET', `/_sim/accounts/${phone}`)).json;
check(after.lid === before.lid && after.identity === before.identity, 'account (LID, phone identity) persisted');
check(after.devices.length === 1 && after.devices[0].noise_pub === before.devices[0].noise_pub, 'paired device persisted');
c.sim = sim2; // the app's next reconnect goes to the new ports
await c.waitOpen(2, 30000);
check(true, 'client logged in again to the restarted wasim with its saved credentials');
check(Buffer.from(c.creds.routingInfo ?? []).toString('latin1').endsWith('wasim'), 'Baileys stored <edge_routing> routing_info');
const conns = (await sim2.api('GET', '/_sim/conns')).json.conns;
check(conns.length === 1 && conns[0].routing_len === 9, `reconnect used the ED routing prefix (routing_len ${conns[0]?.routing_len})`);
check(!c.closes.includes(401), 'no logout on the way');
await sleep(200);
check((await sim2.api('GET', `/_sim/accounts/${phone}`)).json.devices[0].online, 'device online on the new wasim');
await c.stop();
check((await sim2.stop()) === 0, 'wasim exited cleanly');
process.exit(0);
