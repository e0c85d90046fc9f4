/**
 * Micro-measure, not a test: how long decoding one hostile 16 MiB frame takes and how much heap
 * it leaves behind, per shape. Run: `node --expose-gc --import tsx packages/core/scripts/hostile-frames.ts`.
 * Every frame fits the 16 MiB frame bound and carries all the bytes its headers declare.
 */
import {
  DEFAULT_DECODE_LIMITS,
  decodeFrame,
  encodeBody,
  encodeCanonical,
  encodeFrame,
  LIMITS,
  MessageType,
  makeBatch,
  nodeCrypto,
  type PrePrepare,
  type Request,
  type Signed,
} from '../src/index.ts';

const FRAME_BYTES = LIMITS.frameBytesMax;
const crypto = nodeCrypto();

function header32(type: number, length: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, length);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** array32 declaring n items, then n zero bytes (n positive fixints). */
function hugeArray(): Uint8Array {
  const n = FRAME_BYTES - 5;
  return concat([header32(0xdd, n), new Uint8Array(n)]);
}

/** Four levels of 60-item arrays: 60^4 ≈ 13M fixints, no array longer than a legitimate batch. */
function manyArrays(): Uint8Array {
  const leaf = concat([Uint8Array.of(0xdc, 0, 60), new Uint8Array(60)]);
  const level = (child: Uint8Array) => concat([Uint8Array.of(0xdc, 0, 60), ...Array(60).fill(child)]);
  return level(level(level(leaf)));
}

/** A frame whose body declares a ~16 MiB string where the agent id goes. */
function hugeString(): Uint8Array {
  const length = FRAME_BYTES - 128;
  const body = concat([
    Uint8Array.of(0x94, 1),
    header32(0xdb, length),
    new Uint8Array(length).fill(0x61),
    Uint8Array.of(1, 0xc4, 0),
  ]);
  return concat([
    Uint8Array.of(0x93),
    header32(0xc6, body.byteLength),
    body,
    encodeCanonical([new Uint8Array(64), []]).subarray(1),
  ]);
}

/**
 * The worst a well-formed frame can ask of the decoder: a prePrepare with 64 batches of 64
 * requests of ~4 KiB, near 16 MiB. Every request body is hashed for its batch's digest before
 * any signature is checked: linear in the bytes, and the baseline the hostile shapes compare to.
 */
function fullBatches(): Uint8Array {
  const { batchSizeMax, entriesMax } = DEFAULT_DECODE_LIMITS;
  const operationBytes = Math.floor(FRAME_BYTES / (entriesMax * batchSizeMax)) - 128;
  const signed = <B extends Signed['body']>(body: B): Signed<B> => ({
    body,
    bytes: encodeBody(body),
    signature: new Uint8Array(64),
  });
  const request = (requestId: number) =>
    signed<Request>({
      type: MessageType.request,
      agent: 'a',
      requestId,
      operation: new Uint8Array(operationBytes),
      publicKey: new Uint8Array(32),
    });
  const batches = Array.from({ length: entriesMax }, (_, b) =>
    makeBatch(
      b,
      Array.from({ length: batchSizeMax }, (_, i) => request(b * batchSizeMax + i)),
      crypto.hash,
    ),
  );
  const digest = new Uint8Array(32);
  return encodeFrame(
    signed<PrePrepare>({ type: MessageType.prePrepare, view: 0, sequence: 1, digest, replica: 0 }),
    batches,
  );
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

for (const [name, make] of [
  ['huge array header', hugeArray],
  ['many 60-item arrays', manyArrays],
  ['huge string in body', hugeString],
  ['well-formed: 64 x 64 requests of ~4 KiB', fullBatches],
] as const) {
  const frame = make();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const decoded = decodeFrame(frame, DEFAULT_DECODE_LIMITS, crypto.hash);
  const ms = performance.now() - started;
  const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  const outcome = decoded.ok ? 'accepted' : decoded.reason;
  console.log(
    `${name}: ${frame.byteLength} bytes, ${outcome}, ${ms.toFixed(1)} ms, heap +${heapMiB.toFixed(1)} MiB`,
  );
}
