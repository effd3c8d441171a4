// wasim e2e 4: hostile input. Raw websocket clients (framing and Noise from
// Baileys' own noise-handler, so the handshake is independent of our C code)
// send bad magic, an oversized frame length, a wrong dictionary version,
// a garbage ClientHello, garbage and undecodable transport frames, stanzas
// illegal in the pairing state and a login of an unknown device. wasim must
// drop each bad connection (or answer <failure 401>) while a paired Baileys
// client stays connected and answered, and handle a handshake split into
// 1-byte websocket messages.
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import { startWasim, pairByQr, check, fail, watchdog, sleep, baileys } from './harness.mjs';
import { loadBaileysFile, baileysPath } from '../interop/baileys.mjs';

watchdog(100);
const WebSocket = createRequire(baileysPath('package.json'))('ws');
const { makeNoiseHandler } = await loadBaileysFile('lib/Utils/noise-handler.js');
const { B, logger } = await baileys();
const sim = await startWasim(process.argv[2]);
const good = await pairByQr(sim, '15550005555', 'good');
const goodCloses = good.closes.length;
B.WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(sim.root, 'hex');

function frame(payload) {
  const b = Buffer.alloc(3 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  payload.copy(b, 3);
  return b;
}
const INTRO = Buffer.from([0x57, 0x41, 0x06, 0x03]);

// Opens a raw websocket; resolves with helpers once open.
function raw() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(sim.url, { origin: 'https://web.whatsapp.com' });
    const st = { ws, closed: false, messages: [] };
    st.closedP = new Promise((r) => ws.on('close', () => { st.closed = true; r(true); }));
    ws.on('error', () => {});
    ws.on('message', (d) => st.messages.push(Buffer.from(d)));
    ws.on('open', () => resolve(st));
    ws.on('unexpected-response', (_, res) => reject(new Error('upgrade refused ' + res.statusCode)));
  });
}
const closedWithin = (st, ms) => Promise.race([st.closedP, sleep(ms).then(() => false)]);

// A full Noise handshake with Baileys' noise handler; `payload` is a
// ClientPayload object. Resolves with { st, noise, nodes, send(node|bytes) }.
async function handshake(payload, { split = false } = {}) {
  const st = await raw();
  const eph = B.Curve.generateKeyPair();
  const creds = B.initAuthCreds();
  const noise = makeNoiseHandler({ keyPair: eph, NOISE_HEADER: B.NOISE_WA_HEADER, logger });
  const nodes = [];
  let serverHello = null;
  st.ws.removeAllListeners('message');
  st.ws.on('message', (d) => noise.decodeFrame(Buffer.from(d), (f) => {
    if (!serverHello) serverHello = f; else nodes.push(f);
  }));
  const hello = noise.encodeFrame(B.proto.HandshakeMessage.encode({ clientHello: { ephemeral: eph.public } }).finish());
  if (split) for (const byte of hello) st.ws.send(Buffer.from([byte]));
  else st.ws.send(hello);
  for (let i = 0; i < 50 && !serverHello; i++) await sleep(50);
  if (!serverHello) fail('no server hello');
  const hs = B.proto.HandshakeMessage.decode(serverHello);
  const keyEnc = noise.processHandshake(hs, creds.noiseKey);
  const p = payload === 'register'
    ? B.generateRegistrationNode(creds, { ...B.DEFAULT_CONNECTION_CONFIG })
    : B.proto.ClientPayload.fromObject(payload);
  const enc = noise.encrypt(B.proto.ClientPayload.encode(p).finish());
  st.ws.send(noise.encodeFrame(B.proto.HandshakeMessage.encode({ clientFinish: { static: keyEnc, payload: enc } }).finish()));
  await noise.finishInit();
  const send = (x) => st.ws.send(noise.encodeFrame(Buffer.isBuffer(x) ? x : B.encodeBinaryNode(x)));
  return { st, noise, nodes, send };
}

// 1. bad magic
let st = await raw();
st.ws.send(Buffer.concat([Buffer.from('XX\x06\x03'), frame(Buffer.alloc(10))]));
check(await closedWithin(st, 3000), 'bad intro magic: connection dropped');
// 2. oversized frame length (16 MiB - 1 > wasim's 4 MiB cap)
st = await raw();
st.ws.send(Buffer.concat([INTRO, Buffer.from([0xff, 0xff, 0xff]), Buffer.alloc(100)]));
check(await closedWithin(st, 3000), 'oversized frame length: dropped before buffering it');
// 3. dictionary version 2 (Baileys 6.x)
st = await raw();
st.ws.send(Buffer.concat([Buffer.from([0x57, 0x41, 0x06, 0x02]), frame(Buffer.alloc(36))]));
check(await closedWithin(st, 3000), 'dictionary version 2 intro: dropped');
// 4. garbage ClientHello
st = await raw();
st.ws.send(Buffer.concat([INTRO, frame(crypto.randomBytes(40))]));
check(await closedWithin(st, 3000), 'garbage ClientHello: dropped');
// 5. truncated frame: wasim waits (bounded by the handshake timeout), others unaffected
st = await raw();
st.ws.send(Buffer.concat([INTRO, Buffer.from([0, 0, 100]), Buffer.alloc(10)]));
check(!(await closedWithin(st, 500)), 'truncated frame: connection waits for the rest');
st.ws.terminate();
// 6. a valid handshake sent one byte per websocket message
let h = await handshake('register', { split: true });
for (let i = 0; i < 40 && !h.nodes.length; i++) await sleep(50);
check(h.nodes[0]?.tag === 'iq' && h.nodes[0].content?.[0]?.tag === 'pair-device',
  'handshake split into 1-byte websocket messages: pair-device received');
