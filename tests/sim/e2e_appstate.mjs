// wasim e2e (app state): an unmodified Baileys 7.0.0-rc14 companion is the
// independent check of wasim's app-state encoding (key derivation, value /
// index / patch / snapshot MACs, LT-hash).
//  - After pairing, the phone shares its sync key and Baileys syncs every
//    collection; a push-name change made on the phone (setting_pushName in
//    critical_block) becomes Baileys' own name (creds.me.name) with no
//    message carrying it;
//  - archive, pin and mute made on the phone reach Baileys as chats.update;
//  - Baileys logs no MAC or LT-hash failure, and the LT-hash it computed for
//    each collection equals wasim's; a patch wasim tampers with is reported;
//  - the same holds for app state served as external blobs: a new companion's
//    snapshot and patches whose mutations are external.
import { startWasim, pairByQr, check, fail, watchdog, sleep } from './harness.mjs';
import { waitHistorySynced, createAccount } from './e2e_msg_util.mjs';
import { baileys } from './harness.mjs';

watchdog(85);
const sim = await startWasim(process.argv[2]);
// Baileys downloads app-state blobs from WhatsApp's media host, a fixed
// name: its fetches go to wasim's (plain HTTP port) instead
const mediaBase = sim.url.replace(/^ws:/, 'http:').replace(/\/ws\/chat$/, '');
const realFetch = globalThis.fetch;
globalThis.fetch = (u, o) => realFetch(String(u).replace(/^https:\/\/mmg\.whatsapp\.net/, mediaBase), o);
const A = '15550003101', C = '15550003103';
const CJ = `${C}@s.whatsapp.net`;
await createAccount(sim, A, 'Alice');

// Baileys' warnings and errors, to see any MAC or LT-hash complaint
const complaints = [];
let client = null; // poked on each complaint (waitFor re-checks on pokes)
const note = (o, m) => {
  complaints.push(typeof o === 'string' ? o : `${m ?? ''} ${JSON.stringify(o)?.slice(0, 300)}`);
  client?.poke();
};
const mk = () => ({
  level: 'trace',
  child() { return mk(); },
  isLevelEnabled() { return true; },
  trace() {}, debug() {}, info() {},
  warn: note, error: note, fatal: note,
});
(await baileys()).logger = mk();

// Baileys checks app-state MACs only when asked (both off by default)
const a = await pairByQr(sim, A, 'alice', { sockOpts: { appStateMacVerification: { patch: true, snapshot: true } } });
client = a;
await waitHistorySynced(a);
const chats = [];
a.sock.ev.on('chats.update', (ups) => { chats.push(...ups); a.poke(); });
a.sock.ev.on('creds.update', () => a.poke());

async function mutate(body) {
  const m = await sim.api('POST', '/_sim/appstate/mutate', { phone: A, ...body });
  check(m.status === 200, `phone mutation ${JSON.stringify(body)}`);
}
await mutate({ action: 'push_name', name: 'Alice Renamed' });
await a.waitFor(() => a.creds.me?.name === 'Alice Renamed', 15000, 'push name from setting_pushName');
check(true, `Baileys took its name from app state (${a.creds.me.name})`);

await mutate({ action: 'archive', jid: CJ, value: true });
await a.waitFor(() => chats.some((u) => u.id === CJ && u.archived === true), 15000, 'archive at Baileys');
await mutate({ action: 'pin', jid: CJ, value: true });
await a.waitFor(() => chats.some((u) => u.id === CJ && typeof u.pinned === 'number' && u.pinned > 0), 15000,
  'pin at Baileys');
await mutate({ action: 'mute', jid: CJ, value: true, mute_end: 1893456000000 });
await a.waitFor(() => chats.some((u) => u.id === CJ && u.muteEndTime === 1893456000000), 15000, 'mute at Baileys');
await mutate({ action: 'archive', jid: CJ, value: false });
await a.waitFor(() => chats.some((u) => u.id === CJ && u.archived === false), 15000, 'unarchive at Baileys');

