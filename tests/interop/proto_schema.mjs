// Schema check: every message, field and enum value declared in our proto/*.proto
// must match its counterpart in Baileys' WAProto.proto (the pinned npm copy):
// field number, scalar type or referenced type, label, packed encoding, enum
// numbers. Our names are snake_case in package `wa`; theirs camelCase in
// `proto`, nested the same way. A negative self-test re-parses altered copies
// of our files in memory and demands that each alteration is reported, so a
// checker that silently passes everything cannot go unnoticed.
// usage: node proto_schema.mjs [ignored-exe]   (env WA_NODE_MODULES, WA_SOURCE_ROOT)
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { baileysPath } from './baileys.mjs';

const require = createRequire(import.meta.url);
const protobuf = require(path.join(process.env.WA_NODE_MODULES, 'protobufjs'));
const srcRoot = process.env.WA_SOURCE_ROOT;
if (!srcRoot) throw new Error('WA_SOURCE_ROOT is not set');
const protoDir = path.join(srcRoot, 'proto');

// Ours → theirs where the name is not simply `.wa.X` → `.proto.X`. Empty
// today: every declared type carries Baileys' name and nesting.
const TYPE_MAP = {};
// Enum values renamed by us (e.g. to avoid proto2's sibling-scope clashes):
// '.wa.Enum.OUR_NAME' → Baileys' name. Empty today.
const ENUM_VALUE_MAP = {};

const OUR_PKG = '.wa.';
const THEIR_PKG = '.proto.';

function theirName(ourFull) {
  if (TYPE_MAP[ourFull]) return TYPE_MAP[ourFull];
  if (!ourFull.startsWith(OUR_PKG)) return null;
  return THEIR_PKG + ourFull.slice(OUR_PKG.length);
}

// snake_case, camelCase and odd capitalisation (E2ee / E2Ee) compare equal.
const norm = (s) => s.replace(/_/g, '').toLowerCase();

const PACKABLE = new Set(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32',
  'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool']);

function loadTheirs() {
  const root = new protobuf.Root();
  root.loadSync(baileysPath('WAProto/WAProto.proto'));
  root.resolveAll();
  return root;
}

function readOurFiles() {
  const files = {};
  for (const f of fs.readdirSync(protoDir).filter((n) => n.endsWith('.proto')).sort()) {
    files[f] = fs.readFileSync(path.join(protoDir, f), 'utf8');
  }
  return files;
}

// Parses texts (name → source) into one root; imports between our files are
// satisfied because every file is parsed into the same root before resolving.
function parseOurs(files) {
  const root = new protobuf.Root();
  for (const text of Object.values(files)) protobuf.parse(text, root, { keepCase: false });
  root.resolveAll();
  return root;
}

function* walk(ns) {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type || n instanceof protobuf.Enum) yield n;
    if (n.nestedArray) yield* walk(n);
  }
}

function compare(ours, theirs) {
  const errors = [];
  const counts = { messages: 0, fields: 0, enums: 0, enumValues: 0 };
  const wa = ours.lookup('wa');
  if (!wa) return { errors: ['no package wa in our files'], counts };
  for (const t of walk(wa)) {
    const tn = theirName(t.fullName);
    const other = tn && theirs.lookup(tn);
    if (!other) { errors.push(`${t.fullName}: no counterpart ${tn} in Baileys`); continue; }
    if (t instanceof protobuf.Enum) {
      if (!(other instanceof protobuf.Enum)) { errors.push(`${t.fullName}: Baileys ${tn} is not an enum`); continue; }
      counts.enums++;
      for (const [name, num] of Object.entries(t.values)) {
        counts.enumValues++;
        const names = Object.entries(other.values).filter(([, v]) => v === num).map(([k]) => k);
        if (names.length === 0) {
          errors.push(`${t.fullName}.${name} = ${num}: Baileys has no value ${num}`);
        } else if (!names.some((k) => norm(k) === norm(ENUM_VALUE_MAP[`${t.fullName}.${name}`] ?? name))) {
          errors.push(`${t.fullName}.${name} = ${num}: Baileys calls ${num} ${names.join('/')}`);
        }
      }
      continue;
    }
    if (!(other instanceof protobuf.Type)) { errors.push(`${t.fullName}: Baileys ${tn} is not a message`); continue; }
    counts.messages++;
    const byName = new Map(other.fieldsArray.map((f) => [norm(f.name), f]));
    for (const f of t.fieldsArray) {
      counts.fields++;
      const where = `${t.fullName}.${f.name}`;
      const g = byName.get(norm(f.name));
      if (!g) { errors.push(`${where}: Baileys ${tn} has no such field`); continue; }
      if (f.id !== g.id) errors.push(`${where}: number ${f.id}, Baileys ${g.id}`);
      if (f.map || g.map) errors.push(`${where}: map fields are not supported by this check`);
      if (f.repeated !== g.repeated) errors.push(`${where}: repeated=${f.repeated}, Baileys repeated=${g.repeated}`);
      if (f.required || g.required) errors.push(`${where}: required fields are not expected`);
      if (f.resolvedType || g.resolvedType) {
        const mine = f.resolvedType ? theirName(f.resolvedType.fullName) : f.type;
        const yours = g.resolvedType ? g.resolvedType.fullName : g.type;
        if (mine !== yours) errors.push(`${where}: type ${mine}, Baileys ${yours}`);
      } else if (f.type !== g.type) {
        errors.push(`${where}: type ${f.type}, Baileys ${g.type}`);
      }
      const packable = PACKABLE.has(f.type) || f.resolvedType instanceof protobuf.Enum;
      if (f.repeated && packable && f.packed !== g.packed) {
        errors.push(`${where}: packed=${f.packed}, Baileys packed=${g.packed}`);
      }
    }
  }
  return { errors, counts };
}

