/**
 * `pnpm spec`: the formal model's checks, all with Quint's TypeScript backend (the one that works
 * offline). Typecheck, scenario tests, then random simulation with fixed seeds:
 * - the safety invariants hold for f = 1 (n = 4, a Byzantine primary or a Byzantine backup) and
 *   for n = 7 (f = 2), return moves included (the skip rule: a replica stranded in a view change
 *   goes back to the view the others work in once 2f of them skip the views in between; the
 *   invariant `returnedViewsDead` says at most f honest replicas ever enter a view a return
 *   skipped), and with a scheduler where returns are frequent (`strandStep`);
 * - the witnesses (deliberately false invariants: "no commit ever happens", "no replica ever
 *   returns", ...) are violated in the explored runs, or a passing invariant would prove nothing;
 * - must fail: with 2 Byzantine replicas of 4 the simulator finds an agreement violation, with a
 *   replica that leaves its view on its own suspicion it finds a lone view change, and with
 *   returns that need no RETURN-ACK (ReturnQuorum = 0) it finds a skipped view that f+1 honest
 *   replicas entered (`returnedViewsDead`; `hasty_return_test` drives that on to a broken
 *   agreement deterministically).
 * Exits non-zero if any of these does not come out as expected. `spec/check.test.ts` runs it in CI.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type QuintOutcome, runQuintBatch } from './quint-batch.ts';

const specDirectory = dirname(fileURLToPath(import.meta.url));
const model = join(specDirectory, 'conclave.qnt');
const tests = join(specDirectory, 'conclave_test.qnt');

export interface Simulation {
  readonly name: string;
  readonly main: string;
  readonly seed: string;
  readonly samplesMax: number;
  /**
   * Runs in the quick profile (`npx vitest run spec`, part of the test suite); the full
   * `samplesMax` runs with `pnpm spec`. Witnesses are checked in both, so each quick count is
   * large enough that its seed still reaches every required witness. Must-fail runs stop at their
   * first violation and have no quick count.
   */
  readonly samplesQuick?: number;
  readonly stepsMax: number;
  readonly step?: string;
  readonly invariants: readonly string[];
  /** Witness (the negation of a deliberately false invariant) → must it be reached in some run? */
  readonly witnesses: Readonly<Record<string, boolean>>;
  /** A must-fail run: the invariants must be violated. */
  readonly expectViolation?: boolean;
}

const safety = ['agreement', 'validity', 'viewChangeSafety', 'suspicionsJustifyViews', 'returnedViewsDead'];
const f1Witnesses = {
  commitHappens: true,
  viewChangeCompletes: true,
  checkpointBecomesStable: true,
  commitAfterViewChange: true,
  nullCommits: false,
  returnHappens: false,
};

