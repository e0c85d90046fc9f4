import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
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

/**
 * The decoder this one replaced, kept as the oracle: msgpackr decodes, the value is checked
 * for canonical types, and re-encoding must give back the same bytes.
 */
const oracle = (() => {
  const options = { useRecords: false, moreTypes: false, structuredClone: false, bundleStrings: false };
  const packr = new Packr({ ...options, encodeUndefinedAsNil: false });
  const unpackr = new Unpackr({ ...options, mapsAsObjects: false, int64AsType: 'number' });
  const canonicalValue = (value: unknown, depth: number): boolean => {
    if (depth > 16) return false;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
    if (typeof value === 'number') return Number.isFinite(value);
    if (value instanceof Uint8Array) return true;
    return Array.isArray(value) && value.every((item) => canonicalValue(item, depth + 1));
  };
  return (bytes: Uint8Array): { ok: true; value: unknown } | { ok: false; reason: string } => {
    let value: unknown;
    try {
      value = unpackr.unpack(bytes);
    } catch {
      return { ok: false, reason: 'MALFORMED' };
    }
    if (!canonicalValue(value, 0)) return { ok: false, reason: 'MALFORMED' };
    return hex(packr.pack(value as never)) === hex(bytes)
      ? { ok: true, value }
      : { ok: false, reason: 'NOT_CANONICAL' };
  };
})();

/** Maps and extension types: the oracle's reason for them depends on msgpackr's extensions. */
const EXOTIC = new Set([
  ...Array.from({ length: 16 }, (_, i) => 0x80 + i),
  0xde,
  0xdf,
  0xc7,
  0xc8,
  0xc9,
  0xd4,
  0xd5,
  0xd6,
  0xd7,
  0xd8,
]);

/** Values of every canonical kind, at every width boundary. */
const canonicalValues: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -0.5, 2 ** 32, -(2 ** 31) - 1, 2 ** 53 - 1, 1e300),
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
    fc.constantFrom(0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('value'), { maxLength: 20 }),
  ),
})).value;

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

  it('decides every input as decode-then-re-encode does, and decodes to the same values', () => {
    const agree = (bytes: Uint8Array) => {
      const expected = oracle(bytes);
      const actual = decodeCanonical(bytes);
      expect(actual.ok).toBe(expected.ok);
      if (actual.ok && expected.ok) expect(actual.value).toEqual(expected.value);
      else if (!actual.ok && !expected.ok && !bytes.some((b) => EXOTIC.has(b)))
        expect(actual.reason).toBe(expected.reason);
    };
    fc.assert(
      fc.property(
        canonicalValues,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(),
        (value, at, byte, cut) => {
          const bytes = encodeCanonical(value as never);
          agree(bytes);
          expect(decodeCanonical(bytes).ok).toBe(true);
          const mutated = new Uint8Array(bytes);
          mutated[at % mutated.length] = byte;
          agree(mutated);
          agree(bytes.subarray(0, cut % (bytes.length + 1)));
          const inserted = new Uint8Array(bytes.length + 1);
          inserted.set(bytes.subarray(0, at % (bytes.length + 1)));
          inserted[at % (bytes.length + 1)] = byte;
          inserted.set(bytes.subarray(at % (bytes.length + 1)), (at % (bytes.length + 1)) + 1);
          agree(inserted);
        },
      ),
      { numRuns: 3000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), agree), { numRuns: 3000 });
  });

  it('rejects each non-shortest form, float32, 64-bit integers, bad UTF-8 and depth beyond 16', () => {
    const reason = (bytes: number[]) => {
      const decoded = decodeCanonical(new Uint8Array(bytes));
      return decoded.ok ? 'ok' : decoded.reason;
    };
    expect(reason([0xcc, 0x7f])).toBe('NOT_CANONICAL'); // uint8 for a fixint
    expect(reason([0xcc, 0x80])).toBe('ok');
    expect(reason([0xcd, 0x00, 0xff])).toBe('NOT_CANONICAL');
    expect(reason([0xd0, 0xe0])).toBe('NOT_CANONICAL'); // int8 -32: a negative fixint
    expect(reason([0xd0, 0x05])).toBe('NOT_CANONICAL'); // int8 for a positive value
    expect(reason([0xd0, 0xdf])).toBe('ok');
    expect(reason([0xd1, 0xff, 0x80])).toBe('NOT_CANONICAL');
    expect(reason([0xd2, 0xff, 0xff, 0x80, 0x00])).toBe('NOT_CANONICAL');
    expect(reason([0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0])).toBe('NOT_CANONICAL'); // 1.0 as float64
    expect(reason([0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0])).toBe('NOT_CANONICAL'); // -0
    expect(reason([0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0])).toBe('MALFORMED'); // Infinity
    expect(reason([0xca, 0x3f, 0x80, 0, 0])).not.toBe('ok'); // float32
    expect(reason([0xcf, 0, 0, 0, 0, 0, 0, 0, 1])).not.toBe('ok'); // uint64
    expect(reason([0xd9, 0x01, 0x61])).toBe('NOT_CANONICAL'); // str8 for a fixstr
    expect(reason([0xa2, 0xc3, 0x28])).toBe('NOT_CANONICAL'); // not UTF-8
    expect(reason([0xa3, 0xef, 0xbb, 0xbf])).toBe('ok'); // a BOM is a character like any other
    expect(reason([0xc5, 0x00, 0x01, 0x00])).toBe('NOT_CANONICAL'); // bin16 for one byte
    expect(reason([0xdc, 0x00, 0x01, 0x00])).toBe('NOT_CANONICAL'); // array16 for one item
    expect(reason([0xdd, 0xff, 0xff, 0xff, 0xff])).toBe('MALFORMED'); // a length beyond the input
    expect(reason([0xc1])).toBe('MALFORMED');
    expect(reason([0xcc, 0x01, 0x81])).toBe('MALFORMED'); // structure wins over form
    expect(reason([...Array(16).fill(0x91), 0x90])).toBe('ok');
    expect(reason([...Array(17).fill(0x91), 0x90])).toBe('MALFORMED');
    expect(reason([])).toBe('MALFORMED');
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
        publicKey: new Uint8Array(32),
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
