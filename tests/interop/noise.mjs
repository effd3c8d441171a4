// Interop: Baileys 7.0.0-rc14's own Noise handler (makeNoiseHandler, the
// client side) against our responder, driven sans-IO through
// noise_driver (argv[2]); plus our initiator against a responder assembled
// from Baileys' symmetric-state functions, and XEdDSA / X25519 both ways
// against Baileys' Curve. Exits non-zero on any mismatch.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadBaileys, loadLibsignal } from './baileys.mjs';

const B = await loadBaileys();
const libsignal = await loadLibsignal();
// Baileys' Curve.verify wraps libsignal's verifySignature in try/catch and
// ignores its boolean result, so it returns true for ANY well-formed
// signature. Signature checks here use libsignal's result directly.
const xverify = (pub, msg, sig) =>
  libsignal.curve.verifySignature(Buffer.concat([Buffer.from([5]), pub]), msg, sig) === true;
const { makeNoiseHandler, Curve, WA_CERT_DETAILS, NOISE_WA_HEADER, proto, encodeBinaryNode } = B;

let failures = 0;
let checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    console.error('FAIL:', what);
  }
}
const hex = (b) => Buffer.from(b).toString('hex');
const eq = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

// ---- driver process: length-prefixed records over stdin/stdout ----
class Driver {
  constructor(path) {
    this.proc = spawn(path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.buf = Buffer.alloc(0);
    this.waiters = [];
    this.proc.stdout.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.pump();
    });
    this.exited = new Promise((res) => this.proc.on('exit', (code) => res(code)));
  }
  pump() {
    while (this.waiters.length && this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + len) return;
      const rec = this.buf.subarray(4, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      this.waiters.shift()(rec);
    }
  }
  async req(type, payload = Buffer.alloc(0)) {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(payload.length + 1, 0);
    head[4] = type.charCodeAt(0);
    const p = new Promise((res) => this.waiters.push(res));
    this.proc.stdin.write(Buffer.concat([head, Buffer.from(payload)]));
    this.pump();
    const rec = await p;
    const kind = String.fromCharCode(rec[0]);
    if (kind === 'E') throw new Error('driver: ' + rec.subarray(1).toString());
    // events: type(1) len(4) data
    const events = [];
    let off = 1;
    while (off < rec.length) {
      const t = String.fromCharCode(rec[off]);
      const n = rec.readUInt32BE(off + 1);
      events.push({ t, d: Buffer.from(rec.subarray(off + 5, off + 5 + n)) });
      off += 5 + n;
    }
    return events;
  }
}

const logger = {
  level: 'silent',
  child() { return this; },
  trace() {}, debug() {}, info() {}, warn() {}, error() {},
};

const only = (events, t) => events.filter((e) => e.t === t).map((e) => e.d);
const errorsOf = (events) => only(events, 'e').map((d) => d.toString());

// Splits buf into random chunks (at least one byte each).
function chunks(buf, max) {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    const n = 1 + Math.floor(Math.random() * max);
    out.push(buf.subarray(off, off + n));
    off += n;
  }
  return out;
}

// Feeds client bytes to the driver in random splits and collects events.
async function feed(drv, bytes, max = 7) {
  let events = [];
  for (const c of chunks(bytes, max)) events = events.concat(await drv.req('W', c));
  return events;
}

const clientPayload = proto.ClientPayload.encode({
  username: 15551234567, device: 3, passive: true, pull: true,
}).finish();

function nodes() {
  return [
    { tag: 'iq', attrs: { id: '1', to: '@s.whatsapp.net', type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] },
    { tag: 'success', attrs: { t: '1700000000' } },
    { tag: 'message', attrs: { id: 'ABC', from: '15551234567@s.whatsapp.net', type: 'text' }, content: Buffer.from(randomBytes(300)) },
  ];
}

