// Interop: reporting tokens. Baileys 7.0.0-rc14's getMessageReportingToken
// (the function relayMessage calls for a message with a messageSecret) and
// our wa_msg_reporting_token_raw must give the same 16 bytes for the same
// encoded Message, secret, id and JIDs — over every kind of content its
// field table covers (kept whole, recursed into, message-typed fields whose
// sub-fields are all dropped), fields it drops, and messages with nothing
// to cover; and a text message as libwa builds it (conversation +
// messageSecret) must get Baileys' token for its bytes.
// Driver (argv[2]) speaks the line protocol in reporting_driver.c.
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import readline from 'node:readline';
import { loadBaileys, loadBaileysFile } from './baileys.mjs';

const B = await loadBaileys();
const { getMessageReportingToken } = await loadBaileysFile('lib/Utils/reporting-utils.js');
const { proto } = B;
const proc = spawn(process.argv[2], [], { stdio: ['pipe', 'pipe', 'inherit'] });
const rl = readline.createInterface({ input: proc.stdout });
const pending = [];
rl.on('line', (l) => pending.shift()(l));
const ask = (line) => new Promise((res) => { pending.push(res); proc.stdin.write(line + '\n'); });

let failures = 0;
let checks = 0;
const check = (cond, what) => { checks++; if (!cond) { failures++; console.error('FAIL:', what); } };
const hex = (b) => (b.length ? Buffer.from(b).toString('hex') : '-');
const rtext = () => randomBytes(1 + randomInt(40)).toString('base64');
const jids = ['15551234567@s.whatsapp.net', '123456789012345@lid', '15557654321@s.whatsapp.net'];
const ctx = () => ({ stanzaId: rtext(), participant: jids[randomInt(3)], quotedMessage: { conversation: rtext() },
  mentionedJid: [jids[0]], isForwarded: true, forwardingScore: 3 });

const makers = [
  () => ({ conversation: rtext() }),
  () => ({ extendedTextMessage: { text: rtext(), matchedText: 'https://x.y', title: rtext(), contextInfo: ctx(),
    previewType: 0 } }),
  () => ({ imageMessage: { url: 'https://mmg/x', mimetype: 'image/jpeg', caption: rtext(), fileSha256: randomBytes(32),
    fileLength: randomInt(1e9), height: 10, width: 20, mediaKey: randomBytes(32), fileEncSha256: randomBytes(32),
    directPath: '/v/t', mediaKeyTimestamp: 1700000000 + randomInt(1e6), contextInfo: ctx() } }),
  () => ({ contactMessage: { displayName: rtext(), vcard: 'BEGIN:VCARD\nEND:VCARD', contextInfo: ctx() } }),
  () => ({ locationMessage: { degreesLatitude: 1.5, degreesLongitude: -3.25, name: rtext(), address: rtext(),
    contextInfo: ctx() } }),
  () => ({ documentMessage: { url: 'https://mmg/d', mimetype: 'application/pdf', title: rtext(),
    fileSha256: randomBytes(32), fileLength: 1000, pageCount: 3, fileName: 'a.pdf', caption: rtext(),
    contextInfo: ctx() } }),
  () => ({ audioMessage: { url: 'https://mmg/a', mimetype: 'audio/ogg', seconds: 7, ptt: true, contextInfo: ctx() } }),
  () => ({ videoMessage: { url: 'https://mmg/v', mimetype: 'video/mp4', seconds: 9, caption: rtext(),
    gifPlayback: false, contextInfo: ctx() } }),
  () => ({ stickerMessage: { url: 'https://mmg/s', mimetype: 'image/webp', isAnimated: true, contextInfo: ctx() } }),
  () => ({ pollCreationMessage: { name: rtext(), options: [{ optionName: 'a' }, { optionName: 'b' }],
    selectableOptionsCount: 1, contextInfo: ctx() } }),
  () => ({ pollCreationMessageV3: { name: rtext(), options: [{ optionName: 'x' }], selectableOptionsCount: 0 } }),
  () => ({ protocolMessage: { type: 0, key: { id: rtext(), remoteJid: jids[0], fromMe: true } } }),
  () => ({ reactionMessage: { key: { id: rtext(), remoteJid: jids[0], fromMe: true }, text: '👍',
    senderTimestampMs: Date.now() } }),
  () => ({ viewOnceMessage: { message: { imageMessage: { caption: rtext() } } } }),
  () => ({ ephemeralMessage: { message: { conversation: rtext() } } }),
  () => ({ buttonsResponseMessage: { selectedButtonId: 'b1', selectedDisplayText: rtext(), type: 1,
    contextInfo: ctx() } }),
];

const N = 400;
let withToken = 0;
for (let i = 0; i < N; i++) {
  const secret = randomBytes(32);
  const msg = { ...makers[i % makers.length](), messageContextInfo: { messageSecret: secret } };
  const encoded = proto.Message.encode(msg).finish();
  const id = '3EB0' + randomBytes(9).toString('hex').toUpperCase();
  const from = jids[randomInt(3)], to = jids[randomInt(3)];
  // Baileys' key for a message we send: fromMe, remoteJid = to, participant = from when it differs
  const key = from === to ? { id, fromMe: true, remoteJid: to } : { id, fromMe: false, remoteJid: to, participant: from };
  const theirs = await getMessageReportingToken(Buffer.from(encoded), msg, key);
  const ours = await ask(`R ${hex(encoded)} ${secret.toString('hex')} ${id} ${from} ${to}`);
  if (!theirs) {
    check(ours === 'NONE', `#${i} (${Object.keys(msg)[0]}): Baileys gives no token, we ${ours}`);
    continue;
  }
  withToken++;
  const tok = Buffer.from(theirs.content[0].content).toString('hex');
  check(theirs.tag === 'reporting' && theirs.content[0].tag === 'reporting_token' && theirs.content[0].attrs.v === '2',
    `#${i}: node shape`);
  check(ours.split(' ')[0] === tok, `#${i} (${Object.keys(msg)[0]}): ${ours.split(' ')[0]} != ${tok}`);
}
check(withToken > N / 2, `most messages get a token (${withToken}/${N})`);

// a text message as libwa builds it, addressed to a chat (from = to = chat)
for (let i = 0; i < 50; i++) {
  const secret = randomBytes(32);
  const text = rtext() + (i % 2 ? ' Привет 👍' : '');
  const id = '3EB0' + randomBytes(9).toString('hex').toUpperCase();
  const chat = jids[i % 3];
  const [mhex, ours] = (await ask(`T ${Buffer.from(text).toString('hex')} ${secret.toString('hex')} ${id} ${chat}`)).split(' ');
  const bytes = Buffer.from(mhex, 'hex');
  const msg = proto.Message.decode(bytes);
  check(msg.conversation === text && Buffer.from(msg.messageContextInfo.messageSecret).equals(secret),
    `text #${i}: libwa's message decodes with its secret`);
  const theirs = await getMessageReportingToken(bytes, msg, { id, fromMe: true, remoteJid: chat });
  check(theirs && Buffer.from(theirs.content[0].content).toString('hex') === ours, `text #${i}: token ${ours}`);
}
proc.stdin.end();
console.log(`${checks - failures}/${checks} checks passed (${withToken} tokens compared)`);
process.exit(failures ? 1 : 0);
