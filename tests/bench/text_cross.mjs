// Shows how a text from a Baileys peer to a wamd instance's companion is
// lost when it crosses the instance's first text (tool, not a test: the
// loss is Baileys' own, see tests/bench/README.md "A text crossing the
// first one"). N seeded instances each text one Baileys peer; the peer
// texts each back without waiting for theirs to arrive. Printed per lost
// text: the error Baileys logged when it encrypted for the companion and
// left it out of the stanza, and wasim's view of the companion.
// FORCE=1: one instance, the crossing made certain (the peer's decryption
// of the instance's pkmsg is held in its session read until the peer's
// own send has fetched the companion's pre-key bundle). FORCE=before, the
// control: the same crossing, the decryption held before it enters
// libsignal's queue for the address; the text arrives.
// Then the peer texts each lost one again (that one arrives).
// PAIR=qr: the instances paired by QR through wamd, not seeded.
// argv: [node, script, wamd, wasim, wamd_seed]; N (default 10). Exit 1 if
// a text was lost.
import { startWasim, pairByQr, tmpDir, sleep } from '../sim/harness.mjs';
import { wamdClient, waitWamd, provision } from './provision.mjs';
import { seed } from './seed.mjs';
import { startWamd, retrying } from './wamd_bench.mjs';

console.info = () => {}; // libsignal's session notes
const [wamdExe, wasimExe, seedExe] = process.argv.slice(2);
const FORCE = process.env.FORCE === '1' || process.env.FORCE === 'before';
const BEFORE = process.env.FORCE === 'before';
const N = FORCE ? 1 : Number(process.env.N ?? 10);
const BASE = 15557000000, PEER = '15550009700';
const sim = await startWasim(wasimExe);
const peer = await pairByQr(sim, PEER, 'peer');
const got = new Set();
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) if (!m.key.fromMe) got.add(m.key.id); });

// the companion devices the peer failed to encrypt for (Baileys logs them
// and sends the stanza without them)
const dropped = [];
const repo = peer.sock.signalRepository;
const encrypt = repo.encryptMessage.bind(repo);
repo.encryptMessage = async (a) => {
  try { return await encrypt(a); } catch (e) { dropped.push(`${a.jid}: ${e.message}`); throw e; }
};
let crossing = null; // FORCE: resolves when the instance's pkmsg decryption starts
let release = null;
let held = false;
if (FORCE) {
  let onCross;
  crossing = new Promise((r) => { onCross = r; });
  const decrypt = repo.decryptMessage.bind(repo);
  const hold = () => Promise.race([new Promise((r) => { release = r; }), sleep(5000)]);
  repo.decryptMessage = async (a) => {
    if (a.type === 'pkmsg' && /:1@lid$/.test(a.jid)) {
      onCross(a.jid);
      if (BEFORE) { held = true; await hold(); } // before libsignal's queue: nothing is lost
    }
    return decrypt(a);
  };
  const inject = repo.injectE2ESession.bind(repo);
  repo.injectE2ESession = (a) => { if (/:1@lid$/.test(a.jid)) setTimeout(() => release?.(), 200); return inject(a); };
  const keys = peer.sock.authState.keys;
  const get = keys.get.bind(keys);

  keys.get = async (type, ids) => {
    if (!held && type === 'session' && ids.some((id) => /_1\.1$/.test(id)) && await Promise.race([crossing, null])) {
      held = true; // the decryption's read, inside libsignal's job for the address
      await hold();
    }
    return get(type, ids);
  };
}

const data = tmpDir('wamd-cross-');
// PAIR=qr: the instances paired by QR through wamd instead of seeded
const QR = process.env.PAIR === 'qr';
if (!QR) await seed({ wasim: `http://127.0.0.1:${sim.port}`, seedExe, data, count: N, prefix: 's', phoneBase: BASE, prekeys: 10, batch: 10 });
const w = startWamd(wamdExe, { data, sim, logLevel: 'info' });
await waitWamd(w.socket, 60000);
if (QR) await provision({ wasim: `http://127.0.0.1:${sim.port}`, socket: w.socket, count: N, prefix: 's', phoneBase: BASE, parallel: 4 });
const wc = wamdClient(w.socket, 4);
for (const end = Date.now() + 90000; Date.now() < end; await sleep(100)) {
  if ((await retrying(() => wc.call('GET', '/wamd/metrics'))).json?.instances?.open === N) break;
}
const insts = Array.from({ length: N }, (_, i) => `s${i}`);
const toInst = new Map();
const textBack = async (i) => {
  const m = await peer.sock.sendMessage(`${BASE + Number(i.slice(1))}@s.whatsapp.net`, { text: `back to ${i}` });
  toInst.set(m.key.id, i);
};
await Promise.all(insts.map(async (i) => {
  await wc.call('POST', `/message/sendText/${i}`, { number: PEER, text: `first from ${i}` });
  if (FORCE) await crossing; // the peer is decrypting it: text back now
  await textBack(i);
}));
const stored = new Set();
for (const end = Date.now() + 20000; Date.now() < end && [...toInst.keys()].some((id) => !stored.has(id)); await sleep(500)) {
  for (const i of insts) {
    const f = await wc.call('POST', `/chat/findMessages/${i}`, {});
    for (const r of f.json?.messages?.records ?? []) if (!r.key.fromMe) stored.add(r.key.id);
  }
}
const lost = [...toInst].filter(([id]) => !stored.has(id));
if (FORCE) console.log(`decryption held: ${held}`);
// the peer's next text to each lost one: its session is there by now
const again = new Map();
for (const [, i] of lost) {
  const m = await peer.sock.sendMessage(`${BASE + Number(i.slice(1))}@s.whatsapp.net`, { text: `again to ${i}` });
  again.set(m.key.id, i);
}
for (const end = Date.now() + 20000; Date.now() < end && [...again.keys()].some((id) => !stored.has(id)); await sleep(500)) {
  for (const i of new Set(again.values())) {
    const f = await wc.call('POST', `/chat/findMessages/${i}`, {});
    for (const r of f.json?.messages?.records ?? []) if (!r.key.fromMe) stored.add(r.key.id);
  }
}
console.log(`${lost.length} of ${N} texts back not stored by the instance; the peer got ${got.size} of ${N} first texts`);
for (const [id, i] of lost) {
  const d = (await sim.api('GET', `/_sim/accounts/${BASE + Number(i.slice(1))}`)).json?.devices?.[0];
  console.log(`  ${i} (${id}): wasim: companion ${d?.jid} online=${d?.online} queued=${JSON.stringify(d?.queued)}`);
}
for (const d of dropped) console.log(`  Baileys left out ${d}`);
if (lost.length) console.log(`the peer's next text to them: ${[...again.keys()].filter((id) => stored.has(id)).length} of ${lost.length} stored`);
wc.close(); await w.stop(); await peer.stop(); await sim.stop();
process.exit(lost.length ? 1 : 0);