// ---- Baileys client vs our responder ----
async function baileysClient(drv, mode, routingInfo) {
  const ev0 = await drv.req('I', Buffer.from([mode]));
  const root = only(ev0, 'r')[0];
  WA_CERT_DETAILS.PUBLIC_KEY = root; // the handler reads it at handshake time

  const eph = Curve.generateKeyPair();
  const noiseKey = Curve.generateKeyPair();
  const noise = makeNoiseHandler({ keyPair: eph, NOISE_HEADER: NOISE_WA_HEADER, logger, routingInfo });
  const hello = proto.HandshakeMessage.encode({ clientHello: { ephemeral: eph.public } }).finish();
  const ev1 = await feed(drv, noise.encodeFrame(hello));
  check(errorsOf(ev1).length === 0, `mode ${mode}: client hello accepted (${errorsOf(ev1)})`);
  const sh = only(ev1, 'w');
  check(sh.length === 1, `mode ${mode}: one server hello chunk`);
  const frames = [];
  for (const c of chunks(sh[0], 5)) await noise.decodeFrame(c, (f) => frames.push(f));
  check(frames.length === 1, `mode ${mode}: Baileys reassembled the server hello`);
  const handshake = proto.HandshakeMessage.decode(frames[0]);
  let keyEnc;
  try {
    keyEnc = noise.processHandshake(handshake, noiseKey);
  } catch (err) {
    return { rejected: err.message };
  }
  const payloadEnc = noise.encrypt(clientPayload);
  const finish = noise.encodeFrame(proto.HandshakeMessage.encode({
    clientFinish: { static: keyEnc, payload: payloadEnc },
  }).finish());
  await noise.finishInit();
  // client finish and three transport frames in one stream, split at random
  const sent = nodes().map((n) => Buffer.from(encodeBinaryNode(n)));
  const stream = Buffer.concat([finish, ...sent.map((p) => noise.encodeFrame(p))]);
  const ev2 = await feed(drv, stream, 11);
  check(errorsOf(ev2).length === 0, `client finish + frames accepted (${errorsOf(ev2)})`);
  check(eq(only(ev2, 'p')[0] ?? [], clientPayload), 'our responder decrypted Baileys\' ClientPayload');
  check(eq(only(ev2, 's')[0] ?? [], noiseKey.public), 'our responder learned Baileys\' static noise key');
  const got = only(ev2, 'f');
  check(got.length === sent.length && got.every((g, i) => eq(g, sent[i])),
    'our responder decrypted every Baileys transport frame');

  // server -> client: several frames in one chunk; Baileys decrypts and decodes
  const out = nodes();
  const parts = [Buffer.from([out.length])];
  for (const n of out) {
    const p = Buffer.from(encodeBinaryNode(n));
    const l = Buffer.alloc(4);
    l.writeUInt32BE(p.length);
    parts.push(l, p);
  }
  const ev3 = await drv.req('S', Buffer.concat(parts));
  const wire = only(ev3, 'w')[0];
  const decoded = [];
  await noise.decodeFrame(wire, (node) => decoded.push(node)); // all frames in one chunk
  check(decoded.length === out.length, `Baileys decoded ${decoded.length}/${out.length} frames from one chunk`);
  decoded.forEach((d, i) => {
    check(d.tag === out[i].tag && JSON.stringify(d.attrs) === JSON.stringify(out[i].attrs),
      `frame ${i}: node ${d.tag} round-tripped`);
  });
  check(Buffer.isBuffer(decoded[2]?.content) && eq(decoded[2].content, out[2].content), 'binary content intact');
  // and the same again split at every few bytes
  const ev4 = await drv.req('S', Buffer.concat(parts));
  const decoded2 = [];
  for (const c of chunks(only(ev4, 'w')[0], 3)) await noise.decodeFrame(c, (node) => decoded2.push(node));
  check(decoded2.length === out.length, 'Baileys decoded split frames with the next counters');
  return { rejected: null };
}