export const SIMULATIONS: readonly Simulation[] = [
  {
    name: 'n=4 f=1, Byzantine primary of view 0',
    main: 'n4',
    seed: '0x5eed01',
    samplesMax: 50,
    samplesQuick: 10,
    stepsMax: 200,
    invariants: safety,
    witnesses: f1Witnesses,
  },
  {
    name: 'n=4 f=1, Byzantine backup, primary of view 1',
    main: 'n4backup',
    seed: '0x5eed02',
    samplesMax: 50,
    samplesQuick: 10,
    stepsMax: 200,
    invariants: safety,
    witnesses: f1Witnesses,
  },
  {
    name: 'n=7 f=2, Byzantine 0 and 4',
    main: 'n7',
    seed: '0x5eed03',
    samplesMax: 10,
    samplesQuick: 3,
    // Leaving a view takes f+1 = 3 suspicions, so view 1 starts later in a run than when one
    // timeout sufficed; 300 steps left no room for a commit after it (0 of 10 runs), 450 do.
    stepsMax: 450,
    invariants: safety,
    witnesses: { commitHappens: true, viewChangeCompletes: true },
  },
  {
    name: 'n=4 f=1, Byzantine primary of view 0, frequent returns',
    main: 'n4',
    // Since an acknowledger holding a suspicion of x from anyone but the returner withholds its
    // ack (`othersSuspect`), returns are rarer: a return above `left` comes in about 1 run in 200
    // (0 of 30 with the former seed 0x5eed04). 0x5eed11 is the first seed of 0x5eed05.. whose 30
    // runs reach it (once), so this witness is thin: a model change may need another seed. For
    // the same reason this simulation has no quick count.
    seed: '0x5eed11',
    samplesMax: 30,
    stepsMax: 200,
    step: 'strandStep',
    invariants: safety,
    witnesses: {
      returnHappens: true,
      returnAboveLeftHappens: true,
      skipHappens: true,
      commitAfterViewChange: true,
    },
  },
  {
    name: 'MUST FAIL: n=4 with 2 Byzantine',
    main: 'n4TwoByzantine',
    seed: '0x7',
    samplesMax: 400,
    stepsMax: 80,
    step: 'adversarialStep',
    invariants: ['agreement'],
    witnesses: {},
    expectViolation: true,
  },
  {
    name: 'MUST FAIL: n=4, a replica leaves its view on its own suspicion',
    main: 'n4LoneLeave',
    seed: '0x9',
    samplesMax: 200,
    stepsMax: 100,
    invariants: ['suspicionsJustifyViews'],
    witnesses: {},
    expectViolation: true,
  },
  {
    name: 'MUST FAIL: n=4, a return without RETURN-ACKs',
    main: 'n4HastyReturn',
    seed: '0xb',
    samplesMax: 200,
    stepsMax: 150,
    step: 'strandStep',
    invariants: ['agreement', 'returnedViewsDead'],
    witnesses: {},
    expectViolation: true,
  },
];

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly summary: string;
  readonly seconds: number;
}

/** `quint typecheck` of the model and of its tests. */
export function typecheckCommands(): string[][] {
  return [
    ['typecheck', model],
    ['typecheck', tests],
  ];
}

const SCENARIO_TESTS = ['conclave_test', 'two_byzantine_test', 'hasty_return_test', 'two_returns_test'];

export function scenarioTestCommands(): string[][] {
  return SCENARIO_TESTS.map((main) => [
    'test',
    tests,
    '--main',
    main,
    '--backend',
    'typescript',
    '--seed',
    '0x1',
  ]);
}

export function simulationCommand(simulation: Simulation, quick = false): string[] {
  const samples = quick ? (simulation.samplesQuick ?? simulation.samplesMax) : simulation.samplesMax;
  const args = [
    'run',
    model,
    '--main',
    simulation.main,
    '--backend',
    'typescript',
    '--seed',
    simulation.seed,
    '--max-samples',
    String(samples),
    '--max-steps',
    String(simulation.stepsMax),
    '--verbosity',
    '1',
    '--invariants',
    ...simulation.invariants,
  ];
  if (simulation.step !== undefined) args.push('--step', simulation.step);
  const witnessNames = Object.keys(simulation.witnesses);
  if (witnessNames.length > 0) args.push('--witnesses', ...witnessNames);
  return args;
}

export function typecheckResult([model, tests]: readonly QuintOutcome[]): CheckResult {
  const ok = model?.status === 0 && tests?.status === 0;
  return {
    name: 'quint typecheck',
    ok,
    summary: ok ? 'conclave.qnt, conclave_test.qnt' : `${model?.output}${tests?.output}`,
    seconds: (model?.seconds ?? 0) + (tests?.seconds ?? 0),
  };
}

export function scenarioTestResult(main: string, value: QuintOutcome): CheckResult {
  const passing = /(\d+) passing/.exec(value.output)?.[1] ?? '0';
  const failing = /(\d+) failing/.exec(value.output)?.[1];
  const ok = value.status === 0 && failing === undefined && Number(passing) > 0;
  return {
    name: `quint test ${main}`,
    ok,
    summary: ok ? `${passing} passing` : value.output,
    seconds: value.seconds,
  };
}

