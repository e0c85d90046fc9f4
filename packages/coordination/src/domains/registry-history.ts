/**
 * Key intervals of one agent record, kept oldest first: at most one open (`until` null, the
 * current key), always last; intervals never overlap and are in sequence order. These helpers
 * return new arrays; the registry replaces a record's history with their result.
 */
import { bytesEqual } from '@conclave/core';
import type { KeyInterval } from '../key-history.ts';

/** The open interval's key: the agent's current key, or undefined when it is removed. */
export function currentKey(keys: readonly KeyInterval[]): Uint8Array | undefined {
  const last = keys.at(-1);
  return last !== undefined && last.until === null ? last.publicKey : undefined;
}

/**
 * Ends the open interval at `until` (the first sequence it no longer covers). One opened at
 * `until` itself (changed twice in one sequence) was never in force: it is dropped, so every
 * interval kept covers at least one sequence.
 */
export function closeCurrent(keys: readonly KeyInterval[], until: number): KeyInterval[] {
  return keys
    .map((k) => (k.until === null ? { ...k, until } : k))
    .filter((k) => k.until === null || k.from < k.until);
}

/**
 * Opens `publicKey` from `from` on (ending the current key there, if any), then drops the
 * oldest closed intervals beyond `max`: the bounded part of the history.
 */
export function openKey(
  keys: readonly KeyInterval[],
  publicKey: Uint8Array,
  from: number,
  max: number,
): KeyInterval[] {
  const next = [...closeCurrent(keys, from), { publicKey, from, until: null }];
  return next.slice(Math.max(0, next.length - max));
}

/** Whether `publicKey` appears anywhere in the history. */
export function usesKey(keys: readonly KeyInterval[], publicKey: Uint8Array): boolean {
  return keys.some((k) => bytesEqual(k.publicKey, publicKey));
}