// ---- our initiator vs a responder built from Baileys' symmetric state ----
function frameOf(payload) {
  const h = Buffer.alloc(3);
  h.writeUIntBE(payload.length, 0, 3);
  return Buffer.concat([h, payload]);
}
function unframe(buf) {
  const n = buf.readUIntBE(0, 3);
  check(buf.length === 3 + n, 'single frame');
  return buf.subarray(3, 3 + n);
}

async function ourInitiator(drv) {
  // a certificate chain made with Baileys' Curve and protobufs
  const root = Curve.generateKeyPair();
  const inter = Curve.generateKeyPair();
  const sS = Curve.generateKeyPair();
  const now = Math.floor(Date.now() / 1000);
  const D = proto.CertChain.NoiseCertificate.Details;
  const iDetails = D.encode({ serial: 7, issuerSerial: 0, key: inter.public, notBefore: now - 60, notAfter: now + 600 }).finish();
  const lDetails = D.encode({ serial: 8, issuerSerial: 7, key: sS.public, notBefore: now - 60, notAfter: now + 600 }).finish();
  const chain = proto.CertChain.encode({
    leaf: { details: lDetails, signature: Curve.sign(inter.private, lDetails) },
    intermediate: { details: iDetails, signature: Curve.sign(root.private, iDetails) },
  }).finish();

  const ev1 = await drv.req('J', Buffer.concat([root.public, clientPayload]));
  const first = only(ev1, 'w')[0];
  check(eq(first.subarray(0, 4), NOISE_WA_HEADER), 'our initiator sends the WA intro');
  const hello = proto.HandshakeMessage.decode(unframe(first.subarray(4)));
  const eC = Buffer.from(hello.clientHello.ephemeral);
  // Baileys' handler hashes NOISE_HEADER then the key pair's public key:
  // with the client's ephemeral that is exactly the responder's state.
  const h = makeNoiseHandler({ keyPair: { public: eC, private: Buffer.alloc(32) }, NOISE_HEADER: NOISE_WA_HEADER, logger });
  const eS = Curve.generateKeyPair();
  h.authenticate(eS.public);
  h.mixIntoKey(Curve.sharedKey(eS.private, eC));
  const c1 = h.encrypt(sS.public);
  h.mixIntoKey(Curve.sharedKey(sS.private, eC));
  const c2 = h.encrypt(chain);
  const serverHello = proto.HandshakeMessage.encode({ serverHello: { ephemeral: eS.public, static: c1, payload: c2 } }).finish();
  const ev2 = await feed(drv, frameOf(Buffer.from(serverHello)), 9);
  check(errorsOf(ev2).length === 0, `our initiator accepted a Baileys-signed chain (${errorsOf(ev2)})`);
  check(eq(only(ev2, 's')[0] ?? [], sS.public), 'our initiator reports the server static');
  const fin = proto.HandshakeMessage.decode(unframe(only(ev2, 'w')[0])).clientFinish;
  let sC;
  try {
    sC = h.decrypt(fin.static); // Baileys' counter is 1 here: checks our nonce-1 c3
    h.mixIntoKey(Curve.sharedKey(eS.private, sC));
    const pl = h.decrypt(fin.payload);
    check(eq(pl, clientPayload), 'Baileys-side responder decrypted our ClientPayload');
  } catch (err) {
    check(false, 'Baileys-side responder could not decrypt our client finish: ' + err.message);
    return;
  }
  await h.finishInit();
  // Baileys' transport encrypts with the first Split half (client->server):
  // the same key and counter our initiator uses, so ciphertexts must match.
  const pts = nodes().map((n) => Buffer.from(encodeBinaryNode(n)));
  const parts = [Buffer.from([pts.length])];
  for (const p of pts) {
    const l = Buffer.alloc(4);
    l.writeUInt32BE(p.length);
    parts.push(l, p);
  }
  const ev3 = await drv.req('S', Buffer.concat(parts));
  const ours = only(ev3, 'w')[0];
  const theirs = Buffer.concat(pts.map((p) => frameOf(h.encrypt(p))));
  check(eq(ours, theirs), 'our initiator\'s transport frames equal Baileys\' for the same key and counters');
}

