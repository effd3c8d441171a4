// Daemon-wide pacing limits against wasim (suite e2e), on wamd's test
// clock: with pace_daemon_per_minute 3 (env WAMD_PACE_DAEMON_PER_MINUTE)
// two instances allowed 10 a minute each send 3 at once between them, the
// rest wait; across a SIGKILL the daemon-wide window is rebuilt from the
// store (nothing leaves early); when the minute is over the waiting
// instances take turns at the slots, no minute over 3 in all.
// argv: [node, script, wamd, wasim]
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { paceHarness } from './pace_util.mjs';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';

watchdog(90);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-pace-daemon-key-17c0';
const W1 = '15550051000';
const W2 = '15550052000';
const R = '15550053000';
const MIN = 60000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

const sim = await startWasim(wasimExe, { tls: true }); // media uploads go over HTTPS
for (const p of [W1, W2, R]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const data = tmpDir('wamd-pace-daemon-');
const h = await paceHarness({ wamdExe, sim, data, key: KEY, t0: T0, env: { WAMD_PACE_DAEMON_PER_MINUTE: '3' } });
const { port, startWamd, api, answers, dumpOnFail, up, waitOpen, stanzasFrom, advanceTo } = h;
let wamd;
const queue = async (n) => (await api('GET', `/wamd/paceQueue/${n}`)).json;
// no 60 s span holds more than `lim` of the times
const within = (ts, lim) => ts.every((t) => ts.filter((u) => u > t - MIN && u <= t).length <= lim);

try {
  wamd = startWamd(T0);
  await up();
  for (const [name, phone] of [['d1', W1], ['d2', W2]]) {
    let r = await api('POST', '/instance/create', { instanceName: name, integration: 'WHATSAPP-BAILEYS', qrcode: true });
    dumpOnFail(r.status === 201, `${name} created (${r.status})`);
    const qr = r.json.qrcode?.code || (await api('GET', `/instance/connect/${name}`)).json.code;
    check((await sim.api('POST', '/_sim/scan', { phone, qr })).status === 200, `${name}: QR scanned`);
    dumpOnFail(await waitOpen(name), `${name} open`);
    r = await api('POST', `/wamd/pace/${name}`, { perMinute: 10, perHour: 0, perDay: 0, firstContactPerDay: 0, warmupStep: 0,
      gapMs: 0, jitterMs: 0, typing: false, available: false });
    check(r.status === 201, `${name}: 10/min of its own`);
  }
  const base = (await stanzasFrom(W1)) + (await stanzasFrom(W2));
  const ids = { d1: [], d2: [] };
  for (let i = 0; i < 4; i++) ids.d1.push((await api('POST', '/message/sendText/d1', { number: R, text: `d1-${i}` })).json.key.id);
  for (let i = 0; i < 2; i++) ids.d2.push((await api('POST', '/message/sendText/d2', { number: R, text: `d2-${i}` })).json.key.id);
  const q1 = await queue('d1'), q2 = await queue('d2');
  check(q1.queued === 1 && q1.messages[0].id === ids.d1[3] && q2.queued === 2,
    `three left at once between them, the rest wait (d1 ${q1.queued}, d2 ${q2.queued})`);
  let n = 0;
  for (let i = 0; i < 200 && n < 3; i++) { n = (await stanzasFrom(W1)) + (await stanzasFrom(W2)) - base; if (n < 3) await sleep(25); }
  check(n === 3, `wasim got 3 (${n})`);
  await sleep(300); // the straight sends' rows are written every 100 ms
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.once('exit', res));
  wamd = startWamd(T0 + 1000);
  await up();
  dumpOnFail(await waitOpen('d1') && await waitOpen('d2'), 'd1 and d2 open again');
  let rel = await advanceTo(T0 + MIN - 1);
  check(rel.length === 0, `after the restart nothing leaves before the daemon-wide minute is over (${JSON.stringify(rel)})`);
  rel = await advanceTo(T0 + MIN);
  check(rel.length === 3 && rel.every((e) => e.atMs === T0 + MIN), `three leave when it is over (${JSON.stringify(rel)})`);
  check(rel[0].instance !== rel[1].instance,
    `round robin: the instances take turns while both have sends waiting (${rel.map((e) => e.instance)})`);
  check(JSON.stringify(rel.map((e) => e.id).sort()) === JSON.stringify([ids.d1[3], ...ids.d2].sort()), 'the held ones, each once');
  n = 0;
  for (let i = 0; i < 200 && n < 6; i++) { n = (await stanzasFrom(W1)) + (await stanzasFrom(W2)) - base; if (n < 6) await sleep(25); }
  check(n === 6, `wasim got all 6 (${n})`);
  // one more at once: the minute from T0 + 60 s holds 3 already
  const r = await api('POST', '/message/sendText/d1', { number: R, text: 'd1-late' });
  check(r.status === 201 && (await queue('d1')).messages[0]?.id === r.json.key.id, 'a send within the full minute waits');
  rel = await advanceTo(T0 + 2 * MIN);
  check(rel.length === 1 && rel[0].atMs === T0 + 2 * MIN, `and leaves when it is over (${JSON.stringify(rel)})`);
  await checkRecordedAnswers(api, answers, check, ['GET /wamd/paceQueue/{instance}', 'POST /wamd/testClock']);
  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.once('exit', (c, sg) => res(c ?? sg)));
  if (code !== 0) process.stderr.write(h.log.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM, nothing leaked (${code})`);
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  await sim.stop();
}
