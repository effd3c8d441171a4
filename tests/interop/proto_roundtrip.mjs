// Wire round trip between our protobuf-c types and Baileys' generated `proto`:
//  1. the C driver encodes fixed vectors; Baileys decodes them and every field
//     must equal the vector below, and Baileys' own encoding of the same vector
//     must be byte-identical to ours;
//  2. Baileys encodes (other) vectors; the C driver decodes and prints JSON,
//     which must equal the vector field for field (nothing missing, nothing extra).
// usage: node proto_roundtrip.mjs <proto_roundtrip exe>
import { execFileSync } from 'node:child_process';
import { loadBaileys } from './baileys.mjs';

const exe = process.argv[2];
if (!exe) throw new Error('usage: proto_roundtrip.mjs <exe>');
const { proto } = await loadBaileys();

// Same filler as the C driver: byte i = seed + i.
const fill = (seed, n) => Buffer.from(Array.from({ length: n }, (_, i) => (seed + i) & 0xff));

const deviceProps = {
  os: 'Mac OS',
  version: { primary: 10, secondary: 15, tertiary: 7 },
  platformType: proto.DeviceProps.PlatformType.CHROME,
  requireFullSync: true,
  historySyncConfig: { storageQuotaMb: 10240, inlineInitialPayloadInE2EeMsg: true, supportCallLogHistory: false },
};
const advDetails = {
  rawId: 0x12345678, timestamp: '1700000000', keyIndex: 7,
  accountType: proto.ADVEncryptionType.E2EE, deviceType: proto.ADVEncryptionType.HOSTED,
};
const enc = (T, obj) => Buffer.from(T.encode(T.fromObject(obj)).finish());

// Vectors the C driver encodes (must mirror proto_roundtrip.c).
const FROM_C = {
  client_payload: [proto.ClientPayload, {
    username: '15551234567', passive: true,
    userAgent: {
      platform: 14, appVersion: { primary: 2, secondary: 3000, tertiary: 1043857760 },
      mcc: '000', mnc: '000', osVersion: '0.1', device: 'Desktop', osBuildNumber: '0.1',
      releaseChannel: 0, localeLanguageIso6391: 'en', localeCountryIso31661Alpha2: 'US',
    },
    webInfo: { webSubPlatform: 0 },
    pushName: 'wamd \u2713', sessionId: -123456789, connectType: 1, connectReason: 1, device: 3,
    devicePairingData: {
      eRegid: Buffer.from('00003039', 'hex'), eKeytype: Buffer.from([5]), eIdent: fill(0x10, 32),
      eSkeyId: Buffer.from([0, 0, 1]), eSkeyVal: fill(0x50, 32), eSkeySig: fill(0x90, 64),
      buildHash: fill(0xf0, 16), deviceProps: enc(proto.DeviceProps, deviceProps),
    },
    lc: 1, pull: true, lidDbMigrated: false,
  }],
  adv_signed_device_identity: [proto.ADVSignedDeviceIdentity, {
    details: enc(proto.ADVDeviceIdentity, advDetails),
    accountSignatureKey: fill(0x20, 32), accountSignature: fill(0x40, 64), deviceSignature: fill(0x80, 64),
  }],
  message_reply: [proto.Message, {
    extendedTextMessage: {
      text: 'hello @15550001111 \u{1F44B}',
      contextInfo: {
        stanzaId: '3EB0ABCDEF', participant: '15550002222@s.whatsapp.net',
        quotedMessage: { conversation: 'original' },
        mentionedJid: ['15550001111@s.whatsapp.net', '15550003333@s.whatsapp.net'],
        expiration: 604800, ephemeralSettingTimestamp: '1700000001',
      },
    },
    messageContextInfo: { messageSecret: fill(0x33, 32) },
  }],
  message_reaction: [proto.Message, {
    reactionMessage: {
      key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: true, id: '3EB0REACTED' },
      text: '\u{1F44D}', senderTimestampMs: '1700000000123',
    },
  }],
};

