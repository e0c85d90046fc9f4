/**
 * Time in a chaos run: milliseconds since the chaos phase began, on the monotonic clock. The
 * schedule's times, the log's `t=` stamps and the acknowledgement times are all read from it.
 */
import { performance } from 'node:perf_hooks';

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, Math.max(0, ms)));

export class ChaosClock {
  #startedAt = 0;

  /** Marks the start of the chaos phase: time 0. */
  begin(): void {
    this.#startedAt = performance.now();
  }

  /** When the chaos phase began, on `performance.now()`'s clock. */
  get startedAt(): number {
    return this.#startedAt;
  }

  elapsedMs(): number {
    return performance.now() - this.#startedAt;
  }

  /** Seconds since the chaos began, padded for the log's `t=` column. */
  stamp(): string {
    return ((performance.now() - this.#startedAt) / 1000).toFixed(1).padStart(6);
  }

  /** Waits until `atMs` after the chaos began (at once if that is past). */
  sleepUntil(atMs: number): Promise<void> {
    return sleep(this.#startedAt + atMs - performance.now());
  }
}
