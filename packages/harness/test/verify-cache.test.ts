import { nodeCrypto } from '@conclave/core';
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/prng.ts';
import { cachingVerifier } from '../src/verify-cache.ts';

describe('cachingVerifier', () => {
  const prng = new Prng(1);
  const inner = nodeCrypto();
  const keys = inner.keyPairFromSeed(prng.bytes(32));
  const message = new Uint8Array([1, 2, 3]);
  const signature = inner.sign(message, keys.secretKey);

  it('answers repeats from memory with the same result', () => {
    const crypto = cachingVerifier(inner);
    expect(crypto.verify(message, signature, keys.publicKey)).toBe(true);
    expect(crypto.verify(message, signature, keys.publicKey)).toBe(true);
    expect(crypto.stats).toEqual({ hits: 1, misses: 1 });
  });

  it('verifies afresh when the same signature comes with other bytes or another key', () => {
    const crypto = cachingVerifier(inner);
    expect(crypto.verify(message, signature, keys.publicKey)).toBe(true);
    expect(crypto.verify(new Uint8Array([1, 2, 4]), signature, keys.publicKey)).toBe(false);
    const other = inner.keyPairFromSeed(prng.bytes(32));
    expect(crypto.verify(message, signature, other.publicKey)).toBe(false);
    // The bytes that failed took the slot, so the good triple is verified again (and still holds).
    expect(crypto.verify(message, signature, keys.publicKey)).toBe(true);
    expect(crypto.stats).toEqual({ hits: 0, misses: 4 });
  });

  it('stays within its bound', () => {
    const crypto = cachingVerifier(inner, 2);
    for (let i = 0; i < 5; i++) {
      const bytes = new Uint8Array([i]);
      expect(crypto.verify(bytes, inner.sign(bytes, keys.secretKey), keys.publicKey)).toBe(true);
    }
    expect(crypto.verify(message, signature, keys.publicKey)).toBe(true);
    expect(crypto.stats.hits).toBe(0);
  });
});
