// Signal interop: our C wa_sig (argv[2], signal_driver) against npm libsignal
// 6.0.0 (what Baileys pins) for pkmsg/msg, and Baileys' lib/Signal/Group for
// sender keys. Each side starts from the other's published bundle; messages
// are padded the WhatsApp way (Baileys writeRandomPadMax16 on the JS side,
// wa_sig_pad in C). Exits non-zero on the first mismatch; prints counts.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadLibsignal, loadBaileysFile } from './baileys.mjs';

const ls = await loadLibsignal();
const G = await loadBaileysFile('lib/Signal/Group/index.js');
const { writeRandomPadMax16, unpadRandomMax16, BufferJSON } = await loadBaileysFile('lib/Utils/generics.js');

let seed = BigInt(process.env.WA_SEED ?? '12345');
function rnd(n) { // xorshift64*, deterministic test decisions
  seed ^= seed << 13n; seed &= (1n << 64n) - 1n;
  seed ^= seed >> 7n;
  seed ^= seed << 17n; seed &= (1n << 64n) - 1n;
  return Number(seed % BigInt(n));
}
function fail(msg) { console.error('signal interop FAIL:', msg); process.exit(1); }
const b64 = (b) => Buffer.from(b).toString('base64');
const unb64 = (s) => Buffer.from(s, 'base64');

// ---- C driver over JSON lines ----
const drv = spawn(process.argv[2], [], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: drv.stdout });
const waiting = [];
lines.on('line', (l) => { const w = waiting.shift(); if (w) w(JSON.parse(l)); });
drv.on('exit', (code) => { if (code) fail(`driver exited ${code}`); });
function c(req) {
  return new Promise((resolve) => { waiting.push(resolve); drv.stdin.write(JSON.stringify(req) + '\n'); });
}
async function cOk(req) {
  const r = await c(req);
  if (!r.ok) fail(`C ${req.op} failed: ${r.err}`);
  return r;
}

// ---- a JS peer: libsignal-node storage in memory (records round-trip
// through their serialized form, as a persistent store would) ----
function makePeer(name) {
  const identity = ls.keyhelper.generateIdentityKeyPair();
  const registrationId = ls.keyhelper.generateRegistrationId() || 1;
  const signed = ls.keyhelper.generateSignedPreKey(identity, 7);
  const preKeys = new Map();
  for (let i = 0; i < 4; i++) { const k = ls.keyhelper.generatePreKey(500 + i); preKeys.set(k.keyId, k.keyPair); }
  const sessions = new Map();
  const senderKeys = new Map();
  const storage = {
    getOurIdentity: async () => identity,
    getOurRegistrationId: async () => registrationId,
    isTrustedIdentity: async () => true,
    loadPreKey: async (id) => preKeys.get(Number(id)),
    removePreKey: async (id) => { preKeys.delete(Number(id)); },
    loadSignedPreKey: async (id) => (Number(id) === signed.keyId ? signed.keyPair : undefined),
    loadSession: async (id) => (sessions.has(id) ? ls.SessionRecord.deserialize(JSON.parse(sessions.get(id))) : undefined),
    storeSession: async (id, rec) => { sessions.set(id, JSON.stringify(rec.serialize())); },
    loadSenderKey: async (n) => {
      const v = senderKeys.get(n.toString());
      return v ? G.SenderKeyRecord.deserialize(v) : new G.SenderKeyRecord();
    },
    storeSenderKey: async (n, rec) => { senderKeys.set(n.toString(), Buffer.from(JSON.stringify(rec.serialize(), BufferJSON.replacer))); },
  };
  let nextPre = 500;
  return {
    name, storage, preKeys,
    bundle() { // wire form: raw 32-byte keys
      const id = nextPre++;
      const b = {
        registrationId, identity: b64(identity.pubKey.subarray(1)),
        signedPreKeyId: signed.keyId, signedPreKey: b64(signed.keyPair.pubKey.subarray(1)),
        signature: b64(signed.signature),
      };
      if (preKeys.has(id)) { b.preKeyId = id; b.preKey = b64(preKeys.get(id).pubKey.subarray(1)); }
      return b;
    },
  };
}
const with05 = (raw) => Buffer.concat([Buffer.from([5]), raw]);

