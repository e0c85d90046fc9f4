/**
 * How `pnpm attack` prints its results: one fixed-width row per attack, and a last line
 * `N passed, M failed`. Pure: takes measurements and verdicts, returns text.
 */
import { type AttackMeasurement, evaluate, throughputRatio, type Verdict } from './criteria.ts';
import { judgeRuns } from './runs.ts';

export interface AttackRow {
  /** The run shown: the only one, or the median of several (`runs.ts`). */
  readonly measurement: AttackMeasurement;
  readonly verdict: Verdict;
  /** With `--runs` above 1: every run's honest throughput ratio, in the order run. */
  readonly throughputRatios?: readonly number[];
}

/** A measured attack with its verdict. */
export function rowOf(measurement: AttackMeasurement): AttackRow {
  return { measurement, verdict: evaluate(measurement) };
}

/** An attack measured several times, judged as `judgeRuns` says. */
export function rowOfRuns(runs: readonly AttackMeasurement[]): AttackRow {
  if (runs.length === 1) return rowOf(runs[0] as AttackMeasurement);
  return judgeRuns(runs);
}

const HEADER = [
  'attack',
  'ops/s before→during (ratio)',
  'p50 ms before→during',
  'p99 ms before→during',
  'views',
  'RSS MB before/peak/after',
  'fresh ms',
  'result',
] as const;

const n0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '∞');
const n1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '∞');

function cells(row: AttackRow): string[] {
  const m = row.measurement;
  return [
    m.attack,
    `${n1(m.baseline.opsPerSec)}→${n1(m.during.opsPerSec)} (${throughputRatio(m).toFixed(2)})`,
    `${n1(m.baseline.p50Ms)}→${n1(m.during.p50Ms)}`,
    `${n1(m.baseline.p99Ms)}→${n1(m.during.p99Ms)}`,
    String(m.viewChanges),
    `${n0(m.rssMb.before)}/${n0(m.rssMb.peak)}/${n0(m.rssMb.after)}`,
    m.freshWriteMs === null ? 'none' : n0(m.freshWriteMs),
    row.verdict.pass ? 'PASS' : `FAIL ${row.verdict.failed.join(',')}`,
  ];
}

/** The table: a header, a rule, one row per attack; columns padded to their widest cell. */
export function formatTable(rows: readonly AttackRow[]): string {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const line = (cs: readonly string[]) =>
    cs
      .map((c, i) => (i === cs.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The last line of the command's output. */
export function summaryLine(rows: readonly AttackRow[]): string {
  const passed = rows.filter((r) => r.verdict.pass).length;
  return `${passed} passed, ${rows.length - passed} failed`;
}

/** Details a row's one-line cells leave out: the attacker's own counts and the specific check. */
export function detailLines(rows: readonly AttackRow[]): string[] {
  return rows.map((row) => {
    const m = row.measurement;
    const attacker = Object.entries(m.attacker)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const specific = m.specific === undefined ? '' : ` ${m.specific.name}: ${m.specific.failure ?? 'ok'};`;
    const crashed = m.crashedReplicas.length > 0 ? ` crashed replicas: ${m.crashedReplicas.join(',')};` : '';
    const ratios =
      row.throughputRatios === undefined
        ? ''
        : ` throughput ratios of ${row.throughputRatios.length} runs ${row.throughputRatios.map((r) => r.toFixed(2)).join(' ')} (median run shown);`;
    return `  ${m.attack}:${ratios}${specific}${crashed} honest errors ${m.baseline.errors}/${m.during.errors}; attacker ${attacker === '' ? '—' : attacker}`;
  });
}
