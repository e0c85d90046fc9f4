/**
 * Issue 14's bar: while two lying agents apply a pressure strategy, honest agents are served
 * within the bound and never refused for what others hoard. Expected to FAIL on code without
 * per-agent quotas and kv ownership (every strategy but replay-flood does today); it goes green
 * when the coordination state machine refuses the liars instead.
 */
import { describe, expect, it } from 'vitest';
import { PRESSURE_STRATEGY_NAMES } from '../src/pressure.ts';
import { runScenario } from '../src/simulation.ts';
import { replayArguments, runSuite } from '../src/suites.ts';

/** Seeds per strategy: different fault phases, head starts and honest workloads. */
const SEEDS = 2;

describe('suite fairness', () => {
  for (const strategy of PRESSURE_STRATEGY_NAMES) {
    it(`${strategy}: seeds 1..${SEEDS} find no violation`, () => {
      const overrides = { agentStrategies: [strategy] };
      const summary = runSuite('fairness', 1, SEEDS, overrides, runScenario);
      const failures = summary.failures.map(
        (failure) =>
          `pnpm sim ${replayArguments('fairness', failure.seed, overrides).join(' ')}: ${failure.violations
            .slice(0, 2)
            .map((v) => `[${v.checker}] ${v.message}`)
            .join('; ')}`,
      );
      expect(failures).toEqual([]);
    });
  }
});
