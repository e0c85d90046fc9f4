// Worker thread of the signature verification pool (verify-pool.ts). Plain JavaScript with only
// node: imports, so it starts fast and needs no TypeScript loader.
//
// A job message is { id, buffer } where buffer packs checks back to back as
//   u32 little-endian data length ‖ data ‖ signature (64 bytes) ‖ public key (32 bytes)
// and the answer is { id, results } with one byte per check: 1 valid, 0 not.
import { createPublicKey, verify } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const KEYS_MAX = 200_000;
const keys = new Map();

function keyObject(raw) {
  const id = raw.toString('latin1');
  let key = keys.get(id);
  if (key === undefined) {
    if (keys.size >= KEYS_MAX) keys.clear();
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    keys.set(id, key);
  }
  return key;
}

parentPort.on('message', ({ id, buffer, count }) => {
  const bytes = Buffer.from(buffer);
  const results = new Uint8Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = bytes.readUInt32LE(at);
    at += 4;
    const data = bytes.subarray(at, at + length);
    at += length;
    const signature = bytes.subarray(at, at + 64);
    at += 64;
    const publicKey = bytes.subarray(at, at + 32);
    at += 32;
    try {
      results[i] = verify(null, data, keyObject(publicKey), signature) ? 1 : 0;
    } catch {
      results[i] = 0;
    }
  }
  parentPort.postMessage({ id, results }, [results.buffer]);
});
