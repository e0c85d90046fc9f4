/**
 * `pnpm sim`: runs seeded adversarial simulations and reports failures with the command that
 * replays each. The last line is always `N passed, M failed`; exit 1 if any failed, 2 on bad flags.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { quorumsOf } from '@conclave/core';
import { STRATEGY_NAMES, type StrategyName } from '../byzantine.ts';
import { type AgentStrategyName, ALL_AGENT_STRATEGY_NAMES } from '../byzantine-agent.ts';
import { isSafetyViolation } from '../checkers.ts';
import { renderRunHtml, traceRun } from '../html.ts';
import { type LivenessFigures, livenessOf } from '../liveness.ts';
import { LIVENESS_SHAPES, settledTick, viewsEntered } from '../liveness-bounds.ts';
import type { LivenessPlan } from '../record.ts';
import { defaultByzantine, requestsCompletedIn, SCENARIO_DEFAULTS, type ScenarioShape } from '../scenario.ts';
import type { ScenarioOptions, ScenarioResult } from '../scenario-options.ts';
import { describeSchedule, shrinkScenario } from '../shrink.ts';
import { runScenario } from '../simulation.ts';
import {
  isSuiteName,
  passes,
  replayArguments,
  SUITE_NAMES,
  SUITES,
  type SuiteName,
  type SuiteOverrides,
} from '../suites.ts';

/** Scenario runs spent shrinking one failure at most. */
const SHRINK_RUNS_MAX = 60;
/** Failures shrunk per invocation at most (each costs up to SHRINK_RUNS_MAX runs). */
const SHRINKS_MAX = 3;

const USAGE = `usage: pnpm sim [--seeds N] [--start S] [--seed S] [--replicas n] [--byzantine k] [--agents a] [--requests r] [--html FILE]
  --seeds N      how many seeds to run (default 100)
  --start S      first seed (default 1)
  --seed S       run exactly seed S, verbosely
  --replicas n   cluster size, at least 4 (default 4)
  --byzantine k  Byzantine replicas (default f = floor((n-1)/3)); k > f breaks the protocol's assumption on purpose
  --agents a     agents per run (default ${SCENARIO_DEFAULTS.agents})
  --requests r   requests per agent (default ${SCENARIO_DEFAULTS.requests})
  --html FILE    with --seed: rerun that seed traced and write a space-time diagram (one HTML file) to FILE
  --suite NAME   ${SUITE_NAMES.join(' | ')} (default: default)
                 liveness: honest crashes and pauses (SIGSTOP/SIGCONT), one named shape per seed, round robin:
                   ${LIVENESS_SHAPES.join(', ')};
                 a seed fails when its stalls or time to one view exceed the shape's bounds
                 (src/liveness-bounds.ts); the sweep prints the figures per shape
                 membership: agents join, rotate keys and leave while liars attack the registry
                 (src/membership-agents.ts); --requests sets the honest agents' ordinary writes
                 sealed: sealed proposals committed and revealed while liars attack the commit-reveal rules
                 and (half the seeds) a Byzantine primary orders reveals early (src/sealed-agents.ts)
  --strategies a,b          Byzantine replica strategies to draw from: ${STRATEGY_NAMES.join(', ')}
  --agent-strategies a,b    lying agent strategies: ${ALL_AGENT_STRATEGY_NAMES.join(', ')}
  --byzantine-agents m      lying agents per run
  --drop p, --duplicate p   fault probabilities (0..1) until the heal
  --delay t      longest network delay in ticks until the heal
  --ticks t      tick at which the network heals (length of the faulty phase)`;

const FLAGS = [
  'seeds',
  'start',
  'seed',
  'replicas',
  'byzantine',
  'agents',
  'requests',
  'byzantine-agents',
  'delay',
  'ticks',
] as const;
type Flag = (typeof FLAGS)[number];

class UsageError extends Error {}

type Flags = Partial<Record<Flag, number>> & {
  html?: string;
  suite?: SuiteName;
  strategies?: StrategyName[];
  'agent-strategies'?: AgentStrategyName[];
  drop?: number;
  duplicate?: number;
};

function listOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').filter((item) => item !== '');
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (items.length === 0 || unknown.length > 0)
    throw new UsageError(
      `--${flag}: unknown ${unknown.join(', ') || 'empty list'}; choose from ${allowed.join(', ')}`,
    );
  return items as T[];
}

