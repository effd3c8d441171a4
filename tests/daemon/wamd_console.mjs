// The web console (GET /console) in headless Chromium, against wamd + wasim:
// sign in with the admin key, create an instance from the page, read the QR
// off a screenshot with ZBar and have the simulated phone scan that very
// string, see "connected" (and the number) arrive over the event stream
// without a reload, watch a webhook event die (404) in the queue view and
// replay it from there, mint a token in the page and sign in with it: only
// its instance is listed; the sending view (pacing settings edited in the
// page, a pause from rate-limit answers shown live with why, the held sends
// with position, id, recipient and expected time, libwa's outbox of sends
// awaiting the server's ack); revoke a token from the page; log an instance
// out from the page. The page's
// answers carry a strict Content-Security-Policy; any violation of it, or
// any other error in the page's console, fails the test.
// Screenshots: ARTIFACTS (argv[4]). Needs Debian's chromium (CHROMIUM to
// override the path) and puppeteer-core (WAMD_CONSOLE_MODULES).
// argv: [node, script, wamd, wasim, artifacts-dir]
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';
import { startWasim, check, fail, watchdog, tmpDir, sleep } from '../sim/harness.mjs';
import { checkRecordedAnswers } from './openapi/answers.mjs';
import { freePort } from './e2e_daemon_util.mjs';

watchdog(170);
const [wamdExe, wasimExe, artifacts] = process.argv.slice(2);
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(chromium))
  fail(`${chromium} not found: the console test needs Chromium (Debian: apt install chromium, or scripts/install-deps --test)`);
try { execFileSync('zbarimg', ['--version'], { stdio: 'ignore' }); } catch {
  fail('zbarimg not found: the console test reads the QR with ZBar (Debian: zbar-tools)');
}
const require = createRequire(path.join(process.env.WAMD_CONSOLE_MODULES || '.', 'x.js'));
const puppeteer = require('puppeteer-core');
rmSync(artifacts, { recursive: true, force: true }); // this run's screenshots only
mkdirSync(artifacts, { recursive: true });

const KEY = 'console-e2e-admin-key-5b1e8f3a9c';
const PHONE = '15550007777';
const PHONE2 = '15550007778';

