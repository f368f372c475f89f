// crosscheck.mjs: checks sluice's ML-KEM-768 and X25519MLKEM768 against
// @noble/post-quantum 0.7.1 and @noble/curves 2.4.0, independent
// implementations. Usage: node crosscheck.mjs <path to pq_crosscheck_tool> [cases]
//
// For each random case it checks that identical seeds give identical keys,
// that ciphertexts from either side decapsulate to the same secret on the
// other, that both apply implicit rejection identically, that both reject the
// same malformed encapsulation keys, and that the TLS hybrid shares and
// secrets agree in both directions. All inputs are generated here first, the
// tool answers them in one batch, and the answers are compared afterwards.
// Through sluice's TLS 1.3 engine too (engine_hybrid): the key_share entries
// in its ClientHello and ServerHello are noble's shares for the same seeds,
// and both sides' handshake traffic secrets are what the RFC 8446 §7.1 key
// schedule gives over noble's hybrid secret (ML-KEM secret first, then
// X25519, draft-ietf-tls-ecdhe-mlkem) and the two hellos.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, 'node_modules', '@noble', 'post-quantum'))) {
  console.error(`pq_crosscheck: FAILED: ${join(here, 'node_modules')} is missing.\n` +
    `Install the independent implementation first:\n` +
    `  cd ${here} && npm install --no-package-lock`);
  process.exit(1);
}
const { ml_kem768 } = await import('@noble/post-quantum/ml-kem.js');
const { x25519 } = await import('@noble/curves/ed25519.js');
const { extract, expand } = await import('@noble/hashes/hkdf.js');
const { sha256 } = await import('@noble/hashes/sha2.js');

const tool = process.argv[2];
const cases = Number(process.argv[3] ?? 300);
if (!tool || !existsSync(tool)) {
  console.error(`pq_crosscheck: FAILED: driver executable not found: ${tool}`);
  process.exit(1);
}

const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const cat = (...a) => new Uint8Array(Buffer.concat(a.map((x) => Buffer.from(x))));

let failures = 0;
const fail = (what) => {
  failures++;
  if (failures <= 20) console.error(`MISMATCH: ${what}`);
};

// Phase 1: noble's side of every case, and the command batch for the tool.
const plans = [];
const lines = [];
const ask = (line) => lines.push(line) - 1;
for (let i = 0; i < cases; i++) {
  const seed = randomBytes(64), m1 = randomBytes(32), m2 = randomBytes(32);
  const xc = randomBytes(32), xs = randomBytes(32);
  const noble = ml_kem768.keygen(new Uint8Array(seed));
  const nEnc = ml_kem768.encapsulate(noble.publicKey, new Uint8Array(m2));
  const corrupt = new Uint8Array(nEnc.cipherText);
  corrupt[i % corrupt.length] ^= 1 << (i % 8);
  // An encapsulation key with one coefficient raised to >= q (a 12-bit field
  // set to 0xfff): FIPS 203 §7.2 requires both sides to refuse it.
  const badEk = new Uint8Array(noble.publicKey);
  const pos = (i * 37) % 768, off = Math.floor(pos / 2) * 3;
  if (pos % 2 === 0) { badEk[off] = 0xff; badEk[off + 1] |= 0x0f; } else { badEk[off + 1] |= 0xf0; badEk[off + 2] = 0xff; }
  let nobleRejects = false;
  try { ml_kem768.encapsulate(badEk, new Uint8Array(m1)); } catch { nobleRejects = true; }
  // Hybrid, noble as server: ciphertext to the sluice client's key, fresh X25519.
  const xcPub = x25519.getPublicKey(new Uint8Array(xc));
  const xsPub = x25519.getPublicKey(new Uint8Array(xs));
  const hEnc = ml_kem768.encapsulate(noble.publicKey, new Uint8Array(m1));
  const serverShare = cat(hEnc.cipherText, xsPub);
  const serverSecret = cat(hEnc.sharedSecret, x25519.getSharedSecret(new Uint8Array(xs), xcPub));
  const clientShare = cat(noble.publicKey, xcPub);
  plans.push({
    seed, m1, m2, xc, xs, xsPub, noble, nEnc, corrupt, nobleRejects, xcPub, serverShare, serverSecret, clientShare,
    q: {
      keygen: ask(`keygen ${hex(seed)}`),
      encaps: ask(`encaps ${hex(noble.publicKey)} ${hex(m1)}`),
      decaps: ask(`decaps ${hex(noble.secretKey)} ${hex(nEnc.cipherText)}`),
      reject: ask(`decaps ${hex(noble.secretKey)} ${hex(corrupt)}`),
      badEk: ask(`encaps ${hex(badEk)} ${hex(m1)}`),
      hClient: ask(`hybrid_client ${hex(seed)} ${hex(xc)}`),
      hFinish: ask(`hybrid_finish ${hex(seed)} ${hex(xc)} ${hex(serverShare)}`),
      hServer: ask(`hybrid_server ${hex(clientShare)} ${hex(m2)} ${hex(xs)}`),
      engine: ask(`engine_hybrid ${hex(seed)} ${hex(xc)} ${hex(m2)} ${hex(xs)}`),
    },
  });
}

