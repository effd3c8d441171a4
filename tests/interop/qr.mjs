// Interop: pairing QR strings. For random keys and refs, Baileys
// 7.0.0-rc14's buildPairingQRData (the function its socket calls when a
// pair-device arrives) and our wa_qr_payload_build must give the same
// string, and our parser must recover Baileys' inputs from Baileys' string.
// Driver (argv[2]) speaks the line protocol in qr_driver.c.
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import readline from 'node:readline';
import { loadBaileys } from './baileys.mjs';

const B = await loadBaileys();
const proc = spawn(process.argv[2], [], { stdio: ['pipe', 'pipe', 'inherit'] });
const rl = readline.createInterface({ input: proc.stdout });
const pending = [];
rl.on('line', (l) => pending.shift()(l));
const ask = (line) => new Promise((res) => { pending.push(res); proc.stdin.write(line + '\n'); });

let failures = 0;
let checks = 0;
const check = (cond, what) => { checks++; if (!cond) { failures++; console.error('FAIL:', what); } };

const browsers = [['Ubuntu', 'Chrome', '1'], ['Mac OS', 'Desktop', '1'], ['Windows', 'Desktop', '1'],
  ['Ubuntu', 'Edge', '1'], ['Ubuntu', 'Firefox', '1'], ['Mac OS', 'Safari', '1'],
  ['Ubuntu', 'Opera', '1'], ['Ubuntu', 'IE', '1'], ['Linux', 'Whatever', '1']];
// refs as the server sends them: printable ASCII without ',' ("2@" + base64 text)
const refAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=@._-';
const randRef = () => {
  const n = 1 + randomInt(120);
  let s = '';
  for (let i = 0; i < n; i++) s += refAlphabet[randomInt(refAlphabet.length)];
  return s;
};

const N = 150;
for (let i = 0; i < N; i++) {
  const noise = randomBytes(32), ident = randomBytes(32), adv = randomBytes(32);
  const ref = i === 0 ? '2@' + randomBytes(60).toString('base64') : randRef();
  const browser = browsers[i % browsers.length];
  const theirs = B.buildPairingQRData(ref, noise.toString('base64'), ident.toString('base64'),
    adv.toString('base64'), browser);
  const plat = B.getCompanionPlatformId(browser);
  const ours = await ask(`B ${ref} ${noise.toString('hex')} ${ident.toString('hex')} ${adv.toString('hex')} ${plat}`);
  check(ours === theirs, `build #${i}: ${ours} != ${theirs}`);
  const parsed = (await ask(`P ${theirs}`)).split(' ');
  check(parsed.length === 5 && parsed[0] === ref && parsed[1] === noise.toString('hex') &&
    parsed[2] === ident.toString('hex') && parsed[3] === adv.toString('hex') && parsed[4] === plat,
    `parse #${i}: ${parsed.join(' ')}`);
  if (i < 5) {
    const [size, pngLen, lines] = (await ask(`T ${theirs}`)).split(' ').map(Number);
    check(size >= 21 && (size - 17) % 4 === 0 && pngLen > 100 && lines === Math.ceil((size + 8) / 2),
      `render #${i}: ${size} ${pngLen} ${lines}`);
  }
}
// Baileys accepts a ref with ',' and would emit an ambiguous string; we refuse to
const bad = await ask(`B a,b ${'00'.repeat(32)} ${'00'.repeat(32)} ${'00'.repeat(32)} 1`);
check(bad === 'ERR WA_EINVAL', `ref with comma: ${bad}`);

proc.stdin.end();
await new Promise((res) => proc.on('exit', res));
console.log(`qr interop: ${checks} checks over ${N} random cases, ${failures} failures`);
process.exit(failures ? 1 : 0);
