import { describe, expect, it } from 'vitest';
import { membershipScenario } from '../src/membership-suite.ts';
import type { ExpectedOutcomeRecord } from '../src/record.ts';
import { runScenario, type ScenarioResult } from '../src/simulation.ts';
import { replayArguments, runSuite } from '../src/suites.ts';

/**
 * Seeds that found a core bug (README, "Found and fixed"): all replies to an agent's rotate_key
 * lost, and its retransmission, naming the rotated-out key, refused before the reply cache
 * could answer it.
 */
const REGRESSION_SEEDS = [230, 242];
/** Seeds 1..SEEDS. */
const SEEDS = 30;

function describeFailure(result: ScenarioResult): string {
  return `pnpm sim ${replayArguments('membership', result.seed, {}).join(' ')}: ${result.violations
    .slice(0, 2)
    .map((v) => `[${v.checker}] ${v.message}`)
    .join('; ')}`;
}

/** Outcome → count, per attack or step label (numbers folded). */
function tally(outcomes: readonly ExpectedOutcomeRecord[], into: Map<string, Map<string, number>>): void {
  for (const outcome of outcomes) {
    const label = outcome.label.replace(/\d+/g, '#');
    const counts = into.get(label) ?? new Map<string, number>();
    into.set(label, counts);
    const key = outcome.outcome ?? 'none';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
}

describe('suite membership', () => {
  it(`seeds 1..${SEEDS} pass every checker, and every attack produced what it must`, () => {
    const outcomes = new Map<string, Map<string, number>>();
    let refused = 0;
    let changes = 0;
    const failures: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const summary = runSuite('membership', seed, 1, {}, runScenario, (result) => {
        tally(result.record.membership?.outcomes ?? [], outcomes);
        for (const replica of result.record.replicas)
          for (const entry of replica.executed) {
            refused += entry.refused?.length ?? 0;
            if (entry.agentKeys !== undefined) changes++;
          }
      });
      failures.push(...summary.failures.map(describeFailure));
    }
    expect(failures).toEqual([]);
    const seen = (label: string, outcome: string) => outcomes.get(label)?.get(outcome) ?? 0;
    // The newcomer is a full agent in some seeds and an observer in the others: every write of
    // a full one executes, every write of an observer is refused, and so is its vote.
    const full = seen('newcomer write #', 'ok');
    const observed = seen('newcomer write #', 'READ_ONLY');
    expect(full + observed).toBe(3 * SEEDS);
    expect(full).toBeGreaterThan(0);
    expect(observed).toBeGreaterThan(0);
    expect(seen('observer votes on the open action proposal', 'READ_ONLY')).toBe(observed / 3);
    expect(seen('observer reads', 'ok') + seen('observer reads', 'NOT_FOUND')).toBe(observed / 3);
    expect(seen("register someone else's key without its proof", 'INVALID_JOIN')).toBeGreaterThan(0);
    expect(seen("rotate to agent-#'s key without its proof", 'INVALID_JOIN')).toBeGreaterThan(0);
    expect(seen('propose without the council: remove agent-#', 'NOT_COUNCIL')).toBeGreaterThan(0);
    expect(seen('write under the old key racing the rotation (#)', 'refused:REVOKED_KEY')).toBeGreaterThan(0);
    expect(seen('write under the old key racing the rotation (#)', 'ok')).toBeGreaterThan(0);
    // Never executed: only refusals or no answer at all.
    expect(seen('write as agent-# with its rotated-out key (#)', 'ok')).toBe(0);
    expect(seen('vote with its removed key', 'ok')).toBe(0);
    expect(refused).toBeGreaterThan(0);
    expect(changes).toBeGreaterThan(0);
  });

  it(`regression seeds ${REGRESSION_SEEDS.join(', ')} pass every checker`, () => {
    for (const seed of REGRESSION_SEEDS) {
      const result = runScenario(membershipScenario(seed));
      expect(result.violations.map((v) => `seed ${seed}: [${v.checker}] ${v.message}`)).toEqual([]);
    }
  });

  it('is deterministic: one seed, one run', () => {
    const a = runScenario(membershipScenario(7));
    const b = runScenario(membershipScenario(7));
    expect(b.violations).toEqual(a.violations);
    expect(b.record.endTick).toBe(a.record.endTick);
    expect(b.record.membership).toEqual(a.record.membership);
  });
});
