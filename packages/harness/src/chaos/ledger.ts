/**
 * The chaos run's record of writes: what every agent tried, what was acknowledged (f+1 matching
 * replies), how long it took, and how writes failed. The durability check reads it back.
 */
import { ConclaveError } from '@conclave/sdk';

/** What every agent wrote: the last acknowledged value per key, and what it tried after that. */
export class WriteLedger {
  readonly acknowledged = new Map<string, string>();
  /** Values written to the key after its last acknowledgement (they may have executed, unacknowledged). */
  readonly attemptedSinceAck = new Map<string, Set<string>>();
  attempted = 0;
  acks = 0;
  timedOut = 0;
  readonly failedByCode: Record<string, number> = {};
  readonly latenciesMs: number[] = [];
  readonly ackTimesMs: number[] = [];
  readonly wrongResults: string[] = [];

  attempt(key: string, value: string): void {
    this.attempted++;
    const since = this.attemptedSinceAck.get(key) ?? new Set<string>();
    since.add(value);
    this.attemptedSinceAck.set(key, since);
  }

  acknowledge(key: string, value: string, latencyMs: number, atMs: number): void {
    this.acks++;
    this.acknowledged.set(key, value);
    this.attemptedSinceAck.set(key, new Set());
    this.latenciesMs.push(latencyMs);
    this.ackTimesMs.push(atMs);
  }

  fail(error: unknown): void {
    const code = error instanceof ConclaveError ? error.code : 'UNEXPECTED';
    if (code === 'TIMEOUT') this.timedOut++;
    else this.failedByCode[code] = (this.failedByCode[code] ?? 0) + 1;
  }

  /** Values the key may hold now: the acknowledged one, or one written after it. */
  allowed(key: string): Set<string> {
    const value = this.acknowledged.get(key);
    return new Set([...(value === undefined ? [] : [value]), ...(this.attemptedSinceAck.get(key) ?? [])]);
  }
}
