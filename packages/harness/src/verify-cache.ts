/**
 * A crypto backend that remembers verification results. In a simulation every replica verifies
 * the same broadcast frames, so the same (bytes, signature, key) triple is checked n-1 times;
 * Ed25519 verification is a pure function, so answering repeats from memory changes no outcome,
 * only the time a seed takes. Nothing is skipped: every distinct triple is verified once, and a
 * hit must match the bytes exactly, so a frame with a reused signature over other bytes is
 * verified afresh (and fails).
 */
import { bytesEqual, type CryptoBackend, toHex } from '@conclave/core';

/** Remembered verifications at most; the memory is dropped whole when full (simple and bounded). */
export const VERIFY_CACHE_ENTRIES_MAX = 50_000;

export interface VerifyCacheStats {
  hits: number;
  misses: number;
}

export function cachingVerifier(
  inner: CryptoBackend,
  entriesMax: number = VERIFY_CACHE_ENTRIES_MAX,
): CryptoBackend & { readonly stats: VerifyCacheStats } {
  const remembered = new Map<string, { readonly bytes: Uint8Array; readonly valid: boolean }>();
  const stats: VerifyCacheStats = { hits: 0, misses: 0 };
  return {
    name: `${inner.name}+verify-cache`,
    stats,
    hash: (data) => inner.hash(data),
    sign: (data, secretKey) => inner.sign(data, secretKey),
    keyPairFromSeed: (seed) => inner.keyPairFromSeed(seed),
    verify: (data, signature, publicKey) => {
      const key = `${toHex(signature)}:${toHex(publicKey)}`;
      const hit = remembered.get(key);
      if (hit !== undefined && bytesEqual(hit.bytes, data)) {
        stats.hits++;
        return hit.valid;
      }
      stats.misses++;
      const valid = inner.verify(data, signature, publicKey);
      if (remembered.size >= entriesMax) remembered.clear();
      remembered.set(key, { bytes: data.slice(), valid });
      return valid;
    },
  };
}
