// wasim e2e (groups): three unmodified Baileys clients. Alice creates a
// group with Bob and Carol; every member's texts decrypt at every other
// member (sender keys through wasim's fan-out); subject, description,
// promote and demote reach the others as group events; Bob, demoted, is
// refused an admin action (403); Carol is removed and gets nothing more,
// added again and reads what follows; the joined-groups query lists the
// group; a non-member's metadata query is 403 and an unknown group 404.
import { startWasim, pairByQr, check, fail, watchdog, sleep } from './harness.mjs';
import { waitHistorySynced, createAccount } from './e2e_msg_util.mjs';

watchdog(150);
const sim = await startWasim(process.argv[2]);
const P = { a: '15550007001', b: '15550007002', c: '15550007003', d: '15550007004' };
const names = { a: 'Alice', b: 'Bob', c: 'Carol', d: 'Dave' };
const cl = {};
for (const k of Object.keys(P)) {
  await createAccount(sim, P[k], names[k]);
  cl[k] = await pairByQr(sim, P[k], names[k].toLowerCase());
  await waitHistorySynced(cl[k]);
}
const jid = (k) => `${P[k]}@s.whatsapp.net`;

for (const [k, c] of Object.entries(cl)) {
  c.texts = [];
  c.stubs = [];
  c.gev = [];
  c.sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) {
      // a message Baileys could not decrypt arrives as a stub: say so on failure
      if (m.messageStubType) c.stubs.push(`${m.key.id} ${m.key.participant ?? ''} ${m.messageStubType} ${JSON.stringify(m.messageStubParameters)}`);
      if (m.key.fromMe || !m.key.remoteJid?.endsWith('@g.us')) continue;
      const text = m.message?.extendedTextMessage?.text ?? m.message?.conversation;
      if (text !== undefined) c.texts.push({ text, participant: m.key.participant });
    }
    c.poke();
  });
  c.sock.ev.on('group-participants.update', (u) => { c.gev.push({ kind: 'participants', ...u }); c.poke(); });
  c.sock.ev.on('groups.update', (us) => { for (const u of us) c.gev.push({ kind: 'update', ...u }); c.poke(); });
  c.sock.ev.on('groups.upsert', (gs) => { for (const g of gs) c.gev.push({ kind: 'upsert', id: g.id }); c.poke(); });
  void k;
}

const meta = await cl.a.sock.groupCreate('Team ✓', [jid('b'), jid('c')]);
const G = meta.id;
check(G.endsWith('@g.us') && meta.participants.length === 3 && meta.subject === 'Team ✓',
  `group created: ${G}, 3 participants`);
check(meta.participants.find((p) => p.id === jid('a'))?.admin === 'superadmin', 'creator is superadmin');
await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'upsert' && e.id === G), 10000, 'groups.upsert at bob');

// everyone sends, everyone else reads
const members = ['a', 'b', 'c'];
for (const s of members) {
  for (let i = 0; i < 3; i++) await cl[s].sock.sendMessage(G, { text: `${s} ${i} ünïcödé 🙂` });
}
for (const r of members) {
  await cl[r].waitFor(() => cl[r].texts.length >= 6, 20000,
    () => `6 group texts at ${r} (got ${JSON.stringify(cl[r].texts)}; stubs ${JSON.stringify(cl[r].stubs)})`);
  const want = members.filter((s) => s !== r).flatMap((s) => [0, 1, 2].map((i) => `${s} ${i} ünïcödé 🙂`)).sort();
  check(JSON.stringify(cl[r].texts.map((t) => t.text).sort()) === JSON.stringify(want), `${r} decrypted every other member's texts intact`);
  check(cl[r].texts.every((t) => members.some((s) => t.participant?.startsWith(P[s]))), `${r}: key.participant names the author`);
}

// a member that lost the author's sender key asks again with a retry
// receipt; the author's resend (one device, the key inside, no skmsg) is
// relayed to that device alone
{
  const dev = Number(/:(\d+)@/.exec(cl.a.sock.user.id)?.[1] ?? 0);
  await cl.c.sock.authState.keys.set({ 'sender-key': { [`${G}::${P.a}::${dev}`]: null } });
  const before = { b: cl.b.texts.length, c: cl.c.texts.length };
  await cl.a.sock.sendMessage(G, { text: 'after a lost key' });
  await cl.c.waitFor(() => cl.c.texts.length > before.c, 20000,
    () => `the resent text at c (stubs ${JSON.stringify(cl.c.stubs)})`);
  check(cl.c.texts.at(-1).text === 'after a lost key' && cl.c.stubs.some((x) => /No (SenderKeyRecord|session) found/.test(x)),
    `c could not decrypt, asked again, and read the resend (${JSON.stringify(cl.c.texts.at(-1))}; ${JSON.stringify(cl.c.stubs)})`);
  await cl.b.waitFor(() => cl.b.texts.length > before.b, 10000, 'the text at b');
  await sleep(500);
  check(cl.b.texts.length === before.b + 1 && cl.c.texts.length === before.c + 1, 'each member read it exactly once');
}

