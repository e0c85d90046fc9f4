/**
 * The batches seen on the wire: every batch a replica (honest or not) put in a pre-prepare,
 * view change, new view or committed message, by digest. The validity checker compares what
 * replicas executed against these, so it can tell a batch that was proposed from one made up.
 */
import { type Batch, type DecodeLimits, decodeFrame, MessageType, toHex } from '@conclave/core';
import type { BatchRecord } from './record.ts';

/** Batches observed on the network and kept for the validity checker. */
export const OBSERVED_BATCHES_MAX = 100_000;

type Hash = (data: Uint8Array) => Uint8Array;

const BATCH_CARRYING_TYPES: ReadonlySet<number> = new Set([
  MessageType.prePrepare,
  MessageType.viewChange,
  MessageType.newView,
  MessageType.committed,
]);

export class BatchLog {
  /** Digest (hex) → the batch, in the order first seen. */
  readonly batches = new Map<string, BatchRecord>();
  readonly #decodeLimits: DecodeLimits;
  readonly #hash: Hash;
  readonly #onBatch: ((digest: string, batch: Batch) => void) | undefined;

  /** `onBatch` sees each batch the first time it is seen (the sealed checkers' operations). */
  constructor(decodeLimits: DecodeLimits, hash: Hash, onBatch?: (digest: string, batch: Batch) => void) {
    this.#decodeLimits = decodeLimits;
    this.#hash = hash;
    this.#onBatch = onBatch;
  }

  /** Reads the batches out of one message leaving a replica (once per message, not per copy). */
  observe(out: { readonly type: MessageType | 0; readonly frame: Uint8Array }): void {
    if (!BATCH_CARRYING_TYPES.has(out.type) || this.batches.size >= OBSERVED_BATCHES_MAX) return;
    const decoded = decodeFrame(out.frame, this.#decodeLimits, this.#hash);
    if (!decoded.ok) return;
    for (const batch of decoded.value.batches) {
      const digest = toHex(batch.digest);
      if (this.batches.has(digest)) continue;
      this.batches.set(digest, {
        digest,
        timestamp: batch.timestamp,
        requests: batch.requests.map((request) => ({
          agent: request.body.agent,
          requestId: request.body.requestId,
          digest: toHex(this.#hash(request.bytes)),
          publicKey: toHex(request.body.publicKey),
        })),
      });
      this.#onBatch?.(digest, batch);
    }
  }
}