export function simulationResult(simulation: Simulation, value: QuintOutcome, quick = false): CheckResult {
  const samples = quick ? (simulation.samplesQuick ?? simulation.samplesMax) : simulation.samplesMax;
  const seconds = value.seconds;
  const violated = /\[violation\]/.test(value.output);
  const clean = /\[ok\] No violation found/.test(value.output);
  const problems: string[] = [];
  if (simulation.expectViolation) {
    if (!violated) problems.push(`expected a violation of ${simulation.invariants.join(' or ')}, none found`);
  } else if (!clean || value.status !== 0) {
    problems.push(violated ? 'INVARIANT VIOLATED' : `quint failed:\n${value.output}`);
  }
  const reached: string[] = [];
  for (const [witness, required] of Object.entries(simulation.witnesses)) {
    const match = new RegExp(`${witness} was witnessed in (\\d+) trace\\(s\\) out of (\\d+)`).exec(
      value.output,
    );
    const count = Number(match?.[1] ?? 0);
    reached.push(`${witness} ${count}/${match?.[2] ?? '?'}`);
    if (required && count === 0) problems.push(`witness ${witness} never reached: its false invariant holds`);
  }
  const broken = [...value.output.matchAll(/❌ (\w+)/g)].map((match) => match[1]);
  const outcome = simulation.expectViolation
    ? violated
      ? `${broken.length > 0 ? broken.join(', ') : simulation.invariants.join(', ')} violated, as expected`
      : 'no violation'
    : clean
      ? `${simulation.invariants.join(', ')} hold`
      : 'violation';
  const seed = `--seed=${simulation.seed}`;
  const details = `${simulation.expectViolation ? 'up to ' : ''}${samples} runs x ${simulation.stepsMax} steps ${seed}`;
  return {
    name: `quint run ${simulation.main} (${simulation.name})`,
    ok: problems.length === 0,
    summary: [
      `${outcome}; ${details}`,
      ...(reached.length > 0
        ? [`witnesses reached (their false invariants violated) in runs: ${reached.join(', ')}`]
        : []),
      ...problems,
    ].join('\n      '),
    seconds,
  };
}

/**
 * Every check; `quick` runs fewer samples per simulation (see `Simulation.samplesQuick`). All of
 * them run in one process (spec/quint-batch.ts), which parses and typechecks each file once;
 * results are reported when the batch is done.
 */
export function runAll(report: (result: CheckResult) => void = () => {}, quick = false): CheckResult[] {
  const commands = [
    ...typecheckCommands(),
    ...scenarioTestCommands(),
    ...SIMULATIONS.map((simulation) => simulationCommand(simulation, quick)),
  ];
  const outcomes = runQuintBatch(commands);
  const typechecks = outcomes.slice(0, 2);
  const scenarios = outcomes.slice(2, 2 + SCENARIO_TESTS.length);
  const simulations = outcomes.slice(2 + SCENARIO_TESTS.length);
  const results = [
    typecheckResult(typechecks),
    ...SCENARIO_TESTS.map((main, i) => scenarioTestResult(main, scenarios[i] as QuintOutcome)),
    ...SIMULATIONS.map((simulation, i) =>
      simulationResult(simulation, simulations[i] as QuintOutcome, quick),
    ),
  ];
  for (const result of results) report(result);
  return results;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const results = runAll((result) => {
    console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${result.name} (${result.seconds.toFixed(1)}s)`);
    console.log(`      ${result.summary}`);
  }, process.argv.includes('--quick'));
  const failed = results.filter((result) => !result.ok).length;
  const total = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`spec: ${results.length - failed} passed, ${failed} failed (${total}s)`);
  process.exitCode = failed === 0 ? 0 : 1;
}
