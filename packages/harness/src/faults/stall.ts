/**
 * The stall a fault caused, from the times writes were acknowledged: the longest stretch with
 * no acknowledgement inside the fault's window. Pure, so it can be tested on made-up times.
 */

export interface Stall {
  /** The longest interval between consecutive acknowledgements, clipped to the window. */
  readonly longestMs: number;
  /** When that interval ended: the acknowledgement with which writes resumed (or the window's end). */
  readonly endedAtMs: number;
  /** Acknowledgements inside the window. */
  readonly acks: number;
}

/**
 * The longest gap between consecutive times of `ackTimesMs` (sorted ascending) within
 * [fromMs, toMs]. The gap that straddles `fromMs` counts from `fromMs` (what came before the
 * fault is not the fault's doing), and one still open at `toMs` counts up to `toMs`.
 */
export function stallIn(ackTimesMs: readonly number[], fromMs: number, toMs: number): Stall {
  let previous = fromMs;
  let longestMs = 0;
  let endedAtMs = fromMs;
  let acks = 0;
  for (let i = firstAfter(ackTimesMs, fromMs); i < ackTimesMs.length; i++) {
    const t = ackTimesMs[i] as number;
    if (t > toMs) break;
    acks++;
    if (t - previous > longestMs) {
      longestMs = t - previous;
      endedAtMs = t;
    }
    previous = t;
  }
  if (toMs - previous > longestMs) {
    longestMs = toMs - previous;
    endedAtMs = toMs;
  }
  return { longestMs, endedAtMs, acks };
}

/** The index of the first time after `ms` (binary search: the ledger holds every ack of the run). */
function firstAfter(sorted: readonly number[], ms: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as number) <= ms) low = middle + 1;
    else high = middle;
  }
  return low;
}
