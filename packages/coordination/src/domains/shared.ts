/**
 * What every domain of the coordination state machine shares: the context the dispatcher hands
 * each one (limits, the current log position, the event emitter), error results, sorted
 * iteration, paging, and the assertions that guard the state's own invariants.
 */
import { InvariantError } from '@conclave/core';
import type { QuotaLimitName } from '../agent-quotas.ts';

/** What an agent holds against some of its quotas, by limit name (the `list_usage` read). */
export type QuotaUsage = { readonly [K in QuotaLimitName]?: number };

import type { LogPosition } from '../evidence.ts';
import type { CoordinationLimits } from '../limits.ts';
import { compareStrings } from '../record.ts';
import type { ErrorCode, ErrorResult, EventBody, QuotaResource } from '../results.ts';

/**
 * Given by the dispatcher to every domain at construction. Domains hold no other shared state:
 * they read the position through it (it changes as batches arrive) and announce every change
 * through `emit`, which stamps the event with that position.
 */
export interface DomainContext {
  readonly limits: CoordinationLimits;
  /** The last sequence and agreed time the state has seen: the `at` of every result. */
  readonly position: () => LogPosition;
  /** Appends an event to the log, charged to `producer`'s share of it. */
  readonly emit: (body: EventBody, producer: string) => void;
  /** The per-agent limit `name` in force for `agent`: its registry override, else the global limit. */
  readonly quotaOf: (agent: string, name: QuotaLimitName) => number;
}

/** Refuses an agent's operation. Bad input is answered with this, never thrown. */
export function fail(code: ErrorCode, message: string): ErrorResult {
  return { ok: false, code, message };
}

/** Refuses an operation that would take `agent` over its quota of `resource`; the message says use and quota. */
export function quota(
  resource: QuotaResource,
  agent: string,
  used: number,
  max: number,
  limitName: keyof CoordinationLimits,
): ErrorResult {
  return {
    ok: false,
    code: 'QUOTA',
    resource,
    message: `${agent} uses ${used} of its ${resource} quota of ${max} (${limitName})`,
  };
}

/** A map's keys in the one order every replica iterates in (insertion order differs after `restore`). */
export function sortedKeys<V>(map: ReadonlyMap<string, V>): string[] {
  return [...map.keys()].sort(compareStrings);
}

/** A map's entries, sorted by key as `sortedKeys` sorts them. */
export function sortedEntries<V>(map: ReadonlyMap<string, V>): [string, V][] {
  return [...map.entries()].sort(([a], [b]) => compareStrings(a, b));
}

/**
 * A page of entries sorted by key: those strictly after `after`, at most `limit` of them, and
 * the cursor for the next page (the last key on this one; null at the end).
 */
export function pageOf<V>(
  entries: readonly (readonly [string, V])[],
  after: string | null,
  limit: number,
): { page: (readonly [string, V])[]; next: string | null } {
  const rest = after === null ? entries : entries.filter(([key]) => compareStrings(key, after) > 0);
  const page = rest.slice(0, limit);
  if (rest.length <= limit) return { page, next: null };
  return { page, next: present(page.at(-1), 'a page cut short holds an item (limit ≥ 1)')[0] };
}

/** Throws `InvariantError` when the state breaks one of its own invariants: a bug, so it crashes. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(`coordination: ${message}`);
}

/** `value`, which the state guarantees is there; throws `InvariantError` (saying which guarantee broke) if not. */
export function present<T>(value: T | undefined, message: string): T {
  invariant(value !== undefined, message);
  return value;
}