const CADDR = new ls.ProtocolAddress('c', 1);
const counts = { c2js: 0, js2c: 0, pkmsgC2js: 0, pkmsgJs2c: 0, dupRejectedC: 0, dupRejectedJs: 0,
  outOfOrderC: 0, outOfOrderJs: 0, skmsgC2js: 0, skipped: 0, signedOnlyBundles: 0, oldReplayRejectedC: 0, skmsgJs2c: 0, skDupRejected: 0 };

function strictUnpad(buf) {
  const n = buf[buf.length - 1];
  if (n < 1 || n > 16) fail(`bad pad length ${n}`);
  for (let i = buf.length - n; i < buf.length; i++) if (buf[i] !== n) fail('pad bytes differ');
  return Buffer.from(unpadRandomMax16(buf));
}
let msgNo = 0;
function newText(tag) { return Buffer.from(`${tag} #${msgNo++} ` + 'x'.repeat(rnd(300))); }

// C -> JS: C encrypts (pads), JS decrypts and unpads
async function cSend(js, text) {
  const r = await cOk({ op: 'enc', name: js.name, device: 1, pt: b64(text) });
  return { type: r.type, ct: unb64(r.ct), text };
}
async function jsRecv(js, m) {
  const cipher = new ls.SessionCipher(js.storage, CADDR);
  const pt = m.type === 'pkmsg' ? await cipher.decryptPreKeyWhisperMessage(m.ct) : await cipher.decryptWhisperMessage(m.ct);
  if (!strictUnpad(pt).equals(m.text)) fail('C->JS plaintext mismatch');
  counts.c2js++;
  if (m.type === 'pkmsg') counts.pkmsgC2js++;
}
// JS -> C
async function jsSend(js, text) {
  const cipher = new ls.SessionCipher(js.storage, CADDR);
  const r = await cipher.encrypt(writeRandomPadMax16(text));
  return { type: r.type === 3 ? 'pkmsg' : 'msg', ct: Buffer.from(r.body, 'binary'), text };
}
async function cRecv(js, m) {
  const r = await c({ op: 'dec', name: js.name, device: 1, type: m.type, ct: b64(m.ct) });
  if (!r.ok) fail(`C decrypt failed: ${r.err}`);
  if (!unb64(r.pt).equals(m.text)) fail('JS->C plaintext mismatch');
  counts.js2c++;
  if (m.type === 'pkmsg') counts.pkmsgJs2c++;
}
async function cRejectsDuplicate(js, m) {
  const r = await c({ op: 'dec', name: js.name, device: 1, type: m.type, ct: b64(m.ct) });
  if (r.ok || r.err !== 'WA_ESIG_DUPLICATE') fail(`C accepted a duplicate (${r.err})`);
  counts.dupRejectedC++;
}
async function jsRejectsDuplicate(js, m) {
  const cipher = new ls.SessionCipher(js.storage, CADDR);
  try {
    await (m.type === 'pkmsg' ? cipher.decryptPreKeyWhisperMessage(m.ct) : cipher.decryptWhisperMessage(m.ct));
  } catch (e) { counts.dupRejectedJs++; return; }
  fail('JS accepted a duplicate from C');
}

// ---- 1. C starts from JS's bundle ----
const jsa = makePeer('jsa');
await cOk({ op: 'session', name: 'jsa', device: 1, bundle: jsa.bundle() });
{
  const m1 = await cSend(jsa, newText('c->jsa'));
  const m2 = await cSend(jsa, newText('c->jsa'));
  if (m1.type !== 'pkmsg' || m2.type !== 'pkmsg') fail('first messages from C must be pkmsg');
  await jsRecv(jsa, m2); // out of order from the start
  await jsRecv(jsa, m1);
  if (jsa.preKeys.has(500)) fail('JS did not consume its one-time pre-key');
  const r1 = await jsSend(jsa, newText('jsa->c'));
  if (r1.type !== 'msg') fail('answer from JS must be msg');
  await cRecv(jsa, r1);
  const m3 = await cSend(jsa, newText('c->jsa'));
  if (m3.type !== 'msg') fail('C must switch to msg after the answer');
  await jsRecv(jsa, m3);
}

