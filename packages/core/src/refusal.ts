/**
 * Core's own answer to a request it ordered but did not execute: the request was signed with a
 * key that is not its agent's key in force at that point of the log (the agent was removed, or
 * its key rotated, after the request was signed). Every honest replica refuses it at the same
 * point, so the refusal is a reply like any other: f+1 matching copies settle it.
 *
 * `result = encodeCanonical(['conclave/refused/v1', code, detail])`.
 */
import { decodeCanonical, encodeCanonical } from './codec.ts';

export const REFUSAL_TAG = 'conclave/refused/v1';

/** Why core refused a request: its agent is not registered, or signed with a key no longer (or never) in force. */
export type RefusalCode = 'UNKNOWN_AGENT' | 'REVOKED_KEY';

export interface Refusal {
  readonly code: RefusalCode;
  readonly detail: string;
}

export function encodeRefusal(refusal: Refusal): Uint8Array {
  return encodeCanonical([REFUSAL_TAG, refusal.code, refusal.detail]);
}

/** The refusal a result holds, or undefined when the result is the state machine's. Never throws. */
export function decodeRefusal(result: Uint8Array): Refusal | undefined {
  const decoded = decodeCanonical(result);
  if (!decoded.ok || !Array.isArray(decoded.value) || decoded.value.length !== 3) return undefined;
  const [tag, code, detail] = decoded.value as unknown[];
  if (tag !== REFUSAL_TAG || typeof detail !== 'string') return undefined;
  return code === 'UNKNOWN_AGENT' || code === 'REVOKED_KEY' ? { code, detail } : undefined;
}
