/**
 * `pnpm sim:long`: every suite over many more seeds than `pnpm test` sweeps (which keeps a short
 * version of each so the suite fits its time budget). Seeds continue past the ones the test
 * sweeps use, so a long run covers new ground. Exits 1 on any failure, printing the `pnpm sim`
 * line that replays it (must-fail: when no seed found the violation it must find).
 *
 *   pnpm sim:long                         # every suite, the default counts (tens of minutes)
 *   pnpm sim:long --suites twins,default --factor 0.25
 */
import { parseArgs } from 'node:util';
import { runScenario } from '../src/simulation.ts';
import { replayArguments, runSuite, SUITE_NAMES, type SuiteName } from '../src/suites.ts';

/** Seeds per suite: [first, count]. The test sweeps cover 1..(first − 1) or less. */
const LONG: Readonly<Record<SuiteName, readonly [number, number]>> = {
  default: [161, 1000],
  n7: [37, 200],
  'crash-restart': [111, 400],
  agents: [101, 400],
  twins: [201, 1000],
  'must-fail': [115, 200],
  fairness: [17, 200],
  liveness: [26, 100],
  membership: [31, 200],
  sealed: [9, 200],
};

const { values } = parseArgs({
  options: { suites: { type: 'string' }, factor: { type: 'string', default: '1' } },
});
const factor = Number(values.factor);
if (!(factor > 0 && factor <= 10)) throw new Error('--factor takes a number in (0, 10]');
const names = (values.suites?.split(',') ?? [...SUITE_NAMES]) as SuiteName[];
const unknown = names.filter((name) => !SUITE_NAMES.includes(name));
if (unknown.length > 0)
  throw new Error(`unknown suite(s) ${unknown.join(', ')}; suites: ${SUITE_NAMES.join(', ')}`);

let failed = 0;
for (const name of names) {
  const [first, count] = LONG[name];
  const seeds = Math.max(1, Math.round(count * factor));
  const started = Date.now();
  const summary = runSuite(name, first, seeds, {}, runScenario);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const range = `seeds ${first}..${first + seeds - 1}`;
  if (name === 'must-fail') {
    // f+1 colluding replicas: a seed "passes" when a safety checker fires; the attack does not
    // always land, so a seed without a violation is not a failure of the code.
    console.log(`${name}: ${range}: safety violations found in ${summary.passed} of ${seeds} (${seconds} s)`);
    if (summary.passed === 0) failed += 1;
    continue;
  }
  console.log(`${name}: ${range}: ${summary.passed} passed, ${summary.failed} failed (${seconds} s)`);
  for (const failure of summary.failures.slice(0, 5))
    console.log(
      `  pnpm sim ${replayArguments(name, failure.seed, {}).join(' ')}: ${failure.violations[0]?.message ?? ''}`,
    );
  failed += summary.failed;
}
process.exitCode = failed === 0 ? 0 : 1;
