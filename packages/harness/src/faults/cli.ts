/**
 * `pnpm faults`: issue 15's measurement on real daemons. kill -9 and restarts, SIGSTOP and
 * SIGCONT, of the primary and of backups, one at a time under SDK load; per fault the longest
 * stretch with no acknowledged write and the time until all replicas share one view; a table
 * per kind against the targets. Exit 0 if the run completed and its checks held (targets
 * missed or not), 1 if a check failed or the run overran its bound, 2 on bad usage, 130 on
 * SIGINT/SIGTERM.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '@conclave/cli';
import { buildDaemon } from '@conclave/cli/build';
import { CHAOS_LIMITS } from '../chaos/chaos-options.ts';
import { killChaosDaemons } from '../chaos/cluster.ts';
import { FAULTS_USAGE, FaultsUsageError, parseFaultsArgs } from './args.ts';
import { FAULTS_LIMITS, type FaultsOptions } from './options.ts';
import { formatChecks, formatLastLine, formatTable } from './report.ts';
import { type FaultsReport, runFaults } from './run.ts';

const print = (line: string) => process.stdout.write(`${line}\n`);

/** The longest a run may take: every bounded wait of every fault, plus startup and the checks. */
function deadlineMsOf(options: FaultsOptions): number {
  const perFaultMs =
    Math.max(options.downtimeMs, options.pauseMs) +
    FAULTS_LIMITS.oneViewBoundMs +
    FAULTS_LIMITS.settleTimeoutMs * 2 +
    FAULTS_LIMITS.quietMs +
    CHAOS_LIMITS.stopTimeoutMs;
  const faults = options.kinds.length * options.faultsPerKind;
  const overheadMs =
    CHAOS_LIMITS.startupTimeoutMs * 2 +
    FAULTS_LIMITS.settleTimeoutMs +
    CHAOS_LIMITS.writeTimeoutMs +
    CHAOS_LIMITS.convergenceTimeoutMs +
    120_000;
  return faults * perFaultMs + overheadMs;
}

/** A bundle of this run's own, built from the current sources, so replicas start as plain JS. */
const bundleDir = join(ROOT, 'packages/cli/dist', `faults-${process.pid}`);
const removeBundle = () => rmSync(bundleDir, { recursive: true, force: true });

/** Whatever happens, the run ends: past its bound the daemons are killed and we exit 1. */
function armDeadline(options: FaultsOptions): NodeJS.Timeout {
  const deadlineMs = deadlineMsOf(options);
  const timer = setTimeout(() => {
    print(
      `faults: FAILED: the run did not finish within ${(deadlineMs / 1000).toFixed(0)} s (seed ${options.seed})`,
    );
    killChaosDaemons();
    removeBundle();
    process.exit(1);
  }, deadlineMs);
  timer.unref();
  return timer;
}

function printReport(report: FaultsReport): void {
  print('');
  print(formatTable(report.summaries));
  print(
    `writes: ${report.writes.attempted} attempted, ${report.writes.acknowledged} acknowledged, ${report.writes.timedOut} timed out`,
  );
  print(formatChecks(report.checks));
  print(
    formatLastLine(report.summaries, {
      ok: report.ok,
      elapsedMs: report.elapsedMs,
      seed: report.options.seed,
      directory: report.directory,
      kept: report.directoryKept,
    }),
  );
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseFaultsArgs(argv);
  if (parsed.help) {
    print(FAULTS_USAGE);
    return 0;
  }
  const { options: parsedOptions, source, json } = parsed;
  const deadline = armDeadline(parsedOptions);
  try {
    const bundle = source ? undefined : await buildDaemon(bundleDir);
    const options: FaultsOptions = { ...parsedOptions, bundle, log: print };
    const o = options;
    print(
      `faults: seed ${o.seed}, ${o.replicas} replicas, ${o.agents} agents, ${o.faultsPerKind} of each of ${o.kinds.join(', ')}; downtime ${o.downtimeMs / 1000} s, pause ${o.pauseMs / 1000} s, --sync ${o.sync}, daemons from ${bundle === undefined ? 'the sources (tsx)' : 'a bundle'}`,
    );
    const report = await runFaults(options);
    printReport(report);
    if (json !== undefined) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    clearTimeout(deadline);
    removeBundle();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChaosDaemons();
    removeBundle();
    process.exit(130);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    killChaosDaemons();
    if (error instanceof FaultsUsageError) {
      process.stderr.write(`error: ${error.message}\n${FAULTS_USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(
      `faults: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
