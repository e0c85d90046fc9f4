/**
 * What the replicas' GET /status say about views, read the same way everywhere in a faults run:
 * is every replica in one view outside a view change, who is the primary, how far apart are
 * their executed sequences. Pure: the waits that poll live in `waits.ts`.
 */
import type { DaemonStatus } from '@conclave/node';

export type Statuses = readonly (DaemonStatus | undefined)[];

/** The view every replica reports, none of them changing view; undefined if they do not agree (or one is silent). */
export function oneView(statuses: Statuses): number | undefined {
  const first = statuses[0];
  if (first === undefined) return undefined;
  const together = statuses.every((s) => s !== undefined && s.view === first.view && !s.changingView);
  return together ? first.view : undefined;
}

/** The highest view any replica reports (-1 when none answers). */
export function highestView(statuses: Statuses): number {
  return Math.max(-1, ...statuses.map((s) => s?.view ?? -1));
}

/** The primary of the highest view reported, outside a view change if anyone is (undefined: nobody answered). */
export function primaryOf(statuses: Statuses): number | undefined {
  const answered = statuses.filter((s) => s !== undefined);
  answered.sort((a, b) => b.view - a.view || Number(a.changingView) - Number(b.changingView));
  return answered[0]?.primary;
}

/** How many sequences the slowest replica is behind the fastest (Infinity when one is silent). */
export function sequenceSpread(statuses: Statuses): number {
  if (statuses.some((s) => s === undefined)) return Number.POSITIVE_INFINITY;
  const sequences = statuses.map((s) => s?.executedSequence ?? 0);
  return Math.max(...sequences) - Math.min(...sequences);
}

/** Each replica's view as `id:view`, `*` while it changes view, `-` when silent: a fault's details. */
export function describeViews(statuses: Statuses): string {
  return statuses
    .map((s, id) => `${id}:${s === undefined ? '-' : `${s.view}${s.changingView ? '*' : ''}`}`)
    .join(' ');
}
