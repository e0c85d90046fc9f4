import { nodeCrypto, type SignatureCheck } from '@conclave/core';
import { afterAll, describe, expect, it } from 'vitest';
import { VerifyPool } from '../src/verify-pool.ts';

const crypto = nodeCrypto();
const keys = crypto.keyPairFromSeed(new Uint8Array(32).fill(1));
const other = crypto.keyPairFromSeed(new Uint8Array(32).fill(2));

function checks(count: number): { checks: SignatureCheck[]; expected: boolean[] } {
  const list: SignatureCheck[] = [];
  const expected: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const data = new TextEncoder().encode(`message ${i}`);
    const signature = crypto.sign(data, keys.secretKey);
    // Every third is wrong in one of three ways: another key, other bytes, a broken signature.
    const kind = i % 9;
    if (kind === 3) list.push({ data, signature, publicKey: other.publicKey });
    else if (kind === 6)
      list.push({ data: new TextEncoder().encode('forged'), signature, publicKey: keys.publicKey });
    else if (kind === 8)
      list.push({ data, signature: new Uint8Array(64).fill(3), publicKey: keys.publicKey });
    else list.push({ data, signature, publicKey: keys.publicKey });
    expected.push(kind !== 3 && kind !== 6 && kind !== 8);
  }
  return { checks: list, expected };
}

describe('VerifyPool', () => {
  const pool = new VerifyPool(2);
  afterAll(() => pool.close());

  it('answers each check in order, exactly as an inline check would', async () => {
    const { checks: list, expected } = checks(90);
    expect(await pool.verify(list)).toEqual(expected);
  });

  it('keeps callers apart when many ask in one turn, spread over the workers', async () => {
    const batches = Array.from({ length: 12 }, (_, i) => checks(5 + i));
    const before = pool.stats().batches;
    const answers = await Promise.all(batches.map((b) => pool.verify(b.checks)));
    answers.forEach((answer, i) => {
      expect(answer).toEqual(batches[i]?.expected);
    });
    // One turn: one packed message per worker, not one per caller.
    expect(pool.stats().batches - before).toBe(2);
    expect(pool.stats().inFlight).toBe(0);
  });

  it('refuses work once closed, and rejects what was waiting', async () => {
    const closing = new VerifyPool(1);
    const waiting = expect(closing.verify(checks(3).checks)).rejects.toThrow(/closed/);
    await closing.close();
    await waiting;
    await expect(closing.verify(checks(1).checks)).rejects.toThrow(/closed/);
  });

  it('refuses a size it cannot have', () => {
    expect(() => new VerifyPool(0)).toThrow(RangeError);
  });
});