check(h.nodes[0].content[0].content.length === 6, 'pair-device carries 6 refs');
// 7. garbage transport frame after the handshake
h.st.ws.send(frame(crypto.randomBytes(64)));
check(await closedWithin(h.st, 3000), 'garbage after the handshake: dropped');
// 8. a frame that decrypts but does not decode as a node
h = await handshake('register');
h.send(Buffer.from([0x00, 0xf0, 0x01]));
check(await closedWithin(h.st, 3000), 'undecodable node: dropped');
// 9. a stanza illegal while pairing
h = await handshake('register');
h.send({ tag: 'message', attrs: { to: '15550005555@s.whatsapp.net', id: 'X1', type: 'text' } });
check(await closedWithin(h.st, 3000), '<message> before login: dropped');
// 10. iq other than keep-alive before login is refused, keep-alive answered
h = await handshake('register');
h.send({ tag: 'iq', attrs: { id: 'p1', to: '@s.whatsapp.net', type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] });
h.send({ tag: 'iq', attrs: { id: 'u1', to: '@s.whatsapp.net', type: 'get', xmlns: 'usync' } });
for (let i = 0; i < 40 && h.nodes.length < 3; i++) await sleep(50);
const byId = (id) => h.nodes.find((n) => n.attrs.id === id);
check(byId('p1')?.attrs.type === 'result', 'keep-alive answered while pairing');
check(byId('u1')?.attrs.type === 'error', 'other iqs refused before login');
h.st.ws.terminate();
// 11. login of an unknown device
h = await handshake({ username: 15559999999, device: 3, passive: true, pull: true });
for (let i = 0; i < 40 && !h.nodes.length; i++) await sleep(50);
check(h.nodes[0]?.tag === 'failure' && h.nodes[0].attrs.reason === '401', 'unknown device: <failure reason="401">');
check(await closedWithin(h.st, 3000), '... and the connection is closed');
// 12. login of a known device with the wrong noise key
h = await handshake({ username: 15550005555, device: 1, passive: true, pull: true });
for (let i = 0; i < 40 && !h.nodes.length; i++) await sleep(50);
check(h.nodes[0]?.tag === 'failure' && h.nodes[0].attrs.reason === '401', 'wrong noise key for a paired device: failure 401');
// a client that keeps talking after <failure> must not keep the socket open
await sleep(300);
h.send({ tag: 'iq', attrs: { id: 'p2', to: '@s.whatsapp.net', type: 'get', xmlns: 'w:p' } });
check(await closedWithin(h.st, 3000), '... and closed within the linger second even if the client keeps sending');

// the good client never noticed
const pong = await good.sock.query({ tag: 'iq', attrs: { to: '@s.whatsapp.net', type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] });
check(pong.attrs.type === 'result', 'paired Baileys client still answered');
check(good.closes.length === goodCloses, 'paired Baileys client was never disconnected');
await sleep(300);
const conns = await sim.api('GET', '/_sim/conns');
check(conns.json.count === 1 && conns.json.conns[0].state === 'ready', `only the good connection is left (${conns.json.count})`);
await good.stop();
check((await sim.stop()) === 0, 'wasim exited cleanly');

// --max-conns: the connection over the limit is refused, the others stay
const small = await startWasim(process.argv[2], { extra: ['--max-conns', '2'] });
const rawOn = (url) => new Promise((resolve) => {
  const ws = new WebSocket(url);
  const r = { ws, closedP: new Promise((c) => ws.on('close', () => c(true))) };
  ws.on('error', () => {});
  ws.on('open', () => resolve(r));
  ws.on('unexpected-response', () => resolve(r));
});
const a1 = await rawOn(small.url), a2 = await rawOn(small.url), a3 = await rawOn(small.url);
check(await closedWithin(a3, 3000), '--max-conns 2: third connection refused');
check(!(await closedWithin(a1, 300)) && !(await closedWithin(a2, 10)), '... the first two stay open');
a1.ws.terminate();
a2.ws.terminate();
check((await small.stop()) === 0, 'second wasim exited cleanly');

// --handshake-timeout: a client that never finishes the handshake is cut
const slow = await startWasim(process.argv[2], { extra: ['--handshake-timeout', '1'] });
const s1 = await rawOn(slow.url);
s1.ws.send(Buffer.from([0x57, 0x41]));
const s2 = await rawOn(slow.url);
s2.ws.send(Buffer.concat([INTRO, Buffer.from([0, 0, 100]), Buffer.alloc(10)]));
check(await closedWithin(s1, 3500) && await closedWithin(s2, 500), 'stalled handshakes dropped after --handshake-timeout');
check((await slow.stop()) === 0, 'third wasim exited cleanly');
process.exit(0);
