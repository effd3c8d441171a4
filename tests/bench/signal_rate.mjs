// Baileys' side of bench_signal_rate: the same three figures with npm
// libsignal 6.0.0 (what Baileys 7.0.0-rc14 pins). Storage is in memory, with
// records serialized on every store as Baileys' signal key store does.
// Time is process CPU time (user+system), one message = encrypt + decrypt.
// Nothing is committed to disk, so compare with wamd's batched table.
// usage: WA_NODE_MODULES=<build>/tests/interop/node/node_modules \
//        node signal_rate.mjs [out.json] [n_alternating=10000] [n_one_way=20000]
import fs from 'node:fs';
import { loadLibsignal } from '../interop/baileys.mjs';

const ls = await loadLibsignal();
const [jsonPath, nAltArg, nOneArg] = process.argv.slice(2);
const nAlt = Number(nAltArg ?? 10000);
const nOne = Number(nOneArg ?? 20000);

function makePeer(name) {
  const identity = ls.keyhelper.generateIdentityKeyPair();
  const registrationId = ls.keyhelper.generateRegistrationId() || 1;
  const signed = ls.keyhelper.generateSignedPreKey(identity, 1);
  const pre = ls.keyhelper.generatePreKey(100);
  const sessions = new Map();
  const storage = {
    getOurIdentity: async () => identity,
    getOurRegistrationId: async () => registrationId,
    isTrustedIdentity: async () => true,
    saveIdentity: async () => false,
    loadPreKey: async (id) => (Number(id) === pre.keyId ? pre.keyPair : undefined),
    removePreKey: async () => {},
    loadSignedPreKey: async (id) => (Number(id) === signed.keyId ? signed.keyPair : undefined),
    loadSession: async (id) => (sessions.has(id) ? ls.SessionRecord.deserialize(JSON.parse(sessions.get(id))) : undefined),
    storeSession: async (id, rec) => { sessions.set(id, JSON.stringify(rec.serialize())); },
  };
  return {
    name, storage, sessions,
    bundle: () => ({
      registrationId, identityKey: identity.pubKey,
      signedPreKey: { keyId: signed.keyId, publicKey: signed.keyPair.pubKey, signature: signed.signature },
      preKey: { keyId: pre.keyId, publicKey: pre.keyPair.pubKey },
    }),
  };
}

async function pair() {
  const a = makePeer('alice'), b = makePeer('bob');
  const addrA = new ls.ProtocolAddress('alice', 0), addrB = new ls.ProtocolAddress('bob', 0);
  await new ls.SessionBuilder(a.storage, addrB).initOutgoing(b.bundle());
  const p = { a, b, toB: new ls.SessionCipher(a.storage, addrB), toA: new ls.SessionCipher(b.storage, addrA), n: 0 };
  await message(p, true);
  await message(p, false);
  return p;
}

const pt = Buffer.alloc(100);
async function message(p, aToB) {
  pt.writeUInt32LE(++p.n);
  const enc = aToB ? p.toB : p.toA, dec = aToB ? p.toA : p.toB;
  const c = await enc.encrypt(pt);
  const back = c.type === 3 ? await dec.decryptPreKeyWhisperMessage(c.body) : await dec.decryptWhisperMessage(c.body);
  if (!Buffer.from(back).equals(pt)) throw new Error('plaintext mismatch');
}

const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

let p = await pair();
let t0 = cpu();
for (let i = 0; i < nOne; i++) await message(p, true);
const oneWay = nOne / (cpu() - t0);

p = await pair();
const win = nAlt >= 2000 ? 1000 : Math.floor(nAlt / 2);
let start = cpu(), earlyEnd = 0, lateStart = 0;
for (let i = 0; i < nAlt; i++) {
  if (i === win) earlyEnd = cpu();
  if (i === nAlt - win) lateStart = cpu();
  await message(p, i % 2 === 0);
}
const end = cpu();
const res = {
  one_way_per_s: Math.round(oneWay),
  alternating_per_s: Math.round(nAlt / (end - start)),
  first_1k_per_s: Math.round(win / (earlyEnd - start)),
  last_1k_per_s: Math.round(win / (end - lateStart)),
};
res.late_over_early = +(res.last_1k_per_s / res.first_1k_per_s).toFixed(3);
res.session_record_bytes = Buffer.byteLength(p.a.sessions.get('bob.0'));

console.log('Baileys (npm libsignal 6.0.0 in Node ' + process.version + ', in-memory JSON store)');
console.log('one-way msg/s  alternating/s   first 1k/s    last 1k/s late/early record bytes');
console.log([res.one_way_per_s, res.alternating_per_s, res.first_1k_per_s, res.last_1k_per_s,
  res.late_over_early, res.session_record_bytes].map((v) => String(v).padStart(12)).join(' '));
if (jsonPath) fs.writeFileSync(jsonPath, JSON.stringify({ impl: 'baileys', n_alternating: nAlt, n_one_way: nOne, ...res }) + '\n');
