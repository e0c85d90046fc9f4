import { decodeResult } from '@conclave/coordination';
import { describe, expect, it } from 'vitest';
import { PRESSURE_STRATEGY_NAMES } from '../src/pressure.ts';
import { runScenario, type ScenarioResult } from '../src/simulation.ts';
import { SUITES } from '../src/suites.ts';

// The fairness suite's runs, whatever the state machine's verdict on the attacks: the liars
// really do press (so a clean sweep means the state machine resisted, not that nobody attacked).

function run(seed: number, strategy: (typeof PRESSURE_STRATEGY_NAMES)[number]): ScenarioResult {
  return runScenario(SUITES.fairness.scenario(seed, { agentStrategies: [strategy] }));
}

/** The liars' executed writes, by outcome (ok, or the error code). */
function liarOutcomes(result: ScenarioResult): Record<string, number> {
  const out: Record<string, number> = {};
  const replica = result.record.replicas.find((r) => r.honest);
  for (const entry of replica?.executed ?? [])
    for (const request of entry.requests) {
      if (!request.agent.startsWith('mallory')) continue;
      const decoded = decodeResult(Uint8Array.from(Buffer.from(request.result, 'hex')));
      const key = decoded.ok ? 'ok' : decoded.code;
      out[key] = (out[key] ?? 0) + 1;
    }
  return out;
}

describe('fairness suite', () => {
  it('picks the strategies round robin by seed, with two liars and the small tables', () => {
    const picked = PRESSURE_STRATEGY_NAMES.map((_, i) => SUITES.fairness.scenario(i + 1, {}));
    expect(picked.map((o) => o.byzantineAgentStrategies?.[0])).toEqual([...PRESSURE_STRATEGY_NAMES]);
    for (const options of picked) {
      expect(options.byzantineAgents).toBe(2);
      expect(options.byzantine).toEqual([]);
      expect(options.agentStartTicksMin).toBe(options.healTick);
      expect(options.fairness?.latencyBoundTicks).toBe(300);
    }
  });

  it('hoarders fill a table until the state machine refuses them', () => {
    for (const strategy of ['hoard-kv', 'hoard-locks', 'hoard-tasks', 'hoard-proposals'] as const) {
      const outcomes = liarOutcomes(run(1, strategy));
      expect(outcomes.ok ?? 0, strategy).toBeGreaterThan(0);
      const refused = Object.entries(outcomes).filter(([code]) => code !== 'ok');
      expect(refused.length, `${strategy}: ${JSON.stringify(outcomes)}`).toBeGreaterThan(0);
    }
  });

  it('is deterministic: one seed, one run', () => {
    const a = run(3, 'overwrite-kv');
    const b = run(3, 'overwrite-kv');
    expect(b.violations).toEqual(a.violations);
    expect(b.record.endTick).toBe(a.record.endTick);
    expect([...(b.record.fairness?.operations.entries() ?? [])]).toEqual([
      ...(a.record.fairness?.operations.entries() ?? []),
    ]);
  });
});
