/**
 * The per-kind figures of a faults run and their verdict against issue 15's targets: medians
 * (and maxima) of the no-ack gap and of the time to one view, and the median number of view
 * changes. Pure: it reads records, so it can be tested without a cluster.
 */
import type { FaultRecord } from './fault.ts';
import { FAULT_TARGETS, type FaultKind, gapTargetMs } from './options.ts';

export interface KindSummary {
  readonly kind: FaultKind;
  readonly count: number;
  readonly gapMsMedian: number;
  readonly gapMsMax: number;
  /** Infinity where the one-view times include faults after which one view never came back. */
  readonly oneViewMsMedian: number;
  readonly oneViewMsMax: number;
  /** Faults after which the replicas did not share one view within the bound. */
  readonly oneViewNever: number;
  /** Faults that began before the cluster had settled from the previous one. */
  readonly unsettledBefore: number;
  readonly viewChangesMedian: number;
  readonly gapTargetMs: number;
  readonly oneViewTargetMs: number;
  /** Both medians within their targets. */
  readonly pass: boolean;
  /** Fewer faults than the targets are judged over: the verdict is only indicative. */
  readonly tooFew: boolean;
}

export function summarize(kinds: readonly FaultKind[], records: readonly FaultRecord[]): KindSummary[] {
  return kinds.map((kind) =>
    summarizeKind(
      kind,
      records.filter((r) => r.kind === kind),
    ),
  );
}

function summarizeKind(kind: FaultKind, records: readonly FaultRecord[]): KindSummary {
  const gaps = records.map((r) => r.gapMs);
  // A one view that never came back counts as longer than any that did.
  const oneViews = records.map((r) => r.oneViewMs ?? Number.POSITIVE_INFINITY);
  const gapMsMedian = median(gaps);
  const oneViewMsMedian = median(oneViews);
  return {
    kind,
    count: records.length,
    gapMsMedian,
    gapMsMax: Math.max(0, ...gaps),
    oneViewMsMedian,
    oneViewMsMax: Math.max(0, ...oneViews),
    oneViewNever: records.filter((r) => r.oneViewMs === null).length,
    unsettledBefore: records.filter((r) => !r.settledBefore).length,
    viewChangesMedian: median(records.map((r) => r.viewChanges)),
    gapTargetMs: gapTargetMs(kind),
    oneViewTargetMs: FAULT_TARGETS.oneViewMs,
    pass:
      records.length > 0 && gapMsMedian <= gapTargetMs(kind) && oneViewMsMedian <= FAULT_TARGETS.oneViewMs,
    tooFew: records.length < FAULT_TARGETS.faultsJudged,
  };
}

/** The middle value; the mean of the two middle ones for an even count (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[middle] as number;
  const low = sorted[middle - 1] as number;
  const high = sorted[middle] as number;
  return (low + high) / 2;
}
