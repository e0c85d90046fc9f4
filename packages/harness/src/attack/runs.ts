/**
 * `pnpm attack --runs N`: one attack measured N times, each on a fresh cluster, judged as one.
 * These machines are shared and noisy, so the figures that measure speed and memory (throughput,
 * p99, RSS) are taken from the median run; what must hold every time (no view change, no crash,
 * a fresh agent gets in, the attack-specific check) must hold in every run. Pure.
 */
import { type AttackMeasurement, evaluate, throughputRatio, type Verdict } from './criteria.ts';

/** Criteria judged on the median run; every other criterion must pass in each run. */
const NOISY_CRITERIA: ReadonlySet<string> = new Set(['throughput', 'p99', 'rss-growth', 'rss-return']);

export interface JudgedRuns {
  /** The run whose honest throughput ratio is the median (the lower middle one for an even count). */
  readonly measurement: AttackMeasurement;
  readonly verdict: Verdict;
  /** Every run's throughput ratio, in the order run. */
  readonly throughputRatios: readonly number[];
}

export function judgeRuns(runs: readonly AttackMeasurement[]): JudgedRuns {
  if (runs.length === 0) throw new RangeError('judgeRuns needs at least one run');
  const byRatio = [...runs].sort((a, b) => throughputRatio(a) - throughputRatio(b));
  const median = byRatio[Math.floor((byRatio.length - 1) / 2)] as AttackMeasurement;
  const failed = new Set(evaluate(median).failed);
  for (const run of runs)
    for (const criterion of evaluate(run).failed) if (!NOISY_CRITERIA.has(criterion)) failed.add(criterion);
  const ordered = [...failed];
  return {
    measurement: median,
    verdict: { pass: ordered.length === 0, failed: ordered },
    throughputRatios: runs.map(throughputRatio),
  };
}
