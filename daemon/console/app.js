// wamd console: a client of wamd's own API (the same key, the same routes),
// live through /ws/events. No build step, no other file, no network but wamd.
// Everything from the server is put in the page as text, never as markup.
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const k of kids) e.append(k);
  return e;
};
const KEY = 'wamd.apikey';
const state = { key: sessionStorage.getItem(KEY) || '', admin: false, scopes: new Map(), instances: new Map(), sel: null, sockets: [], pace: null,
  cluster: null, clusterMode: false };

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { apikey: state.key, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: res.status, ok: res.ok, json };
}
const errText = (r) => {
  const m = r.json && r.json.response && r.json.response.message;
  return `${r.status}: ${Array.isArray(m) ? m.flat().join('; ') : JSON.stringify(r.json)}`;
};
const enc = encodeURIComponent;
const may = (name, scope) => state.admin || (state.scopes.get(name) || []).includes(scope);

// ---- sign in ----
async function signIn() {
  // what this key may do: the page then asks only for what it may see
  const who = await api('GET', '/wamd/whoami');
  if (!who.ok) {
    $('login-error').textContent = who.status === 401 ? 'This key is not accepted.' : errText(who);
    showLogin();
    return;
  }
  sessionStorage.setItem(KEY, state.key);
  state.admin = who.json.admin;
  state.scopes = new Map(who.json.instances.map((i) => [i.name, i.scopes]));
  const r = await api('GET', '/instance/fetchInstances');
  const st = state.admin ? await api('GET', '/wamd/status') : null;
  state.clusterMode = !!(st && st.ok && st.json.cluster);
  await loadCluster();
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout-key').hidden = false;
  $('who').textContent = state.admin ? 'admin' : 'instance token';
  $('daemon').hidden = !state.admin;
  $('create').hidden = !state.admin;
  setInstances(r.ok ? r.json : []);
  if (st && st.ok) showStatus(st.json);
  openStreams();
}
function showLogin() {
  $('app').hidden = true;
  $('login').hidden = false;
  $('logout-key').hidden = true;
}
$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  state.key = $('key').value.trim();
  $('key').value = '';
  signIn();
});
$('logout-key').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  state.key = '';
  closeStreams();
  showLogin();
});

