/**
 * What a transport counts for `stats()`: frames and bytes each way, reconnects, and every refusal
 * under its reason. Shared by both implementations so they count the same things the same way.
 */
import { zeroRejections } from './directory.ts';
import type { PeerId, PeerQueueStats, RejectReason, TransportStats } from './transport.ts';

export class Tally {
  readonly #counters = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, reconnects: 0 };
  readonly #rejected = zeroRejections();

  /** Counts `count` refused frames, connections or sends under `reason`. */
  reject(reason: RejectReason, count = 1): void {
    this.#rejected[reason] += count;
  }

  /** A frame of `bytes` was delivered to this transport's handlers. */
  frameIn(bytes: number): void {
    this.#counters.framesIn++;
    this.#counters.bytesIn += bytes;
  }

  /** A frame of `bytes` left for its peer. */
  frameOut(bytes: number): void {
    this.#counters.framesOut++;
    this.#counters.bytesOut += bytes;
  }

  reconnect(): void {
    this.#counters.reconnects++;
  }

  /** The counts so far (copies), with the queue and connection figures the implementation reads off its state. */
  stats(
    queues: Record<PeerId, PeerQueueStats>,
    connections: number,
    handshakesPending: number,
  ): TransportStats {
    return { ...this.#counters, rejected: { ...this.#rejected }, queues, connections, handshakesPending };
  }
}
