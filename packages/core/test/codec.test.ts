import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRequest,
  DEFAULT_DECODE_LIMITS,
  decodeCanonical,
  decodeFrame,
  encodeCanonical,
  encodeFrame,
  MessageType,
  nodeCrypto,
  signBody,
} from '../src/index.ts';

const crypto = nodeCrypto();
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const keys = crypto.keyPairFromSeed(new Uint8Array(32).fill(1));

describe('canonical codec', () => {
  it('round-trips canonical values', () => {
    const value = [1, 'two', new Uint8Array([3]), [4, [5]], null, true, 2 ** 40];
    const decoded = decodeCanonical(encodeCanonical(value));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(encodeCanonical(decoded.value as never)).toEqual(encodeCanonical(value));
  });

  it('rejects a non-minimal integer encoding of the same value', () => {
    // [5] encoded with a uint32 instead of a positive fixint.
    expect(decodeCanonical(new Uint8Array([0x91, 0xce, 0, 0, 0, 5]))).toEqual({
      ok: false,
      reason: 'NOT_CANONICAL',
    });
    expect(decodeCanonical(new Uint8Array([0x91, 0x05])).ok).toBe(true);
  });

  it('rejects maps, trailing bytes and truncated input', () => {
    expect(decodeCanonical(new Uint8Array([0x81, 0xa1, 0x61, 0x01])).ok).toBe(false);
    expect(decodeCanonical(new Uint8Array([0x01, 0x02])).ok).toBe(false);
    expect(decodeCanonical(new Uint8Array([0x92, 0x01])).ok).toBe(false);
  });

  it('never throws on random bytes, and whatever it accepts re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeCanonical(bytes);
        if (decoded.ok) expect(hex(encodeCanonical(decoded.value as never))).toBe(hex(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('frames', () => {
  const request = createRequest(
    { agent: 'a', requestId: 1, operation: new Uint8Array([1, 2]) },
    crypto,
    keys.secretKey,
  );

  it('decode a signed request frame back to its body and exact signed bytes', () => {
    const decoded = decodeFrame(request.frame, DEFAULT_DECODE_LIMITS, crypto.hash);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value.body).toMatchObject({ type: MessageType.request, agent: 'a', requestId: 1 });
    expect(hex(decoded.value.bytes)).toBe(hex(request.request.bytes));
    expect(crypto.verify(decoded.value.bytes, decoded.value.signature, keys.publicKey)).toBe(true);
  });

  it('reject a frame whose signed body is not canonical', () => {
    const body = new Uint8Array([0x94, 0xce, 0, 0, 0, 1, 0xa1, 0x61, 0x01, 0xc4, 0x00]); // [uint32 1, "a", 1, bin()]
    const frame = encodeCanonical([body, new Uint8Array(64), []]);
    expect(decodeFrame(frame, DEFAULT_DECODE_LIMITS, crypto.hash)).toEqual({
      ok: false,
      reason: 'NOT_CANONICAL',
    });
  });

  it('reject unknown types, wrong arity and oversized operations with typed reasons', () => {
    const wrap = (body: unknown[]) =>
      encodeCanonical([encodeCanonical(body as never), new Uint8Array(64), []]);
    expect(decodeFrame(wrap([99, 1]), DEFAULT_DECODE_LIMITS, crypto.hash)).toEqual({
      ok: false,
      reason: 'UNKNOWN_TYPE',
    });
    expect(decodeFrame(wrap([MessageType.prepare, 1, 2]), DEFAULT_DECODE_LIMITS, crypto.hash)).toEqual({
      ok: false,
      reason: 'MALFORMED',
    });
    const big = signBody(
      {
        type: MessageType.request,
        agent: 'a',
        requestId: 1,
        operation: new Uint8Array(DEFAULT_DECODE_LIMITS.operationBytesMax + 1),
      },
      crypto,
      keys.secretKey,
    );
    expect(decodeFrame(encodeFrame(big), DEFAULT_DECODE_LIMITS, crypto.hash)).toEqual({
      ok: false,
      reason: 'OPERATION_TOO_LARGE',
    });
  });

  it('never throws on random or mutated frames', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (noise, at, byte) => {
          decodeFrame(noise, DEFAULT_DECODE_LIMITS, crypto.hash);
          const mutated = new Uint8Array(request.frame);
          mutated[at % mutated.length] = byte;
          decodeFrame(mutated, DEFAULT_DECODE_LIMITS, crypto.hash);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
