// Send pacing end to end against wasim (suite e2e), on wamd's test clock
// (WAMD_TEST_CLOCK_MS; POST /wamd/testClock moves it), so a day of
// schedule runs in seconds:
//   1,000 sendText to 200 numbers never talked to (PACE_MESSAGES and
//   PACE_RECIPIENTS change that; 300 to 60 runs ~3x faster), 20/min and 30 first
//   contacts a day: every message leaves at the time an independent model
//   of the rules gives (first-contact lane, followers behind their first
//   contact, FIFO, earliest ready first), no minute holds more than 20 and
//   no day more than 30 first contacts, the queue route's expected times
//   are those times, and wasim's receive side sees each step's releases and
//   nothing early; every number's phone gets its messages once, in order.
//   A SIGKILL restart in the middle keeps the schedule and loses or
//   duplicates nothing.
//   A second instance (5/min) sends while the first holds a big queue:
//   its messages leave within its own limits, unaffected by the other.
//   wasim's ack_error fault (429) slows the instance down (AIMD, an event),
//   three in ten minutes pause it, and it recovers. A held sendLocation,
//   sendContact and sendPoll leave at their times through the routes' own sends, with the
//   ids their answers gave, and a Baileys peer gets them; a held text first
//   shows "composing" to the peer for its length, then leaves. A held
//   sendMedia image and sendReaction answer 201 PENDING with their final
//   ids, the image waits as an owner-only file in the data folder, both
//   survive a SIGKILL with their schedule, leave on time with those ids (the
//   peer downloads the image intact) and the file is gone; an instance
//   deleted with a held image takes its file with it. On the real
//   clock, the scheduler's own timer releases sends at their gap.
// argv: [node, script, wamd, wasim]
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // wasim's self-signed media host (the peer's download)
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { startWasim, pairByQr, check, watchdog, tmpDir, sleep, baileys } from '../sim/harness.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(280);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-pace-key-71c2';
const W1 = '15550011000';
const W2 = '15550012000';
const R = Number(process.env.PACE_RECIPIENTS || 200);
const N = Number(process.env.PACE_MESSAGES || 1000);
const PER_MIN = 20;
const FIRST_PER_DAY = 30;
const MIN = 60000;
const DAY = 86400000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const rcpt = (k) => `1555002${String(1000 + k).padStart(4, '0')}`;


const sim = await startWasim(wasimExe, { tls: true }); // media uploads go over HTTPS
for (const p of [W1, W2, ...Array.from({ length: R }, (_, k) => rcpt(k))]) {
  const r = await sim.api('POST', '/_sim/accounts', { phone: p });
  check(r.status === 201, `wasim account ${p}`);
}

// a Baileys peer: it sees what a held send becomes, and the chat states before it
const PEER = '15550019000';
const PEER_JID = `${PEER}@s.whatsapp.net`;
const peer = await pairByQr(sim, PEER, 'peer');
const peerMsgs = [];
const peerPres = [];
peer.sock.ev.on('messages.upsert', ({ messages }) => { for (const m of messages) peerMsgs.push({ at: Date.now(), m }); });
peer.sock.ev.on('presence.update', (p) => peerPres.push({ at: Date.now(), p }));
const peerGot = async (id, tries = 400) => {
  for (let i = 0; i < tries; i++) {
    const x = peerMsgs.find((e) => e.m.key.id === id);
    if (x) return x;
    await sleep(25);
  }
  return null;
};