// Vectors Baileys encodes for the C driver to decode: different values, and
// edge cases (empty string present, zero values present, max uint64, negative int64).
const TO_C = [
  ['client_payload', proto.ClientPayload, {
    username: '18446744073709551615', passive: false, device: 0,
    userAgent: { platform: 0, releaseChannel: 3, appVersion: { primary: 2, secondary: 3001, tertiary: 5, quaternary: 0 } },
    webInfo: { webSubPlatform: 3, refToken: '' }, connectType: 111, connectReason: 6, sessionId: 2147483647,
    pull: false, lidDbMigrated: true, paddingBytes: Buffer.alloc(0),
  }],
  ['device_props', proto.DeviceProps, deviceProps],
  ['adv_device_identity', proto.ADVDeviceIdentity, advDetails],
  ['adv_signed_device_identity', proto.ADVSignedDeviceIdentity, {
    details: enc(proto.ADVDeviceIdentity, { rawId: 1, keyIndex: 0 }), accountSignature: fill(0xaa, 64),
  }],
  ['message', proto.Message, {
    reactionMessage: { key: { remoteJid: '15550004444@s.whatsapp.net', fromMe: false, id: 'ABC' }, text: '', senderTimestampMs: '-5' },
  }],
  ['message', proto.Message, {
    protocolMessage: {
      key: { remoteJid: '15550004444@s.whatsapp.net', fromMe: true, id: 'EDITED1' }, type: 14,
      editedMessage: { conversation: 'fixed typo' }, timestampMs: '1700000009999',
    },
  }],
  ['message', proto.Message, {
    imageMessage: {
      url: 'https://mmg.example/x', mimetype: 'image/jpeg', caption: 'pic', fileSha256: fill(1, 32),
      fileLength: '123456', height: 640, width: 480, mediaKey: fill(2, 32), fileEncSha256: fill(3, 32),
      directPath: '/v/t62/x', mediaKeyTimestamp: '1700000000',
      contextInfo: { isForwarded: true, forwardingScore: 2 },
    },
    messageContextInfo: { deviceListMetadata: { senderKeyIndexes: [1, 2, 300], senderTimestamp: '99' } },
  }],
  ['message', proto.Message, {
    protocolMessage: {
      type: 6, appStateSyncKeyShare: { keys: [{
        keyId: { keyId: Buffer.from('0001', 'hex') },
        keyData: { keyData: fill(7, 32), fingerprint: { rawId: 9, currentIndex: 1, deviceIndexes: [0, 1, 2] }, timestamp: '1700000000000' },
      }] },
    },
  }],
  ['history_sync', proto.HistorySync, {
    syncType: 0, chunkOrder: 1, progress: 100,
    conversations: [{
      id: '15550002222@s.whatsapp.net', name: 'Bob', unreadCount: 2, conversationTimestamp: '1700000000',
      ephemeralExpiration: 86400, tcToken: fill(5, 16), pnJid: '15550002222@s.whatsapp.net', lidJid: '123456789@lid',
      messages: [{
        msgOrderId: '1',
        message: {
          key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: false, id: 'M1' },
          message: { conversation: 'hello from history' }, messageTimestamp: '1699999999', status: 4,
          pushName: 'Bob', messageSecret: fill(9, 32), messageStubParameters: ['a', 'b'],
        },
      }],
    }],
    pushnames: [{ id: '15550002222@s.whatsapp.net', pushname: 'Bob' }],
    phoneNumberToLidMappings: [{ pnJid: '15550002222@s.whatsapp.net', lidJid: '123456789@lid' }],
  }],
  ['sync_action_data', proto.SyncActionData, {
    index: Buffer.from('["mute","15550002222@s.whatsapp.net"]'), version: 2, padding: Buffer.alloc(0),
    value: {
      timestamp: '1700000000000', muteAction: { muted: true, muteEndTimestamp: '-1' },
      contactAction: { fullName: 'Bob B', firstName: 'Bob', lidJid: '123456789@lid' },
      markChatAsReadAction: { read: true, messageRange: { lastMessageTimestamp: '1700000000',
        messages: [{ key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: true, id: 'X' }, timestamp: '1700000000' }] } },
    },
  }],
];

