/**
 * `pnpm chaos`: chaos on real daemons. Starts a cluster of `conclave start` processes on
 * 127.0.0.1 behind the fault-injecting proxy, drives SDK writes through it while a seeded
 * schedule kills, partitions, drops and delays, then heals and checks agreement, liveness,
 * convergence and that every acknowledged write is there. Exit 0 if every check held, 1 if one
 * failed (or the run could not finish in its bound), 2 on bad usage.
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatReport } from './report.ts';
import { CHAOS_LIMITS, killChaosDaemons, runChaos, type SyncMode } from './run.ts';
import { describeEvent, faultSchedule } from './schedule.ts';

const USAGE = `usage: pnpm chaos [--duration S] [--seed N] [--replicas n] [--agents a] [--sync full|buffered] [--keep]
  --duration S   seconds of chaos (default 30); startup, heal and checks come on top
  --seed N       the fault schedule's seed (default: random, printed)
  --replicas n   3f+1 replicas (default 4)
  --agents a     agents writing during the run (default 4)
  --sync MODE    the daemons' --sync: full (default) or buffered
  --keep         keep the cluster directory (it is always kept when a check fails)
  --plan         print the fault schedule of the seed and exit`;

/** Beyond the chaos itself: startup, draining the writers, the liveness write, convergence, reads. */
const OVERHEAD_MS_MAX =
  CHAOS_LIMITS.startupTimeoutMs * 2 +
  CHAOS_LIMITS.writeTimeoutMs +
  CHAOS_LIMITS.finalWriteTimeoutMs +
  CHAOS_LIMITS.convergenceTimeoutMs +
  120_000;

class UsageError extends Error {}

function wholeNumber(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`${flag} takes a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    strict: true,
    options: {
      duration: { type: 'string' },
      seed: { type: 'string' },
      replicas: { type: 'string' },
      agents: { type: 'string' },
      sync: { type: 'string' },
      keep: { type: 'boolean', default: false },
      plan: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const durationS = wholeNumber(values.duration, '--duration', 30);
  const seed = wholeNumber(values.seed, '--seed', randomInt(1, 2 ** 31));
  const replicas = wholeNumber(values.replicas, '--replicas', 4);
  const agents = wholeNumber(values.agents, '--agents', 4);
  const sync = (values.sync ?? 'full') as SyncMode;
  if (sync !== 'full' && sync !== 'buffered') throw new UsageError('--sync takes full or buffered');
  if (durationS < 1 || durationS * 1000 > CHAOS_LIMITS.durationMsMax)
    throw new UsageError(`--duration takes 1..${CHAOS_LIMITS.durationMsMax / 1000} seconds`);
  if (replicas < 4 || (replicas - 1) % 3 !== 0 || replicas > CHAOS_LIMITS.replicasMax)
    throw new UsageError(`--replicas takes 3f+1 with f >= 1 (4, 7, 10, 13)`);
  if (agents < 1 || agents > CHAOS_LIMITS.agentsMax)
    throw new UsageError(`--agents takes 1..${CHAOS_LIMITS.agentsMax}`);

  const print = (line: string) => process.stdout.write(`${line}\n`);
  if (values.plan) {
    for (const event of faultSchedule({ seed, durationMs: durationS * 1000, replicas }))
      print(`t=${(event.atMs / 1000).toFixed(1).padStart(6)}s  ${describeEvent(event)}`);
    return 0;
  }
  print(
    `chaos: seed ${seed}, ${replicas} replicas, ${agents} agents, ${durationS} s, --sync ${sync}, kv state machine`,
  );
  // Whatever happens, the run ends: past its bound the daemons are killed and we exit 1.
  const deadlineMs = durationS * 1000 + OVERHEAD_MS_MAX;
  const deadline = setTimeout(() => {
    print(`chaos: FAILED: the run did not finish within ${deadlineMs / 1000} s (seed ${seed})`);
    killChaosDaemons();
    process.exit(1);
  }, deadlineMs);
  deadline.unref();
  const report = await runChaos({
    seed,
    durationMs: durationS * 1000,
    replicas,
    agents,
    sync,
    keepDirectory: values.keep,
    log: print,
  });
  clearTimeout(deadline);
  print(formatReport(report));
  return report.ok ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChaosDaemons();
    process.exit(130);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    killChaosDaemons();
    if (
      error instanceof UsageError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`error: ${error.message}\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(
      `chaos: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
