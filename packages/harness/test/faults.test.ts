/**
 * `pnpm faults` (issue 15), in brief: the stall and summary arithmetic on made-up times, the
 * flags, and one backup pause on four real daemons through the command itself, whose record
 * must have a finite no-ack gap and a time to one view. The full measurement (ten faults of each
 * kind) is `pnpm faults`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '@conclave/cli';
import { describe, expect, it } from 'vitest';
import { FaultsUsageError, parseFaultsArgs } from '../src/faults/args.ts';
import type { FaultRecord } from '../src/faults/fault.ts';
import type { FaultsReport } from '../src/faults/run.ts';
import { stallIn } from '../src/faults/stall.ts';
import { median, summarize } from '../src/faults/summary.ts';
import { oneView } from '../src/faults/views.ts';

describe('the stall of a fault', () => {
  it('is the longest gap between acknowledgements, clipped to the window', () => {
    const acks = [100, 200, 1_050, 1_100, 3_600, 3_650, 9_000];
    // From 1 000: 1 000→1 050, 1 050→1 100, 1 100→3 600 (the stall), 3 600→3 650, 3 650→4 000.
    expect(stallIn(acks, 1_000, 4_000)).toEqual({ longestMs: 2_500, endedAtMs: 3_600, acks: 4 });
    // A stall still open at the window's end counts up to it.
    expect(stallIn(acks, 3_650, 5_000)).toEqual({ longestMs: 1_350, endedAtMs: 5_000, acks: 0 });
    expect(stallIn([], 0, 700).longestMs).toBe(700);
  });
});

describe('the per-kind summary', () => {
  const record = (kind: FaultRecord['kind'], gapMs: number, oneViewMs: number | null): FaultRecord => ({
    kind,
    number: 1,
    target: 0,
    startedAtMs: 0,
    endedAtMs: 0,
    gapMs,
    resumedAfterMs: gapMs,
    acksInWindow: 1,
    oneViewMs,
    targetUpMs: 0,
    viewBefore: 0,
    viewAfter: 1,
    viewChanges: 1,
    lastViews: '',
    settledBefore: true,
    settled: oneViewMs !== null,
    settledMs: 0,
  });

  it('judges medians against the targets, a one view that never came back counting as the longest', () => {
    const records = [
      record('primary-kill', 800, 500),
      record('primary-kill', 900, null),
      record('primary-kill', 3_000, 700),
      record('backup-pause', 100, 50),
      record('backup-pause', 400, null),
      record('backup-pause', 500, null),
    ];
    const [kill, pause] = summarize(['primary-kill', 'backup-pause'], records);
    expect(kill).toMatchObject({ count: 3, gapMsMedian: 900, oneViewMsMedian: 700, oneViewNever: 1 });
    expect(kill?.pass).toBe(true);
    expect(kill?.tooFew).toBe(true);
    expect(pause).toMatchObject({ gapMsMedian: 400, oneViewMsMedian: Number.POSITIVE_INFINITY, pass: false });
    expect(median([1, 2, 3, 10])).toBe(2.5);
  });

  it('sees one view only when every replica answers, in one view, none changing it', () => {
    const status = (view: number, changingView = false) =>
      ({ view, changingView }) as Parameters<typeof oneView>[0][number];
    expect(oneView([status(2), status(2), status(2)])).toBe(2);
    expect(oneView([status(2), status(2, true), status(2)])).toBeUndefined();
    expect(oneView([status(2), undefined, status(2)])).toBeUndefined();
    expect(oneView([status(1), status(2), status(2)])).toBeUndefined();
  });
});

describe('pnpm faults flags', () => {
  it('refuses bad ones with a usage error and reads good ones', () => {
    expect(() => parseFaultsArgs(['--kinds', 'primary-kill,nope'])).toThrow(FaultsUsageError);
    expect(() => parseFaultsArgs(['--pause', '0'])).toThrow(/--pause/);
    expect(() => parseFaultsArgs(['--replicas', '5'])).toThrow(/3f\+1/);
    expect(() => parseFaultsArgs(['--bogus'])).toThrow(FaultsUsageError);
    expect(parseFaultsArgs(['--kinds', 'backup-pause', '--pause', '0.5', '--seed', '3'])).toMatchObject({
      help: false,
      options: { kinds: ['backup-pause'], pauseMs: 500, downtimeMs: 3_000, faultsPerKind: 10, seed: 3 },
    });
  });
});

describe('pnpm faults on real daemons (short)', () => {
  it('pauses a backup once and records a finite no-ack gap and time to one view', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-faults-test-'));
    try {
      const json = join(dir, 'faults.json');
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'packages/harness/src/faults/cli.ts'),
          ...['--kinds', 'backup-pause', '--faults', '1', '--pause', '1', '--agents', '2', '--seed', '1'],
          ...['--json', json],
        ],
        { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
      );
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      const report = JSON.parse(readFileSync(json, 'utf8')) as FaultsReport;
      expect(report.records).toHaveLength(1);
      const [record] = report.records as [FaultRecord];
      expect(record.kind).toBe('backup-pause');
      expect(Number.isFinite(record.gapMs)).toBe(true);
      expect(record.gapMs).toBeGreaterThan(0);
      expect(record.oneViewMs).not.toBeNull();
      expect(record.oneViewMs).toBeGreaterThanOrEqual(0);
      // Timers may fire a millisecond early on performance.now()'s clock.
      expect(record.endedAtMs - record.startedAtMs).toBeGreaterThan(990);
      expect(report.checks.every((c) => c.ok)).toBe(true);
      expect(run.stdout).toMatch(/^backup-pause +1 /m);
      expect(run.stdout.trim().split('\n').at(-1)).toMatch(/^faults: done in \d+ s \(seed 1\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 70_000);
});