// ---- daemon ----
const bytes = (n) => (n > 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`);
function showStatus(s) {
  const up = s.uptimeS;
  const rows = [
    ['version', s.version],
    ['uptime', `${Math.floor(up / 86400)}d ${Math.floor(up / 3600) % 24}h ${Math.floor(up / 60) % 60}m ${up % 60}s`],
    ['instances', String(s.instances)],
    ['sessions', Object.entries(s.sessionStates).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'],
    ['handshakes', `${s.handshakes.active} active, ${s.handshakes.waiting} waiting (max ${s.handshakes.max || 'unlimited'})`],
    ['store', bytes(s.storeBytes)],
    ['memory', bytes(s.rssBytes)],
    ['webhook queue', `${s.webhookQueue.pending} pending, ${s.webhookQueue.dead} dead`],
    ['event streams', String(s.eventStreams)],
  ];
  const c = state.cluster;
  if (c) {
    // cluster mode: this node, and what each node drives (the list shows every node's instances)
    const held = Object.entries(c.nodes).map(([n, k]) => `${n} ${k}`).join(', ') || 'none';
    rows.push(['cluster node', `${c.node}${c.draining ? ' (drained)' : ''}`], ['instances by node', held]);
  }
  $('status').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: v })]));
}
// cluster mode (admin): which node drives each instance
async function loadCluster() {
  const r = state.admin && state.clusterMode ? await api('GET', '/wamd/cluster') : null;
  state.cluster = r && r.ok ? r.json : null;
}
async function refreshStatus() {
  if (!state.admin) return;
  await loadCluster();
  const r = await api('GET', '/wamd/status');
  if (r.ok) showStatus(r.json);
}

// ---- instances ----
function setInstances(list) {
  const old = state.instances;
  state.instances = new Map();
  for (const i of list || []) state.instances.set(i.name, { ...(old.get(i.name) || {}), ...i });
  if (state.sel && !state.instances.has(state.sel)) state.sel = null;
  renderList();
  renderDetail();
}
async function reloadInstances() {
  if (!state.admin) {
    // a token's instances are fixed, and it can be revoked meanwhile
    const who = await api('GET', '/wamd/whoami');
    if (!who.ok) { showLogin(); closeStreams(); return; }
    state.scopes = new Map(who.json.instances.map((i) => [i.name, i.scopes]));
  }
  const r = await api('GET', '/instance/fetchInstances');
  await loadCluster();
  if (r.ok) setInstances(r.json);
}
function renderList() {
  const ul = $('instances');
  ul.replaceChildren(...[...state.instances.values()].map((i) => {
    const owner = state.cluster ? state.cluster.owners[i.name] : undefined;
    const li = el('li', { className: i.name === state.sel ? 'sel' : '' },
      el('span', { textContent: i.name }),
      ...(owner !== undefined ? [el('span', { className: 'node', textContent: owner ? `on ${owner}` : 'no node' })] : []),
      el('span', { className: `pill ${i.connectionStatus}`, textContent: i.connectionStatus }));
    li.dataset.name = i.name;
    li.addEventListener('click', () => select(i.name));
    return li;
  }));
  if (!state.instances.size) ul.append(el('li', { textContent: 'No instance yet.' }));
}
$('create').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('new-name').value.trim();
  const r = await api('POST', '/instance/create', { instanceName: name, qrcode: true, integration: 'WHATSAPP-BAILEYS' });
  if (!r.ok) { alert(errText(r)); return; }
  $('new-name').value = '';
  await reloadInstances();
  refreshStatus();
  select(name);
});

async function select(name) {
  state.sel = name;
  state.pace = null;
  // nothing of the previous instance stays on screen
  for (const id of ['code', 'send-msg', 'tok-new', 'tok-msg', 'wh-msg', 'q-counts', 'pace-msg', 'pace-why', 'pace-state',
    'pq-counts', 'ob-counts']) $(id).textContent = '';
  for (const id of ['queue', 'pace-queue', 'outbox']) $(id).tBodies[0].replaceChildren();
  $('pace-stats').replaceChildren();
  $('messages').replaceChildren();
  renderList();
  renderDetail();
  const i = state.instances.get(name);
  if (i && i.connectionStatus !== 'open' && may(name, 'manage')) {
    // the current QR, if any (the next ones come with the event stream)
    const r = await api('GET', `/instance/connect/${enc(name)}`);
    if (r.ok && r.json && r.json.base64) { i.qr = r.json.base64; renderDetail(); }
  }
  if (may(name, 'manage')) { loadWebhook(); loadQueue(); }
  if (may(name, 'manage')) loadPace(true);
  if (may(name, 'read')) { loadMessages(); loadQueues(); }
}
function renderDetail() {
  const i = state.sel && state.instances.get(state.sel);
  $('detail').hidden = !i;
  if (!i) return;
  $('d-name').textContent = i.name;
  $('d-state').textContent = i.connectionStatus === 'open' ? 'connected' : i.connectionStatus;
  $('d-state').className = `pill ${i.connectionStatus}`;
  $('d-owner').textContent = i.ownerJid ? `+${i.ownerJid.split('@')[0]}` : '';
  $('d-profile').textContent = i.profileName || '';
  $('d-error').textContent = i.error || '';
  const manage = may(i.name, 'manage');
  for (const id of ['d-actions', 'd-webhook', 'd-tokens']) $(id).hidden = !manage;
  $('d-messages').hidden = !may(i.name, 'read');
  $('d-sending').hidden = !may(i.name, 'read');
  $('pace-box').hidden = !manage;
  $('send').hidden = !may(i.name, 'write');
  const pairing = i.connectionStatus !== 'open' && manage;
  $('pair').hidden = !pairing;
  if (pairing && i.qr) $('qr').src = i.qr;
  $('qr').hidden = !(pairing && i.qr);
  if (i.pairingCode) $('code').textContent = i.pairingCode;
}
$('d-actions').addEventListener('click', async (e) => {
  const act = e.target.dataset && e.target.dataset.act;
  if (!act || !state.sel) return;
  const n = enc(state.sel);
  if (act === 'delete' && !confirm(`Delete ${state.sel} and everything stored for it?`)) return;
  if (act === 'logout' && !confirm(`Log ${state.sel} out? The phone unlinks it; pairing again needs a new QR or code.`)) return;
  const r = act === 'restart' ? await api('POST', `/instance/restart/${n}`)
    : act === 'logout' ? await api('DELETE', `/instance/logout/${n}`) : await api('DELETE', `/instance/delete/${n}`);
  $('d-error').textContent = r.ok ? '' : errText(r);
  // the new state comes with the event stream: a list fetched now could
  // be older than the events already shown
  if (act === 'delete' && r.ok) {
    state.instances.delete(state.sel);
    state.sel = null;
    renderList();
    renderDetail();
  }
  refreshStatus();
});
$('pcode').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await api('GET', `/instance/connect/${enc(state.sel)}?number=${enc($('phone').value.replace(/\D/g, ''))}`);
  $('code').textContent = r.ok ? (r.json.pairingCode || '') : errText(r);
});

// ---- webhook and its queue ----
async function loadWebhook() {
  const r = await api('GET', `/webhook/find/${enc(state.sel)}`);
  const w = (r.ok && r.json) || {};
  $('wh-enabled').checked = !!w.enabled;
  $('wh-url').value = w.url || '';
  $('wh-events').value = (w.events || []).join(',');
  $('wh-byevents').checked = !!w.webhookByEvents;
  $('wh-msg').textContent = r.ok ? '' : errText(r);
}
$('wh-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const events = $('wh-events').value.split(',').map((s) => s.trim()).filter(Boolean);
  const r = await api('POST', `/webhook/set/${enc(state.sel)}`, {
    webhook: { enabled: $('wh-enabled').checked, url: $('wh-url').value.trim(), events, byEvents: $('wh-byevents').checked },
  });
  $('wh-msg').textContent = r.ok ? 'saved' : errText(r);
});
async function loadQueue() {
  const body = $('queue').tBodies[0];
  const r = await api('GET', `/wamd/webhookQueue/${enc(state.sel)}`);
  if (!r.ok) { $('q-counts').textContent = errText(r); body.replaceChildren(); return; }
  $('q-counts').textContent = `${r.json.pending} pending, ${r.json.dead} dead`;
  body.replaceChildren(...r.json.events.map((ev) => {
    const to = ev.target === 'instance' ? '' : ` (${ev.target})`; // the global webhook or a broker
    const tr = el('tr', {}, el('td', { textContent: String(ev.id) }), el('td', { textContent: ev.event + to }),
      el('td', { textContent: ev.state }), el('td', { textContent: String(ev.attempts) }),
      el('td', { textContent: ev.lastError || '' }), el('td'));
    tr.dataset.id = ev.id;
    if (ev.state === 'dead') {
      const b = el('button', { textContent: 'Replay', type: 'button' });
      b.addEventListener('click', () => replay(ev.id));
      tr.lastChild.append(b);
    }
    return tr;
  }));
}
async function replay(id) {
  const r = await api('POST', `/wamd/webhookReplay/${enc(state.sel)}`, id ? { id } : {});
  $('q-counts').textContent = r.ok ? `${r.json.replayed} replayed` : errText(r);
  setTimeout(loadQueue, 300); // show the outcome of the new attempt
}
$('q-refresh').addEventListener('click', loadQueue);
$('q-replay-all').addEventListener('click', () => replay(0));

// ---- sending: what pacing holds back, and libwa's outbox (not acked) ----
const PACE_NUM = ['perMinute', 'perHour', 'perDay', 'firstContactPerDay', 'gapMs', 'jitterMs'];
const at = (ms) => new Date(ms).toLocaleString();
const user = (jid) => jid.split('@')[0];
function showPace(p, fill) {
  state.pace = p;
  const s = p.state;
  const paused = s.pausedUntil > 0;
  $('pace-state').textContent = !p.enabled ? 'off' : paused ? 'paused' : s.factor < 1 ? `slowed x${s.factor}` : 'normal';
  $('pace-state').className = `pill ${paused ? 'paused' : p.enabled && s.factor < 1 ? 'throttled' : ''}`;
  $('pace-why').textContent = paused ? `Paused until ${at(s.pausedUntil)}: ${s.pausedWhy || ''}` : '';
  const rows = [
    ['held back', String(s.queued)],
    ['back-off factor', String(s.factor)],
    ['sent', `${s.sentLastMinute} last minute, ${s.sentLastHour} last hour, ${s.sentLastDay} last day`],
    ['first contacts', `${s.firstContactsLastDay} last day`],
    ['day budget', String(s.dayBudget)],
  ];
  $('pace-stats').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: v })]));
  if (!fill) return;
  $('pace-enabled').checked = p.enabled;
  $('pace-typing').checked = p.typing;
  for (const k of PACE_NUM) $(`pace-${k}`).value = String(p[k]);
}
async function loadPace(fill) {
  const name = state.sel;
  const r = await api('GET', `/wamd/pace/${enc(name)}`);
  if (name !== state.sel) return;
  if (r.ok) showPace(r.json, fill); else $('pace-msg').textContent = errText(r);
}
$('pace-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = { enabled: $('pace-enabled').checked, typing: $('pace-typing').checked };
  for (const k of PACE_NUM) body[k] = Number($(`pace-${k}`).value);
  const r = await api('POST', `/wamd/pace/${enc(state.sel)}`, body);
  $('pace-msg').textContent = r.ok ? 'saved' : errText(r);
  if (r.ok) { showPace(r.json, true); loadQueues(); }
});
const cells = (...v) => v.map((t) => el('td', { textContent: String(t) }));
async function loadQueues() {
  const name = state.sel;
  const [q, o] = await Promise.all([api('GET', `/wamd/paceQueue/${enc(name)}`), api('GET', `/wamd/outbox/${enc(name)}`)]);
  if (name !== state.sel) return;
  $('pq-counts').textContent = q.ok ? `${q.json.queued} held` : errText(q);
  $('pace-queue').tBodies[0].replaceChildren(...(q.ok ? q.json.messages : []).map((m) => {
    const tr = el('tr', {}, ...cells(m.position, m.id, user(m.remoteJid) + (m.firstContact ? ' (new)' : ''), at(m.expectedAtMs)));
    tr.dataset.id = m.id;
    return tr;
  }));
  $('ob-counts').textContent = o.ok ? `${o.json.pending} pending` : errText(o);
  $('outbox').tBodies[0].replaceChildren(...(o.ok ? o.json.messages : []).map((m) => {
    const tr = el('tr', {}, ...cells(m.id, user(m.remoteJid), m.state === 'awaiting_ack' ? 'sent, no ack' : 'queued', m.attempts,
      new Date(m.createdAt).toLocaleTimeString()));
    tr.dataset.id = m.id;
    return tr;
  }));
}
// several events in a row (a burst released, its acks): one reload
let queuesTimer = null;
function queuesSoon() {
  clearTimeout(queuesTimer);
  queuesTimer = setTimeout(() => { if (state.sel && may(state.sel, 'read')) loadQueues(); }, 150);
}
$('pq-refresh').addEventListener('click', () => { if (may(state.sel, 'manage')) loadPace(false); loadQueues(); });

// ---- tokens ----
$('tok-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const scopes = [...$('tok-form').querySelectorAll('input:checked')].map((c) => c.value);
  const r = await api('POST', `/wamd/token/${enc(state.sel)}`, { scopes });
  $('tok-new').textContent = r.ok ? r.json.token : '';
  $('tok-msg').textContent = r.ok ? `scopes: ${r.json.scopes.join(', ')}` : errText(r);
});
$('tok-revoke').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await api('DELETE', `/wamd/token/${enc(state.sel)}`, { token: $('tok-old').value.trim() });
  $('tok-msg').textContent = r.ok ? 'revoked' : errText(r);
  if (r.ok) $('tok-old').value = '';
});

// ---- messages ----
async function loadMessages() {
  const r = await api('POST', `/chat/findMessages/${enc(state.sel)}`, { where: {}, page: 1, offset: 20 });
  const recs = (r.ok && r.json && r.json.messages && r.json.messages.records) || [];
  $('messages').replaceChildren(...recs.map((m) => {
    const text = (m.message && (m.message.conversation || (m.message.extendedTextMessage && m.message.extendedTextMessage.text))) || `[${m.messageType}]`;
    const who = m.key.fromMe ? 'me →' : `${m.pushName || ''} ←`;
    return el('li', { textContent: `${new Date(m.messageTimestamp * 1000).toLocaleString()} ${who} ${m.key.remoteJid.split('@')[0]}: ${text}` });
  }));
  if (!r.ok) $('messages').append(el('li', { textContent: errText(r) }));
}
$('m-refresh').addEventListener('click', loadMessages);
$('send').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await api('POST', `/message/sendText/${enc(state.sel)}`, { number: $('send-to').value.replace(/\D/g, ''), text: $('send-text').value });
  $('send-msg').textContent = r.ok ? `sent (${r.json.key.id})` : errText(r);
  if (r.ok) loadMessages();
});

// ---- the event stream ----
function closeStreams() {
  for (const s of state.sockets) { s.onclose = null; s.close(); }
  state.sockets = [];
}
function openStreams() {
  closeStreams();
  // admin: one stream of every instance; a token: one per instance it reads
  const names = state.admin ? [null] : [...state.instances.keys()];
  for (const n of names) openStream(n, 1000);
}
function openStream(name, delay) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = `apikey=${enc(state.key)}${name ? `&instance=${enc(name)}` : ''}`;
  const ws = new WebSocket(`${proto}//${location.host}/ws/events?${q}`);
  state.sockets.push(ws);
  ws.onopen = () => {
    $('stream').textContent = 'stream: live';
    // what changed while no stream was open (at sign-in, the list came first)
    if (delay > 1000) reloadInstances();
    delay = 1000;
  };
  ws.onmessage = (m) => onEvent(JSON.parse(m.data));
  ws.onclose = () => {
    $('stream').textContent = 'stream: reconnecting';
    state.sockets = state.sockets.filter((s) => s !== ws);
    setTimeout(async () => {
      // a revoked token or a deleted instance ends here, not in a retry loop
      if (!state.admin) {
        const who = await api('GET', '/wamd/whoami');
        if (!who.ok) { closeStreams(); showLogin(); return; }
        if (name && !who.json.instances.some((i) => i.name === name)) return;
      }
      if (state.key) openStream(name, Math.min(delay * 2, 30000));
    }, delay);
  };
}
// logged out: the number and profile are no longer this instance's
function forgetAccount(i) {
  i.ownerJid = null;
  i.profileName = null;
  i.qr = null;
  i.pairingCode = null;
}
function onEvent(ev) {
  const d = ev.data || {};
  const i = state.instances.get(ev.instance);
  if (!i) {
    if (ev.event !== 'remove.instance') reloadInstances(); // created elsewhere
    return;
  }
  switch (ev.event) {
    case 'connection.update':
      i.connectionStatus = d.state;
      if (d.state === 'open') {
        i.ownerJid = d.wuid || i.ownerJid;
        i.profileName = d.profileName || i.profileName;
        i.qr = null;
        i.pairingCode = null;
        i.error = '';
      } else {
        i.error = d.wamdReason && d.wamdReason.message ? d.wamdReason.message : '';
        if (d.statusReason === 401) forgetAccount(i); // unlinked from the phone
      }
      refreshStatus();
      break;
    case 'qrcode.updated':
      if (d.qrcode) {
        if (d.qrcode.base64) i.qr = d.qrcode.base64;
        if (d.qrcode.pairingCode) i.pairingCode = d.qrcode.pairingCode;
      }
      break;
    case 'logout.instance':
      forgetAccount(i);
      break;
    case 'remove.instance':
      state.instances.delete(ev.instance);
      if (state.sel === ev.instance) state.sel = null;
      refreshStatus();
      break;
    case 'messages.upsert':
    case 'send.message':
      if (state.sel === ev.instance) { loadMessages(); queuesSoon(); }
      return;
    case 'messages.update':
      if (state.sel === ev.instance) queuesSoon();
      return;
    case 'PACING_UPDATE':
      // the new state at once from the event, then the rest (windows, queue)
      if (state.sel === ev.instance && state.pace && may(ev.instance, 'manage')) {
        const s = state.pace.state;
        s.factor = d.factor;
        s.pausedUntil = d.paused && d.pausedUntil ? Date.parse(d.pausedUntil) : 0;
        s.pausedWhy = d.why;
        showPace(state.pace, false);
        loadPace(false);
      }
      if (state.sel === ev.instance) queuesSoon();
      return;
    default:
      return;
  }
  renderList();
  renderDetail();
}

if (state.key) signIn(); else showLogin();