// TLS 1.3 pieces for the engine check: HKDF-Expand-Label (RFC 8446 §7.1)
// and the key_share extension of a hello.
const expandLabel = (secret, label, context, len) => {
  const full = Buffer.from('tls13 ' + label);
  const info = cat([len >> 8, len & 255], [full.length], full, [context.length], context);
  return expand(sha256, secret, info, len);
};
const keyShareOf = (msg, isClient) => {
  let p = 4 + 2 + 32;
  p += 1 + msg[p];  // session id
  if (isClient) {
    p += 2 + ((msg[p] << 8) | msg[p + 1]);  // cipher suites
    p += 1 + msg[p];  // compression methods
  } else {
    p += 3;  // suite, compression
  }
  const end = p + 2 + ((msg[p] << 8) | msg[p + 1]);
  for (p += 2; p + 4 <= end;) {
    const type = (msg[p] << 8) | msg[p + 1], len = (msg[p + 2] << 8) | msg[p + 3];
    const body = msg.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    if (type !== 51) continue;
    const q = isClient ? 2 : 0;  // a client's list has a length first
    return { group: (body[q] << 8) | body[q + 1], key: body.subarray(q + 4, q + 4 + ((body[q + 2] << 8) | body[q + 3])) };
  }
  return null;
};

// Phase 2: the tool answers everything in one run.
const r = spawnSync(tool, [], { input: lines.join('\n') + '\n', maxBuffer: 1 << 30, encoding: 'utf8' });
if (r.status !== 0) {
  console.error(`pq_crosscheck: FAILED: ${tool} exited with ${r.status} ${r.signal ?? ''}\n${r.stderr}`);
  process.exit(1);
}
const out = r.stdout.split('\n');
if (out.length < lines.length) {
  console.error(`pq_crosscheck: FAILED: ${lines.length} requests, ${out.length} answers`);
  process.exit(1);
}

