/**
 * The agreement sampler: polls every replica's GET /status all through a chaos run and remembers,
 * per executed sequence, the first state digest reported; a different digest at the same
 * sequence from another replica is a disagreement.
 */
import type { DaemonStatus } from '@conclave/node';
import { CHAOS_LIMITS } from './chaos-options.ts';

/** Polls GET /status of every replica; remembers each executed sequence's digest and who reported it. */
export class StatusSampler {
  readonly digests = new Map<number, { digest: string; replica: number }>();
  readonly disagreements: string[] = [];
  samples = 0;
  highestView = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  readonly #statuses: () => Promise<(DaemonStatus | undefined)[]>;

  /** `statuses` asks every replica for GET /status (undefined: no answer). */
  constructor(statuses: () => Promise<(DaemonStatus | undefined)[]>) {
    this.#statuses = statuses;
  }

  start(): void {
    this.#timer = setInterval(() => void this.poll(), CHAOS_LIMITS.statusPollMs);
  }

  async poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const statuses = await this.#statuses();
      for (const status of statuses) {
        if (status === undefined) continue;
        this.samples++;
        this.highestView = Math.max(this.highestView, status.view);
        this.record(status.id, status.executedSequence, status.stateDigest);
      }
    } finally {
      this.#polling = false;
    }
  }

  record(replica: number, sequence: number, digest: string): void {
    const seen = this.digests.get(sequence);
    if (seen === undefined) {
      if (this.digests.size < CHAOS_LIMITS.sequencesTrackedMax)
        this.digests.set(sequence, { digest, replica });
      return;
    }
    if (seen.digest !== digest && this.disagreements.length < 20) {
      this.disagreements.push(
        `at executed sequence ${sequence}: replica ${seen.replica} had digest ${seen.digest.slice(0, 16)}…, replica ${replica} had ${digest.slice(0, 16)}…`,
      );
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
