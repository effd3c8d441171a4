// Tenant-group pacing limits and their SIGHUP reload against wasim (suite
// e2e), on wamd's test clock: with pace_groups "acme:3/0/0" (config file)
// two instances of group acme, each allowed 10 a minute, send 3 at once
// between them while an instance outside the group sends all of its own;
// the queue's expected times count the group's window; across a SIGKILL
// the group's window is rebuilt from the store (nothing leaves early), then
// the group's instances take turns at its slots. A SIGHUP with acme:1/0/0
// applies at once (one a minute), and one that adds pace_daemon_per_minute
// holds a send of the instance outside the group, its queue listing the
// daemon-wide slot as its expected time. An instance whose group setting
// changes takes its past sends along at once: into acme (holding another
// member's send), then out to beta (freeing it).
// argv: [node, script, wamd, wasim]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { paceHarness } from './pace_util.mjs';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';

watchdog(120);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-pace-group-key-17d0';
const W1 = '15550061000';
const W2 = '15550062000';
const W3 = '15550063000';
const R = '15550064000';
const MIN = 60000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

const sim = await startWasim(wasimExe, { tls: true });
for (const p of [W1, W2, W3, R]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const data = tmpDir('wamd-pace-group-');
const conf = join(data, 'pace.conf');
writeFileSync(conf, 'pace_groups = "acme:3/0/0"\n');
const h = await paceHarness({ wamdExe, sim, data, key: KEY, t0: T0, args: ['--config', conf] });
const { startWamd, api, answers, dumpOnFail, up, waitOpen, stanzasFrom, advanceTo } = h;
let wamd;
const queue = async (n) => (await api('GET', `/wamd/paceQueue/${n}`)).json;
const send = async (n, text) => {
  const r = await api('POST', `/message/sendText/${n}`, { number: R, text });
  check(r.status === 201, `${n}: ${text} accepted (${r.status})`);
  return r.json.key.id;
};
const waitStanzas = async (phone, want) => {
  let n = 0;
  for (let i = 0; i < 200; i++) { n = await stanzasFrom(phone); if (n >= want) break; await sleep(25); }
  return n;
};
const reload = async (text) => {
  writeFileSync(conf, text);
  const before = h.log.split('configuration reloaded').length;
  wamd.kill('SIGHUP');
  for (let i = 0; i < 200 && h.log.split('configuration reloaded').length === before; i++) await sleep(25);
  dumpOnFail(h.log.split('configuration reloaded').length > before, `SIGHUP reloaded (${text.trim()})`);
};

try {
  wamd = startWamd(T0);
  await up();
  for (const [name, phone, group] of [['g1', W1, 'acme'], ['g2', W2, 'acme'], ['g3', W3, null]]) {
    let r = await api('POST', '/instance/create', { instanceName: name, integration: 'WHATSAPP-BAILEYS', qrcode: true });
    dumpOnFail(r.status === 201, `${name} created (${r.status})`);
    const qr = r.json.qrcode?.code || (await api('GET', `/instance/connect/${name}`)).json.code;
    check((await sim.api('POST', '/_sim/scan', { phone, qr })).status === 200, `${name}: QR scanned`);
    dumpOnFail(await waitOpen(name), `${name} open`);
    r = await api('POST', `/wamd/pace/${name}`, { perMinute: 10, perHour: 0, perDay: 0, firstContactPerDay: 0, warmupStep: 0,
      gapMs: 0, jitterMs: 0, typing: false, available: false, group });
    check(r.status === 201 && r.json.group === group, `${name}: 10/min of its own, group ${group}`);
  }
  let r = await api('POST', '/wamd/pace/g1', { group: 'no/slash' });
  check(r.status === 400, `a bad group name is 400 (${r.status})`);
  r = await api('GET', '/wamd/pace/g1');
  check(r.json.group === 'acme' && r.json.state.group?.name === 'acme' && r.json.state.group.perMinute === 3,
    `g1's state shows its group's limits (${JSON.stringify(r.json.state.group)})`);
  check((await api('GET', '/wamd/pace/g3')).json.state.group === undefined, 'g3 is in no group');

  const ids = { g1: [], g2: [] };
  for (let i = 0; i < 4; i++) ids.g1.push(await send('g1', `g1-${i}`));
  for (let i = 0; i < 2; i++) ids.g2.push(await send('g2', `g2-${i}`));
  for (let i = 0; i < 4; i++) await send('g3', `g3-${i}`);
  const q1 = await queue('g1'), q2 = await queue('g2'), q3 = await queue('g3');
  check(q1.queued === 1 && q1.messages[0].id === ids.g1[3] && q2.queued === 2 && q3.queued === 0,
    `the group's 3 left at once, the rest of the group waits, g3 is not held (g1 ${q1.queued}, g2 ${q2.queued}, g3 ${q3.queued})`);
  check(q1.messages[0].expectedAtMs === T0 + MIN && q2.messages.every((m) => m.expectedAtMs === T0 + MIN),
    `the expected times count the group's window (${q1.messages[0].expectedAtMs - T0}, ${q2.messages.map((m) => m.expectedAtMs - T0)})`);
  check((await api('GET', '/wamd/pace/g2')).json.state.group.sentLastMinute === 3, 'the group counts 3 in the minute');
  check(await waitStanzas(W1, 3) + await waitStanzas(W2, 0) === 3 && await waitStanzas(W3, 4) === 4,
    'wasim got the group\'s 3 and g3\'s 4');

  await sleep(300); // the straight sends' rows are written every 100 ms
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.once('exit', res));
  wamd = startWamd(T0 + 1000);
  await up();
  for (const n of ['g1', 'g2', 'g3']) dumpOnFail(await waitOpen(n), `${n} open again`);
  check((await queue('g1')).messages[0]?.expectedAtMs === T0 + MIN, 'after the restart the queue still counts the group');
  let rel = await advanceTo(T0 + MIN - 1);
  check(rel.length === 0, `after the restart nothing leaves before the group's minute is over (${JSON.stringify(rel)})`);
  rel = await advanceTo(T0 + MIN);
  check(rel.length === 3 && rel.every((e) => e.atMs === T0 + MIN), `three leave when it is over (${JSON.stringify(rel)})`);
  check(rel[0].instance !== rel[1].instance, `the group's instances take turns (${rel.map((e) => e.instance)})`);
  check(JSON.stringify(rel.map((e) => e.id).sort()) === JSON.stringify([ids.g1[3], ...ids.g2].sort()), 'the held ones, each once');
  check(await waitStanzas(W1, 4) + await waitStanzas(W2, 2) === 6, 'wasim got all 6 of the group');

  // SIGHUP: the group's limit drops to one a minute
  await reload('pace_groups = "acme:1/0/0"\n');
  check((await api('GET', '/wamd/pace/g1')).json.state.group.perMinute === 1, 'the reloaded limit shows');
  const a = await send('g1', 'g1-late'), b = await send('g2', 'g2-late');
  check((await queue('g1')).messages[0]?.id === a && (await queue('g2')).messages[0]?.id === b, 'both wait for the group');
  rel = await advanceTo(T0 + 2 * MIN);
  check(rel.length === 1 && rel[0].atMs === T0 + 2 * MIN, `one a minute now (${JSON.stringify(rel)})`);
  const firstLate = rel[0]?.id;
  rel = await advanceTo(T0 + 3 * MIN - 1);
  check(rel.length === 0, `nothing more within that minute (${JSON.stringify(rel)})`);
  rel = await advanceTo(T0 + 3 * MIN);
  check(rel.length === 1 && rel[0].atMs === T0 + 3 * MIN, `the other a minute later (${JSON.stringify(rel)})`);
  check(JSON.stringify([firstLate, rel[0]?.id].sort()) === JSON.stringify([a, b].sort()), 'the two late ones, each once');

  // SIGHUP: a daemon-wide limit of one a minute holds the instance outside the group too
  await reload('pace_groups = "acme:1/0/0"\npace_daemon_per_minute = 1\n');
  const c = await send('g3', 'g3-late');
  const q = await queue('g3');
  check(q.queued === 1 && q.messages[0].id === c && q.messages[0].expectedAtMs === T0 + 4 * MIN,
    `the daemon-wide minute holds g3; its expected time counts it (${JSON.stringify(q.messages[0])})`);
  rel = await advanceTo(T0 + 4 * MIN);
  check(rel.length === 1 && rel[0].id === c && rel[0].atMs === T0 + 4 * MIN, `and it leaves then (${JSON.stringify(rel)})`);
  check(await waitStanzas(W3, 5) === 5, 'wasim got g3\'s 5');

  // a settings change moves an instance's past sends to its new group at once
  await reload('pace_groups = "acme:1/0/0,beta:1/0/0"\n');
  r = await api('POST', '/wamd/pace/g3', { group: 'acme' });
  check(r.status === 201 && r.json.state.group?.name === 'acme' && r.json.state.group.sentLastMinute === 1,
    `g3 joins acme with its send of this minute (${JSON.stringify(r.json.state.group)})`);
  const d = await send('g1', 'g1-after-move');
  let qm = await queue('g1');
  check(qm.queued === 1 && qm.messages[0].id === d && qm.messages[0].expectedAtMs === T0 + 5 * MIN,
    `g3's send holds g1 until acme's next minute (${JSON.stringify(qm.messages[0])})`);
  r = await api('POST', '/wamd/pace/g3', { group: 'beta' });
  check(r.status === 201 && r.json.state.group?.name === 'beta' && r.json.state.group.sentLastMinute === 1 &&
    (await api('GET', '/wamd/pace/g1')).json.state.group.sentLastMinute === 0, 'g3 moves on to beta, its send with it');
  qm = await queue('g1');
  check(qm.messages[0]?.id === d && qm.messages[0].expectedAtMs === T0 + 4 * MIN, `acme is free again: g1's send due now (${JSON.stringify(qm.messages[0])})`);
  rel = await advanceTo(T0 + 4 * MIN + 1000);
  check(rel.length === 1 && rel[0].id === d && rel[0].atMs === T0 + 4 * MIN, `it leaves (${JSON.stringify(rel)})`);

  await checkRecordedAnswers(api, answers, check, ['GET /wamd/paceQueue/{instance}', 'POST /wamd/testClock',
    'GET /wamd/pace/{instance}', 'POST /wamd/pace/{instance}']);
  await h.stopClean();
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  await sim.stop();
}