// Canonical form for comparison: keys without underscores, lower case (our
// snake_case vs their camelCase); bytes as hex; 64-bit values as decimal strings.
function canon(v) {
  if (v === null || v === undefined) return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object' && typeof v.low === 'number' && typeof v.high === 'number') return v.toString();
  if (Array.isArray(v)) return v.map(canon);
  if (typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k.replace(/_/g, '').toLowerCase()] = canon(v[k]);
    return o;
  }
  return v;
}

function sameJson(a, b) {
  const s = (x) => JSON.stringify(x, (k, v) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((kk) => [kk, v[kk]])) : v));
  return s(a) === s(b);
}

let failures = 0;
let checks = 0;
function expectSame(what, got, want) {
  checks++;
  if (!sameJson(got, want)) {
    failures++;
    console.error(`MISMATCH ${what}\n  got:  ${JSON.stringify(got)}\n  want: ${JSON.stringify(want)}`);
  }
}

// 1. C encodes, Baileys decodes.
const ours = JSON.parse(execFileSync(exe, ['encode'], { encoding: 'utf8' }));
for (const [name, [T, want]] of Object.entries(FROM_C)) {
  if (!ours[name]) { failures++; console.error(`driver did not encode ${name}`); continue; }
  const bytes = Buffer.from(ours[name], 'hex');
  const decoded = T.toObject(T.decode(bytes), { longs: String, enums: Number });
  expectSame(`C→Baileys ${name}`, canon(decoded), canon(T.toObject(T.fromObject(want), { longs: String, enums: Number })));
  expectSame(`C vs Baileys bytes ${name}`, ours[name], enc(T, want).toString('hex'));
}
// The nested blobs decode too (signed bytes are kept verbatim, never re-encoded).
{
  const cp = proto.ClientPayload.decode(Buffer.from(ours.client_payload, 'hex'));
  const dp = proto.DeviceProps.toObject(proto.DeviceProps.decode(cp.devicePairingData.deviceProps), { enums: Number });
  expectSame('C→Baileys DeviceProps in ClientPayload', canon(dp), canon(deviceProps));
  const adv = proto.ADVSignedDeviceIdentity.decode(Buffer.from(ours.adv_signed_device_identity, 'hex'));
  const det = proto.ADVDeviceIdentity.toObject(proto.ADVDeviceIdentity.decode(adv.details), { longs: String, enums: Number });
  expectSame('C→Baileys ADVDeviceIdentity details', canon(det), canon(advDetails));
}

// 2. Baileys encodes, C decodes.
for (const [type, T, obj] of TO_C) {
  const hex = enc(T, obj).toString('hex');
  const got = JSON.parse(execFileSync(exe, ['decode', type, hex], { encoding: 'utf8' }));
  const want = T.toObject(T.fromObject(obj), { longs: String, enums: Number });
  expectSame(`Baileys→C ${type} ${hex.slice(0, 24)}…`, canon(got), canon(want));
  // Guards against a vector key Baileys silently drops (a typo would shrink both sides).
  expectSame(`vector ${type} survives fromObject`, canon(want), canon(obj));
}

// 3. The driver must reject garbage rather than print something.
let rejected = false;
try {
  execFileSync(exe, ['decode', 'message', '0aff'], { stdio: 'pipe' });
} catch {
  rejected = true;
}
checks++;
if (!rejected) { failures++; console.error('driver accepted a truncated message'); }

console.log(`proto round trip: ${checks} checks, ${failures} failures`);
process.exit(failures === 0 ? 0 : 1);
