// libwa e2e (suite e2e): app state, the read side, against wasim's
// app-state server.
//  1. After pairing, the phone shares its sync key; libwa fetches the
//     collections, verifies the phone's setting_pushName patch and learns
//     the account's push name (no --push-name given), then announces
//     itself "available" with that name (wasim records it).
//  2. Archive, pin, mute, mark-read and a contact rename made on the phone
//     (wasim's control API: a patch + server_sync) arrive as events.
//  3. Tampered patches (patch MAC, value MAC, LT-hash) are refused, each
//     with its own error, and change nothing; the collection's state is
//     dropped and fetched again from version 0 once, which (still tampered)
//     fails too and stops it with a second, clear error. Once the server
//     serves them intact, the collection is rebuilt from version 0. With a
//     snapshot to fetch, the full resync repairs the collection at once.
//  4. A patch under a key the phone did not share: reported, asked for
//     (appStateSyncKeyRequest), applied once the phone shares it.
//  5. After a restart nothing is applied twice and available goes out with
//     the stored name.
// argv: [node, script, wa_client, wasim]
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { WaClient } from './wa_client.mjs';
import path from 'node:path';

watchdog(100);
const [clientExe, wasimExe] = process.argv.slice(2);
const sim = await startWasim(wasimExe, { tls: true }); // TLS: snapshots are media downloads
const A = '15550009201', C = '15550009203';
const CJ = `${C}@s.whatsapp.net`;
let r = await sim.api('POST', '/_sim/accounts', { phone: A, push_name: 'Alice Phone' });
check(r.status === 201, 'account A created with a push name');
r = await sim.api('POST', '/_sim/accounts', { phone: C });
check(r.status === 201, 'account C created');
const db = path.join(tmpDir('wa-appstate-'), 'client.db');

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

const c = new WaClient(clientExe, { db, url: sim.url, root: sim.root, extra: ['--insecure'] }).start();
const { ev: qr } = await c.wait((e) => e.ev === 'qr', 15000, 'first QR');
r = await sim.api('POST', '/_sim/scan', { phone: A, qr: qr.qr });
check(r.status === 200, 'phone scanned our QR');
await c.wait((e) => e.ev === 'connected', 20000, 'connected after pairing');
const ourDev = Number(/:(\d+)@/.exec(c.events.find((e) => e.ev === 'paired').jid)[1]);
const dev = async () => (await sim.api('GET', `/_sim/accounts/${A}`)).json.devices.find((d) => d.device === ourDev);

// 1. push name from critical_block, then available with it
const { ev: pn } = await c.wait((e) => e.ev === 'push_name', 15000, 'push name from app state');
check(pn.name === 'Alice Phone', `push name is the account's (got "${pn.name}")`);
await c.wait((e) => e.ev === 'app_state' && e.collection === 'critical_block' && e.error === 0 && e.version === 1,
  5000, 'critical_block synced to v1');
await until(async () => (await dev()).presence === 'available', 5000, 'presence available at wasim');
check((await dev()).presence_name === 'Alice Phone', 'the presence carries the learned push name');

// 2. the phone's mutations
async function mutate(body) {
  const m = await sim.api('POST', '/_sim/appstate/mutate', { phone: A, ...body });
  check(m.status === 200, `phone mutation ${JSON.stringify(body)}`);
  return m.json;
}
let from = c.mark();
await mutate({ action: 'archive', jid: CJ, value: true });
let { ev } = await c.wait((e) => e.ev === 'chat_update' && e.jid === CJ && e.archived === 1, 10000, 'archive', from);
check(ev.pinned === -1 && ev.muted === -1 && ev.read === -1, 'archive touches nothing else');
from = c.mark();
await mutate({ action: 'pin', jid: CJ, value: true });
({ ev } = await c.wait((e) => e.ev === 'chat_update' && e.jid === CJ && e.pinned === 1, 10000, 'pin', from));
check(ev.pinned_at > 1700000000 && ev.pinned_at < 4000000000, `pinned_at is seconds (${ev.pinned_at})`);
from = c.mark();
await mutate({ action: 'mute', jid: CJ, value: true, mute_end: 1893456000000 });
({ ev } = await c.wait((e) => e.ev === 'chat_update' && e.jid === CJ && e.muted === 1, 10000, 'mute', from));
check(ev.mute_end === 1893456000000, `mute end as the phone sent it (${ev.mute_end})`);
from = c.mark();
await mutate({ action: 'read', jid: CJ, value: false });
await c.wait((e) => e.ev === 'chat_update' && e.jid === CJ && e.read === 0, 10000, 'mark unread', from);
from = c.mark();
await mutate({ action: 'contact', jid: CJ, full_name: 'Carol Contact', first_name: 'Carol' });
({ ev } = await c.wait((e) => e.ev === 'contact' && e.full_name === 'Carol Contact', 10000, 'contact name', from));
check(ev.jid === CJ && ev.first_name === 'Carol', 'contact event names the contact');
const low = await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error === 0 && e.version === 3,
  5000, 'regular_low at v3');

// 3. tampered patches: refused, nothing applied, then caught up
const kinds = [['patch_mac', /patch MAC mismatch/], ['value_mac', /value MAC mismatch/],
  ['lthash', /LT-hash mismatch/]];
