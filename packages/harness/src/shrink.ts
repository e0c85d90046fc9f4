/**
 * Shrinking a failing scenario to a minimal one that still fails, so a person reads the
 * smallest schedule that shows the bug: fewer partitions, fewer and simpler Byzantine replicas
 * and agents, fewer requests, a calmer network, an earlier heal.
 *
 * Greedy delta debugging over the scenario's data: try each simplification in a fixed order;
 * keep it when the run still fails; start over from the first; stop when none applies or the
 * budget of runs is spent. Deterministic: the same failing scenario shrinks to the same result.
 */
import type { ScenarioOptions } from './scenario-options.ts';

export interface ShrinkBudget {
  /** Scenario runs at most (each candidate costs one run). */
  readonly runsMax: number;
}

export const DEFAULT_SHRINK_BUDGET: ShrinkBudget = Object.freeze({ runsMax: 200 });

export interface ShrinkResult {
  readonly options: ScenarioOptions;
  /** Runs spent. */
  readonly runs: number;
  /** Simplifications kept, in order, for the report. */
  readonly steps: readonly string[];
}

type Candidate = { readonly label: string; readonly options: ScenarioOptions };

/** The simplifications of `o`, smallest change last within each kind, each labelled. */
function candidates(o: ScenarioOptions): Candidate[] {
  const out: Candidate[] = [];
  const add = (label: string, options: ScenarioOptions): void => {
    out.push({ label, options });
  };
  if (o.partitions.length > 0) {
    add('no partitions', { ...o, partitions: [] });
    if (o.partitions.length > 1) {
      for (let i = 0; i < o.partitions.length; i++) {
        add(`drop partition ${i + 1}`, { ...o, partitions: o.partitions.filter((_, j) => j !== i) });
      }
    }
  }
  o.byzantine.forEach((plan, i) => {
    add(`replica ${plan.id} honest`, { ...o, byzantine: o.byzantine.filter((_, j) => j !== i) });
    if (plan.strategies.length > 1) {
      for (const strategy of plan.strategies) {
        add(`replica ${plan.id} without ${strategy}`, {
          ...o,
          byzantine: o.byzantine.map((p, j) =>
            j === i ? { ...p, strategies: p.strategies.filter((s) => s !== strategy) } : p,
          ),
        });
      }
    }
  });
  if (o.collusion) add('no collusion', { ...o, collusion: false });
  // A membership or sealed run's cast is scripted for its genesis agents: they stay.
  const scripted = o.membership !== undefined || o.sealed !== undefined;
  if (o.byzantineAgents > 0 && !scripted)
    add(`${o.byzantineAgents - 1} lying agents`, { ...o, byzantineAgents: o.byzantineAgents - 1 });
  if (o.agents > 1 && !scripted) add(`${o.agents - 1} honest agents`, { ...o, agents: o.agents - 1 });
  if (o.requestsPerAgent > 1) {
    const fewer = Math.max(1, Math.floor(o.requestsPerAgent / 2));
    add(`${fewer} requests per agent`, { ...o, requestsPerAgent: fewer });
  }
  const f = o.faults;
  if (f.dropProbability > 0) add('no drops', { ...o, faults: { ...f, dropProbability: 0 } });
  if (f.duplicateProbability > 0) add('no duplicates', { ...o, faults: { ...f, duplicateProbability: 0 } });
  if (f.reorderProbability > 0)
    add('no reordering', { ...o, faults: { ...f, reorderProbability: 0, reorderDelayTicksMax: 0 } });
  if (f.delayTicksMax > f.delayTicksMin)
    add('fixed delay', { ...o, faults: { ...f, delayTicksMax: f.delayTicksMin } });
  if (o.healTick > 1) {
    const earlier = Math.floor(o.healTick / 2);
    add(`heal at tick ${earlier}`, {
      ...o,
      healTick: earlier,
      partitions: o.partitions.map((p) => ({
        ...p,
        healTick: Math.min(p.healTick, earlier),
        startTick: Math.min(p.startTick, earlier),
      })),
    });
  }
  return out;
}

/**
 * Shrinks `options` while `stillFails` holds. `stillFails(options)` must be true on entry (the
 * scenario failed); it is called once per candidate, at most `budget.runsMax` times.
 */
export function shrinkScenario(
  options: ScenarioOptions,
  stillFails: (options: ScenarioOptions) => boolean,
  budget: ShrinkBudget = DEFAULT_SHRINK_BUDGET,
): ShrinkResult {
  let current = options;
  let runs = 0;
  const steps: string[] = [];
  for (;;) {
    let improved = false;
    for (const candidate of candidates(current)) {
      if (runs >= budget.runsMax) return { options: current, runs, steps };
      runs++;
      if (stillFails(candidate.options)) {
        current = candidate.options;
        steps.push(candidate.label);
        improved = true;
        break;
      }
    }
    if (!improved) return { options: current, runs, steps };
  }
}

/** A short, readable account of a scenario's schedule: what a person needs to see to reproduce it. */
export function describeSchedule(o: ScenarioOptions): string[] {
  const lines = [
    `n=${o.replicas}, ${o.agents} honest agents x ${o.requestsPerAgent} requests, ${o.byzantineAgents} lying agents`,
  ];
  if (o.byzantine.length === 0) lines.push('no Byzantine replicas');
  for (const plan of o.byzantine) {
    lines.push(
      `replica ${plan.id} Byzantine: ${plan.strategies.join(', ')}${plan.colluding && o.collusion ? ' (colluding)' : ''}`,
    );
  }
  const f = o.faults;
  const faults = [
    f.dropProbability > 0 ? `drop ${f.dropProbability.toFixed(3)}` : undefined,
    f.duplicateProbability > 0 ? `duplicate ${f.duplicateProbability.toFixed(3)}` : undefined,
    f.reorderProbability > 0 ? `reorder ${f.reorderProbability.toFixed(3)}` : undefined,
    `delay ${f.delayTicksMin}..${f.delayTicksMax} ticks`,
  ].filter((x): x is string => x !== undefined);
  lines.push(`network until tick ${o.healTick}: ${faults.join(', ')}`);
  for (const p of o.partitions) {
    lines.push(`partition [${p.startTick}, ${p.healTick}): {${p.sideA.join(',')}} | {${p.sideB.join(',')}}`);
  }
  return lines;
}
