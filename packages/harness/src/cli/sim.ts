/**
 * `pnpm sim`: runs seeded adversarial simulations and reports failures with the command that
 * replays each. The last line is always `N passed, M failed`; exit 1 if any failed, 2 on bad flags.
 */
import { performance } from 'node:perf_hooks';
import { quorumsOf } from '@conclave/core';
import { isSafetyViolation } from '../checkers.ts';
import {
  defaultByzantine,
  replayCommand,
  requestsCompletedIn,
  runSeeds,
  SCENARIO_DEFAULTS,
  type ScenarioShape,
  scenarioFromSeed,
} from '../scenario.ts';
import { runScenario, type ScenarioResult } from '../simulation.ts';

const USAGE = `usage: pnpm sim [--seeds N] [--start S] [--seed S] [--replicas n] [--byzantine k] [--agents a] [--requests r]
  --seeds N      how many seeds to run (default 100)
  --start S      first seed (default 1)
  --seed S       run exactly seed S, verbosely
  --replicas n   cluster size, at least 4 (default 4)
  --byzantine k  Byzantine replicas (default f = floor((n-1)/3)); k > f breaks the protocol's assumption on purpose
  --agents a     agents per run (default ${SCENARIO_DEFAULTS.agents})
  --requests r   requests per agent (default ${SCENARIO_DEFAULTS.requests})`;

const FLAGS = ['seeds', 'start', 'seed', 'replicas', 'byzantine', 'agents', 'requests'] as const;
type Flag = (typeof FLAGS)[number];

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Partial<Record<Flag, number>> {
  const out: Partial<Record<Flag, number>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') throw new UsageError('');
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = argv[++i];
    }
    if (!(FLAGS as readonly string[]).includes(name)) throw new UsageError(`unknown flag --${name}`);
    if (value === undefined || !/^\d+$/.test(value))
      throw new UsageError(`--${name} needs a non-negative integer, got ${JSON.stringify(value ?? '')}`);
    const number = Number(value);
    if (!Number.isSafeInteger(number)) throw new UsageError(`--${name} is too large`);
    if (out[name as Flag] !== undefined) throw new UsageError(`--${name} given twice`);
    out[name as Flag] = number;
  }
  return out;
}

function describeFailure(result: ScenarioResult, shape: ScenarioShape): string {
  const violations = result.violations;
  const first = violations
    .slice(0, 3)
    .map((v) => `[${v.checker}${v.tick === undefined ? '' : ` @${v.tick}`}] ${v.message}`);
  const more = violations.length > 3 ? ` (+${violations.length - 3} more)` : '';
  const kind = violations.some(isSafetyViolation) ? 'SAFETY' : 'LIVENESS';
  return `seed ${result.seed} FAILED (${kind}): ${first.join('; ')}${more}\n  replay: ${replayCommand(result.seed, shape)}`;
}

function printVerbose(result: ScenarioResult): void {
  const options = result.options;
  const { f } = quorumsOf(options.replicas);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(
    `seed ${result.seed}: n=${options.replicas} f=${f}, ${options.agents} agents x ${options.requestsPerAgent} requests`,
  );
  if (options.byzantineAgents > 0) log(`  lying agents: ${options.byzantineAgents}`);
  log(`  faults until tick ${options.healTick}: ${JSON.stringify(options.faults)}`);
  log(`  after heal: ${JSON.stringify(options.healedFaults)}`);
  for (const partition of options.partitions) {
    log(
      `  partition [${partition.startTick}, ${partition.healTick}): {${partition.sideA.join(',')}} | {${partition.sideB.join(',')}}`,
    );
  }
  log(`  clocks start at ${options.clockStarts.join(', ')}`);
  for (const plan of options.byzantine) {
    log(
      `  Byzantine replica ${plan.id}: ${plan.strategies.join(', ')}${plan.crashTick === undefined ? '' : ` (crashes at tick ${plan.crashTick})`}${plan.colluding && options.collusion ? ' [colluding]' : ''}`,
    );
  }
  if (result.conspiracy !== undefined) {
    const c = result.conspiracy;
    log(
      `  conspiracy: members {${c.members.join(',')}}, group A {${c.groupA.join(',')}}, group B {${c.groupB.join(',')}}, ${c.proposals} double proposals`,
    );
  }
  const stats = result.stats;
  log(
    `  ran ${stats.ticks} ticks; network: ${JSON.stringify(stats.network)}; honest steps ${stats.replicaSteps}; persist records ${stats.persistRecords}`,
  );
  for (const status of result.statuses) {
    const record = result.record.replicas[status.id];
    log(
      `  replica ${status.id}: view ${status.view}${status.changingView ? ' (changing)' : ''}, executed ${status.lastExecuted} (${record?.executed.length ?? 0} batches reported), stable ${status.stableCheckpoint}, log ${status.logSize}, pending ${status.pendingRequests}`,
    );
  }
  for (const agent of result.record.agents) {
    const accepted = new Set(agent.accepted.map((a) => a.requestId)).size;
    log(
      `  ${agent.id}: ${accepted}/${agent.requestsPlanned} accepted, last at tick ${agent.accepted.at(-1)?.tick ?? '-'}`,
    );
  }
  log(`  rejections: ${JSON.stringify(stats.rejections)}`);
  for (const violation of result.violations) {
    log(
      `  VIOLATION [${violation.checker}${violation.tick === undefined ? '' : ` @${violation.tick}`}] ${violation.message}`,
    );
  }
}