function parseArgs(argv: readonly string[]): Flags {
  const out: Flags = {};
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
    if (name === 'suite') {
      if (value === undefined || !isSuiteName(value))
        throw new UsageError(
          `--suite must be one of ${SUITE_NAMES.join(', ')}, got ${JSON.stringify(value ?? '')}`,
        );
      out.suite = value;
      continue;
    }
    if (name === 'strategies' || name === 'agent-strategies') {
      if (value === undefined) throw new UsageError(`--${name} needs a comma-separated list`);
      if (name === 'strategies') out.strategies = listOf(name, value, STRATEGY_NAMES);
      else out['agent-strategies'] = listOf(name, value, ALL_AGENT_STRATEGY_NAMES);
      continue;
    }
    if (name === 'drop' || name === 'duplicate') {
      const p = Number(value);
      if (value === undefined || value === '' || !(p >= 0 && p <= 1))
        throw new UsageError(`--${name} needs a probability in [0, 1], got ${JSON.stringify(value ?? '')}`);
      out[name] = p;
      continue;
    }
    if (name === 'html') {
      if (value === undefined || value === '' || value.startsWith('--'))
        throw new UsageError('--html needs a file path');
      if (out.html !== undefined) throw new UsageError('--html given twice');
      out.html = value;
      continue;
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

/** The failure, its replay command, and a shrunk schedule that still fails. */
function describeSuiteFailure(
  result: ScenarioResult,
  suite: SuiteName,
  overrides: SuiteOverrides,
  shrink: boolean,
): string {
  const violations = result.violations;
  const lines: string[] = [];
  if (SUITES[suite].expect === 'violation') {
    lines.push(`seed ${result.seed} FAILED: ${suite} expects a safety violation and the checkers found none`);
  } else {
    const first = violations
      .slice(0, 3)
      .map((v) => `[${v.checker}${v.tick === undefined ? '' : ` @${v.tick}`}] ${v.message}`);
    const more = violations.length > 3 ? ` (+${violations.length - 3} more)` : '';
    const kind = violations.some(isSafetyViolation)
      ? 'SAFETY'
      : violations.every((v) => v.checker === 'fairness')
        ? 'FAIRNESS'
        : violations.every((v) => v.checker === 'livenessBound')
          ? 'LIVENESS BOUND'
          : violations.some((v) => v.checker === 'evidence') &&
              !violations.some((v) => v.checker === 'liveness')
            ? 'EVIDENCE'
            : 'LIVENESS';
    lines.push(`seed ${result.seed} FAILED (${kind}): ${first.join('; ')}${more}`);
  }
  lines.push(`  replay: pnpm sim ${replayArguments(suite, result.seed, overrides).join(' ')}`);
  if (shrink) {
    const checkers = new Set(violations.map((v) => v.checker));
    // Shrink towards a run that fails the same way (a checker that fired still fires).
    const stillFails = (options: ScenarioOptions): boolean => {
      const rerun = runScenario(options);
      return SUITES[suite].expect === 'violation'
        ? !passes(SUITES[suite], rerun)
        : rerun.violations.some((v) => checkers.has(v.checker));
    };
    const shrunk = shrinkScenario(result.options, stillFails, { runsMax: SHRINK_RUNS_MAX });
    lines.push(`  shrunk schedule (${shrunk.runs} runs):`);
    for (const line of describeSchedule(shrunk.options)) lines.push(`    ${line}`);
    for (const line of describeOutages(shrunk.options)) lines.push(`    ${line}`);
    if (shrunk.options.stateMachine === 'coordination') lines.push('    coordination state machine');
    if (shrunk.options.startView !== undefined) lines.push(`    start view ${shrunk.options.startView}`);
  }
  return lines.join('\n');
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
  for (const line of describeOutages(options)) log(`  ${line}`);
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
  if (stats.pauses !== undefined)
    log(`  pauses begun ${stats.pauses}; frames kept for paused replicas ${stats.keptWhilePaused ?? 0}`);
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
  for (const outcome of [
    ...(result.record.membership?.outcomes ?? []),
    ...(result.record.sealed?.outcomes ?? []),
  ])
    log(
      `  ${outcome.honest ? '' : 'attack: '}${outcome.agent} #${outcome.requestId} ${outcome.label}: ${outcome.outcome === undefined ? 'no answer' : `${outcome.outcome} at sequence ${outcome.sequence}`}`,
    );
  const sealed = result.record.sealed;
  if (sealed !== undefined) {
    for (const decision of sealed.decisions.filter(
      (d, i, all) => all.findIndex((o) => o.proposalId === d.proposalId) === i,
    ))
      log(
        `  sealed ${decision.proposalId} (commit deadline ${decision.commitDeadline}, deadline ${decision.deadline}): ${decision.status} at sequence ${decision.decidedAt.sequence}, agreed time ${decision.decidedAt.timestamp}; counted ${decision.tally.counted.map((c) => c.agent).join(' ') || '-'}; excluded ${decision.tally.excluded.map((e) => `${e.agent} (${e.reason})`).join(' ') || '-'}; unrevealed ${decision.tally.unrevealed.map((u) => u.agent).join(' ') || '-'}`,
      );
    log(
      `  sealed secrecy: ${sealed.probes.snapshots} snapshots and ${sealed.probes.replies} replies searched, ${sealed.leaks.length} hits`,
    );
  }
  log(`  rejections: ${JSON.stringify(stats.rejections)}`);
  log(`  ${describeLiveness(result.liveness)}`);
  const plan = options.liveness;
  if (plan !== undefined) {
    const settled = livenessOf(result.record, { fromTick: settledTick(result.record, plan) });
    const across = livenessOf(result.record, { fromTick: plan.faultTick });
    log(
      `  ${plan.shape}: after the faults (from tick ${settled.fromTick}) longest stall ${settled.longestStallTicks} ticks, one view after ${settled.viewsAgreeAfterTicks ?? 'never'}; from the first fault at tick ${plan.faultTick}, longest stall ${across.longestStallTicks} ticks; views entered ${viewsEntered(result.record).join(', ')}`,
    );
    log(
      `  bounds: stall ${plan.stall.rule} = ${plan.stall.ticks}, one view ${plan.oneView.rule} = ${plan.oneView.ticks}, stall from the first fault ${plan.faultStall.rule} = ${plan.faultStall.ticks}${plan.viewMax === undefined ? '' : `, view at most ${plan.viewMax}`}`,
    );
  }
  for (const violation of result.violations) {
    log(
      `  VIOLATION [${violation.checker}${violation.tick === undefined ? '' : ` @${violation.tick}`}] ${violation.message}`,
    );
  }
}

/** Honest replicas' crashes and pauses, one line each. */
function describeOutages(options: ScenarioOptions): string[] {
  const after = (tick: number) => (tick >= Number.MAX_SAFE_INTEGER ? 'never' : `at ${tick}`);
  return [
    ...(options.crashes ?? []).map(
      (c) => `honest replica ${c.id} crashes at tick ${c.crashTick}, restarts ${after(c.restartTick)}`,
    ),
    ...(options.pauses ?? []).map(
      (p) =>
        `honest replica ${p.id} paused at tick ${p.pauseTick}, resumes ${after(p.resumeTick)}${p.resumeTick >= Number.MAX_SAFE_INTEGER ? '' : ` (${p.resumeTick - p.pauseTick} ticks)`}`,
    ),
  ];
}

function describeLiveness(l: LivenessFigures): string {
  const stall =
    l.longestStallEndTick === undefined
      ? 'no stall'
      : `longest stall ${l.longestStallTicks} ticks (ended at tick ${l.longestStallEndTick})`;
  const views =
    l.viewsAgreeAfterTicks === undefined
      ? 'honest replicas never shared one view by the end'
      : `honest replicas shared one view after ${l.viewsAgreeAfterTicks} ticks`;
  return `liveness from tick ${l.fromTick}: ${stall}; ${views}`;
}

/** The worst liveness figures over many seeds, and which seed gave each. */
class WorstLiveness {
  stall = { ticks: 0, seed: 0 };
  views = { ticks: 0, seed: 0 };
  neverAgreed: number[] = [];

  add(result: ScenarioResult): void {
    const { longestStallTicks, viewsAgreeAfterTicks } = result.liveness;
    if (longestStallTicks > this.stall.ticks) this.stall = { ticks: longestStallTicks, seed: result.seed };
    if (viewsAgreeAfterTicks === undefined) this.neverAgreed.push(result.seed);
    else if (viewsAgreeAfterTicks > this.views.ticks)
      this.views = { ticks: viewsAgreeAfterTicks, seed: result.seed };
  }

  line(seeds: number): string {
    const never =
      this.neverAgreed.length === 0
        ? ''
        : `; never in one view by the end: ${this.neverAgreed.length} of ${seeds} seeds (${this.neverAgreed.slice(0, 10).join(', ')}${this.neverAgreed.length > 10 ? ', …' : ''})`;
    return `liveness after the heal: longest stall ${this.stall.ticks} ticks (seed ${this.stall.seed}); one view after at most ${this.views.ticks} ticks (seed ${this.views.seed})${never}`;
  }
}

/** One figure over many seeds: its median and its worst, with the seed that gave it. */
class Figure {
  readonly #values: { value: number; seed: number }[] = [];

  add(value: number, seed: number): void {
    this.#values.push({ value, seed });
  }

  toString(): string {
    if (this.#values.length === 0) return '-';
    const sorted = [...this.#values].sort((a, b) => a.value - b.value);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]?.value ?? 0;
    const worst = sorted.at(-1) ?? { value: 0, seed: 0 };
    return `median ${median}, worst ${worst.value} (seed ${worst.seed})`;
  }
}

/** Runs with a liveness plan (the liveness suite): their figures per shape, against the bounds. */
class LivenessByShape {
  readonly #shapes = new Map<
    string,
    { seeds: number; stall: Figure; oneView: Figure; faultStall: Figure; never: number[]; plan: LivenessPlan }
  >();

  add(result: ScenarioResult): void {
    const plan = result.options.liveness;
    if (plan === undefined) return;
    let shape = this.#shapes.get(plan.shape);
    if (shape === undefined) {
      shape = {
        seeds: 0,
        stall: new Figure(),
        oneView: new Figure(),
        faultStall: new Figure(),
        never: [],
        plan,
      };
      this.#shapes.set(plan.shape, shape);
    }
    const settled = livenessOf(result.record, { fromTick: settledTick(result.record, plan) });
    shape.seeds++;
    shape.stall.add(settled.longestStallTicks, result.seed);
    if (settled.viewsAgreeAfterTicks === undefined) shape.never.push(result.seed);
    else shape.oneView.add(settled.viewsAgreeAfterTicks, result.seed);
    shape.faultStall.add(
      livenessOf(result.record, { fromTick: plan.faultTick }).longestStallTicks,
      result.seed,
    );
  }

  lines(): string[] {
    return [...this.#shapes.entries()].map(([name, s]) => {
      const never =
        s.never.length === 0 ? '' : `; never in one view: seeds ${s.never.slice(0, 10).join(', ')}`;
      return `  ${name} (${s.seeds} seeds): stall after the faults ${s.stall} [bound ${s.plan.stall.ticks}]; one view ${s.oneView} [bound ${s.plan.oneView.ticks}]${never}; stall from the first fault ${s.faultStall} [bound ${s.plan.faultStall.ticks}]`;
    });
  }
}

function main(argv: readonly string[]): number {
  let flags: Flags;
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
  if (flags.html !== undefined && flags.seed === undefined)
    problems.push('--html draws one run: give --seed S');
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
  const suiteName: SuiteName = flags.suite ?? 'default';
  const suite = SUITES[suiteName];
  const overrides: SuiteOverrides = {
    ...(flags.replicas === undefined ? {} : { replicas: flags.replicas }),
    ...(flags.byzantine === undefined ? {} : { byzantine: flags.byzantine }),
    ...(flags.agents === undefined ? {} : { agents: flags.agents }),
    ...(flags.requests === undefined ? {} : { requests: flags.requests }),
    ...(flags['byzantine-agents'] === undefined ? {} : { byzantineAgents: flags['byzantine-agents'] }),
    ...(flags.strategies === undefined ? {} : { strategies: flags.strategies }),
    ...(flags['agent-strategies'] === undefined ? {} : { agentStrategies: flags['agent-strategies'] }),
    ...(flags.drop === undefined ? {} : { drop: flags.drop }),
    ...(flags.duplicate === undefined ? {} : { duplicate: flags.duplicate }),
    ...(flags.delay === undefined ? {} : { delay: flags.delay }),
    ...(flags.ticks === undefined ? {} : { ticks: flags.ticks }),
  };
  if (suite.expect === 'violation')
    process.stdout.write(`${suiteName}: ${suite.description}; a seed passes when violations ARE found\n`);
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
    const options = suite.scenario(flags.seed, overrides);
    const result = runScenario(options);
    scenarios = 1;
    messages = result.stats.network.delivered;
    requests = requestsCompletedIn(result);
    printVerbose(result);
    if (passes(suite, result)) {
      passed++;
      if (suite.expect === 'violation')
        process.stdout.write(`seed ${result.seed}: violations found, as ${suiteName} expects\n`);
    } else {
      failed++;
      process.stdout.write(`${describeSuiteFailure(result, suiteName, overrides, true)}\n`);
    }
    if (flags.html !== undefined) {
      // Tracing only observes, so the rerun is the same run; it is drawn from the rerun's trace.
      const traced = traceRun(options);
      const path = resolve(flags.html);
      writeFileSync(path, renderRunHtml(traced.trace, traced.result, { shape }));
      process.stdout.write(`wrote ${path}\n`);
    }
  } else {
    const start = flags.start ?? 1;
    const count = flags.seeds ?? 100;
    let shrunk = 0;
    const worst = new WorstLiveness();
    const byShape = new LivenessByShape();
    for (let seed = start; seed < start + count; seed++) {
      const result = runScenario(suite.scenario(seed, overrides));
      worst.add(result);
      byShape.add(result);
      messages += result.stats.network.delivered;
      requests += requestsCompletedIn(result);
      if (passes(suite, result)) passed++;
      else {
        failed++;
        const shrink = shrunk < SHRINKS_MAX;
        if (shrink) shrunk++;
        process.stdout.write(`${describeSuiteFailure(result, suiteName, overrides, shrink)}\n`);
      }
    }
    if (suite.expect === 'violation')
      process.stdout.write(`${suiteName}: violations found in ${passed} of ${count} seeds\n`);
    process.stdout.write(`${worst.line(count)}\n`);
    for (const line of byShape.lines()) process.stdout.write(`${line}\n`);
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
