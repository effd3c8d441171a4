// Test-only fast provisioning end to end (suite e2e): instances seeded
// into a wamd store (tests/bench/seed.mjs: wamd_seed + wasim's /_sim/seed)
// must be what a QR pairing leaves behind:
//   - wamd logs every one of them in (`open`, no logout) without a fresh
//     pre-key upload (wasim still holds exactly the seeded stock);
//   - a text between two seeded instances is decrypted, so the identity,
//     signed pre-key and one-time pre-key wasim hands out are the private
//     keys wamd holds (the first message is a pkmsg on a seeded pre-key);
//   - the checks of a pairing hold: a container not HMAC'd with the
//     instance's ADV secret is refused by wamd_seed (libwa's
//     wa_pair_verify_and_sign), a device signature that does not verify and
//     a device never offered are refused by wasim.
// argv: [node, script, wamd, wasim, wamd_seed]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { wamdClient, waitWamd } from '../bench/provision.mjs';
import { seed } from '../bench/seed.mjs';
import { startWamd, retrying } from '../bench/wamd_bench.mjs';

watchdog(170);
const [wamdExe, wasimExe, seedExe] = process.argv.slice(2);
const N = 4, K = 7, BASE = 15554000000;

const sim = await startWasim(wasimExe);
const data = tmpDir('wamd-seed-');
const r = await seed({ wasim: `http://127.0.0.1:${sim.port}`, seedExe, data, count: N, prefix: 's', phoneBase: BASE,
  prekeys: K, batch: 3 });
check(r.count === N, `${N} instances seeded (two batches)`);
for (let i = 0; i < N; i++) {
  const a = (await sim.api('GET', `/_sim/accounts/${BASE + i}`)).json;
  check(a.devices?.length === 1 && a.devices[0].device === 1 && a.devices[0].uploaded && a.devices[0].prekeys === K,
    `wasim: ${BASE + i} has companion 1 with ${K} uploaded pre-keys (${JSON.stringify(a.devices?.[0]?.prekeys)})`);
}

// refusals: a wrong ADV secret, a bad device signature, a device never offered
const ident = Buffer.alloc(32, 7).toString('base64');
const off = (await sim.api('POST', '/_sim/seed/offer', { items: [{ phone: String(BASE + 9), identity: ident,
  adv_secret: Buffer.alloc(32, 1).toString('base64') }] })).json.items[0];
