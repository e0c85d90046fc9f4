/**
 * verifyCache as the simulator uses it: one cache shared by every replica of a run, so each
 * distinct (bytes, signature, key) is verified once. (Moved here from the harness, whose own
 * copy of this cache it replaced; the daemon's uses are tested in hot-path.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { nodeCrypto, verifyCache } from '../src/index.ts';
import { seedOf } from './support/cluster.ts';

describe('verifyCache', () => {
  const inner = nodeCrypto();
  const keys = inner.keyPairFromSeed(seedOf('verify-cache', 0));
  const message = new Uint8Array([1, 2, 3]);
  const signature = inner.sign(message, keys.secretKey);

  it('answers repeats from memory with the same result', () => {
    const crypto = verifyCache(inner);
    expect(crypto.verify(message, signature, keys.publicKey)).toBe(true);
    expect(crypto.verify(message, signature, keys.publicKey)).toBe(true);
    expect(crypto.stats).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it('verifies afresh when the same signature comes with other bytes or another key', () => {
    const crypto = verifyCache(inner);
    expect(crypto.verify(message, signature, keys.publicKey)).toBe(true);
    expect(crypto.verify(new Uint8Array([1, 2, 4]), signature, keys.publicKey)).toBe(false);
    const other = inner.keyPairFromSeed(seedOf('verify-cache', 1));
    expect(crypto.verify(message, signature, other.publicKey)).toBe(false);
    // The bytes that failed took the slot, so the good triple is verified again (and still holds).
    expect(crypto.verify(message, signature, keys.publicKey)).toBe(true);
    expect(crypto.stats).toEqual({ hits: 0, misses: 4, size: 1 });
  });

  it('stays within its bound', () => {
    const crypto = verifyCache(inner, 2);
    for (let i = 0; i < 5; i++) {
      const bytes = new Uint8Array([i]);
      expect(crypto.verify(bytes, inner.sign(bytes, keys.secretKey), keys.publicKey)).toBe(true);
    }
    expect(crypto.stats.size).toBe(2);
    expect(crypto.verify(message, signature, keys.publicKey)).toBe(true);
    expect(crypto.stats.hits).toBe(0);
  });
});