// Each alteration must change the text and must be reported by compare().
const MUTATIONS = [
  ['field number', 'client_payload.proto', 'optional bytes e_skey_sig = 6;', 'optional bytes e_skey_sig = 9;'],
  ['swapped numbers', 'client_payload.proto',
    /optional bytes e_ident = 3;([\s\S]*)optional bytes e_skey_val = 5;/,
    'optional bytes e_ident = 5;$1optional bytes e_skey_val = 3;'],
  ['scalar type', 'adv.proto', 'optional uint32 key_index = 3;', 'optional uint64 key_index = 3;'],
  ['signedness', 'client_payload.proto', 'optional sfixed32 session_id = 9;', 'optional fixed32 session_id = 9;'],
  ['label', 'message.proto', 'repeated string mentioned_jid = 15;', 'optional string mentioned_jid = 15;'],
  ['referenced type', 'message.proto', 'optional MessageKey placeholder_key = 24;', 'optional Message placeholder_key = 24;'],
  ['packed', 'adv.proto', 'repeated uint32 valid_indexes = 4 [packed = true];', 'repeated uint32 valid_indexes = 4;'],
  ['enum number', 'client_payload.proto', 'WEB = 14;', 'WEB = 15;'],
  ['enum number absent', 'message.proto', 'MESSAGE_EDIT = 14;', 'MESSAGE_EDIT = 13;'],
  ['unknown message', 'adv.proto', 'message ADVKeyIndexList {', 'message ADVKeyIndexListX {'],
  ['unknown field', 'message.proto', 'optional string grouping_key = 3;', 'optional string grouping_keyz = 3;'],
];

function selfTest(files, theirs) {
  let failed = 0;
  for (const [what, file, from, to] of MUTATIONS) {
    const altered = { ...files };
    altered[file] = files[file].replace(from, to);
    if (altered[file] === files[file]) {
      console.error(`self-test "${what}": pattern not found in ${file}`);
      failed++;
      continue;
    }
    let errs;
    try {
      errs = compare(parseOurs(altered), theirs).errors;
    } catch (e) {
      errs = [`parse error: ${e.message}`];
    }
    if (errs.length === 0) {
      console.error(`self-test "${what}": alteration of ${file} was NOT detected`);
      failed++;
    } else {
      console.log(`self-test "${what}": detected (${errs[0]})`);
    }
  }
  return failed;
}

const theirs = loadTheirs();
const files = readOurFiles();
const { errors, counts } = compare(parseOurs(files), theirs);
for (const e of errors) console.error('MISMATCH ' + e);
console.log(`checked ${Object.keys(files).length} files: ${counts.messages} messages, ` +
  `${counts.fields} fields, ${counts.enums} enums, ${counts.enumValues} enum values; ` +
  `${errors.length} mismatches`);
const selfFailed = selfTest(files, theirs);
if (counts.messages < 50 || counts.fields < 300) {
  console.error('suspiciously few declarations checked');
  process.exit(1);
}
process.exit(errors.length === 0 && selfFailed === 0 ? 0 : 1);