function main(argv: readonly string[]): number {
  let flags: Partial<Record<Flag, number>>;
  try {
    flags = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message === '') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`pnpm sim: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  const replicas = flags.replicas ?? 4;
  const byzantine = flags.byzantine ?? defaultByzantine(replicas);
  const problems: string[] = [];
  if (replicas < 4 || replicas > 64) problems.push(`--replicas must be between 4 and 64, got ${replicas}`);
  if (byzantine >= replicas)
    problems.push(`--byzantine must be below --replicas (${replicas}), got ${byzantine}`);
  if (flags.seeds !== undefined && flags.seeds < 1) problems.push('--seeds must be at least 1');
  if (flags.agents !== undefined && (flags.agents < 1 || flags.agents > 1000))
    problems.push('--agents must be between 1 and 1000');
  if (flags.requests !== undefined && (flags.requests < 1 || flags.requests > 10_000))
    problems.push('--requests must be between 1 and 10000');
  if (flags.seed !== undefined && (flags.seeds !== undefined || flags.start !== undefined)) {
    problems.push('--seed runs one seed; do not combine it with --seeds or --start');
  }
  if (flags.seed !== undefined && flags.seed > 0xffff_ffff) problems.push('--seed must fit in 32 bits');
  if (problems.length > 0) {
    process.stderr.write(`pnpm sim: ${problems.join('; ')}\n${USAGE}\n`);
    return 2;
  }
  const shape: ScenarioShape = {
    replicas,
    byzantine,
    ...(flags.agents === undefined ? {} : { agents: flags.agents }),
    ...(flags.requests === undefined ? {} : { requests: flags.requests }),
  };
  const { f } = quorumsOf(replicas);
  if (byzantine > f) {
    process.stdout.write(
      `note: ${byzantine} Byzantine replicas exceed f=${f}; safety is not promised and failures are expected\n`,
    );
  }

  const startedAt = performance.now();
  let passed = 0;
  let failed = 0;
  let messages = 0;
  let requests = 0;
  let scenarios = 0;
  if (flags.seed !== undefined) {
    const result = runScenario(scenarioFromSeed(flags.seed, shape));
    scenarios = 1;
    messages = result.stats.network.delivered;
    requests = requestsCompletedIn(result);
    printVerbose(result);
    if (result.violations.length === 0) passed++;
    else {
      failed++;
      process.stdout.write(`${describeFailure(result, shape)}\n`);
    }
  } else {
    const start = flags.start ?? 1;
    const count = flags.seeds ?? 100;
    const summary = runSeeds({
      ...shape,
      start,
      count,
      onResult: (result) => {
        if (result.violations.length > 0) process.stdout.write(`${describeFailure(result, shape)}\n`);
      },
    });
    passed = summary.passed;
    failed = summary.failed;
    messages = summary.messagesDelivered;
    requests = summary.requestsCompleted;
    scenarios = count;
  }
  const seconds = (performance.now() - startedAt) / 1000;
  process.stdout.write(
    `${scenarios} scenarios in ${seconds.toFixed(2)}s: ${(scenarios / seconds).toFixed(2)} scenarios/s, ${Math.round(messages / seconds)} simulated messages/s, ${Math.round(requests / seconds)} simulated requests/s\n`,
  );
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
