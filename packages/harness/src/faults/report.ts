/**
 * The printout of a faults run: one line per fault as it is measured, then a table per kind
 * against issue 15's targets, the safety checks, and a last line.
 */
import type { ChaosCheck } from '../chaos/chaos-options.ts';
import type { FaultRecord } from './fault.ts';
import { FAULT_TARGETS, FAULTS_LIMITS, hitsPrimary } from './options.ts';
import type { KindSummary } from './summary.ts';

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const never = `never (>${FAULTS_LIMITS.oneViewBoundMs / 1000} s)`;
/** Milliseconds as seconds, Infinity (a one view that never came back) as "never". */
const orNever = (ms: number) => (Number.isFinite(ms) ? s(ms) : 'never');

export function formatFaultLine(record: FaultRecord): string {
  const r = record;
  const stamp = (r.startedAtMs / 1000).toFixed(1).padStart(6);
  const role = hitsPrimary(r.kind) ? ' (primary)' : '';
  const changes = `view ${r.viewBefore}→${r.viewAfter} (${r.viewChanges >= 0 ? '+' : ''}${r.viewChanges})`;
  const gap = `no-ack gap ${s(r.gapMs)} (ended +${s(r.resumedAfterMs)} after the fault began)`;
  const up = r.targetUpMs === null ? 'never answered' : `answered after ${s(r.targetUpMs)}`;
  const oneView = r.oneViewMs === null ? `${never}, views then ${r.lastViews}` : s(r.oneViewMs);
  const view = `one view after ${oneView} (replica ${r.target} ${up})`;
  const before = r.settledBefore ? '' : ' [began on an unsettled cluster]';
  const settled = r.settled ? '' : `; not settled within ${FAULTS_LIMITS.settleTimeoutMs / 1000} s`;
  return `t=${stamp}s  ${r.kind.padEnd(13)} #${String(r.number).padEnd(3)} replica ${r.target}${role}${before}  ${changes}  ${gap}  ${view}${settled}`;
}

const HEADER = [
  'kind',
  'faults',
  'gap median',
  'gap max',
  'one view median',
  'one view max',
  'never',
  'unsettled',
  'view changes',
  'targets (gap / one view)',
  'verdict',
];

export function formatTable(summaries: readonly KindSummary[]): string {
  const rows = summaries.map((k) => [
    k.kind,
    String(k.count),
    s(k.gapMsMedian),
    s(k.gapMsMax),
    orNever(k.oneViewMsMedian),
    orNever(k.oneViewMsMax),
    String(k.oneViewNever),
    String(k.unsettledBefore),
    String(k.viewChangesMedian),
    `<= ${s(k.gapTargetMs)} / <= ${s(k.oneViewTargetMs)}`,
    `${k.pass ? 'PASS' : 'MISS'}${k.tooFew ? ` (under ${FAULT_TARGETS.faultsJudged} faults)` : ''}`,
  ]);
  const widths = HEADER.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) =>
        c === 0 || c === cells.length - 1
          ? cell.padEnd(widths[c] as number)
          : cell.padStart(widths[c] as number),
      )
      .join('  ')
      .trimEnd();
  return [line(HEADER), ...rows.map(line)].join('\n');
}

export function formatChecks(checks: readonly ChaosCheck[]): string {
  return checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`).join('\n');
}

export function formatLastLine(
  summaries: readonly KindSummary[],
  outcome: { ok: boolean; elapsedMs: number; seed: number; directory: string; kept: boolean },
): string {
  const met = summaries.filter((k) => k.pass).length;
  const targets = `${met} of ${summaries.length} kinds within issue 15's targets`;
  const time = `${(outcome.elapsedMs / 1000).toFixed(0)} s`;
  if (outcome.ok) return `faults: done in ${time} (seed ${outcome.seed}): ${targets}`;
  return `faults: FAILED in ${time} (seed ${outcome.seed}): a check failed; ${targets}; cluster directory ${outcome.kept ? 'kept at ' : ''}${outcome.directory}`;
}
