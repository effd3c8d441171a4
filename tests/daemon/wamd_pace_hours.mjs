// Business-hours windows against wasim (suite e2e), on wamd's test clock:
// an instance with Mon-Fri 09:00-18:00 America/Sao_Paulo sends at once
// inside the window; after 18:00 on a Friday a text, a bulk job and a
// scheduled send for Saturday are held, the queue's expected times at
// Monday 09:00 local (12:00 UTC), across a SIGKILL too, and nothing leaves
// before it; all leave then. Bad windows and unknown zones are 400. In
// America/New_York a send after hours on the Friday before the spring DST
// change leaves on Monday at 09:00 EDT (13:00 UTC), not 09:00 EST. With
// pacing off, night windows (22:00-06:00), a split Saturday and a holiday
// still hold sends, each released exactly when its window opens; bad
// windows and dates are 400 naming the field.
// argv: [node, script, wamd, wasim]
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { paceHarness } from './pace_util.mjs';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';

watchdog(150);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-pace-hours-key-51e2';
const W = '15550071000';
const R = ['15550072000', '15550073000', '15550074000', '15550075000'];
const utc = (y, mo, d, h, mi = 0, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s);
const T0 = utc(2026, 1, 9, 20, 30); // Friday 17:30 in Sao Paulo (UTC-3)
const MON = utc(2026, 1, 12, 12, 0); // Monday 09:00 there