// metadata and the joined-groups query
const md = await cl.b.sock.groupMetadata(G);
check(md.participants.length === 3 && md.subject === 'Team ✓', 'metadata query');
const all = await cl.c.sock.groupFetchAllParticipating();
check(Object.keys(all).includes(G), 'joined-groups query lists the group');
let err = null;
try { await cl.d.sock.groupMetadata(G); } catch (e) { err = e; }
check(err?.data === 403 || err?.output?.statusCode === 403, `non-member metadata query refused 403 (${err?.data ?? err?.message})`);
err = null;
try { await cl.a.sock.groupMetadata('120363999999999999@g.us'); } catch (e) { err = e; }
check(err?.data === 404 || err?.output?.statusCode === 404, `unknown group 404 (${err?.data ?? err?.message})`);

// subject, description, promote, demote: events at the others
await cl.a.sock.groupUpdateSubject(G, 'Renamed');
await cl.b.waitFor(() => cl.b.gev.some((e) => e.kind === 'update' && e.subject === 'Renamed'), 10000, 'subject at bob');
await cl.a.sock.groupUpdateDescription(G, 'about us');
await cl.c.waitFor(() => cl.c.gev.some((e) => e.kind === 'update' && e.desc === 'about us'), 10000, 'description at carol');
check(true, 'subject and description changes arrived as groups.update');
let res = await cl.a.sock.groupParticipantsUpdate(G, [jid('b')], 'promote');
check(res[0]?.status === '200', `promote answered 200 (${JSON.stringify(res)})`);
await cl.c.waitFor(() => cl.c.gev.some((e) => e.kind === 'participants' && e.action === 'promote'), 10000, 'promote at carol');
res = await cl.a.sock.groupParticipantsUpdate(G, [jid('b')], 'demote');
await cl.c.waitFor(() => cl.c.gev.some((e) => e.kind === 'participants' && e.action === 'demote'), 10000, 'demote at carol');
check(true, 'promote and demote arrived as group-participants.update');
err = null;
try { await cl.b.sock.groupParticipantsUpdate(G, [jid('c')], 'remove'); } catch (e) { err = e; }
check(err && (err.data === 403 || err.output?.statusCode === 403), 'a non-admin is refused an admin action (403)');
res = await cl.a.sock.groupParticipantsUpdate(G, [jid('b'), '15559999999@s.whatsapp.net'], 'add');
check(res.find((r) => r.jid === jid('b'))?.status === '409', `adding a member again: 409 (${JSON.stringify(res)})`);

// remove Carol: she reads nothing after; add Dave: he reads what follows
await cl.a.sock.groupParticipantsUpdate(G, [jid('c')], 'remove');
await cl.c.waitFor(() => cl.c.gev.some((e) => e.kind === 'participants' && e.action === 'remove'), 10000, 'remove at carol');
await cl.a.sock.groupParticipantsUpdate(G, [jid('d')], 'add');
await cl.d.waitFor(() => cl.d.gev.some((e) => e.kind === 'participants' && e.action === 'add'), 10000, 'add at dave');
const cBefore = cl.c.texts.length;
await cl.a.sock.sendMessage(G, { text: 'after the change' });
await cl.b.sock.sendMessage(G, { text: 'bob after the change' });
await cl.d.waitFor(() => cl.d.texts.length >= 2, 15000, 'both texts at dave');
await cl.b.waitFor(() => cl.b.texts.some((t) => t.text === 'after the change'), 15000, 'text at bob');
await sleep(1000);
check(cl.c.texts.length === cBefore, 'the removed member got nothing more');
err = null;
try { await cl.c.sock.sendMessage(G, { text: 'let me in' }); await sleep(1000); } catch (e) { err = e; }
check(!cl.a.texts.some((t) => t.text === 'let me in'), `a removed member's message reaches nobody (${err?.message ?? 'sent'})`);
const sg = (await sim.api('GET', '/_sim/groups')).json.groups.find((g) => `${g.id}@g.us` === G);
check(sg.members.length === 3 && !sg.members.some((m) => m.phone === P.c), 'membership on the server: a, b, d');

// leave
await cl.d.sock.groupLeave(G);
await cl.a.waitFor(() => cl.a.gev.some((e) => e.kind === 'participants' && e.action === 'remove' &&
  e.participants.some((p) => (p.id ?? p) === jid('d'))), 10000, 'leave seen at alice');
check(true, 'leave arrives as a remove');

for (const c of Object.values(cl)) await c.stop();
await sim.stop();
console.log('ok');
process.exit(0);
void fail;
