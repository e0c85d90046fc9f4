/**
 * Cheap checks before expensive work: a frame's headers are checked against what a legitimate
 * frame can hold before the decoder reads or allocates what they declare. Each hostile frame
 * here carries every byte its headers declare (so "length <= bytes left" alone lets it through),
 * and the bytes after the hostile header are ones that would fail if read (0xc1, the reserved
 * byte, or invalid UTF-8): a decoder that read them first would answer MALFORMED or
 * NOT_CANONICAL, not DECLARED_TOO_LARGE.
 */
import { describe, expect, it } from 'vitest';
import {
  type Batch,
  bodyBounds,
  type Checkpoint,
  type Commit,
  DEFAULT_DECODE_LIMITS,
  decodeCanonical,
  decodeFrame,
  encodeBody,
  encodeCanonical,
  encodeFrame,
  envelopeBounds,
  LIMITS,
  MessageType,
  makeBatch,
  nodeCrypto,
  type PrePrepare,
  type Prepare,
  type Request,
  type Signed,
  type ViewChange,
} from '../src/index.ts';
import { TestCluster } from './support/cluster.ts';

const crypto = nodeCrypto();
const limits = DEFAULT_DECODE_LIMITS;
const RESERVED = 0xc1;

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
function header32(type: number, length: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, length);
  return out;
}
/** `[body, zero signature, []]` around raw body bytes. */
function frameAround(body: Uint8Array): Uint8Array {
  return encodeCanonical([body, new Uint8Array(64), []]);
}
function signed<B extends Signed['body']>(body: B): Signed<B> {
  return { body, bytes: encodeBody(body), signature: new Uint8Array(64) };
}

