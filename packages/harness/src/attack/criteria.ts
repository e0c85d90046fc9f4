/**
 * The PASS criteria of `pnpm attack` (issue 14, Aardvark's bar): what one attack's measurements
 * must show for the honest agent to count as unharmed. Pure: no clocks, no processes.
 */

/** The honest agent keeps at least this share of its baseline throughput under attack. */
export const THROUGHPUT_RATIO_MIN = 0.7;
/** Its p99 latency under attack stays within this multiple of its baseline p99. */
export const P99_RATIO_MAX = 3;
/** The largest replica's RSS grows by at most this much during the attack. */
export const RSS_GROWTH_MB_MAX = 50;
/**
 * …and within RSS_RETURN_WAIT_MS after the attack ends it is back within this much of where it
 * started (V8 rarely hands every page back, so "returns" allows some slack).
 */
export const RSS_RESIDUAL_MB_MAX = 25;
export const RSS_RETURN_WAIT_MS = 10_000;
/** A fresh honest agent connects and completes one write within this, during the attack. */
export const FRESH_WRITE_MS_MAX = 2_000;

/** What one attack run measured; null where a figure could not be taken. */
export interface AttackMeasurement {
  readonly attack: string;
  readonly baseline: WindowFigures;
  readonly during: WindowFigures;
  /** Views moved during the run, the largest over replicas. */
  readonly viewChanges: number;
  readonly rssMb: { readonly before: number; readonly peak: number; readonly after: number };
  /** Connect + one write by a fresh agent during the attack; null when it did not complete. */
  readonly freshWriteMs: number | null;
  /** Replicas whose process exited during the run. */
  readonly crashedReplicas: readonly number[];
  /** The attack-specific check: undefined when the attack has none, else a failure or null for success. */
  readonly specific: { readonly name: string; readonly failure: string | null } | undefined;
  /** What the attacker process reported (counts of what it sent, refusals seen…). */
  readonly attacker: Readonly<Record<string, number | string>>;
}

/** The honest agent's closed loop over one window. */
export interface WindowFigures {
  readonly seconds: number;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Honest writes that failed (timeouts, refusals) in the window. */
  readonly errors: number;
}

export interface Verdict {
  readonly pass: boolean;
  /** Short names of the criteria that failed, e.g. `throughput`, `p99`, `rss-growth`. */
  readonly failed: readonly string[];
}

/** Honest throughput under attack relative to the baseline; 0 when there was no baseline. */
export function throughputRatio(m: Pick<AttackMeasurement, 'baseline' | 'during'>): number {
  return m.baseline.opsPerSec > 0 ? m.during.opsPerSec / m.baseline.opsPerSec : 0;
}

/** p99 under attack relative to the baseline p99; Infinity when nothing completed under attack. */
export function p99Ratio(m: Pick<AttackMeasurement, 'baseline' | 'during'>): number {
  if (m.during.ops === 0) return Number.POSITIVE_INFINITY;
  return m.baseline.p99Ms > 0 ? m.during.p99Ms / m.baseline.p99Ms : Number.POSITIVE_INFINITY;
}

/** Every criterion of the issue, each named when it fails. */
export function evaluate(m: AttackMeasurement): Verdict {
  const failed: string[] = [];
  if (m.baseline.ops === 0) failed.push('no-baseline');
  if (throughputRatio(m) < THROUGHPUT_RATIO_MIN) failed.push('throughput');
  if (p99Ratio(m) > P99_RATIO_MAX) failed.push('p99');
  if (m.viewChanges !== 0) failed.push('view-change');
  if (m.rssMb.peak - m.rssMb.before > RSS_GROWTH_MB_MAX) failed.push('rss-growth');
  if (m.rssMb.after - m.rssMb.before > RSS_RESIDUAL_MB_MAX) failed.push('rss-return');
  if (m.freshWriteMs === null || m.freshWriteMs > FRESH_WRITE_MS_MAX) failed.push('fresh-agent');
  if (m.crashedReplicas.length > 0) failed.push('crash');
  if (m.specific !== undefined && m.specific.failure !== null) failed.push(m.specific.name);
  return { pass: failed.length === 0, failed };
}

/** Nearest-rank percentile of ascending values (p in [0, 1]); 0 for no values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** The figures of one window from the latencies of the writes that completed in it. */
export function windowFigures(
  latenciesMs: readonly number[],
  seconds: number,
  errors: number,
): WindowFigures {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    seconds,
    ops: sorted.length,
    opsPerSec: seconds > 0 ? sorted.length / seconds : 0,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    errors,
  };
}