let pending = 0;
const stopped = (e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error !== 0 &&
  /stopped: refused again after a full resync/.test(e.detail);
for (const [t, re] of kinds) {
  const f = await sim.api('POST', '/_sim/appstate/fault', { phone: A, tamper: t });
  check(f.status === 200, `tamper ${t} on`);
  from = c.mark();
  await mutate({ action: 'archive', jid: CJ, value: pending % 2 === 0 ? false : true });
  pending++;
  ({ ev } = await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error !== 0, 10000,
    `refusal of a ${t}-tampered patch`, from));
  check(re.test(ev.detail), `${t}: the error says why ("${ev.detail}")`);
  const had = pending === 1 ? 3 : 0;
  check(ev.version === had, `${t}: refused on top of v${had} (got ${ev.version})`);
  ({ ev } = await c.wait(stopped, 10000, `${t}: stopped after the full resync failed too`, from));
  check(ev.version === 0, `${t}: the state was dropped for the resync (v${ev.version})`);
  const errs = c.events.slice(from).filter((e) => e.ev === 'app_state' && e.error !== 0);
  check(errs.length === 3 && re.test(errs[1].detail) && /patch v1 refused/.test(errs[1].detail),
    `${t}: one resync from v0, refused at its first patch, then stopped (${errs.map((e) => e.detail).join(' | ')})`);
  await sleep(300);
  check(!c.events.slice(from).some((e) => e.ev === 'chat_update'), `${t}: no chat update from a refused patch`);
  check(c.events.slice(from).filter(stopped).length === 1, `${t}: stopped, not fetched again`);
}
const info = (await sim.api('GET', `/_sim/appstate/${A}`)).json;
check(info.tampered >= 3, `wasim tampered what it served (${info.tampered})`);
await sim.api('POST', '/_sim/appstate/fault', { phone: A, tamper: 'none' });
from = c.mark();
await mutate({ action: 'read', jid: CJ, value: true });
await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error === 0 && e.version === 7,
  10000, 'regular_low rebuilt to v7 once served intact', from);
const ups = c.events.slice(from).filter((e) => e.ev === 'chat_update');
check(ups.filter((e) => e.archived !== -1).map((e) => e.archived).join() === '1,0,1,0',
  'every archive change applied in order from v0 after recovery');
check(ups.some((e) => e.read === 1), 'the mark-read applied');
check(low.ev.version === 3, 'sanity');

// 3b. a full resync that a snapshot repairs: the patch is refused, the
// state dropped, the snapshot (intact) brings the collection up to date
r = await sim.api('POST', '/_sim/appstate/config', { phone: A, snapshot_min: 1 });
check(r.status === 200, 'wasim serves a snapshot to a fetch from v0');
await sim.api('POST', '/_sim/appstate/fault', { phone: A, tamper: 'patch_mac' });
const snaps = (await sim.api('GET', `/_sim/appstate/${A}`)).json.snapshots;
from = c.mark();
await mutate({ action: 'archive', jid: CJ, value: true });
({ ev } = await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low', 10000, 'the refusal', from));
check(ev.error !== 0 && /patch v8 refused: patch MAC mismatch/.test(ev.detail), `refused first ("${ev.detail}")`);
await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error === 0 && e.version === 8,
  10000, 'regular_low at v8 from the snapshot', from);
check(c.events.slice(from).some((e) => e.ev === 'chat_update' && e.jid === CJ && e.archived === 1),
  'the archive arrived with the snapshot');
check(!c.events.slice(from).some(stopped), 'not stopped');
check((await sim.api('GET', `/_sim/appstate/${A}`)).json.snapshots === snaps + 1, 'one snapshot served');
await sim.api('POST', '/_sim/appstate/fault', { phone: A, tamper: 'none' });
await sim.api('POST', '/_sim/appstate/config', { phone: A, snapshot_min: 64 });

// 4. a key the phone has not shared: libwa asks for it, then catches up
r = await sim.api('POST', '/_sim/appstate/rotate', { phone: A });
check(r.status === 200 && r.json.keys === 2, 'the phone encodes with a new, unshared key');
from = c.mark();
await mutate({ action: 'pin', jid: CJ, value: false });
({ ev } = await c.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error !== 0, 10000,
  'missing key reported', from));
check(/sync key missing/.test(ev.detail) && ev.version === 8, `missing key: "${ev.detail}" at v${ev.version}`);
await c.wait((e) => e.ev === 'chat_update' && e.jid === CJ && e.pinned === 0, 10000,
  'the unpin once the phone answered the key request', from);
const info2 = (await sim.api('GET', `/_sim/appstate/${A}`)).json;
check(info2.key_requests === 1, `the phone got one appStateSyncKeyRequest (${info2.key_requests})`);
check((await c.quit()) === 0, 'client exits cleanly');

// 5. after a restart: versions, hashes and the name were persisted with the
// applied patches: nothing is applied again, and available goes out at once
const c2 = new WaClient(clientExe, { db, url: sim.url, root: sim.root, extra: ['--insecure'] }).start();
await c2.wait((e) => e.ev === 'connected', 20000, 'connected again');
await c2.wait((e) => e.ev === 'app_state' && e.collection === 'regular_low' && e.error === 0 && e.version === 9,
  10000, 'regular_low still at v9 after the restart');
await until(async () => (await dev()).presence === 'available', 5000, 'available after the restart');
check((await dev()).presence_name === 'Alice Phone', 'the stored push name is announced');
check(!c2.events.some((e) => e.ev === 'chat_update' || e.ev === 'push_name' || (e.ev === 'app_state' && e.error)),
  'nothing applied twice, no error');
check((await c2.quit()) === 0, 'client exits cleanly again');
console.log('ok: session_appstate');
process.exit(0);
