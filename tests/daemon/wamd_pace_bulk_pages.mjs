// A bulk job's recipients read from the store a page at a time (suite
// e2e), on wamd's test clock against wasim: a job of 600 recipients (256
// a page: three pages) with the limits off leaves in one test-clock step,
// each recipient once, in list order, each text with its own variables
// (send.message webhooks) across the page boundaries; a second job,
// paused in its second page, goes on after a SIGKILL from where it was;
// the lists are rows of the store, the jobs' specs hold the template only;
// a job of 100,000 whose rows are being stored (a batch a loop turn) when
// wamd is SIGKILLed is cancelled at the next start, nothing of it sent;
// the recipients of jobs that are over (done, cancelled) leave the store.
// argv: [node, script, wamd, wasim]
import { execFileSync } from 'node:child_process';
import { paceHarness } from './pace_util.mjs';
import { startWasim, check, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { hookReceiver, waitFor } from './e2e_daemon_util.mjs';

watchdog(280);
const [wamdExe, wasimExe] = process.argv.slice(2);
const KEY = 'wasim-pace-pages-key-c41d';
const W1 = '15550081000';
const RS = Array.from({ length: 12 }, (_, k) => String(15550082000 + k));
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const sim = await startWasim(wasimExe, { tls: true });
for (const p of [W1, ...RS]) check((await sim.api('POST', '/_sim/accounts', { phone: p })).status === 201, `wasim account ${p}`);
const hook = await hookReceiver();
const data = tmpDir('wamd-pace-pages-');
const h = await paceHarness({ wamdExe, sim, data, key: KEY, t0: T0, args: ['--webhook-allow-loopback'] });
const { startWamd, api, dumpOnFail, up, waitOpen, stanzasFrom, advanceTo } = h;
let wamd;
const job = async (id) => (await api('GET', `/wamd/bulk/b1?id=${id}`)).json;
const list = (n, tag) => Array.from({ length: n }, (_, k) => ({ number: RS[k % RS.length], variables: { k, tag } }));
const textOf = (ev) => ev.data?.message?.conversation ?? ev.data?.message?.extendedTextMessage?.text;

try {
  wamd = startWamd(T0);
  await up();
  let r = await api('POST', '/instance/create', { instanceName: 'b1', integration: 'WHATSAPP-BAILEYS', qrcode: true });
  dumpOnFail(r.status === 201, `b1 created (${r.status})`);
  const qr = r.json.qrcode?.code || (await api('GET', '/instance/connect/b1')).json.code;
  check((await sim.api('POST', '/_sim/scan', { phone: W1, qr })).status === 200, 'b1: QR scanned');
  dumpOnFail(await waitOpen('b1'), 'b1 open');
  r = await api('POST', '/webhook/set/b1', { webhook: { enabled: true, url: hook.url } });
  check(r.status === 201 || r.status === 200, `webhook set (${r.status})`);
  r = await api('POST', '/wamd/pace/b1', { perMinute: 0, perHour: 0, perDay: 0, firstContactPerDay: 0, warmupStep: 0,
    gapMs: 0, jitterMs: 0, typing: false, available: false });
  check(r.status === 201, 'b1: no limits');
  const base = await stanzasFrom(W1);

  // ---- 600 recipients, three pages, in one step ----
  r = await api('POST', '/wamd/bulk/b1', { template: 'P {{tag}} #{{k}}', recipients: list(600, 'A') });
  check(r.status === 201 && r.json.total === 600, `a job of 600 (${r.status})`);
  const A = r.json.id;
  const rel = await advanceTo(T0 + 1000);
  check(rel.length === 600 && new Set(rel.map((e) => e.id)).size === 600, `600 released, each once (${rel.length})`);
  check(rel.every((e, k) => e.remoteJid === `${RS[k % RS.length]}@s.whatsapp.net`), 'in list order');
  const jA = await job(A);
  check(jA.state === 'done' && jA.sent === 600 && jA.failed === 0, `the job is done (${JSON.stringify(jA)})`);
  const sent = await waitFor(() => {
    const evs = hook.hooks.filter((x) => x.event === 'send.message' && /^P A #/.test(textOf(x) || ''));
    return evs.length >= 600 ? evs : null;
  }, 90000, 'send.message for all 600');
  const byId = new Map((sent || []).map((x) => [x.data.key.id, textOf(x)]));
  check(rel.every((e, k) => byId.get(e.id) === `P A #${k}`), 'each text with its own variables, across the page boundaries (255/256, 511/512)');
  let n = 0;
  for (let i = 0; i < 400 && n < 600; i++) { n = (await stanzasFrom(W1)) - base; if (n < 600) await sleep(50); }
  check(n === 600, `wasim got 600 (${n})`);

  // ---- paused in its second page, a SIGKILL, resumed ----
  await api('POST', '/wamd/pace/b1', { perMinute: 300 });
  r = await api('POST', '/wamd/bulk/b1', { template: 'Q {{tag}} #{{k}}', recipients: list(400, 'B') });
  const B = r.json.id;
  let relB = await advanceTo(T0 + 60000); // 300 leave in the minute from T0 + 1 s
  check(relB.length === 300, `300 of job B in the first minute (${relB.length})`);
  r = await api('POST', '/wamd/bulkAction/b1', { id: B, action: 'pause' });
  check(r.status === 200 && r.json.state === 'paused' && r.json.sent === 300, `paused at 300 (${JSON.stringify(r.json)})`);
  await sleep(300);
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.once('exit', res));
  wamd = startWamd(T0 + 60000);
  await up();
  dumpOnFail(await waitOpen('b1'), 'b1 open again');
  r = await api('POST', '/wamd/bulkAction/b1', { id: B, action: 'resume' });
  check(r.status === 200 && r.json.state === 'running', `resumed after the restart (${JSON.stringify(r.json)})`);
  const rest = await advanceTo(T0 + 4 * 60000);
  relB = relB.concat(rest);
  const jB = await job(B);
  check(jB.state === 'done' && jB.sent === 400 && jB.failed === 0 && relB.length === 400 && new Set(relB.map((e) => e.id)).size === 400,
    `job B done: 400 each once (${JSON.stringify(jB)}, ${relB.length})`);
  check(relB.every((e, k) => e.remoteJid === `${RS[k % RS.length]}@s.whatsapp.net`), 'in list order across the pause and the restart');
  const sentB = await waitFor(() => {
    const evs = hook.hooks.filter((x) => x.event === 'send.message' && /^Q B #/.test(textOf(x) || ''));
    return evs.length >= 400 ? evs : null;
  }, 90000, 'send.message for all 400');
  const byIdB = new Map((sentB || []).map((x) => [x.data.key.id, textOf(x)]));
  check(relB.every((e, k) => byIdB.get(e.id) === `Q B #${k}`), 'job B\'s texts with their variables (the page read again after the restart)');

  // ---- a SIGKILL while a job of 100,000 is being stored (a batch a loop turn) ----
  const dbq = (sql) => execFileSync('sqlite3', [`${data}/wamd.db`, sql], { encoding: 'utf8' }).trim();
  const pending = api('POST', '/wamd/bulk/b1', { template: 'C {{tag}} #{{k}}', recipients: list(100000, 'C') }).catch((e) => e);
  let partial = '';
  for (let i = 0; i < 3000 && !partial; i++) {
    partial = /bulk job ([0-9a-f-]{36}): storing 100000 recipients/.exec(h.log)?.[1] || '';
    if (!partial) await sleep(5);
  }
  check(partial !== '', `the job's rows being stored (${partial})`);
  wamd.kill('SIGKILL');
  await new Promise((res) => wamd.once('exit', res));
  await pending;
  wamd = startWamd(T0 + 4 * 60000);
  await up();
  dumpOnFail(await waitOpen('b1'), 'b1 open again');
  const C = partial;
  const jC = await job(C);
  check(jC.state === 'cancelled' && jC.sent === 0 && jC.total === 100000 && h.log.includes(`bulk job ${C} was not fully stored`),
    `after the restart the half-stored job is cancelled, nothing of it sent (${JSON.stringify(jC)})`);
  check((await advanceTo(T0 + 10 * 60000)).length === 0, 'nothing leaves');
  // the lists of jobs that are over leave the store (a batch at a time; C's
  // few rows, if any, at the start: the store is checked at the end)
  for (const id of [A, B]) {
    const re = new RegExp(`bulk job ${id} is over: its \\d+ recipients dropped`);
    for (let i = 0; i < 1000 && !re.test(h.log); i++) await sleep(20);
    check(re.test(h.log), `job ${id}'s recipients dropped from the store`);
  }

  wamd.kill('SIGTERM');
  const code = await new Promise((res) => wamd.once('exit', (c, sg) => res(c ?? sg)));
  if (code !== 0) process.stderr.write(h.log.slice(-5000));
  check(code === 0, `wamd exits cleanly on SIGTERM, nothing leaked (${code})`);
  // the lists are rows of their own, not in the jobs' specs (what a running job holds in memory)
  check(dbq('SELECT count(*) FROM wamd_pace_job_rcpt') === '0' && dbq('SELECT count(*) FROM wamd_pace_jobs') === '3',
    'no recipient rows left, the three jobs\' rows kept (their progress)');
  check(dbq("SELECT count(*) FROM wamd_pace_jobs WHERE CAST(spec AS TEXT) LIKE '%recipients%'") === '0' &&
    dbq("SELECT count(*) FROM wamd_pace_jobs WHERE CAST(spec AS TEXT) LIKE '%template%'") === '3', 'the specs hold the template only');
} finally {
  try { wamd.kill('SIGTERM'); } catch { /* gone */ }
  hook.server.close();
  await sim.stop();
}