describe('hostile headers are refused before what they declare is read', () => {
  it('a huge array header as the whole frame', () => {
    const declared = 1 << 20;
    const frame = concat(header32(0xdd, declared), new Uint8Array(declared).fill(RESERVED));
    const decoded = decodeFrame(frame, limits, crypto.hash);
    expect(decoded).toEqual({
      ok: false,
      reason: 'DECLARED_TOO_LARGE',
      detail: `array of ${declared} items, at most ${envelopeBounds(limits).arrayLengthMax}`,
    });
  });

  it('one item over the largest legitimate array inside a body', () => {
    const bounds = bodyBounds(limits);
    const declared = bounds.arrayLengthMax + 1;
    // A viewChange whose prepared list declares one more entry than any list a body may hold.
    const body = concat(
      Uint8Array.of(0x96, MessageType.viewChange, 1, 0, 0x90, 0xdc, 0, declared),
      new Uint8Array(declared).fill(RESERVED),
      Uint8Array.of(0),
    );
    const decoded = decodeFrame(frameAround(body), limits, crypto.hash);
    expect(decoded).toMatchObject({ ok: false, reason: 'DECLARED_TOO_LARGE' });
  });

  it('many arrays each within bounds, adding up beyond the items a frame may hold', () => {
    // 3 levels of 60-item arrays: 216,000 zero fixints, no array longer than a legitimate batch.
    // Each is well formed, so a decoder without a total would build them all and answer MALFORMED
    // on the frame's shape only afterwards.
    const leaf = concat(Uint8Array.of(0xdc, 0, 60), new Uint8Array(60));
    const level = (child: Uint8Array) =>
      concat(Uint8Array.of(0xdc, 0, 60), ...Array<Uint8Array>(60).fill(child));
    const frame = level(level(leaf));
    const bounds = envelopeBounds(limits);
    expect(60).toBeLessThanOrEqual(bounds.arrayLengthMax);
    const decoded = decodeFrame(frame, limits, crypto.hash);
    expect(decoded).toMatchObject({ ok: false, reason: 'DECLARED_TOO_LARGE' });
    expect(decoded.ok === false && decoded.detail).toMatch(/in all, at most/);
  });

  it('a huge string header where the agent id goes', () => {
    const declared = 1 << 20;
    // Invalid UTF-8 all along: a decoder that read the string would answer NOT_CANONICAL.
    const body = concat(
      Uint8Array.of(0x94, MessageType.request),
      header32(0xdb, declared),
      new Uint8Array(declared).fill(0xff),
      Uint8Array.of(1, 0xc4, 0),
    );
    expect(decodeFrame(frameAround(body), limits, crypto.hash)).toEqual({
      ok: false,
      reason: 'DECLARED_TOO_LARGE',
      detail: `string of ${declared} bytes, at most ${LIMITS.agentIdBytesMax}`,
    });
  });

  it('a huge map header is refused at its type byte', () => {
    const frame = concat(header32(0xdf, 1 << 16), new Uint8Array(2 << 16));
    expect(decodeFrame(frame, limits, crypto.hash)).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('nesting far beyond the depth bound is refused without recursing through it', () => {
    const frame = new Uint8Array(100_000).fill(0x91); // [[[[...]]]]: one-item arrays all the way down
    expect(decodeFrame(frame, limits, crypto.hash)).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  it('a replica counts the refusal under DECLARED_TOO_LARGE and says what was declared', () => {
    const c = new TestCluster();
    const declared = 1 << 20;
    const out = c.inject(1, concat(header32(0xdd, declared), new Uint8Array(declared)));
    expect(out.rejected.map((r) => r.code)).toEqual(['DECLARED_TOO_LARGE']);
    expect(out.rejected[0]?.detail).toContain(`array of ${declared} items`);
    expect(c.replicas[1]!.rejections().DECLARED_TOO_LARGE).toBe(1);
  });
});

describe('the bounds admit the largest legitimate frames', () => {
  const digest = new Uint8Array(32).fill(7);

  it('entriesMax batches of batchSizeMax requests', () => {
    const request = (i: number) =>
      signed<Request>({
        type: MessageType.request,
        agent: 'a',
        requestId: i,
        operation: new Uint8Array(1),
        publicKey: new Uint8Array(32),
      });
    const batches: Batch[] = Array.from({ length: limits.entriesMax }, (_, b) =>
      makeBatch(
        b,
        Array.from({ length: limits.batchSizeMax }, (_, i) => request(b * limits.batchSizeMax + i)),
        crypto.hash,
      ),
    );
    const prePrepare = signed<PrePrepare>({
      type: MessageType.prePrepare,
      view: 0,
      sequence: 1,
      digest,
      replica: 0,
    });
    const decoded = decodeFrame(encodeFrame(prePrepare, batches), limits, crypto.hash);
    expect(decoded.ok && decoded.value.batches.length).toBe(limits.entriesMax);
    expect(decoded.ok && decoded.value.batches.every((b) => b.requests.length === limits.batchSizeMax)).toBe(
      true,
    );
  });

  it('a viewChange with replicasMax checkpoints and entriesMax prepared certificates of replicasMax prepares', () => {
    const vote = (replica: number) =>
      signed<Prepare>({ type: MessageType.prepare, view: 0, sequence: 1, digest, replica });
    const viewChange = signed<ViewChange>({
      type: MessageType.viewChange,
      newView: 1,
      stableSequence: 0,
      checkpointProof: Array.from({ length: LIMITS.replicasMax }, (_, replica) =>
        signed<Checkpoint>({ type: MessageType.checkpoint, sequence: 16, stateDigest: digest, replica }),
      ),
      prepared: Array.from({ length: limits.entriesMax }, () => ({
        prePrepare: signed<PrePrepare>({
          type: MessageType.prePrepare,
          view: 0,
          sequence: 1,
          digest,
          replica: 0,
        }),
        prepares: Array.from({ length: LIMITS.replicasMax }, (_, r) => vote(r)),
      })),
      replica: 1,
    });
    const decoded = decodeFrame(encodeFrame(viewChange), limits, crypto.hash);
    expect(decoded.ok).toBe(true);
  });

  it('a committed answer of committedBatchesPerFetchMax entries of replicasMax commits', () => {
    const commit = (replica: number) =>
      signed<Commit>({ type: MessageType.commit, view: 0, sequence: 1, digest, replica });
    const committed = signed({
      type: MessageType.committed,
      entries: Array.from({ length: LIMITS.committedBatchesPerFetchMax }, (_, i) => ({
        sequence: i + 1,
        view: 0,
        digest,
        commits: Array.from({ length: LIMITS.replicasMax }, (_, r) => commit(r)),
      })),
      replica: 1,
    });
    expect(decodeFrame(encodeFrame(committed), limits, crypto.hash).ok).toBe(true);
  });

  it('decodeCanonical without bounds still decodes large arrays (snapshots, operations)', () => {
    const large = Array.from({ length: 10_000 }, (_, i) => i);
    expect(decodeCanonical(encodeCanonical(large))).toEqual({ ok: true, value: large });
  });
});
