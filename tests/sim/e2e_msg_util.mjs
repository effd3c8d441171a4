// Helpers shared by the messaging e2e tests (wasim_chat, wasim_offline,
// wasim_phone) on top of harness.mjs.
import { fail, sleep } from './harness.mjs';

// Waits until a freshly paired Baileys client has processed the phone's
// initial history-sync notification (wasim sends it 1 s after the first
// login; Baileys then counts accountSyncCounter up). Starting to chat
// before that makes the phone's pkmsg race the client's own first sends to
// its phone inside Baileys, whose encrypt path locks a session by the PN
// JID and whose decrypt path by the LID one.
export async function waitHistorySynced(c, ms = 15000) {
  const end = Date.now() + ms;
  while ((c.creds.accountSyncCounter ?? 0) < 1) {
    if (Date.now() > end) fail(`${c.name}: no initial history sync within ${ms} ms`);
    await sleep(50);
  }
}

// Gives the client a push name and announces it available, as an app with a
// synced profile does; only then does Baileys send plain (active) delivery
// receipts instead of "inactive" ones, which a Baileys sender ignores.
export async function goOnline(c, name) {
  c.creds.me = { ...c.creds.me, name };
  await c.sock.sendPresenceUpdate('available');
}