const data = tmpDir('wamd-pace-');
const port = await freePort();
let wamdLog = '';
let wamd;
const startWamd = (clockMs) => {
  const env = { ...process.env, WAMD_PACING: 'on', WAMD_TEST_CLOCK_MS: String(clockMs) }; // '': the real clock
  const p = spawn(wamdExe, ['--data', data, '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
    '--wa-url', sim.url, '--wa-trust-root', sim.root, '--wa-tls-insecure', 'true', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  p.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
  return p;
};
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const answers = [];
const api = async (method, p, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  const json = t ? JSON.parse(t) : null;
  if (json !== null) answers.push({ method, path: p, status: res.status, body: json });
  return { status: res.status, json };
};
const dumpOnFail = (cond, msg) => { if (!cond) process.stderr.write(wamdLog.slice(-6000)); check(cond, msg); };
const up = async () => {
  for (let i = 0; i < 200; i++) {
    try { if ((await api('GET', '/')).status === 200) return; } catch { /* not yet */ }
    await sleep(50);
  }
  check(false, 'wamd answers');
};
const waitOpen = async (name) => {
  for (let i = 0; i < 300; i++) {
    if ((await api('GET', `/instance/connectionState/${name}`)).json?.instance?.state === 'open') return true;
    await sleep(100);
  }
  return false;
};
const pair = async (name, phone) => {
  const r = await api('POST', '/instance/create', { instanceName: name, integration: 'WHATSAPP-BAILEYS', qrcode: true });
  dumpOnFail(r.status === 201, `${name} created (${r.status})`);
  let qr = r.json.qrcode?.code;
  if (!qr) qr = (await api('GET', `/instance/connect/${name}`)).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone, qr })).status === 200, `${name}: QR scanned`);
  dumpOnFail(await waitOpen(name), `${name} open`);
};
// message stanzas wamd's device (of account phone) sent to wasim
const stanzasFrom = async (phone) => {
  const a = (await sim.api('GET', `/_sim/accounts/${phone}`)).json;
  return a.devices.filter((d) => d.device !== 0).reduce((s, d) => s + (d.msgs_in || 0), 0);
};
const waitStanzas = async (phone, n, what) => {
  for (let i = 0; i < 600; i++) {
    if (await stanzasFrom(phone) >= n) return true;
    await sleep(50);
  }
  dumpOnFail(false, `${what}: wasim got ${await stanzasFrom(phone)} of ${n} stanzas`);
  return false;
};
let vnow = T0;
let q;
const advanceTo = async (t) => {
  const r = await api('POST', '/wamd/testClock', { nowMs: t });
  dumpOnFail(r.status === 200 && r.json.nowMs === t, `test clock at ${t - T0} (${r.status} ${JSON.stringify(r.json).slice(0, 200)})`);
  vnow = t;
  return r.json.released;
};

// ---- an independent model of the rules: when each message leaves ----
// windows by brute force over the send history; lanes: first contacts
// (FIFO), followers wait behind their number's queued first contact, then
// join the other lane in enqueue order; the head that is ready first
// leaves, ties to the older message.
const model = (msgs, t0) => {
  const sends = []; // {t, first}
  const seen = new Set();
  const allowed = (t, first) => sends.filter((s) => s.t > t - MIN && s.t <= t).length < PER_MIN &&
    (!first || sends.filter((s) => s.first && s.t > t - DAY && s.t <= t).length < FIRST_PER_DAY);
  const earliest = (from, first) => {
    const cands = [from, ...sends.map((s) => s.t + MIN), ...sends.filter((s) => s.first).map((s) => s.t + DAY)]
      .filter((c) => c >= from).sort((a, b) => a - b);
    for (const c of cands) if (allowed(c, first)) return c;
    return Infinity;
  };
  const known = []; const firstQ = []; const leaders = new Map();
  const at = new Map();
  let queued = 0;
  for (const m of msgs) {
    const first = !seen.has(m.jid);
    seen.add(m.jid);
    m.first = first;
    if (queued === 0 && allowed(t0, first)) { sends.push({ t: t0, first }); at.set(m.i, t0); continue; }
    queued++;
    m.seq = queued;
    if (leaders.has(m.jid)) leaders.get(m.jid).followers.push(m);
    else if (first) { m.followers = []; leaders.set(m.jid, m); firstQ.push(m); } else known.push(m);
  }
  let cur = t0;
  while (known.length || firstQ.length) {
    const rk = known.length ? earliest(cur, known[0].first) : Infinity;
    const rf = firstQ.length ? earliest(cur, true) : Infinity;
    const takeF = rf < rk || (rf === rk && firstQ[0].seq < known[0].seq);
    const m = takeF ? firstQ.shift() : known.shift();
    const t = takeF ? rf : rk;
    sends.push({ t, first: m.first });
    at.set(m.i, t);
    if (takeF) { leaders.delete(m.jid); known.push(...m.followers); known.sort((a, b) => a.seq - b.seq); }
    cur = t;
  }
  return at;
};

