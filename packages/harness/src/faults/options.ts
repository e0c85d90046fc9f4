/**
 * What a `pnpm faults` run is given, its bounds, and the targets of issue 15 it is judged
 * against: its own module, so the runner's parts and the printout can name them without
 * importing the runner.
 */
import type { SyncMode } from '../chaos/chaos-options.ts';

/** The faults, one at a time: kill -9 and restart, or SIGSTOP and SIGCONT, of the primary or a backup. */
export const FAULT_KINDS = ['primary-kill', 'backup-kill', 'primary-pause', 'backup-pause'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const hitsPrimary = (kind: FaultKind): boolean => kind.startsWith('primary-');
export const isKill = (kind: FaultKind): boolean => kind.endsWith('-kill');

export interface FaultsOptions {
  readonly replicas: number;
  /** Agents writing all through the run (one more reads back at the end). */
  readonly agents: number;
  readonly kinds: readonly FaultKind[];
  readonly faultsPerKind: number;
  /** From kill -9 to the restart. */
  readonly downtimeMs: number;
  /** From SIGSTOP to SIGCONT. */
  readonly pauseMs: number;
  /** Which backup each backup fault hits. */
  readonly seed: number;
  readonly sync: SyncMode;
  /** The built daemon to run (`buildDaemon`); absent: the sources, through tsx. */
  readonly bundle?: string;
  readonly keepDirectory?: boolean;
  /** Progress lines: one per fault as it is measured, and the phases. */
  readonly log?: (line: string) => void;
}

/** Bounds of a run: every wait has one, so the run ends by itself. */
export const FAULTS_LIMITS = Object.freeze({
  faultsPerKindMax: 1_000,
  downtimeMsMax: 60_000,
  pauseMsMax: 60_000,
  /** How often the one-view and settle waits read every replica's GET /status. */
  statusPollMs: 50,
  /** A fault whose replicas are not in one view this long after its end counts as "never". */
  oneViewBoundMs: 30_000,
  /** How long to wait for the cluster to settle before or after a fault. */
  settleTimeoutMs: 30_000,
  /** Between a settled cluster and the next fault: so one fault's tail is not the next one's start. */
  quietMs: 1_000,
  /**
   * Settled means every replica executed within this many sequences of the others (the
   * watermark window): a restarted backup still catching up would make the next fault two.
   */
  sequenceSpreadMax: 64,
});

/** Issue 15's targets, on the median over at least `faultsJudged` faults of each kind. */
export const FAULT_TARGETS = Object.freeze({
  primaryGapMs: 1_000,
  backupGapMs: 300,
  oneViewMs: 2_000,
  faultsJudged: 10,
});

/** The no-ack gap a kind's median must stay under. */
export const gapTargetMs = (kind: FaultKind): number =>
  hitsPrimary(kind) ? FAULT_TARGETS.primaryGapMs : FAULT_TARGETS.backupGapMs;
