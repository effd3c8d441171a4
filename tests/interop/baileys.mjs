// Loads the pinned Baileys (and its libsignal) from the build tree: ESM does
// not honour NODE_PATH, so interop scripts import through these helpers.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

if (!process.env.WA_NODE_MODULES) {
  throw new Error('WA_NODE_MODULES is not set (run interop tests through meson test)');
}
// absolute: createRequire refuses a relative path, and the benchmarks'
// documented commands give one relative to the checkout
const root = path.resolve(process.env.WA_NODE_MODULES);

export async function loadBaileys() {
  return import(pathToFileURL(path.join(root, 'baileys', 'lib', 'index.js')).href);
}

// Any file inside the Baileys package, e.g. 'lib/WABinary/constants.js'.
export async function loadBaileysFile(rel) {
  return import(pathToFileURL(path.join(root, 'baileys', rel)).href);
}

export function baileysPath(rel) {
  return path.join(root, 'baileys', rel);
}

export async function loadLibsignal() {
  const mod = await import(pathToFileURL(path.join(root, 'libsignal', 'index.js')).href);
  return mod.default ?? mod;
}