const sim = await startWasim(wasimExe, { tls: true });
for (const p of [W, ...R]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const data = tmpDir('wamd-pace-hours-');
const h = await paceHarness({ wamdExe, sim, data, key: KEY, t0: T0 });
const { startWamd, api, answers, dumpOnFail, up, waitOpen, stanzasFrom, advanceTo } = h;
let wamd;
const queue = async () => (await api('GET', '/wamd/paceQueue/h1')).json;
const SP = { timeZone: 'America/Sao_Paulo', days: [1, 2, 3, 4, 5], from: '09:00', to: '18:00' };

try {
  wamd = startWamd(T0);
  await up();
  let r = await api('POST', '/instance/create', { instanceName: 'h1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  dumpOnFail(r.status === 201, `h1 created (${r.status})`);
  const qr = r.json.qrcode?.code || (await api('GET', '/instance/connect/h1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: W, qr })).status === 200, 'h1: QR scanned');
  dumpOnFail(await waitOpen('h1'), 'h1 open');
  for (const [bh, what, says = 'businessHours'] of [[{ ...SP, timeZone: 'Nowhere/Atlantis' }, 'an unknown zone'],
    [{ ...SP, timeZone: '../../etc/passwd' }, 'a path', 'timeZone'], [{ ...SP, from: '18:00', to: '18:00' }, 'from equals to', 'from equals to'],
    [{ ...SP, x: 1 }, 'an unknown key'],
    [{ ...SP, days: [] }, 'no day', 'days'], [{ ...SP, days: [0] }, 'day 0', 'days'], [{ ...SP, to: '24:01' }, '24:01', 'HH:MM'],
    [{ ...SP, days: [1, 1] }, 'a day twice', 'twice'], [{ timeZone: 'UTC' }, 'no hours'],
    [{ ...SP, holidays: ['2026-02-29'] }, 'a date that does not exist', 'holidays[0]'],
    [{ ...SP, holidays: '2026-12-25' }, 'holidays not a list', 'holidays'],
    [{ timeZone: 'UTC', windows: [] }, 'no window', 'windows'],
    [{ ...SP, windows: [{ days: [1], from: '09:00', to: '10:00' }] }, 'windows beside days', 'windows'],
    [{ timeZone: 'UTC', windows: [{ days: [1], from: '09:00', to: '10:00' }, { days: [2], from: '9:00', to: '10:00' }] },
      'a bad second window', 'windows[1]'],
    [{ timeZone: 'UTC', windows: Array(9).fill({ days: [1], from: '09:00', to: '10:00' }) }, 'nine windows', 'windows']]) {
    r = await api('POST', '/wamd/pace/h1', { businessHours: bh });
    check(r.status === 400 && JSON.stringify(r.json).includes(says), `${what}: 400 naming ${says} (${r.status} ${JSON.stringify(r.json)})`);
  }
  r = await api('POST', '/wamd/pace/h1', { perMinute: 100, perHour: 0, perDay: 0, firstContactPerDay: 0, warmupStep: 0,
    gapMs: 0, jitterMs: 0, typing: false, available: false, businessHours: SP });
  check(r.status === 201 && JSON.stringify(r.json.businessHours) === JSON.stringify(SP) && r.json.state.hoursOpen === true,
    `Mon-Fri 09:00-18:00 Sao Paulo, open now (${JSON.stringify(r.json.businessHours)} ${JSON.stringify(r.json.state)})`);

  const base = await stanzasFrom(W);
  r = await api('POST', '/message/sendText/h1', { number: R[0], text: 'inside the window' });
  check(r.status === 201 && (await queue()).queued === 0, 'inside the window a send leaves at once');

  await advanceTo(utc(2026, 1, 9, 21, 0)); // 18:00 there: closed
  r = await api('GET', '/wamd/pace/h1');
  check(r.json.state.hoursOpen === false && r.json.state.hoursOpenAtMs === MON, `closed until Monday (${JSON.stringify(r.json.state)})`);
  const text = (await api('POST', '/message/sendText/h1', { number: R[1], text: 'after hours' })).json.key.id;
  r = await api('POST', '/wamd/bulk/h1', { template: 'Hi {{n}}', recipients: [R[2], R[3]].map((n, k) => ({ number: n, variables: { n: k } })) });
  check(r.status === 201, `a bulk job after hours (${r.status})`);
  const job = r.json.id;
  r = await api('POST', '/message/sendText/h1', { number: R[0], text: 'for Saturday', sendAt: utc(2026, 1, 10, 15, 0) });
  const sat = r.json.key.id;
  let q = await queue();
  check(q.queued === 3 && q.messages.every((m) => m.expectedAtMs === MON) && q.messages[0].id === text,
    `all held until Monday 09:00 local (${JSON.stringify(q.messages.map((m) => [m.id, m.expectedAt]))})`);

  await sleep(300);
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.once('exit', res));
  wamd = startWamd(utc(2026, 1, 9, 21, 0));
  await up();
  dumpOnFail(await waitOpen('h1'), 'h1 open again');
  q = await queue();
  check(q.queued === 3 && q.messages.every((m) => m.expectedAtMs === MON), `the same after a restart (${JSON.stringify(q.messages.map((m) => m.expectedAt))})`);
  let rel = await advanceTo(MON - 1000);
  check(rel.length === 0, `nothing leaves over the weekend, the Saturday one neither (${JSON.stringify(rel)})`);
  rel = await advanceTo(MON);
  const ids = rel.map((e) => e.id);
  check(rel.length === 4 && rel.every((e) => e.atMs === MON) && ids[0] === text && ids.includes(sat),
    `at 09:00 on Monday the text, the job's two and the Saturday one leave (${JSON.stringify(rel)})`);
  const j = (await api('GET', `/wamd/bulk/h1?id=${job}`)).json;
  check(j.sent === 2 && j.state === 'done', `the job is done (${JSON.stringify(j)})`);
  let n = 0;
  for (let i = 0; i < 200 && n < 5; i++) { n = (await stanzasFrom(W)) - base; if (n < 5) await sleep(25); }
  check(n === 5, `wasim got the 5 (${n})`);

  // New York: Friday 2026-03-06 18:30 EST; the clocks go forward on Sunday
  r = await api('POST', '/wamd/pace/h1', { businessHours: { ...SP, timeZone: 'America/New_York' } });
  check(r.status === 201 && r.json.businessHours.timeZone === 'America/New_York', 'New York hours');
  await advanceTo(utc(2026, 3, 6, 23, 30));
  const ny = (await api('POST', '/message/sendText/h1', { number: R[1], text: 'over the DST change' })).json.key.id;
  q = await queue();
  check(q.messages[0]?.id === ny && q.messages[0].expectedAtMs === utc(2026, 3, 9, 13, 0),
    `expected Monday 09:00 EDT = 13:00 UTC (${q.messages[0]?.expectedAt})`);
  rel = await advanceTo(utc(2026, 3, 9, 12, 59, 59));
  check(rel.length === 0, `not at 08:59:59 EDT (${JSON.stringify(rel)})`);
  rel = await advanceTo(utc(2026, 3, 9, 13, 0));
  check(rel.length === 1 && rel[0].id === ny && rel[0].atMs === utc(2026, 3, 9, 13, 0), `at 09:00 EDT (${JSON.stringify(rel)})`);
  r = await api('POST', '/wamd/pace/h1', { businessHours: null });
  check(r.status === 201 && r.json.businessHours === null && r.json.state.hoursOpen === undefined, 'hours off again');

  // Pacing off keeps the hours. Sao Paulo nights 22:00-06:00 starting Mon-Fri
  // and Saturday 10-12 and 14-16, Friday 2026-03-13 a holiday.
  const NIGHTS = { timeZone: 'America/Sao_Paulo', windows: [{ days: [1, 2, 3, 4, 5], from: '22:00', to: '06:00' },
    { days: [6], from: '10:00', to: '12:00' }, { days: [6], from: '14:00', to: '16:00' }], holidays: ['2026-03-13'] };
  r = await api('POST', '/wamd/pace/h1', { enabled: false, businessHours: NIGHTS });
  check(r.status === 201 && r.json.enabled === false && JSON.stringify(r.json.businessHours) === JSON.stringify(NIGHTS) &&
    r.json.state.hoursOpen === false && r.json.state.hoursOpenAtMs === utc(2026, 3, 10, 1, 0),
    `pacing off, night and split windows, a holiday; closed until Monday 22:00 local (${JSON.stringify(r.json)})`);
  const send = async (text) => {
    const a = await api('POST', '/message/sendText/h1', { number: R[2], text });
    check(a.status === 201, `${text}: 201 (${a.status})`);
    return a.json.key.id;
  };
  const held = async (ids, at, what) => {
    q = await queue();
    check(q.queued === ids.length && ids.every((id, k) => q.messages[k]?.id === id && q.messages[k].expectedAtMs === at),
      `${what}: held, expected at ${new Date(at).toISOString()} (${JSON.stringify(q.messages.map((m) => [m.id, m.expectedAt]))})`);
    rel = await advanceTo(at - 1000);
    check(rel.length === 0, `${what}: nothing before (${JSON.stringify(rel)})`);
    rel = await advanceTo(at);
    check(rel.length === ids.length && rel.every((e, k) => e.id === ids[k] && e.atMs === at), `${what}: all leave then (${JSON.stringify(rel)})`);
  };
  await held([await send('morning 1'), await send('morning 2')], utc(2026, 3, 10, 1, 0), 'Monday 10:00, pacing off');
  r = await api('POST', '/message/sendText/h1', { number: R[2], text: 'at night' });
  check(r.status === 201 && (await queue()).queued === 0, 'inside the night window a send leaves at once, no limit holding it');
  await advanceTo(utc(2026, 3, 10, 8, 59));
  r = await api('POST', '/message/sendText/h1', { number: R[2], text: 'Tuesday 05:59' });
  check(r.status === 201 && (await queue()).queued === 0, 'Tuesday 05:59 is still Monday\'s night');
  await advanceTo(utc(2026, 3, 10, 9, 0));
  await held([await send('Tuesday 06:00')], utc(2026, 3, 11, 1, 0), 'Tuesday 06:00 waits for 22:00');
  // Thursday 23:00 open; the holiday Friday closed from its midnight, its
  // own night too, until Saturday 00:00 (the tail of Friday's night)
  await advanceTo(utc(2026, 3, 13, 2, 0));
  check((await queue()).queued === 0 && (await send('Thursday 23:00')) && (await queue()).queued === 0, 'Thursday night open');
  await advanceTo(utc(2026, 3, 13, 3, 0));
  await held([await send('holiday')], utc(2026, 3, 14, 3, 0), 'the holiday, from its midnight');
  // Saturday: 06:00 waits for 10:00; 12:00 for 14:00 (the split day)
  await advanceTo(utc(2026, 3, 14, 9, 0));
  await held([await send('Saturday 06:00')], utc(2026, 3, 14, 13, 0), 'Saturday morning');
  await advanceTo(utc(2026, 3, 14, 15, 0));
  await held([await send('Saturday noon')], utc(2026, 3, 14, 17, 0), 'Saturday lunch break');
  r = await api('GET', '/wamd/pace/h1');
  check(r.json.state.hoursOpen === true, `open at 14:00 (${JSON.stringify(r.json.state)})`);
  r = await api('POST', '/wamd/pace/h1', { enabled: true, businessHours: null });
  check(r.status === 201, 'pacing on, hours off');

  await checkRecordedAnswers(api, answers, check, ['GET /wamd/paceQueue/{instance}', 'POST /wamd/testClock',
    'GET /wamd/pace/{instance}', 'POST /wamd/pace/{instance}', 'POST /wamd/bulk/{instance}']);
  await h.stopClean();
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  await sim.stop();
}