// ---- 2. JS starts from C's bundle ----
const jsb = makePeer('jsb');
{
  const cb = (await cOk({ op: 'bundle' })).bundle;
  const dev = {
    registrationId: cb.registrationId,
    identityKey: with05(unb64(cb.identity)),
    signedPreKey: { keyId: cb.signedPreKeyId, publicKey: with05(unb64(cb.signedPreKey)), signature: unb64(cb.signature) },
    preKey: { keyId: cb.preKeyId, publicKey: with05(unb64(cb.preKey)) },
  };
  await new ls.SessionBuilder(jsb.storage, CADDR).initOutgoing(dev);
  const m1 = await jsSend(jsb, newText('jsb->c'));
  const m2 = await jsSend(jsb, newText('jsb->c'));
  if (m1.type !== 'pkmsg' || m2.type !== 'pkmsg') fail('first messages from JS must be pkmsg');
  await cRecv(jsb, m1);
  await cRejectsDuplicate(jsb, m1); // a replayed pkmsg
  await cRecv(jsb, m2);
  const r = await cSend(jsb, newText('c->jsb'));
  if (r.type !== 'msg') fail('C answer must be msg');
  await jsRecv(jsb, r);
  const m3 = await jsSend(jsb, newText('jsb->c'));
  if (m3.type !== 'msg') fail('JS must switch to msg');
  await cRecv(jsb, m3);
}

// ---- 2b. bundles without a one-time pre-key (the server ran out), both ways ----
{
  const jsc = makePeer('jsc');
  const b = jsc.bundle();
  delete b.preKey; delete b.preKeyId;
  await cOk({ op: 'session', name: 'jsc', device: 1, bundle: b });
  const m1 = await cSend(jsc, newText('c->jsc'));
  if (m1.type !== 'pkmsg') fail('signed-only: first message must be pkmsg');
  await jsRecv(jsc, m1);
  await cRecv(jsc, await jsSend(jsc, newText('jsc->c')));
  const jsd = makePeer('jsd');
  const cb = (await cOk({ op: 'bundle', noPrekey: true })).bundle;
  if (cb.preKey) fail('noPrekey bundle carries a pre-key');
  await new ls.SessionBuilder(jsd.storage, CADDR).initOutgoing({
    registrationId: cb.registrationId,
    identityKey: with05(unb64(cb.identity)),
    signedPreKey: { keyId: cb.signedPreKeyId, publicKey: with05(unb64(cb.signedPreKey)), signature: unb64(cb.signature) },
  });
  await cRecv(jsd, await jsSend(jsd, newText('jsd->c')));
  await jsRecv(jsd, await cSend(jsd, newText('c->jsd')));
  counts.signedOnlyBundles += 2;
}

// ---- 3. 1,000 messages: interleaved directions and peers, batches
// delivered shuffled, some held back and delivered one or two batches later
// (skipped, still within the ratchet window), duplicates replayed and
// rejected on both sides ----
let held = []; // {js, dir, m, due}
const delivered = [];
let total = 0;
let batchNo = 0;
async function deliver(js, dir, m) {
  if (dir === 'c2js') await jsRecv(js, m); else await cRecv(js, m);
  delivered.push([js, dir, m]);
}
while (total < 1000) {
  const js = rnd(2) ? jsa : jsb;
  const dir = rnd(2) ? 'c2js' : 'js2c';
  const k = 1 + rnd(5);
  const batch = [];
  for (let i = 0; i < k && total < 1000; i++, total++)
    batch.push(dir === 'c2js' ? await cSend(js, newText(`c->${js.name}`)) : await jsSend(js, newText(`${js.name}->c`)));
  for (let i = batch.length - 1; i > 0; i--) { const j = rnd(i + 1); [batch[i], batch[j]] = [batch[j], batch[i]]; }
  if (batch.length > 1) counts[dir === 'c2js' ? 'outOfOrderJs' : 'outOfOrderC']++;
  for (const m of batch) {
    if (rnd(10) === 0) { held.push({ js, dir, m, due: batchNo + 1 + rnd(2) }); counts.skipped++; continue; }
    await deliver(js, dir, m);
  }
  batchNo++;
  for (const h of held.filter((x) => x.due <= batchNo)) await deliver(h.js, h.dir, h.m);
  held = held.filter((x) => x.due > batchNo);
  if (rnd(6) === 0) { // replay the message just delivered: must be a duplicate
    const [djs, ddir, dm] = delivered[delivered.length - 1];
    if (ddir === 'c2js') await jsRejectsDuplicate(djs, dm); else await cRejectsDuplicate(djs, dm);
  }
  if (rnd(20) === 0) { // replay an old one: rejected, as duplicate or (chain long gone) invalid
    const [djs, ddir, dm] = delivered[rnd(delivered.length)];
    if (ddir === 'c2js') await jsRejectsDuplicate(djs, dm);
    else {
      const r = await c({ op: 'dec', name: djs.name, device: 1, type: dm.type, ct: b64(dm.ct) });
      if (r.ok || (r.err !== 'WA_ESIG_DUPLICATE' && r.err !== 'WA_ESIG_INVALID')) fail(`C accepted an old replay (${r.err})`);
      counts.oldReplayRejectedC++;
    }
  }
}
for (const h of held) await deliver(h.js, h.dir, h.m);
// still healthy afterwards, both ways
await jsRecv(jsa, await cSend(jsa, newText('final')));
await cRecv(jsb, await jsSend(jsb, newText('final')));