// Phase 3: compare.
const compare = (p, i) => {
  const a = (k) => out[p.q[k]].split(' ');
  const [ek, dk] = a('keygen');
  if (ek !== hex(p.noble.publicKey)) fail(`case ${i}: ek from the same seed differs`);
  if (dk !== hex(p.noble.secretKey)) fail(`case ${i}: dk from the same seed differs`);

  const [ct, k] = a('encaps');
  const nobleCt = ml_kem768.encapsulate(p.noble.publicKey, new Uint8Array(p.m1));
  if (ct !== hex(nobleCt.cipherText) || k !== hex(nobleCt.sharedSecret)) fail(`case ${i}: deterministic encaps differs`);
  if (hex(ml_kem768.decapsulate(unhex(ct), p.noble.secretKey)) !== k) fail(`case ${i}: noble cannot decapsulate sluice's ciphertext`);

  if (a('decaps')[0] !== hex(p.nEnc.sharedSecret)) fail(`case ${i}: sluice cannot decapsulate noble's ciphertext`);
  if (a('reject')[0] !== hex(ml_kem768.decapsulate(p.corrupt, p.noble.secretKey))) fail(`case ${i}: implicit rejection differs`);

  if (!p.nobleRejects) fail(`case ${i}: noble accepted an ek with a coefficient >= q`);
  if (out[p.q.badEk] !== 'error bad_key') fail(`case ${i}: sluice answered "${out[p.q.badEk].slice(0, 40)}" to an ek with a coefficient >= q`);

  if (a('hClient')[0] !== hex(p.clientShare)) fail(`case ${i}: hybrid client share differs`);
  if (a('hFinish')[0] !== hex(p.serverSecret)) fail(`case ${i}: hybrid client secret differs from noble's server`);

  const [sShare, sSecret] = a('hServer');
  const sb = unhex(sShare ?? '');
  if (sb.length !== 1120) { fail(`case ${i}: hybrid server share has ${sb.length} bytes`); return; }
  const mlkemSecret = ml_kem768.decapsulate(sb.subarray(0, 1088), p.noble.secretKey);
  const dh = x25519.getSharedSecret(new Uint8Array(p.xc), sb.subarray(1088));
  if (sSecret !== hex(cat(mlkemSecret, dh))) fail(`case ${i}: noble client secret differs from sluice's server`);

  // The engine: shares on the wire and the key schedule over noble's secret.
  const [chHex, shHex, sHs, cHs] = a('engine');
  if (!shHex) { fail(`case ${i}: engine_hybrid answered "${out[p.q.engine].slice(0, 60)}"`); return; }
  const ch = unhex(chHex), sh = unhex(shHex);
  const cks = keyShareOf(ch, true), sks = keyShareOf(sh, false);
  if (!cks || cks.group !== 0x11ec || hex(cks.key) !== hex(p.clientShare)) fail(`case ${i}: engine ClientHello share is not noble's`);
  const nobleEnc = ml_kem768.encapsulate(p.noble.publicKey, new Uint8Array(p.m2));
  if (!sks || sks.group !== 0x11ec || hex(sks.key) !== hex(cat(nobleEnc.cipherText, p.xsPub))) fail(`case ${i}: engine ServerHello share is not noble's`);
  const secret = cat(nobleEnc.sharedSecret, x25519.getSharedSecret(new Uint8Array(p.xc), p.xsPub));
  const early = extract(sha256, new Uint8Array(32), new Uint8Array(0));
  const derived = expandLabel(early, 'derived', sha256(new Uint8Array(0)), 32);
  const hs = extract(sha256, secret, derived);
  const helloHash = sha256(cat(ch, sh));
  if (sHs !== hex(expandLabel(hs, 's hs traffic', helloHash, 32))) fail(`case ${i}: engine client's server handshake secret differs`);
  if (cHs !== hex(expandLabel(hs, 'c hs traffic', helloHash, 32))) fail(`case ${i}: engine server's client handshake secret differs`);
};
plans.forEach((p, i) => {
  try {
    compare(p, i);
  } catch (e) {
    fail(`case ${i}: noble threw on sluice's output: ${e.message}`);
  }
});

if (failures) {
  console.error(`pq_crosscheck: FAILED: ${failures} mismatches in ${cases} cases`);
  process.exit(1);
}
console.log(`pq_crosscheck: ${cases} cases agree with @noble/post-quantum (keygen, encaps, decaps, ` +
  `implicit rejection, modulus check, X25519MLKEM768 both directions, the TLS engine's hybrid ` +
  `key schedule)`);
