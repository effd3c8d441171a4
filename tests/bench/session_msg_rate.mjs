// Benchmark (not a test): how many 1:1 text messages per second one libwa
// session sustains to an unmodified Baileys through wasim on loopback.
// Our client (tests/e2e/wa_client) queues M messages at once; the clock
// runs until Baileys has decrypted all of them, and separately until our
// client has seen the server ack (SENT) and the delivery receipt of each.
// usage: node tests/bench/session_msg_rate.mjs <wa_client> <wasim> [M]
// (WA_NODE_MODULES must point at the interop node_modules, as in e2e.)
import { startWasim, pairByQr, check, watchdog, tmpDir } from '../sim/harness.mjs';
import { WaClient } from '../e2e/wa_client.mjs';
import path from 'node:path';

const [clientExe, wasimExe, mArg] = process.argv.slice(2);
const M = Number(mArg || 1000);
watchdog(600);
const sim = await startWasim(wasimExe);
const A = '15550004001', B = '15550004002';
await sim.api('POST', '/_sim/accounts', { phone: A });
const c = new WaClient(clientExe, { db: path.join(tmpDir('wa-bench-'), 'c.db'), url: sim.url, root: sim.root,
  extra: [] }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'QR');
await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
await c.wait((e) => e.ev === 'connected', 20000, 'connected');
const b = await pairByQr(sim, B, 'bench-b');
b.creds.me = { ...b.creds.me, name: 'B' };
await b.sock.sendPresenceUpdate('available');
let got = 0;
b.sock.ev.on('messages.upsert', ({ messages, type }) => {
  for (const m of messages) if (!m.key.fromMe && type === 'notify' && m.message) got++;
  b.poke();
});
// warm-up: device list and session
await c.command({ cmd: 'send_text', to: B, text: 'warm-up' });
await b.waitFor(() => got >= 1, 20000, 'warm-up');
got = 0;
const mark = c.mark();
const t0 = Date.now();
for (let i = 0; i < M; i++) c.send({ cmd: 'send_text', to: B, text: `bench ${i} — some ordinary text of a CRM message` });
await b.waitFor(() => got >= M, 600000, `${M} messages at Baileys`);
const tRecv = Date.now() - t0;
const acked = () => c.events.slice(mark).filter((e) => e.ev === 'message_status' && e.status === 3).length;
await c.wait(() => acked() >= M, 120000, 'delivery receipts', mark);
const tDeliv = Date.now() - t0;
check(got === M, `${M} messages received`);
console.log(`figures: ${M} messages, Baileys decrypted all in ${tRecv} ms (${(M / tRecv * 1000).toFixed(0)} msg/s); ` +
  `our client saw every delivery receipt after ${tDeliv} ms (${(M / tDeliv * 1000).toFixed(0)} msg/s)`);
await c.quit();
await b.stop();
await sim.stop();
process.exit(0);