try {
  wamd = startWamd(T0);
  await up();
  await pair('p1', W1);
  await pair('p2', W2);
  // defaults first: a fresh instance paces with the safe ones
  let r = await api('GET', '/wamd/pace/p1');
  check(r.status === 200 && r.json.enabled === true && r.json.perMinute === 8 && r.json.firstContactPerDay === 20 &&
    r.json.warmupStart === 50 && r.json.warmupFrom === T0 && r.json.typing === true && r.json.available === true &&
    r.json.typingMsPerChar === 50 && r.json.typingMinMs === 1000 && r.json.typingMaxMs === 8000, `p1: default pacing (${JSON.stringify(r.json)})`);
  r = await api('POST', '/wamd/pace/p1', { perMinute: PER_MIN, perHour: 0, perDay: 0, firstContactPerDay: FIRST_PER_DAY,
    warmupStep: 0, gapMs: 0, jitterMs: 0, typing: false });
  check(r.status === 201 && r.json.perMinute === PER_MIN && r.json.gapMs === 0 && r.json.typing === false, `p1: pacing set (${r.status})`);
  r = await api('POST', '/wamd/pace/p1', { perMinute: -3 });
  check(r.status === 400, `p1: a bad setting is refused (${r.status})`);
  r = await api('POST', '/wamd/pace/p2', { perMinute: 5, perHour: 0, perDay: 0, warmupStep: 0, gapMs: 0, jitterMs: 0, typing: false });
  check(r.status === 201, 'p2: pacing set');

  // ---- N messages to R new numbers, all at T0 ----
  const msgs = [];
  for (let i = 0; i < N; i++) {
    const k = i % R;
    r = await api('POST', '/message/sendText/p1', { number: rcpt(k), text: `m${i}` });
    dumpOnFail(r.status === 201 && r.json.key?.id && r.json.status === 'PENDING', `sendText ${i} (${r.status})`);
    msgs.push({ i, jid: `${rcpt(k)}@s.whatsapp.net`, id: r.json.key.id, k });
  }
  const expect = model(msgs, T0);
  const straight = msgs.filter((m) => expect.get(m.i) === T0 && !m.seq);
  check(straight.length === PER_MIN, `the first ${PER_MIN} left at once (no limit held them): ${straight.length}`);
  await waitStanzas(W1, PER_MIN, 'straight sends');
  check(await stanzasFrom(W1) === PER_MIN, 'nothing else left early');

  // the queue route: positions and expected times are the model's
  r = await api('GET', '/wamd/paceQueue/p1?limit=1000');
  check(r.status === 200 && r.json.queued === N - PER_MIN, `queue of ${r.json?.queued}`);
  const byId = new Map(msgs.map((m) => [m.id, m]));
  let qok = r.json.messages.length === N - PER_MIN;
  let pos = 1; let prev = 0;
  for (const q of r.json.messages) {
    const m = byId.get(q.id);
    if (!m || q.position !== pos++ || q.expectedAtMs !== expect.get(m.i) || q.expectedAtMs < prev ||
      q.firstContact !== (m.first && !!m.followers)) { qok = false; console.error(`# queue entry ${JSON.stringify(q)} vs model ${m && expect.get(m.i)}`); break; }
    prev = q.expectedAtMs;
  }
  check(qok, 'paceQueue: every position and expected time as the model');
  r = await api('GET', '/wamd/paceQueue/p1?limit=0');
  check(r.status === 400, 'paceQueue: limit 0 refused');

  // ---- p2 sends 7 while p1 holds its queue: 5 at once, 2 a minute later ----
  const p2ids = [];
  for (let i = 0; i < 7; i++) {
    r = await api('POST', '/message/sendText/p2', { number: rcpt(i), text: `p2-${i}` });
    check(r.status === 201, `p2 sendText ${i}`);
    p2ids.push(r.json.key.id);
  }
  await waitStanzas(W2, 5, 'p2: five at once');
  const metrics = async () => {
    const prom = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { apikey: KEY } }).then((x) => x.text());
    const v = (n) => Number((prom.match(new RegExp(`^wamd_pace_${n} (\\d+)`, 'm')) || [])[1]);
    return { queued: v('queued'), sent: v('sent_total'), deferred: v('deferred_total'), throttled: v('throttled_total') };
  };
  let mt = await metrics();
  check(mt.queued === N - PER_MIN + 2 && mt.deferred === N - PER_MIN + 2 && mt.sent === PER_MIN + 5 && mt.throttled === 0,
    `metrics while queued: ${JSON.stringify(mt)}`);

  const released = new Map(); // id -> atMs
  const record = (list) => { for (const x of list) { check(!released.has(x.id), `released once: ${x.id}`); released.set(x.id, x.atMs); } };
  // ---- the clock moves from one expected send time to the next: at each,
  // exactly the messages the model gives leave, and wasim receives them
  // before the clock moves on; a SIGKILL restart after the fifth ----
  const due = [...new Set(msgs.map((m) => expect.get(m.i)).filter((t) => t > T0))].sort((a, b) => a - b);
  let cum = PER_MIN;
  let restarted = false;
  let restartAt = 0;
  for (let s = 0; s < due.length; s++) {
    const t = due[s];
    if (t >= T0 + DAY && due[s - 1] < T0 + DAY) {
      // a day's first contacts are spent: the blocked ones and their
      // followers wait for the day window, and nothing leaves before it
      const waiting = msgs.filter((m) => expect.get(m.i) >= T0 + DAY).length;
      r = await api('GET', '/wamd/pace/p1');
      check(r.json.state.queued === waiting && r.json.state.firstContactsLastDay === FIRST_PER_DAY,
        `a day's first contacts spent, ${waiting} wait (${JSON.stringify(r.json.state)})`);
      check((await advanceTo(T0 + DAY - 1)).length === 0, 'nothing leaves before the day window opens');
    }
    const rel = await advanceTo(t);
    record(rel);
    const mine = rel.filter((x) => x.instance === 'p1');
    const want = msgs.filter((m) => expect.get(m.i) === t).map((m) => m.id).sort();
    check(JSON.stringify(mine.map((x) => x.id).sort()) === JSON.stringify(want) && mine.every((x) => x.atMs === t),
      `at +${(t - T0) / 1000}s exactly the model's ${want.length} left (${mine.length})`);
    if (t === T0 + MIN) {
      const p2rel = rel.filter((x) => x.instance === 'p2');
      check(p2rel.length === 2 && p2rel.every((x) => x.atMs === T0 + MIN && p2ids.includes(x.id)),
        `p2: its other 2 left at T0+1min, beside p1's ${mine.length} (${JSON.stringify(p2rel)})`);
      await waitStanzas(W2, 7, 'p2: all seven');
    }
    cum += mine.length;
    await waitStanzas(W1, cum, `at +${(t - T0) / 1000}s`);
    if (!restarted) check(await stanzasFrom(W1) === cum, `at +${(t - T0) / 1000}s: wasim got exactly what was released`);
    if (s === Math.min(4, due.length - 2)) {
      restarted = true;
      restartAt = vnow;
      wamd.kill('SIGKILL');
      await new Promise((res) => wamd.once('exit', res));
      wamd = startWamd(vnow);
      await up();
      dumpOnFail(await waitOpen('p1'), 'p1 open again after SIGKILL');
      r = await api('GET', '/wamd/paceQueue/p1?limit=1000');
      const left = msgs.filter((m) => !released.has(m.id) && expect.get(m.i) > T0);
      check(r.json.queued === left.length, `after the restart: ${r.json.queued} queued, ${left.length} expected`);
      check(r.json.messages.every((q) => q.expectedAtMs === expect.get(byId.get(q.id).i)),
        'after the restart: the same expected times');
    }
  }
  await waitStanzas(W1, N, `all ${N}`);
  check(restarted, 'restarted in the middle');

  // ---- every message at its model time; windows by brute force ----
  let bad = 0;
  const times = [];
  for (const m of msgs) {
    const t = expect.get(m.i) === T0 && !released.has(m.id) ? T0 : released.get(m.id);
    if (t !== expect.get(m.i)) { if (bad++ < 5) console.error(`# m${m.i}: left at ${t - T0}, model ${expect.get(m.i) - T0}`); }
    times.push({ t, first: m.first });
  }
  check(bad === 0, `all ${N} messages left exactly at the model's times (${bad} off)`);
  let over = 0;
  for (const { t } of times) {
    if (times.filter((x) => x.t > t - MIN && x.t <= t).length > PER_MIN) over++;
    if (times.filter((x) => x.first && x.t > t - DAY && x.t <= t).length > FIRST_PER_DAY) over++;
  }
  check(over === 0, 'no minute over 20, no day over 30 first contacts');
  if (R > FIRST_PER_DAY) check(Math.max(...times.map((x) => x.t)) > T0 + DAY, 'the blocked first contacts left on later days');
  // the receive side: each phone got its messages once, in order
  let recvBad = 0;
  for (let k = 0; k < R; k++) {
    const want = msgs.filter((m) => m.k === k).map((m) => `m${m.i}`);
    let got = [];
    // the server has every stanza; its delivery to the phone may still be under way
    for (let w = 0; w < 200; w++) {
      got = (await sim.api('GET', `/_sim/accounts/${rcpt(k)}/messages`)).json.messages
        .filter((x) => x.from.startsWith(W1) && (x.kind === 'message' || x.kind === 'duplicate'));
      if (got.length >= want.length) break;
      await sleep(25);
    }
    if (JSON.stringify(got.map((x) => x.text)) !== JSON.stringify(want) || got.some((x) => x.kind === 'duplicate')) {
      if (recvBad++ < 3) console.error(`# ${rcpt(k)} got ${JSON.stringify(got.map((x) => [x.text, x.kind]))}, want ${want}`);
    }
  }
  check(recvBad === 0, `every number got its ${N / R} messages once, in order (${recvBad} wrong)`);
  mt = await metrics(); // counters restart with the process (Prometheus counter semantics)
  const after = msgs.filter((m) => expect.get(m.i) > restartAt).length;
  check(mt.queued === 0 && mt.sent === after, `metrics at the end: ${JSON.stringify(mt)}, ${after} released since the restart`);

  // ---- rate-limit answers: AIMD, an event, a pause, recovery ----
  r = await api('POST', '/wamd/pace/p2', { perMinute: 10 });
  const dev2 = (await sim.api('GET', `/_sim/accounts/${W2}`)).json.devices.find((d) => d.device !== 0).device;
  r = await sim.api('POST', '/_sim/fault', { phone: W2, device: dev2, action: 'ack_error', code: 429, count: 3 });
  check(r.status === 200, `wasim ack_error fault (${r.status} ${JSON.stringify(r.json)})`);
  const t1 = vnow + 10 * MIN;
  await advanceTo(t1);
  r = await api('POST', '/message/sendText/p2', { number: rcpt(0), text: 'rl-1' });
  check(r.status === 201, 'p2: send into the fault');
  const waitFactor = async (pred, what) => {
    for (let i = 0; i < 200; i++) {
      const st = (await api('GET', '/wamd/pace/p2')).json.state;
      if (pred(st)) return st;
      await sleep(50);
    }
    check(false, what);
    return null;
  };
  let st = await waitFactor((s) => s.factor === 0.5, 'p2: one 429 halves its limits');
  await advanceTo(vnow + 1000);
  r = await api('POST', '/message/sendText/p2', { number: rcpt(0), text: 'rl-2' });
  st = await waitFactor((s) => s.factor === 0.25, 'p2: a second 429 halves them again');
  await advanceTo(vnow + 1000);
  r = await api('POST', '/message/sendText/p2', { number: rcpt(0), text: 'rl-3' });
  // halved twice, 10/min became 2/min: rl-3 waits for the minute window
  q = (await api('GET', '/wamd/paceQueue/p2')).json;
  check(q.queued === 1 && q.messages[0].expectedAtMs === t1 + MIN, `p2: rl-3 held by the lowered limit (${JSON.stringify(q.messages)})`);
  const rl3 = await advanceTo(q.messages[0].expectedAtMs);
  check(rl3.length === 1 && rl3[0].instance === 'p2', 'p2: rl-3 released at its expected time');
  st = await waitFactor((s) => s.pausedUntil > 0, 'p2: three 429s in ten minutes pause it');
  check(st && st.pausedUntil === vnow + 30 * MIN, `p2: paused for 30 minutes (${JSON.stringify(st)})`);
  r = await api('POST', '/message/sendText/p2', { number: rcpt(1), text: 'after-pause' });
  check(r.status === 201, 'p2: a send while paused is queued');
  const q2 = (await api('GET', '/wamd/paceQueue/p2')).json;
  check(q2.queued === 1 && q2.messages[0].expectedAtMs === st.pausedUntil, `p2: it waits for the pause (${JSON.stringify(q2)})`);
  const before = await stanzasFrom(W2);
  const rel = await advanceTo(st.pausedUntil);
  check(rel.length === 1 && rel[0].atMs === st.pausedUntil, 'p2: released when the pause ends');
  await waitStanzas(W2, before + 1, 'p2: the send after the pause');
  st = (await api('GET', '/wamd/pace/p2')).json.state;
  check(st.factor === 1, `p2: limits back to full after quiet minutes (${st.factor})`);
  check((await metrics()).throttled === 3, 'metrics: 3 throttled');

  // ---- held location and poll, then a held text with "composing" first ----
  r = await api('POST', '/wamd/pace/p2', { perMinute: 1, typing: true, typingMsPerChar: 50, typingMinMs: 1000, typingMaxMs: 8000 });
  check(r.status === 201 && r.json.typing === true, `p2: 1/min, typing on (${r.status})`);
  await advanceTo(vnow + 10 * MIN);
  const tH = vnow;
  r = await api('POST', '/message/sendText/p2', { number: PEER, text: 'first, at once' });
  check(r.status === 201, 'p2: a text to the peer leaves at once');
  const firstId = r.json.key.id;
  const rLoc = await api('POST', '/message/sendLocation/p2', { number: PEER, latitude: -19.93, longitude: -43.93, name: 'Praça', address: 'BH' });
  dumpOnFail(rLoc.status === 201 && rLoc.json.status === 'PENDING' && rLoc.json.messageType === 'locationMessage',
    `p2: sendLocation held, 201 PENDING (${rLoc.status} ${JSON.stringify(rLoc.json).slice(0, 200)})`);
  const rCard = await api('POST', '/message/sendContact/p2', { number: PEER, contact: [{ fullName: 'Ana Lima', phoneNumber: '5531988887777' }] });
  check(rCard.status === 201 && rCard.json.status === 'PENDING' && rCard.json.messageType === 'contactMessage',
    `p2: sendContact held (${rCard.status})`);
  const rPoll = await api('POST', '/message/sendPoll/p2', { number: PEER, name: 'Lunch?', selectableCount: 1, values: ['Mon', 'Tue'] });
  check(rPoll.status === 201 && rPoll.json.status === 'PENDING' && rPoll.json.messageType === 'pollCreationMessageV3',
    `p2: sendPoll held (${rPoll.status})`);
  const longText = `paced: ${'x'.repeat(93)}`;
  check(longText.length === 100, 'the text has 100 characters');
  const rTxt = await api('POST', '/message/sendText/p2', { number: PEER, text: longText });
  check(rTxt.status === 201 && rTxt.json.status === 'PENDING', 'p2: the text is held');
  q = (await api('GET', '/wamd/paceQueue/p2')).json;
  const heldIds = [rLoc.json.key.id, rCard.json.key.id, rPoll.json.key.id, rTxt.json.key.id];
  check(JSON.stringify(q.messages.map((x) => x.id)) === JSON.stringify(heldIds) &&
    JSON.stringify(q.messages.map((x) => x.expectedAtMs - tH)) === JSON.stringify([MIN, 2 * MIN, 3 * MIN, 4 * MIN + 5000]),
    `p2: location, contact, poll, text at +1, +2, +3, +4 min (the text after 5 s of typing) (${JSON.stringify(q.messages.map((x) => [x.id, x.expectedAtMs - tH]))})`);
  dumpOnFail(!!await peerGot(firstId), 'the peer got the straight text');
  check(!peerMsgs.some((e) => heldIds.includes(e.m.key.id)), 'nothing held reached the peer early');
  let relH = await advanceTo(tH + MIN);
  check(relH.length === 1 && relH[0].id === rLoc.json.key.id && relH[0].atMs === tH + MIN, `the location left at +1 min (${JSON.stringify(relH)})`);
  const gotLoc = await peerGot(rLoc.json.key.id);
  const lm = gotLoc?.m.message?.locationMessage;
  dumpOnFail(lm && lm.degreesLatitude === -19.93 && lm.degreesLongitude === -43.93 && lm.name === 'Praça' && lm.address === 'BH',
    `the peer got the held location with its answered id (${JSON.stringify(gotLoc?.m.message)})`);
  relH = await advanceTo(tH + 2 * MIN);
  check(relH.length === 1 && relH[0].id === rCard.json.key.id, 'the contact left at +2 min');
  const gotCard = await peerGot(rCard.json.key.id);
  const cm = gotCard?.m.message?.contactMessage;
  dumpOnFail(cm && cm.displayName === 'Ana Lima' && cm.vcard === rCard.json.message.contactMessage.vcard,
    `the peer got the held contact card (${JSON.stringify(gotCard?.m.message)?.slice(0, 300)})`);
  relH = await advanceTo(tH + 3 * MIN);
  check(relH.length === 1 && relH[0].id === rPoll.json.key.id, 'the poll left at +3 min');
  const gotPoll = await peerGot(rPoll.json.key.id);
  const pm = gotPoll?.m.message?.pollCreationMessageV3;
  dumpOnFail(pm && pm.name === 'Lunch?' && pm.options.map((o) => o.optionName).join() === 'Mon,Tue' &&
    Buffer.from(gotPoll.m.message.messageContextInfo.messageSecret).toString('base64') === rPoll.json.message.messageContextInfo.messageSecret,
    `the peer got the held poll, with the messageSecret of the answer (${JSON.stringify(gotPoll?.m.message)?.slice(0, 300)})`);
  const composing = () => peerPres.find((x) => x.p.id === `${W2}@s.whatsapp.net` && x.p.presences?.[`${W2}@s.whatsapp.net`]?.lastKnownPresence === 'composing');
  check(!composing(), 'no composing before the text is due');
  relH = await advanceTo(tH + 4 * MIN);
  check(relH.length === 0, `at +4 min the text does not leave yet: composing shows (${JSON.stringify(relH)})`);
  let comp = null;
  for (let i = 0; i < 200 && !(comp = composing()); i++) await sleep(25);
  dumpOnFail(comp, `the peer sees "composing" from p2 (${JSON.stringify(peerPres.map((x) => x.p))})`);
  check((await advanceTo(tH + 4 * MIN + 4999)).length === 0, 'still typing at +4.999 s');
  check(!peerMsgs.some((e) => e.m.key.id === rTxt.json.key.id), 'the text has not reached the peer while typing');
  relH = await advanceTo(tH + 4 * MIN + 5000);
  check(relH.length === 1 && relH[0].id === rTxt.json.key.id, 'the text left after its 5 s of typing');
  const gotTxt = await peerGot(rTxt.json.key.id);
  const txt = gotTxt?.m.message?.conversation ?? gotTxt?.m.message?.extendedTextMessage?.text;
  check(txt === longText && comp.at <= gotTxt.at, `the peer got the text, after "composing" (${comp?.at} <= ${gotTxt?.at})`);
  r = await api('POST', '/wamd/pace/p2', { typing: false });
  check(r.status === 201 && r.json.typing === false, 'p2: typing off');

  // ---- a held image and a held reaction, across a SIGKILL ----
  const { B: Bl } = await baileys();
  const mediaDir = `${data}/media`;
  const heldFiles = () => (fs.existsSync(mediaDir) ? fs.readdirSync(mediaDir).filter((f) => f.startsWith('held-')) : []);
  await advanceTo(vnow + 10 * MIN);
  const tM = vnow;
  r = await api('POST', '/message/sendText/p2', { number: PEER, text: 'react to me' });
  check(r.status === 201, 'p2: a text to react to leaves at once');
  const targetId = r.json.key.id;
  dumpOnFail(!!await peerGot(targetId), 'the peer got the text to react to');
  const img = crypto.randomBytes(3000);
  const rImg = await api('POST', '/message/sendMedia/p2', { number: PEER, mediatype: 'image', mimetype: 'image/png',
    caption: 'held picture', media: img.toString('base64') });
  dumpOnFail(rImg.status === 201 && rImg.json.status === 'PENDING' && rImg.json.messageType === 'imageMessage' &&
    rImg.json.message.imageMessage.caption === 'held picture' && /^3EB0[0-9A-F]{18}$/.test(rImg.json.key.id),
  `p2: sendMedia held, 201 PENDING (${rImg.status} ${JSON.stringify(rImg.json).slice(0, 200)})`);
  const rReact = await api('POST', '/message/sendReaction/p2', { key: { remoteJid: PEER_JID, fromMe: true, id: targetId }, reaction: '👍' });
  dumpOnFail(rReact.status === 201 && rReact.json.status === 'PENDING' && rReact.json.messageType === 'reactionMessage' &&
    rReact.json.message.reactionMessage.key.id === targetId,
  `p2: sendReaction held, 201 PENDING (${rReact.status} ${JSON.stringify(rReact.json).slice(0, 200)})`);
  const mediaIds = [rImg.json.key.id, rReact.json.key.id];
  const queueOk = async (what) => {
    const qm = (await api('GET', '/wamd/paceQueue/p2')).json;
    check(JSON.stringify(qm.messages.map((x) => x.id)) === JSON.stringify(mediaIds) &&
      JSON.stringify(qm.messages.map((x) => x.expectedAtMs - tM)) === JSON.stringify([MIN, 2 * MIN]),
    `${what}: the image at +1 min, the reaction at +2 min (${JSON.stringify(qm.messages.map((x) => [x.id, x.expectedAtMs - tM]))})`);
  };
  await queueOk('p2 holds them');
  let held = heldFiles();
  check(held.length === 1 && (fs.statSync(`${mediaDir}/${held[0]}`).mode & 0o777) === 0o600 &&
    Buffer.compare(fs.readFileSync(`${mediaDir}/${held[0]}`), img) === 0,
  `the held image waits as one owner-only file in the data folder (${held})`);
  await sleep(300);
  check(!peerMsgs.some((e) => mediaIds.includes(e.m.key.id)), 'neither reached the peer early');
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.once('exit', res));
  wamd = startWamd(vnow);
  await up();
  dumpOnFail(await waitOpen('p2'), 'p2 open again after SIGKILL');
  await queueOk('after the restart');
  check(JSON.stringify(heldFiles()) === JSON.stringify(held), 'the held file survived the restart');
  relH = await advanceTo(tM + MIN);
  check(relH.length === 1 && relH[0].id === rImg.json.key.id && relH[0].atMs === tM + MIN, `the image left at +1 min (${JSON.stringify(relH)})`);
  const gotImg = await peerGot(rImg.json.key.id, 1600); // an upload first
  const im = gotImg?.m.message?.imageMessage;
  dumpOnFail(im && im.caption === 'held picture' && im.mimetype === 'image/png' && Number(im.fileLength) === img.length,
    `the peer got the held image with its answered id (${JSON.stringify(gotImg?.m.message)?.slice(0, 300)})`);
  const imgBuf = await Bl.downloadMediaMessage(gotImg.m, 'buffer', {});
  check(Buffer.compare(imgBuf, img) === 0, 'the peer downloaded the held image intact');
  let gone = false;
  for (let i = 0; i < 100 && !(gone = heldFiles().length === 0); i++) await sleep(25);
  check(gone && !fs.existsSync(`${mediaDir}/${held[0]}`), `the held file is removed once sent (${heldFiles()})`);
  check(!peerMsgs.some((e) => e.m.key.id === rReact.json.key.id), 'the reaction waits for its time');
  relH = await advanceTo(tM + 2 * MIN);
  check(relH.length === 1 && relH[0].id === rReact.json.key.id && relH[0].atMs === tM + 2 * MIN, `the reaction left at +2 min (${JSON.stringify(relH)})`);
  const gotReact = await peerGot(rReact.json.key.id);
  const rm = gotReact?.m.message?.reactionMessage;
  dumpOnFail(// Baileys turns the target's key to the peer's side
    rm && rm.text === '👍' && rm.key.id === targetId && rm.key.remoteJid === `${W2}@s.whatsapp.net` && rm.key.fromMe === false,
    `the peer got the held reaction with its answered id (${JSON.stringify(gotReact?.m.message)})`);
  // a deleted instance's held media files go with it
  r = await api('POST', '/wamd/pace/p1', { perMinute: 1 });
  check(r.status === 201, 'p1: 1/min');
  for (let i = 0; i < 2; i++) {
    r = await api('POST', '/message/sendMedia/p1', { number: PEER, mediatype: 'image', mimetype: 'image/png', media: img.toString('base64') });
    check(r.status === 201, `p1: image ${i} answered (${r.status})`);
  }
  const p1Held = heldFiles();
  const p1Id = p1Held[0]?.split('-')[1];
  check(p1Held.length >= 1 && p1Held.every((f) => f.startsWith(`held-${p1Id}-`)) && p1Id !== held[0].split('-')[1] &&
    (await api('GET', '/wamd/paceQueue/p1')).json.queued === p1Held.length, `p1 holds ${p1Held.length} image(s) as files (${p1Held})`);
  r = await api('DELETE', '/instance/delete/p1');
  check(r.status === 200, `p1 deleted (${r.status})`);
  check(heldFiles().length === 0, `the deleted instance's held files are removed (${heldFiles()})`);

  // ---- the real clock: the scheduler's own timer releases on time ----
  wamd.kill('SIGTERM');
  let code = await new Promise((res) => wamd.once('exit', (c, sg) => res(c ?? sg)));
  check(code === 0, `wamd exits cleanly on SIGTERM (${code})`);
  wamd = startWamd('');
  await up();
  dumpOnFail(await waitOpen('p2'), 'p2 open on the real clock');
  r = await api('POST', '/wamd/testClock', { advanceMs: 1 });
  check(r.status === 404, `the test clock is off without WAMD_TEST_CLOCK_MS (${r.status})`);
  r = await api('POST', '/wamd/pace/p2', { perMinute: 0, gapMs: 1500, jitterMs: 0 });
  check(r.status === 201, 'p2: a 1.5 s gap');
  const base = await stanzasFrom(W2);
  const tSend = Date.now();
  // a location no limit holds leaves at once, and counts: the texts keep the gap after it
  r = await api('POST', '/message/sendLocation/p2', { number: rcpt(1), latitude: -19.93, longitude: -43.93, name: 'x', address: 'y' });
  check(r.status === 201, `p2: sendLocation (${r.status})`);
  for (let i = 0; i < 3; i++) check((await api('POST', '/message/sendText/p2', { number: rcpt(1), text: `rt-${i}` })).status === 201, `p2: real-clock send ${i}`);
  q = (await api('GET', '/wamd/paceQueue/p2')).json;
  check(q.queued === 3 && q.messages[1].expectedAtMs - q.messages[0].expectedAtMs === 1500 &&
    q.messages[2].expectedAtMs - q.messages[1].expectedAtMs === 1500,
    `p2: the three texts wait, 1.5 s apart (${JSON.stringify(q.messages.map((x) => x.expectedAtMs - tSend))})`);
  const arrivals = [];
  for (let i = 0; i < 300 && arrivals.length < 4; i++) {
    const n = await stanzasFrom(W2) - base;
    while (arrivals.length < n) arrivals.push(Date.now() - tSend);
    await sleep(25);
  }
  check(arrivals.length === 4 && arrivals[1] >= 1400 && arrivals[2] >= 2900 && arrivals[3] >= 4400 && arrivals[3] < 8000,
    `p2: the timer released them 1.5 s apart (arrivals at ${arrivals} ms)`);
  await checkRecordedAnswers(api, answers, check, ['GET /wamd/pace/{instance}', 'POST /wamd/pace/{instance}',
    'GET /wamd/paceQueue/{instance}', 'POST /wamd/testClock', 'POST /message/sendText/{instance}',
    'POST /message/sendLocation/{instance}', 'POST /message/sendContact/{instance}', 'POST /message/sendPoll/{instance}',
    'POST /message/sendMedia/{instance}', 'POST /message/sendReaction/{instance}']);
  wamd.kill('SIGTERM');
  code = await new Promise((res) => wamd.once('exit', (c, sg) => res(c ?? sg)));
  if (code !== 0) process.stderr.write(wamdLog.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM, nothing leaked (${code})`);
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  await peer.stop();
  await sim.stop();
}
