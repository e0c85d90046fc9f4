/**
 * A token bucket on an injected clock (milliseconds), so tests run on virtual time and only the
 * daemon reads the wall clock. A cost larger than the whole bucket is still let through once the
 * bucket is full, leaving it in debt: big frames pass, and the average rate stays the rate.
 */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #capacity: number;
  #tokens: number;
  #at: number;

  constructor(ratePerSecond: number, capacity: number, nowMs: number) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#capacity = capacity;
    this.#tokens = capacity;
    this.#at = nowMs;
  }

  /** Whether `cost` may be taken now (nothing is taken). */
  allows(cost: number, nowMs: number): boolean {
    this.#refill(nowMs);
    return this.#tokens >= Math.min(cost, this.#capacity);
  }

  /** Takes `cost`; call after `allows` said yes (the bucket may go into debt). */
  take(cost: number): void {
    this.#tokens -= cost;
  }

  #refill(nowMs: number): void {
    // A clock that goes backwards refills nothing rather than draining.
    const elapsedMs = Math.max(0, nowMs - this.#at);
    this.#at = Math.max(this.#at, nowMs);
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsedMs * this.#ratePerMs);
  }
}
