/**
 * What a frame may declare before the decoder reads it: the largest array, the items of all
 * arrays together and the longest string any legitimate frame holds, derived from the decode
 * limits. A header beyond them is refused (`DECLARED_TOO_LARGE`) before anything is allocated,
 * so a hostile 16 MiB frame costs time linear in the bytes read, never in what it declares.
 */
import type { CanonicalBounds } from './codec.ts';
import { LIMITS } from './config.ts';
import type { DecodeLimits } from './messages.ts';

/** Fields of the longest message tuple (reply, query reply): `[type, ...6 fields]`. */
const TUPLE_FIELDS_MAX = 7;
/** `[body, signature]`: a signed message nested in a certificate or a batch. */
const SIGNED_ITEMS = 2;

/**
 * The envelope `[body, signature, batches]`: up to `entriesMax` batches, each
 * `[timestamp, [[request, signature], ...]]` with up to `batchSizeMax` requests.
 */
export function envelopeBounds(limits: DecodeLimits): CanonicalBounds {
  return memoized(envelopeCache, limits, envelopeBoundsOf);
}

/**
 * One message body `[type, ...fields]`, the nested bodies of its certificates included (each
 * decoded on its own with the same bounds). The largest is a viewChange with `entriesMax`
 * prepared certificates of `replicasMax` prepares, or a committed answer with
 * `committedBatchesPerFetchMax` entries of `replicasMax` commits.
 */
export function bodyBounds(limits: DecodeLimits): CanonicalBounds {
  return memoized(bodyCache, limits, bodyBoundsOf);
}

// Bounds are computed once per limits object: a frame decodes one body per request it carries.
const envelopeCache = new WeakMap<DecodeLimits, CanonicalBounds>();
const bodyCache = new WeakMap<DecodeLimits, CanonicalBounds>();

function memoized(
  cache: WeakMap<DecodeLimits, CanonicalBounds>,
  limits: DecodeLimits,
  compute: (limits: DecodeLimits) => CanonicalBounds,
): CanonicalBounds {
  let bounds = cache.get(limits);
  if (bounds === undefined) {
    bounds = Object.freeze(compute(limits));
    cache.set(limits, bounds);
  }
  return bounds;
}

function envelopeBoundsOf(limits: DecodeLimits): CanonicalBounds {
  const batches = limits.entriesMax;
  const requests = batches * limits.batchSizeMax;
  return {
    arrayLengthMax: Math.max(3, limits.entriesMax, limits.batchSizeMax),
    itemsMax: 3 + batches * (1 + 2) + requests * (1 + SIGNED_ITEMS),
    // No strings belong in the envelope (the agent id is inside the body), but a short one is a
    // shape error (MALFORMED) like any other wrong type; only a long one is refused unread.
    stringBytesMax: LIMITS.agentIdBytesMax,
  };
}

function bodyBoundsOf(limits: DecodeLimits): CanonicalBounds {
  const replicas = LIMITS.replicasMax;
  const entries = limits.entriesMax;
  const committed = LIMITS.committedBatchesPerFetchMax;
  const signedList = (count: number) => count * (1 + SIGNED_ITEMS);
  const viewChange =
    6 + signedList(replicas) + entries * (1 + 2 + SIGNED_ITEMS) + entries * signedList(replicas);
  const newView = 5 + signedList(replicas) + signedList(entries);
  const committedAnswer = 3 + committed * (1 + 4) + committed * signedList(replicas);
  return {
    arrayLengthMax: Math.max(TUPLE_FIELDS_MAX, entries, replicas, committed),
    itemsMax: Math.max(viewChange, newView, committedAnswer, TUPLE_FIELDS_MAX),
    stringBytesMax: LIMITS.agentIdBytesMax,
  };
}
