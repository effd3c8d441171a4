// Helpers shared by the messaging e2e tests (wasim_chat, wasim_offline,
// wasim_phone) on top of harness.mjs.
import { fail, sleep } from './harness.mjs';

// Waits until a freshly paired Baileys client has processed the phone's
// initial history-sync notification (wasim sends it 1 s after the first
// login; Baileys then counts accountSyncCounter up). Starting to chat
// before that lets the phone's first pkmsg cross the client's own first
// pkmsg to its phone, and crossing first pkmsgs can lose a session inside
// Baileys (seen as "No matching sessions" on the next message).
export async function waitHistorySynced(c, ms = 15000) {
  const end = Date.now() + ms;
  while ((c.creds.accountSyncCounter ?? 0) < 1) {
    if (Date.now() > end) fail(`${c.name}: no initial history sync within ${ms} ms`);
    await sleep(50);
  }
}

// Creates the account with a push name before pairing: the phone's messages
// to its companions carry it as `notify`, and Baileys takes its own name from
// the first fromMe message it sees (the history-sync notification).
export async function createAccount(sim, phone, pushName) {
  const r = await sim.api('POST', '/_sim/accounts', { phone, push_name: pushName });
  if (r.status !== 201) fail(`create account ${phone}: ${JSON.stringify(r)}`);
}

// Announces the client available (the harness runs Baileys with
// markOnlineOnConnect off); only then does Baileys send plain (active)
// delivery receipts instead of "inactive" ones, which a Baileys sender
// ignores. Baileys refuses to without a push name: it must have learnt it.
export async function goOnline(c, name) {
  if (c.creds.me?.name !== name) fail(`${c.name}: Baileys did not learn its push name (${c.creds.me?.name})`);
  await c.sock.sendPresenceUpdate('available');
}