check(typeof off.device_identity === 'string' && off.device === 1, 'offer for a new account answers device 1');
const seedIn = (lines) => spawnSync(seedExe, [path.join(data, 'wamd.db')], { input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n' });
let p = seedIn([{ op: 'new', name: 'x', prekeys: 0 }, { op: 'pair', name: 'x', device_identity: off.device_identity,
  jid: off.jid, lid: off.lid, platform: 'android' }]);
check(p.status === 1 && /hmac-mismatch/.test(p.stdout.toString()),
  `wamd_seed refuses a container HMAC'd with another ADV secret (${p.stdout.toString().trim().split('\n').pop()})`);
// a real pairing's answers for one more device, then tampered
const one = path.join(tmpDir('wamd-seed-x-'), 'data');
let badSig = null;
await seed({ wasim: `http://127.0.0.1:${sim.port}`, seedExe, data: one, count: 1, prefix: 'y', phoneBase: BASE + 20,
  prekeys: 1 });
{
  // device 2 offered, then accepted with a device signature that is not one
  const o2 = (await sim.api('POST', '/_sim/seed/offer', { items: [{ phone: String(BASE + 20), identity: ident,
    adv_secret: Buffer.alloc(32, 2).toString('base64') }] })).json.items[0];
  check(o2.device === 2, `second offer reserves device 2 (${o2.device})`);
  const sig = Buffer.alloc(64, 3).toString('base64');
  // ADVSignedDeviceIdentity{details(1), accountSignature(3), deviceSignature(4)}: details from the offer's container
  const cont = Buffer.from(o2.device_identity, 'base64');
  // container = HMAC{details(1)=signed identity bytes, hmac(2)}: field 1, length-delimited
  const len = cont[1] < 128 ? cont[1] : (cont[1] & 0x7f) | (cont[2] << 7);
  const off1 = cont[1] < 128 ? 2 : 3;
  const signedNoDev = cont.subarray(off1, off1 + len);
  const tampered = Buffer.concat([signedNoDev, Buffer.from([0x22, 64]), Buffer.from(sig, 'base64')]);
  badSig = (await sim.api('POST', '/_sim/seed/accept', { items: [{ phone: String(BASE + 20), device: 2,
    identity: ident, noise_pub: ident, regid: 1, spk_id: 1, spk_pub: ident, spk_sig: sig,
    signed_identity: tampered.toString('base64'), prekeys: [] }] })).json.items[0];
}
check(badSig?.error === 'bad device signature', `wasim refuses a device signature that does not verify (${JSON.stringify(badSig)})`);
const never = (await sim.api('POST', '/_sim/seed/accept', { items: [{ phone: String(BASE + 20), device: 5,
  identity: ident, noise_pub: ident, regid: 1, spk_id: 1, spk_pub: ident, spk_sig: Buffer.alloc(64).toString('base64'),
  signed_identity: 'AA==', prekeys: [] }] })).json.items[0];
check(/no device offered/.test(never?.error ?? ''), `wasim refuses a device it never offered (${JSON.stringify(never)})`);
check((await sim.api('GET', `/_sim/accounts/${BASE + 20}`)).json.devices.length === 1, 'the refused devices were not added');

// wamd logs the seeded instances in
const w = startWamd(wamdExe, { data, sim, logLevel: 'info' });
await waitWamd(w.socket, 60000);
const wc = wamdClient(w.socket, 4);
let m = null;
for (const end = Date.now() + 90000; Date.now() < end; await sleep(100)) {
  m = (await retrying(() => wc.call('GET', '/wamd/metrics'))).json;
  if (m?.instances?.open === N) break;
}
check(m?.instances?.open === N, `wamd: all ${N} seeded instances open (${JSON.stringify(m?.instances)})`);
await sleep(1500); // a pre-key check answered low would upload now
// (the phone may have taken one for its history notification; an upload
// would add 812 or 50)
const before = [];
for (let i = 0; i < N; i++) {
  const d = (await sim.api('GET', `/_sim/accounts/${BASE + i}`)).json.devices[0];
  before.push(d.prekeys);
  check(d.online && d.prekeys <= K && d.prekeys >= K - 1, `${BASE + i}: online, no pre-key upload at login (${d.prekeys} on the server)`);
}

// a text between two seeded instances: a pkmsg on s1's seeded one-time pre-key
const sent = await wc.call('POST', '/message/sendText/s0', { number: String(BASE + 1), text: 'seeded hello' });
check(sent.status === 201 || sent.status === 200, `s0 sends to s1 (${sent.status})`);
let got = null;
for (const end = Date.now() + 30000; Date.now() < end && !got; await sleep(200)) {
  const f = await wc.call('POST', '/chat/findMessages/s1', {});
  got = f.json?.messages?.records?.find((x) => x.message?.conversation === 'seeded hello');
}
check(got && got.key.fromMe === false, 's1 decrypted and stored the text');
const d1 = (await sim.api('GET', `/_sim/accounts/${BASE + 1}`)).json.devices[0];
const retries = (d1.receipts_sent || []).filter((x) => x.type === 'retry');
check(retries.length === 0, `s1 decrypted the first copy: no retry receipt (${JSON.stringify(d1.receipts_sent)})`);
check(d1.prekeys === before[1] - 1, `s1's seeded one-time pre-key was used (${before[1]} -> ${d1.prekeys})`);
wc.close();
await w.stop();
check(!/LOGGED_OUT/.test(w.log()), 'no logout');
await sim.stop();
console.log('ok');
process.exit(0);
