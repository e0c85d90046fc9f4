/**
 * What an operation may declare before `decodeOperation` reads it: the largest array, the items
 * of all arrays together and the longest string of the largest legitimate operation under a
 * set of limits, with room to spare (`SLACK`). A header beyond them (say, an array of 2^24 items, with the bytes present) is
 * refused by core's decoder (`DECLARED_TOO_LARGE`) before anything is allocated, so a hostile
 * operation costs time linear in the bytes read, never in what it declares.
 */
import type { CanonicalBounds } from '@conclave/core';
import type { CoordinationLimits } from './limits.ts';
import { AGENT_ID_BYTES_MAX } from './validate.ts';

/** Fields of the longest operation tuple, `propose`: `[name, id, title, rule, voters, deadline, candidates, sealed]`. */
const TUPLE_FIELDS_MAX = 8;
/** Sealed terms: `[commitDeadline, missingReveal]`. */
const SEALED_FIELDS = 2;
/** A score rule: `[kind, aggregate, trimPermille, minBallots]`. */
const RULE_FIELDS_MAX = 4;
/** A voter: `[agent, weight]`. */
const VOTER_FIELDS = 2;
/** The longest fixed string an operation holds: an operation name (`list_proposals`) or a rule word. */
const NAME_BYTES_MAX = 16;
/**
 * Headers may declare up to twice the largest legitimate operation: one just over a field's limit
 * then reaches validation, which names the field and its bound (as the SDK and MCP do), while a
 * hostile size is still refused unread.
 */
const SLACK = 2;

// Computed once per limits object: a replica decodes every operation with the same one.
const cache = new WeakMap<CoordinationLimits, CanonicalBounds>();

/** The bounds of the largest legitimate operation under `limits`; the same object for the same limits. */
export function operationBounds(limits: CoordinationLimits): CanonicalBounds {
  let bounds = cache.get(limits);
  if (bounds === undefined) {
    bounds = Object.freeze(boundsOf(limits));
    cache.set(limits, bounds);
  }
  return bounds;
}

function boundsOf(l: CoordinationLimits): CanonicalBounds {
  const propose =
    TUPLE_FIELDS_MAX + RULE_FIELDS_MAX + SEALED_FIELDS + l.votersMax * (1 + VOTER_FIELDS) + l.candidatesMax;
  const kvPut = 4 + l.kvWritersMax;
  return {
    arrayLengthMax: SLACK * Math.max(TUPLE_FIELDS_MAX, l.votersMax, l.candidatesMax, l.kvWritersMax),
    itemsMax: SLACK * Math.max(propose, kvPut),
    stringBytesMax:
      SLACK *
      Math.max(
        NAME_BYTES_MAX,
        AGENT_ID_BYTES_MAX,
        l.proposalIdBytesMax,
        l.titleBytesMax,
        l.candidateBytesMax,
        l.kvKeyBytesMax,
        l.lockNameBytesMax,
        l.taskIdBytesMax,
      ),
  };
}