// ---- 4. sender keys against Baileys' GroupCipher ----
const GROUP = '120363000000000001@g.us';
{
  // C -> JS: C's SKDM processed by GroupSessionBuilder, skmsg by GroupCipher
  const skdm = unb64((await cOk({ op: 'skdm', group: GROUP, name: 'c', device: 1 })).skdm);
  const cName = new G.SenderKeyName(GROUP, { id: 'c', deviceId: 1 });
  await new G.GroupSessionBuilder(jsa.storage).process(cName,
    new G.SenderKeyDistributionMessage(null, null, null, null, skdm));
  const gc = new G.GroupCipher(jsa.storage, cName);
  const pending = [];
  for (let i = 0; i < 100; i++) {
    const text = newText('c->group');
    pending.push({ text, ct: unb64((await cOk({ op: 'genc', group: GROUP, name: 'c', device: 1, pt: b64(text) })).ct) });
    if (pending.length >= 1 + rnd(4)) {
      for (let j = pending.length - 1; j > 0; j--) { const x = rnd(j + 1); [pending[j], pending[x]] = [pending[x], pending[j]]; }
      for (const m of pending.splice(0)) {
        const pt = strictUnpad(Buffer.from(await gc.decrypt(m.ct)));
        if (!pt.equals(m.text)) fail('skmsg C->JS mismatch');
        counts.skmsgC2js++;
      }
    }
  }
  for (const m of pending) {
    if (!strictUnpad(Buffer.from(await gc.decrypt(m.ct))).equals(m.text)) fail('skmsg C->JS mismatch');
    counts.skmsgC2js++;
  }

  // JS -> C: Baileys' SKDM and skmsg into wa_sig
  const jName = new G.SenderKeyName(GROUP, { id: 'jsa', deviceId: 1 });
  const jskdm = await new G.GroupSessionBuilder(jsa.storage).create(jName);
  await cOk({ op: 'gproc', group: GROUP, name: 'jsa', device: 1, skdm: b64(jskdm.serialize()) });
  const jc = new G.GroupCipher(jsa.storage, jName);
  const sent = [];
  for (let i = 0; i < 100; i++) {
    const text = newText('jsa->group');
    sent.push({ text, ct: await jc.encrypt(writeRandomPadMax16(text)) });
  }
  const order = sent.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) { const j = rnd(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  for (const i of order) {
    const r = await c({ op: 'gdec', group: GROUP, name: 'jsa', device: 1, ct: b64(sent[i].ct) });
    if (!r.ok) fail(`C skmsg decrypt ${i}: ${r.err}`);
    if (!unb64(r.pt).equals(sent[i].text)) fail('skmsg JS->C mismatch');
    counts.skmsgJs2c++;
  }
  for (const i of [0, 50, 99]) {
    const r = await c({ op: 'gdec', group: GROUP, name: 'jsa', device: 1, ct: b64(sent[i].ct) });
    if (r.ok || r.err !== 'WA_ESIG_DUPLICATE') fail(`C accepted a duplicate skmsg (${r.err})`);
    counts.skDupRejected++;
  }
  const last = newText('after dup');
  const lr = await cOk({ op: 'gdec', group: GROUP, name: 'jsa', device: 1, ct: b64(await jc.encrypt(writeRandomPadMax16(last))) });
  if (!unb64(lr.pt).equals(last)) fail('skmsg after duplicates mismatch');
  counts.skmsgJs2c++;
}

await c({ op: 'quit' });
console.log('signal interop OK', JSON.stringify(counts));
if (counts.c2js + counts.js2c < 1000) fail('fewer than 1000 1:1 messages');
