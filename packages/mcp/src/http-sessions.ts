/**
 * The table of open Streamable HTTP sessions: when each was last used, which have been idle long
 * enough to expire, and which yields to a new client when the table is full. A client that goes
 * away without saying so must not hold a place until restart.
 */

/** Streamable HTTP sessions open at once at most. */
export const HTTP_SESSIONS_MAX = 32;
/** A session unused this long is closed (`sessionIdleMs` overrides). */
export const HTTP_SESSION_IDLE_MS_DEFAULT = 10 * 60 * 1000;
/**
 * When the table is full, the session idle longest is closed for a new client, but only if idle
 * at least this long: a burst of new clients cannot push out sessions that are in use.
 */
export const HTTP_SESSION_YIELD_IDLE_MS_MIN = 5_000;

/** One open session; `T` is what the server keeps for it (its transport and McpServer). */
export interface SessionEntry<T> {
  readonly id: string;
  readonly value: T;
  /** When a request for it last started or ended. */
  lastActiveMs: number;
  /** POSTs in flight: a session answering a call is not idle, however long the call takes. */
  busy: number;
}

export interface SessionTableOptions {
  readonly sessionsMax: number;
  readonly idleMs: number;
  readonly yieldIdleMsMin: number;
  readonly now: () => number;
}

export class SessionTable<T> {
  readonly #entries = new Map<string, SessionEntry<T>>();

  constructor(readonly options: SessionTableOptions) {}

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): SessionEntry<T> | undefined {
    return this.#entries.get(id);
  }

  add(id: string, value: T): void {
    this.#entries.set(id, { id, value, lastActiveMs: this.options.now(), busy: 0 });
  }

  /** Removes a session; false when it was not there (already expired or evicted). */
  remove(id: string): boolean {
    return this.#entries.delete(id);
  }

  /** Marks a session used now. */
  touch(entry: SessionEntry<T>): void {
    entry.lastActiveMs = this.options.now();
  }

  /** How long a session has been idle: 0 while a call is in flight. */
  idleMs(entry: SessionEntry<T>): number {
    return entry.busy > 0 ? 0 : this.options.now() - entry.lastActiveMs;
  }

  /** Removes and returns the sessions idle at least `idleMs`, for the caller to close. */
  takeExpired(): SessionEntry<T>[] {
    const expired = [...this.#entries.values()].filter((entry) => this.idleMs(entry) >= this.options.idleMs);
    for (const entry of expired) this.#entries.delete(entry.id);
    return expired;
  }

  /**
   * Room for one more session, `reserved` counting those still being initialized. When full,
   * removes and returns the sessions idle longest (for the caller to close), each idle at least
   * `yieldIdleMsMin`; `full` when not enough may yield (then nothing is removed).
   */
  makeRoom(reserved: number): { ok: true; evicted: SessionEntry<T>[] } | { ok: false } {
    const excess = this.#entries.size + reserved + 1 - this.options.sessionsMax;
    if (excess <= 0) return { ok: true, evicted: [] };
    const yielding = [...this.#entries.values()]
      .filter((entry) => this.idleMs(entry) >= this.options.yieldIdleMsMin)
      .sort((a, b) => this.idleMs(b) - this.idleMs(a))
      .slice(0, excess);
    if (yielding.length < excess) return { ok: false };
    for (const entry of yielding) this.#entries.delete(entry.id);
    return { ok: true, evicted: yielding };
  }

  /** Removes and returns every session. */
  takeAll(): SessionEntry<T>[] {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    return all;
  }
}