// ---- XEdDSA and X25519 against Baileys' Curve ----
async function curveChecks(drv) {
  for (let i = 0; i < 5; i++) {
    const kp = Curve.generateKeyPair(); // Node keys: private not clamped
    const msg = randomBytes(1 + Math.floor(Math.random() * 500));
    const sigB = Curve.sign(kp.private, msg);
    let v = await drv.req('V', Buffer.concat([kp.public, sigB, msg]));
    check(only(v, 'v')[0][0] === 1, 'our XEdDSA verify accepts Baileys\' signature');
    const bad = Buffer.from(msg);
    bad[0] ^= 1;
    v = await drv.req('V', Buffer.concat([kp.public, sigB, bad]));
    check(only(v, 'v')[0][0] === 0, 'our XEdDSA verify rejects a changed message');
    const g = await drv.req('G', Buffer.concat([kp.private, msg]));
    const sigOurs = only(g, 'g')[0];
    check(xverify(kp.public, msg, sigOurs), 'libsignal (Baileys\' curve) verifies our signature');
    check(!xverify(kp.public, bad, sigOurs), 'libsignal rejects our signature on another message');
    check(xverify(kp.public, msg, sigB) && !xverify(kp.public, bad, sigB), 'xverify itself discriminates');
    const pk = await drv.req('P', kp.private);
    check(eq(only(pk, 'k')[0], kp.public), 'same public key from a Node private key');
    const other = Curve.generateKeyPair();
    const d = await drv.req('D', Buffer.concat([kp.private, other.public]));
    check(eq(only(d, 'd')[0], Curve.sharedKey(kp.private, other.public)), 'X25519 agrees with Baileys');
  }
}

const drv = new Driver(process.argv[2]);
try {
  const ok = await baileysClient(drv, 0);
  check(ok.rejected === null, 'Baileys accepted our good chain: ' + ok.rejected);
  const ed = await baileysClient(drv, 0, Buffer.from([8, 8, 8, 5, 0x12, 0x34]));
  check(ed.rejected === null, 'handshake with the ED routing prefix: ' + ed.rejected);
  // bad chains that Baileys does catch: it must fail the handshake
  for (const [mode, what] of [[2, 'intermediate issuer serial 5'], [5, 'leaf without a signature']]) {
    const r = await baileysClient(drv, mode);
    check(r.rejected !== null, `Baileys rejects a ${what}`);
    if (r.rejected) console.log(`mode ${mode} (${what}): Baileys said "${r.rejected}"`);
  }
  // Bad chains Baileys 7.0.0-rc14 lets through (its signature checks are
  // no-ops, see xverify; it never binds the leaf to the server static). Our
  // initiator rejects all of these (unit tests). Logged, not asserted.
  for (const [mode, what] of [[1, 'chain signed by another root'], [3, 'leaf key != server static'], [4, 'leaf signed by another key']]) {
    const r = await baileysClient(drv, mode);
    console.log(`mode ${mode} (${what}): Baileys ${r.rejected ? 'rejected: ' + r.rejected : 'accepted'}`);
  }
  const kp = Curve.generateKeyPair();
  console.log(`Baileys Curve.verify(random 64 bytes) = ${Curve.verify(kp.public, Buffer.from('m'), randomBytes(64))}`);
  await ourInitiator(drv);
  await curveChecks(drv);
  await drv.req('Q');
} catch (err) {
  failures++;
  console.error('FAIL: exception', err);
}
drv.proc.stdin.end();
const code = await drv.exited;
check(code === 0, 'driver exited cleanly (' + code + ')');
console.log(`noise interop: ${checks - failures}/${checks} checks passed`);
process.exit(failures ? 1 : 0);
