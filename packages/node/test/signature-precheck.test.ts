/**
 * The order the daemon checks a frame's signatures in ahead of the step loop: a forged sender
 * costs one check, not one per request it carries.
 */
import { type SignatureCheck, verifyCache } from '@conclave/core';
import { describe, expect, it } from 'vitest';
import { precheckSignatures, type VerifyChecks } from '../src/signature-precheck.ts';
import {
  BATCHES,
  backup,
  countingCrypto,
  largestPrePrepare,
  REQUESTS_PER_BATCH,
} from './support/forged-pre-prepare.ts';

/** A replica with a counting backend under its verdict cache, and a "pool" that checks with the same backend. */
function setUp() {
  const counting = countingCrypto();
  const cache = verifyCache(counting);
  const replica = backup(cache);
  const calls: number[] = [];
  const verify: VerifyChecks = async (checks: readonly SignatureCheck[]) => {
    calls.push(checks.length);
    return checks.map((check) => counting.verify(check.data, check.signature, check.publicKey));
  };
  const checksOf = (frame: Uint8Array) => {
    const decoded = replica.decode(frame);
    if (!decoded.ok) throw new Error(`the test frame does not decode: ${decoded.reason}`);
    return { decoded, checks: replica.signatureChecks(decoded.value) };
  };
  return { counting, cache, replica, verify, calls, checksOf };
}

describe('precheckSignatures', () => {
  it('checks a forged prePrepare’s sender once and none of its 4,096 requests', async () => {
    const { counting, cache, replica, verify, calls, checksOf } = setUp();
    const frame = largestPrePrepare(true);
    const { decoded, checks } = checksOf(frame);
    expect(checks).toHaveLength(1 + BATCHES * REQUESTS_PER_BATCH);
    await precheckSignatures(checks, cache, verify);
    expect(calls).toEqual([1]);
    expect(counting.verified).toBe(1);
    // The replica then refuses it from the cache: no further check.
    replica.step({ kind: 'messages', frames: [frame], decoded: [decoded] });
    expect(replica.rejections().BAD_SIGNATURE).toBe(1);
    expect(counting.verified).toBe(1);
  });

  it('checks a genuine sender first, then every request, and remembers each verdict', async () => {
    const { counting, cache, verify, calls, checksOf } = setUp();
    const { checks } = checksOf(largestPrePrepare(false));
    await precheckSignatures(checks, cache, verify);
    expect(calls).toEqual([1, BATCHES * REQUESTS_PER_BATCH]);
    expect(counting.verified).toBe(1 + BATCHES * REQUESTS_PER_BATCH);
    for (const check of checks.slice(1, 10))
      expect(cache.known(check.data, check.signature, check.publicKey)).toBe(false); // garbage signatures
  });

  it('sends a frame signed with its connection’s own key to the pool in one trip, forged or not', async () => {
    const { counting, cache, verify, calls, checksOf } = setUp();
    const { checks } = checksOf(largestPrePrepare(false));
    const connectionKey = (checks[0] as SignatureCheck).publicKey;
    await precheckSignatures(checks, cache, verify, connectionKey);
    expect(calls).toEqual([1 + BATCHES * REQUESTS_PER_BATCH]);
    expect(counting.verified).toBe(1 + BATCHES * REQUESTS_PER_BATCH);
  });

  it('keeps the sender-first order for a frame relayed over another peer’s connection', async () => {
    const { verify, calls, cache, checksOf } = setUp();
    const { checks } = checksOf(largestPrePrepare(true));
    const otherKey = new Uint8Array(32).fill(7);
    await precheckSignatures(checks, cache, verify, otherKey);
    expect(calls).toEqual([1]);
  });

  it('does nothing for a frame whose verdicts are all known: a replay costs lookups', async () => {
    const { cache, verify, calls, checksOf } = setUp();
    const forged = checksOf(largestPrePrepare(true)).checks;
    const genuine = checksOf(largestPrePrepare(false)).checks;
    await precheckSignatures(forged, cache, verify);
    await precheckSignatures(genuine, cache, verify);
    calls.length = 0;
    expect(precheckSignatures(forged, cache, verify)).toBeUndefined();
    expect(precheckSignatures(genuine, cache, verify)).toBeUndefined();
    expect(precheckSignatures([], cache, verify)).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('passes on a broken pool, so the daemon can fall back to checking inline', async () => {
    const { cache, checksOf } = setUp();
    const broken: VerifyChecks = () => Promise.reject(new Error('worker died'));
    await expect(
      precheckSignatures(checksOf(largestPrePrepare(false)).checks, cache, broken),
    ).rejects.toThrow('worker died');
  });
});
