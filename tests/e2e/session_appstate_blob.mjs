// libwa e2e (suite e2e): app state held as external blobs. wasim, like the
// real server, sends what is too big to go inline as an ExternalBlobReference
// to a media blob; here its thresholds are lowered so that a companion
// syncing from version 0 gets a snapshot of regular_low and every patch
// carries its mutations externally.
//  1. After pairing: the snapshot (archive, pin, mark-unread of three chats)
//     and the push-name patch (external mutations) are downloaded, verified
//     and applied; the versions are the server's.
//  2. A new phone mutation arrives as an external patch and applies.
//  3. An external patch with a bad LT-hash is refused like an inline one;
//     the collection's state is dropped and the full resync from version 0
//     (an intact snapshot) brings it up to date at once.
//  4. A second companion meets a snapshot with a bad MAC: refused, nothing
//     of it applied, refused again by the full resync and stopped; once
//     served intact it syncs from version 0 again.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(110);
const [clientExe, wasimExe] = process.argv.slice(2);
// the media host is https only
const sim = await startWasim(wasimExe, { tls: true });
const A = '15550009301';
const X = ['15550009311', '15550009312', '15550009313'].map((p) => `${p}@s.whatsapp.net`);
let r = await sim.api('POST', '/_sim/accounts', { phone: A, push_name: 'Alice Blob' });
check(r.status === 201, 'account A created with a push name');
r = await sim.api('POST', '/_sim/appstate/config', { phone: A, snapshot_min: 4, inline_max: 0 });
check(r.status === 200 && r.json.snapshot_min === 4 && r.json.inline_max === 0, 'wasim sends app state as blobs');

async function mutate(body) {
  const m = await sim.api('POST', '/_sim/appstate/mutate', { phone: A, ...body });
  check(m.status === 200, `phone mutation ${JSON.stringify(body)}`);
  return m.json;
}
for (const j of X) await mutate({ action: 'archive', jid: j, value: true });
await mutate({ action: 'pin', jid: X[0], value: true });
const last = await mutate({ action: 'read', jid: X[1], value: false });
check(last.collection === 'regular_low' && last.version === 5, `regular_low at v5 before pairing (${last.version})`);
const info = async () => (await sim.api('GET', `/_sim/appstate/${A}`)).json;

async function pair(name) {
  const db = path.join(tmpDir(`wa-asblob-${name}-`), 'client.db');
  const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root, extra: ['--insecure'] }).start();
  const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, `${name}: first QR`);
  const s = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
  check(s.status === 200, `${name}: phone scanned the QR`);
  await c.wait((e) => e.ev === 'connected', 20000, `${name}: connected after pairing`);
  return c;
}

// 1. the snapshot and an external patch, at pairing
const c = await pair('first');
await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error === 0 && e.version === 5,
  15000, 'regular_low synced to v5 from the snapshot');
const { ev: pn } = await c.wait((e) => e.ev === 'push_name', 5000, 'push name from the external patch');
check(pn.name === 'Alice Blob', `push name from critical_block's external mutations ("${pn.name}")`);
const ups = c.events.filter((e) => e.ev === 'chat_update');
for (const j of X)
  check(ups.some((e) => e.jid === j && e.archived === 1), `snapshot: ${j} archived`);
check(ups.some((e) => e.jid === X[0] && e.pinned === 1), 'snapshot: the pin');
check(ups.some((e) => e.jid === X[1] && e.read === 0), 'snapshot: the mark-unread');
// (a fetch before the phone's key share waits for it: not a refusal)
const refused = c.events.filter((e) => e.ev === 'app_state' && e.error !== 0 && !/sync key missing/.test(e.detail));
check(refused.length === 0, `no collection refused (${JSON.stringify(refused)})`);
let i = await info();
check(i.snapshots >= 1 && i.external >= 1, `wasim served a snapshot and external patches (${i.snapshots}, ${i.external})`);

// 2. a new mutation, as an external patch
let from = c.mark();
const ext0 = i.external;
await mutate({ action: 'pin', jid: X[1], value: true });
await c.wait((e) => e.ev === 'chat_update' && e.jid === X[1] && e.pinned === 1, 10000, 'pin via external patch', from);
await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error === 0 && e.version === 6,
  5000, 'regular_low at v6', from);
check((await info()).external > ext0, 'that patch went out as a blob');

// 3. a tampered external patch is refused; the full resync's snapshot
// (intact: the fault alters patches) brings the collection up to date
check((await sim.api('POST', '/_sim/appstate/fault', { phone: A, tamper: 'lthash' })).status === 200, 'tamper on');
const snaps = (await info()).snapshots;
from = c.mark();
await mutate({ action: 'archive', jid: X[2], value: false });
let { ev } = await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error !== 0, 10000,
  'refusal of the tampered external patch', from);
check(/LT-hash mismatch/.test(ev.detail) && ev.version === 6, `refused at v6: "${ev.detail}"`);
const afterRefusal = c.events.length;
await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error === 0 && e.version === 7,
  10000, 'regular_low at v7 from the full resync\'s snapshot', from);
check(c.events.slice(from, afterRefusal).every((e) => e.ev !== 'chat_update'), 'nothing of the tampered patch applied');
check(c.events.slice(afterRefusal).some((e) => e.ev === 'chat_update' && e.jid === X[2] && e.archived === 0),
  'the unarchive arrived with the snapshot');
check((await info()).snapshots === snaps + 1, 'one snapshot served for the resync');
await sim.api('POST', '/_sim/appstate/fault', { phone: A, tamper: 'none' });
await mutate({ action: 'read', jid: X[1], value: true });
await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error === 0 && e.version === 8,
  10000, 'regular_low caught up to v8', from);

// 4. a second companion: a bad snapshot MAC, then the intact snapshot
check((await sim.api('POST', '/_sim/appstate/fault', { phone: A, tamper: 'snapshot_mac' })).status === 200,
  'snapshot tamper on');
const c2 = await pair('second');
({ ev } = await c2.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error !== 0 &&
  !/sync key missing/.test(e.detail), 15000, 'refusal of the tampered snapshot'));
check(/snapshot MAC mismatch/.test(ev.detail) && ev.version === 0, `refused, still at v0: "${ev.detail}"`);
await c2.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && /refused again after a full resync/.test(e.detail ?? ''),
  10000, 'stopped once the full resync met the tampered snapshot too');
await sleep(300);
check(!c2.events.some((e) => e.ev === 'chat_update'), 'nothing of the tampered snapshot applied');
await sim.api('POST', '/_sim/appstate/fault', { phone: A, tamper: 'none' });
from = c2.mark();
await mutate({ action: 'mute', jid: X[0], value: true, mute_end: 1893456000000 }); // regular_high
await mutate({ action: 'archive', jid: X[0], value: false }); // regular_low, v9: a server_sync
await c2.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error === 0 && e.version === 9,
  15000, 'second companion synced regular_low from the intact snapshot', from);
const ups2 = c2.events.slice(from).filter((e) => e.ev === 'chat_update');
check(ups2.some((e) => e.jid === X[1] && e.pinned === 1 && e.archived === -1), 'its state includes the later pin');
check(ups2.some((e) => e.jid === X[0] && e.archived === 0), 'and the latest archive state');
if (!ups2.some((e) => e.jid === X[0] && e.muted === 1)) fail('the mute (regular_high) did not arrive');
check((await c.quit()) === 0, 'first client exits cleanly');
check((await c2.quit()) === 0, 'second client exits cleanly');
console.log('ok: session_appstate_blob');
process.exit(0);