// Baileys' own LT-hash of each collection equals wasim's
await sleep(300);
const info = (await sim.api('GET', `/_sim/appstate/${A}`)).json;
for (const name of ['critical_block', 'regular_high', 'regular_low']) {
  const got = await a.sock.authState.keys.get('app-state-sync-version', [name]);
  const st = got[name];
  if (!st) fail(`Baileys holds no state for ${name}`);
  check(st.version === info.collections[name], `${name}: Baileys at v${st.version}, wasim at v${info.collections[name]}`);
  check(Buffer.from(st.hash).toString('hex') === info.hashes[name], `${name}: Baileys' LT-hash equals wasim's`);
}
const bad = complaints.filter((c) => /mac|LTHash|decode patch|failed to find key|HMAC/i.test(c));
check(bad.length === 0, `Baileys reported no MAC / LT-hash failure (${JSON.stringify(bad)})`);

// the same checks see a bad patch: patches wasim tampers with are reported
// by Baileys (negative control of the complaint capture above)
for (const [t, re] of [['patch_mac', /Invalid patch mac/], ['lthash', /LTHash verification failed/]]) {
  check((await sim.api('POST', '/_sim/appstate/fault', { phone: A, tamper: t })).status === 200, `tamper ${t} on`);
  const n = complaints.length;
  await mutate({ action: 'archive', jid: CJ, value: true });
  await a.waitFor(() => complaints.slice(n).some((c) => re.test(c)), 15000, `Baileys to report the ${t} tampering`);
  check(true, `Baileys reports the ${t}-tampered patch`);
}

// app state as external blobs (wasim's thresholds lowered): Baileys
// downloads the snapshot a new companion starts from and a patch whose
// mutations are external, and its MACs and LT-hash agree with wasim's
check((await sim.api('POST', '/_sim/appstate/fault', { phone: A, tamper: 'none' })).status === 200, 'tamper off');
check((await sim.api('POST', '/_sim/appstate/config', { phone: A, snapshot_min: 2, inline_max: 0 })).status === 200,
  'wasim sends app state as blobs');
const n0 = complaints.length;
// A new companion (the first one's state is off since the tampering above).
// Its events stay in Baileys' buffer here, so what it applied is read from
// its state: versions and LT-hashes equal to wasim's, with every MAC checked.
const b = await pairByQr(sim, A, 'alice2', { sockOpts: { appStateMacVerification: { patch: true, snapshot: true } } });
client = b;
async function synced(name, version) {
  let st;
  for (const end = Date.now() + 15000; ;) {
    st = (await b.sock.authState.keys.get('app-state-sync-version', [name]))[name];
    if (st && st.version === version) return st;
    if (Date.now() > end) fail(`${name} not at version ${version} (${st?.version}): ${JSON.stringify(complaints.slice(n0))}`);
    await sleep(50);
  }
}
async function same(what) {
  const w = (await sim.api('GET', `/_sim/appstate/${A}`)).json;
  for (const name of ['critical_block', 'regular_high', 'regular_low']) {
    const st = await synced(name, w.collections[name]);
    check(Buffer.from(st.hash).toString('hex') === w.hashes[name], `${what}: ${name} at v${st.version}, LT-hash equals wasim's`);
  }
  return (await sim.api('GET', `/_sim/appstate/${A}`)).json; // the counters once it synced
}
let w = await same('from the snapshots');
check(w.snapshots >= 2, `wasim served snapshots to the new companion (${w.snapshots})`);
const ext = w.external;
await mutate({ action: 'pin', jid: CJ, value: false });
await mutate({ action: 'mute', jid: CJ, value: false });
w = await same('after external patches');
check(w.external >= ext + 2, `those patches went out with external mutations (${w.external - ext})`);
const bad2 = complaints.slice(n0).filter((c) => /mac|LTHash|decode|failed to find key|HMAC|download|sync/i.test(c));
check(bad2.length === 0, `Baileys reported no failure with blobs (${JSON.stringify(bad2)})`);
await b.stop();
await a.stop();
console.log('ok: wasim_appstate');
process.exit(0);
