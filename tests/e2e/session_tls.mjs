// libwa e2e (suite e2e): wss:// transport. wasim serves a self-signed
// certificate: with tls_insecure the client completes TLS, the Noise
// handshake and gets to the QR; without it the certificate is refused
// (real verification is on by default) and the client backs off.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(60);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe, { tls: true });
check(sim.tlsUrl !== null, `wasim serves wss on ${sim.tlsUrl}`);
const dir = tmpDir('wa-e2e-tls-');
try {
  const ok = new WaClient(clientExe, { db: path.join(dir, 'a.db'), url: sim.tlsUrl, root: sim.root,
    extra: ['--insecure'] }).start();
  const { ev } = await ok.wait((e) => e.ev === 'qr', 15000, 'QR over wss');
  check(ev.qr.startsWith('https://wa.me/settings/linked_devices#'), 'tls_insecure: QR over wss');
  await ok.quit();

  const strict = new WaClient(clientExe, { db: path.join(dir, 'b.db'), url: sim.tlsUrl, root: sim.root }).start();
  await strict.wait((e) => e.ev === 'state' && e.state === 'BACKOFF', 15000, 'refused certificate');
  check(!strict.events.some((e) => e.ev === 'qr' || e.state === 'HANDSHAKING'),
    'certificate verification on by default: self-signed server refused before any handshake');
  await strict.quit();
} catch (e) {
  fail(e.message);
}
await sim.stop();
process.exit(0);