// webhook receiver: refuses (404, not retried) until told otherwise
let hookStatus = 404;
const hooks = [];
const rx = http.createServer((req, res) => {
  let b = '';
  req.on('data', (d) => { b += d; });
  req.on('end', () => {
    if (hookStatus === 200) hooks.push({ id: req.headers['x-wamd-event-id'], body: JSON.parse(b) });
    res.writeHead(hookStatus).end();
  });
});
await new Promise((r) => rx.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${rx.address().port}/hook`;

const sim = await startWasim(wasimExe);
check((await sim.api('POST', '/_sim/accounts', { phone: PHONE })).status === 201, 'wasim account');
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
let wamdLog = '';
const wamd = spawn(wamdExe, ['--data', tmpDir('wamd-console-'), '--listen', `127.0.0.1:${port}`, '--api-key', KEY,
  '--wa-url', sim.url, '--wa-trust-root', sim.root, '--webhook-allow-loopback', '--log-level', 'debug'],
{ stdio: ['ignore', 'ignore', 'pipe'] });
wamd.stderr.on('data', (d) => { wamdLog += d; if (process.env.WAMD_VERBOSE) process.stderr.write(d); });
process.on('exit', () => { try { wamd.kill('SIGKILL'); } catch { /* gone */ } });
const api = async (method, p, body) => {
  const res = await fetch(base + p, { method, headers: { apikey: KEY, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined });
  const t = await res.text();
  return { status: res.status, json: t ? JSON.parse(t) : null };
};
for (let i = 0; i < 200; i++) {
  try { if ((await fetch(base + '/health/live')).ok) break; } catch { /* not yet */ }
  await sleep(50);
}

// the page's files: a strict policy (own files only, no inline code, no
// framing) and the usual hardening headers
for (const f of ['/console', '/console/app.js', '/console/app.css']) {
  const h = (await fetch(base + f)).headers;
  const csp = h.get('content-security-policy') || '';
  check(/default-src 'none'/.test(csp) && /script-src 'self'(;|$)/.test(csp) && /style-src 'self'(;|$)/.test(csp) &&
    /frame-ancestors 'none'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), `${f}: strict CSP (${csp})`);
  check(h.get('x-content-type-options') === 'nosniff' && h.get('referrer-policy') === 'no-referrer' &&
    h.get('x-frame-options') === 'DENY', `${f}: nosniff, no-referrer, DENY`);
}

const browser = await puppeteer.launch({
  executablePath: chromium, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
const errors = [];
let shot = 0;
const snap = async (page, name) => {
  const f = path.join(artifacts, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: f, fullPage: true });
  return f;
};
// every JSON answer the page got, validated against /openapi.json at the end
const answers = [];
const pending = [];
const watch = (page, who) => {
  // a CSP refusal is reported to the page as an event: make it an error
  page.evaluateOnNewDocument(() => document.addEventListener('securitypolicyviolation', (e) =>
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${who}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));
  page.on('response', (res) => {
    const req = res.request();
    if (req.resourceType() !== 'fetch' || !(res.headers()['content-type'] || '').includes('json')) return;
    const u = new URL(res.url());
    pending.push(res.json().then((body) => answers.push({ method: req.method(), path: u.pathname + u.search, status: res.status(), body }),
      () => errors.push(`${who}: unreadable JSON from ${u.pathname}`)));
  });
};
const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const waitText = (page, sel, want, ms = 30000) =>
  page.waitForFunction((s, w) => { const e = document.querySelector(s); return e && e.textContent.includes(w); },
    { timeout: ms }, sel, want);

try {
  // --- sign in with the admin key (a phone-sized window) ---
  const page = await browser.newPage();
  watch(page, 'admin');
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 1 });
  await page.goto(`${base}/console`);
  await page.waitForSelector('#login:not([hidden])');
  await page.type('#key', KEY);
  await page.click('#login button');
  await page.waitForSelector('#daemon:not([hidden])');
  await waitText(page, '#stream', 'live');
  const version = (await api('GET', '/wamd/status')).json.version;
  check((await text(page, '#status')).includes(version), `daemon panel shows version ${version}`);
  check(await page.evaluate(() => sessionStorage.getItem('wamd.apikey') !== null), 'key kept in sessionStorage');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `no horizontal scrolling on a phone-width screen (${wide}px)`);
  await page.evaluate(() => { window.__noReload = 1; });

  // --- create an instance; the QR shows up and is the one to scan ---
  await page.type('#new-name', 'con1');
  await page.click('#create button');
  await page.waitForSelector('#qr:not([hidden])[src^="data:image/png"]', { timeout: 30000 });
  const readQr = async (name) => {
    const f = path.join(artifacts, name);
    await (await page.$('#qr')).screenshot({ path: f });
    return execFileSync('zbarimg', ['-q', '--raw', f], { encoding: 'utf8' }).trim();
  };
  const first = await readQr('qr-first.png');
  await snap(page, 'pairing');
  check(first.split(',').length >= 4, `ZBar read the QR off the screenshot (${first.slice(0, 30)}...)`);
  // a new code (here: the session restarted) replaces the one shown, live;
  // rotation every 20 s comes through the same event
  const src = await page.$eval('#qr', (e) => e.src);
  await page.click('#d-actions [data-act=restart]');
  await page.waitForFunction((old) => { const e = document.querySelector('#qr'); return !e.hidden && e.src !== old; },
    { timeout: 30000 }, src);
  const decoded = await readQr('qr.png');
  check(decoded !== first && decoded.split(',').length >= 4, 'the page re-rendered the QR when it changed');
  const r = await sim.api('POST', '/_sim/scan', { phone: PHONE, qr: decoded });
  check(r.status === 200, `wasim paired with the QR read from the page (${r.status})`);
  await waitText(page, '#d-state', 'connected', 60000);
  check(await page.evaluate(() => window.__noReload === 1), 'connected shown without a reload');
  await waitText(page, '#d-owner', PHONE);
  check(await page.$eval('#pair', (e) => e.hidden), 'the QR is gone once connected');
  check((await text(page, '#instances')).includes('open'), 'the list shows the instance open');
  await snap(page, 'connected');

  // --- webhook set from the page; an event dies (404) and is replayed ---
  await page.click('#d-webhook summary');
  await page.click('#wh-enabled');
  await page.type('#wh-url', hookUrl);
  await page.type('#wh-events', 'CONNECTION_UPDATE');
  await page.click('#wh-form button');
  await waitText(page, '#wh-msg', 'saved');
  await page.click('#d-actions [data-act=restart]');
  let dead = null;
  for (let i = 0; i < 100 && !dead; i++) {
    await sleep(200);
    const q = (await api('GET', '/wamd/webhookQueue/con1')).json;
    dead = q.events.find((e) => e.state === 'dead');
  }
  check(dead && dead.lastError === 'HTTP 404', `a dead event with its last error (${JSON.stringify(dead)})`);
  await page.click('#q-refresh');
  await page.waitForSelector(`#queue tr[data-id="${dead.id}"] button`);
  check((await text(page, `#queue tr[data-id="${dead.id}"]`)).includes('HTTP 404'), 'the queue view shows the error');
  await snap(page, 'queue-dead');
  hookStatus = 200;
  await page.click(`#queue tr[data-id="${dead.id}"] button`);
  for (let i = 0; i < 100 && !hooks.some((h) => h.id === String(dead.id)); i++) await sleep(100);
  const got = hooks.find((h) => h.id === String(dead.id));
  check(got && got.body.event === 'connection.update', `the replayed event was delivered (id ${dead.id})`);
  await page.click('#q-refresh');
  await page.waitForFunction((id) => !document.querySelector(`#queue tr[data-id="${id}"]`), { timeout: 10000 }, dead.id);
  await waitText(page, '#d-state', 'connected', 60000);

  // --- a second instance, created elsewhere, paired by code from the page ---
  check((await sim.api('POST', '/_sim/accounts', { phone: PHONE2 })).status === 201, 'second wasim account');
  check((await api('POST', '/instance/create', { instanceName: 'con2', integration: 'WHATSAPP-BAILEYS' })).status === 201,
    'a second instance');
  await page.waitForSelector('#instances li[data-name=con2]', { timeout: 10000 });
  await page.click('#instances li[data-name=con2]');
  await page.waitForSelector('#pair:not([hidden])');
  await page.type('#phone', PHONE2);
  await page.click('#pcode button');
  await page.waitForFunction(() => /^[A-Z0-9]{8}$/.test(document.querySelector('#code').textContent), { timeout: 30000 });
  const code = await text(page, '#code');
  await sleep(200);
  check((await sim.api('POST', '/_sim/pair-code', { phone: PHONE2, code })).status === 200, `phone typed the code ${code}`);
  await waitText(page, '#d-state', 'connected', 60000);
  await waitText(page, '#d-owner', PHONE2);
  await snap(page, 'paired-by-code');

  // --- a test message from con1 to con2, seen on both sides ---
  await page.click('#instances li[data-name=con1]');
  await waitText(page, '#d-name', 'con1');
  await page.click('#d-messages summary');
  await page.type('#send-to', PHONE2);
  await page.type('#send-text', 'hello from the console');
  await page.click('#send button');
  await waitText(page, '#send-msg', 'sent');
  await waitText(page, '#messages', 'hello from the console');
  await page.click('#instances li[data-name=con2]');
  await waitText(page, '#messages', 'hello from the console', 30000);
  await snap(page, 'message-received');
  await page.click('#instances li[data-name=con1]');
  await waitText(page, '#d-name', 'con1');

  // --- sending: pacing edited in the page, a pause shown live, the held
  // sends, then libwa's outbox of sends awaiting the server's ack ---
  await page.click('#d-sending summary');
  await page.waitForFunction(() => document.querySelector('#pace-perMinute').value === '8', { timeout: 10000 });
  // the suite runs with pacing off (WAMD_PACING=off): turned on here
  check((await text(page, '#pace-state')) === 'off', 'pacing shown off');
  check(!(await page.$eval('#pace-enabled', (e) => e.checked)), 'the form shows it off');
  await page.click('#pace-enabled');
  const setField = async (id, v) => { await page.$eval(id, (e) => { e.value = ''; }); await page.type(id, v); };
  await setField('#pace-gapMs', '0');
  await setField('#pace-jitterMs', '0');
  await setField('#pace-perMinute', '100');
  await page.click('#pace-typing'); // off
  await page.click('#pace-form button');
  await waitText(page, '#pace-msg', 'saved');
  await waitText(page, '#pace-state', 'normal');
  let pace = (await api('GET', '/wamd/pace/con1')).json;
  check(pace.gapMs === 0 && pace.jitterMs === 0 && pace.perMinute === 100 && pace.typing === false && pace.enabled,
    `pacing saved from the page (${JSON.stringify(pace)})`);
  // three rate-limit answers (429 in the acks) pause the instance
  const dev1 = (await sim.api('GET', `/_sim/accounts/${PHONE}`)).json.devices.find((d) => d.device !== 0).device;
  check((await sim.api('POST', '/_sim/fault', { phone: PHONE, device: dev1, action: 'ack_error', code: 429, count: 3 })).status === 200,
    'wasim answers the next 3 sends with 429');
  for (let k = 1; k <= 3; k++) {
    check((await api('POST', '/message/sendText/con1', { number: PHONE2, text: `rate-limited ${k}` })).status === 201, `send ${k} into 429`);
    await sleep(300); // each answer is its own signal
  }
  await waitText(page, '#pace-state', 'paused', 20000);
  check((await text(page, '#pace-why')).includes('rate-limit errors 3 times'), 'the page says why it is paused');
  pace = (await api('GET', '/wamd/pace/con1')).json;
  check(pace.state.pausedUntil > Date.now() && pace.state.pausedWhy, `paused (${JSON.stringify(pace.state)})`);
  await waitText(page, '#pace-stats', `${pace.state.factor}`);
  // sends now wait for the pause: the page lists them in order
  const held = [];
  for (let k = 1; k <= 2; k++) {
    const a = await api('POST', '/message/sendText/con1', { number: PHONE2, text: `held ${k}` });
    check(a.status === 201 && a.json.status === 'PENDING', `held ${k}: PENDING (${a.status})`);
    held.push(a.json.key.id);
  }
  await page.click('#pq-refresh');
  await waitText(page, '#pq-counts', '2 held');
  const rows = await page.$$eval('#pace-queue tbody tr', (l) => l.map((r) => [r.dataset.id, ...[...r.cells].map((c) => c.textContent)]));
  const due = await page.evaluate((ms) => new Date(ms).toLocaleString(), pace.state.pausedUntil);
  check(rows.length === 2 && rows.every((r, k) => r[0] === held[k] && r[1] === String(k + 1) && r[2] === held[k] &&
    r[3] === PHONE2 && r[4] === due), `the held sends in order, due when the pause ends (${JSON.stringify(rows)}, ${due})`);
  await snap(page, 'pacing-paused');
  // the phone's server is unreachable for a while; pacing off releases the
  // held sends at once into libwa's outbox, where they wait for it
  check((await sim.api('POST', '/_sim/fault', { phone: PHONE, device: dev1, action: 'refuse', seconds: 8, drop: true })).status === 200,
    'wasim drops con1 and refuses it for 8 s');
  await page.waitForFunction(() => document.querySelector('#d-state').textContent !== 'connected', { timeout: 20000 });
  await page.click('#pace-enabled');
  await page.click('#pace-form button');
  await waitText(page, '#pace-state', 'off');
  await waitText(page, '#pq-counts', '0 held');
  await waitText(page, '#ob-counts', '2 pending', 20000);
  const ob = await page.$$eval('#outbox tbody tr', (l) => l.map((r) => [r.dataset.id, r.cells[1].textContent, r.cells[2].textContent]));
  check(ob.length === 2 && ob.every((r, k) => r[0] === held[k] && r[1] === PHONE2 && r[2] === 'queued'),
    `the outbox lists them, queued (${JSON.stringify(ob)})`);
  const obApi = (await api('GET', '/wamd/outbox/con1')).json;
  check(obApi.pending === 2 && obApi.messages.map((m) => m.id).join() === held.join(), `GET /wamd/outbox agrees (${JSON.stringify(obApi)})`);
  await snap(page, 'outbox');
  // back online: sent and acknowledged, the outbox empties without a click
  await waitText(page, '#d-state', 'connected', 60000);
  await waitText(page, '#ob-counts', '0 pending', 30000);
  await waitText(page, '#d-state', 'connected', 60000);

  // --- a token made in the page sees only its instance ---
  await page.click('#d-tokens summary');
  await page.click('#tok-form input[value=write]');
  await page.click('#tok-form input[value=manage]');
  await page.click('#tok-form button');
  await page.waitForFunction(() => document.querySelector('#tok-new').textContent.length >= 32);
  const token = await text(page, '#tok-new');
  await snap(page, 'token');

  const ctx = await browser.createBrowserContext(); // a fresh sessionStorage
  const tp = await ctx.newPage();
  watch(tp, 'token');
  await tp.setViewport({ width: 390, height: 844 });
  await tp.goto(`${base}/console`);
  await tp.waitForSelector('#login:not([hidden])');
  await tp.type('#key', token);
  await tp.click('#login button');
  await tp.waitForSelector('#app:not([hidden])');
  await waitText(tp, '#stream', 'live');
  const names = await tp.$$eval('#instances li', (l) => l.map((e) => e.dataset.name));
  check(names.length === 1 && names[0] === 'con1', `the token lists only its instance (${names})`);
  check(await tp.$eval('#daemon', (e) => e.hidden), 'no daemon panel for a token');
  await tp.click('#instances li');
  await waitText(tp, '#d-state', 'connected');
  // live for the token too: a restart shows connecting, then connected again
  await tp.evaluate(() => {
    window.__states = [];
    const e = document.querySelector('#d-state');
    new MutationObserver(() => window.__states.push(e.textContent)).observe(e, { childList: true, characterData: true, subtree: true });
  });
  await tp.click('#d-actions [data-act=restart]');
  await tp.waitForFunction(() => window.__states.includes('connecting') && window.__states.at(-1) === 'connected',
    { timeout: 60000 });
  await snap(tp, 'token-view');
  await tp.waitForNetworkIdle({ idleTime: 300 });
  await ctx.close();

  // --- a read-only token: only what it may use is shown (and nothing it
  // may not use is asked for: a refused request would be a console error) ---
  const ro = (await api('POST', '/wamd/token/con1', { scopes: ['read'] })).json.token;
  const ctx2 = await browser.createBrowserContext();
  const rp = await ctx2.newPage();
  watch(rp, 'read-only');
  await rp.setViewport({ width: 390, height: 844 });
  await rp.goto(`${base}/console`);
  await rp.waitForSelector('#login:not([hidden])');
  await rp.type('#key', ro);
  await rp.click('#login button');
  await rp.waitForSelector('#instances li[data-name=con1]');
  await rp.click('#instances li[data-name=con1]');
  await waitText(rp, '#messages', 'hello from the console');
  const shown = await rp.evaluate(() => ['d-actions', 'd-webhook', 'd-tokens', 'd-messages', 'send', 'd-sending', 'pace-box']
    .filter((id) => !document.getElementById(id).hidden).join());
  check(shown === 'd-messages,d-sending', `a read-only token sees the messages and the send queues only (${shown})`);
  await rp.waitForNetworkIdle({ idleTime: 300 });
  await ctx2.close();

  // --- that token revoked from the page: refused from then on ---
  check((await fetch(`${base}/instance/connectionState/con1`, { headers: { apikey: ro } })).status === 200,
    'the read-only token works before');
  await page.click('#instances li[data-name=con1]');
  await waitText(page, '#d-name', 'con1');
  await page.$eval('#d-tokens', (e) => { e.open = true; });
  await page.type('#tok-old', ro);
  await page.click('#tok-revoke button');
  await waitText(page, '#tok-msg', 'revoked');
  const refused = (await fetch(`${base}/instance/connectionState/con1`, { headers: { apikey: ro } })).status;
  check(refused === 401, `the token revoked in the page is refused (${refused})`);

  // --- log out from the page (after its confirmation): the phone's
  // linked device is gone, the page shows it closed and offers pairing ---
  page.on('dialog', (d) => d.accept());
  await page.click('#instances li[data-name=con2]');
  await waitText(page, '#d-name', 'con2');
  await waitText(page, '#d-owner', PHONE2);
  const devsOf = async (phone) => (await sim.api('GET', `/_sim/accounts/${phone}`)).json.devices.map((d) => d.device);
  const linked = (await devsOf(PHONE2)).filter((d) => d !== 0);
  check(linked.length === 1, `con2 is the phone's linked device (${linked})`);
  await page.click('#d-actions [data-act=logout]');
  await page.waitForFunction(() => document.querySelector('#d-state').textContent === 'close', { timeout: 30000 });
  check((await text(page, '#d-owner')) === '', 'the number is no longer shown after the logout');
  check((await text(page, '#d-error')) === '', `no error shown for a logout (${await text(page, '#d-error')})`);
  await page.waitForSelector('#pair:not([hidden])', { timeout: 10000 });
  check((await text(page, '#instances li[data-name=con2]')).includes('close'), 'the list shows it closed');
  const devs = await devsOf(PHONE2);
  check(!devs.includes(linked[0]), `the phone no longer lists the linked device (${devs})`);
  const after = (await api('GET', '/instance/connectionState/con2')).json;
  check(after.instance.state === 'close', `the API agrees (${JSON.stringify(after)})`);
  await snap(page, 'logged-out');

  // --- delete from the page (after its confirmation) ---
  await page.click('#d-actions [data-act=delete]');
  await page.waitForFunction(() => !document.querySelector('#instances li[data-name=con2]'), { timeout: 20000 });
  check((await api('GET', '/instance/fetchInstances')).json.map((i) => i.name).join() === 'con1', 'con2 deleted from the page');
  await page.waitForNetworkIdle({ idleTime: 300 }); // the answers recorded are complete
  await page.close();
} catch (e) {
  process.stderr.write(wamdLog.slice(-6000));
  fail(`console: ${e.stack || e}`);
} finally {
  await browser.close();
}
await Promise.all(pending);
await checkRecordedAnswers(api, answers, check, ['GET /wamd/whoami', 'GET /wamd/status', 'GET /wamd/webhookQueue/{instance}',
  'POST /wamd/webhookReplay/{instance}', 'POST /wamd/token/{instance}', 'POST /message/sendText/{instance}',
  'GET /wamd/pace/{instance}', 'POST /wamd/pace/{instance}', 'GET /wamd/paceQueue/{instance}', 'GET /wamd/outbox/{instance}']);
check(errors.length === 0, `no errors in the page's console${errors.length ? `:\n  ${errors.join('\n  ')}` : ''}`);
writeFileSync(path.join(artifacts, 'README'), 'Screenshots of the last wamd_console run (tests/daemon/wamd_console.mjs).\n');
wamd.kill('SIGTERM');
const code = await new Promise((res) => wamd.on('exit', (c) => res(c)));
check(code === 0, `wamd exited cleanly (${code})`);
sim.stop?.();
console.log(`console: all checks passed; screenshots in ${artifacts}`);
process.exit(0);
