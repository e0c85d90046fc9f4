/**
 * The sealed suite (issue 17): n=4 on the coordination state machine with the `agents` suite's
 * network faults and honest crashes; the cast of sealed-agents.ts opens three sealed proposals,
 * commits and reveals while two liars attack the commit-reveal rules. Half the seeds (drawn) make
 * replica 0, the first primary, Byzantine with `earlyReveals`: its clock is set back as far as
 * backups tolerate (`earlyRevealsClockLag`), so agreed time lags and liars' reveals sent by wall
 * time land before the commit deadline, which the state machine must refuse. The other half draw
 * one Byzantine replica from the random mix, as `agents` does.
 *
 * Honest clocks start `timestampSkewMaxTicks` later than elsewhere, so the lagging clock is never
 * negative. The sealed checkers (`sealedTally`, `sealedSecrecy`, `sealedOutcomes`) hold every run.
 */
import { earlyRevealsClockLag } from './byzantine.ts';
import { castAgentOptions, castKeysOf } from './cast-keys.ts';
import type { AgentContext } from './cluster-setup.ts';
import { Prng } from './prng.ts';
import { SIMULATION_PROTOCOL, scenarioFromSeed } from './scenario.ts';
import type { ScenarioOptions, SuiteOverrides } from './scenario-options.ts';
import { type SealedCast, sealedCast } from './sealed-agents.ts';

/**
 * The sealed suite's timing, in agreed-time ticks. The skew backups tolerate is smaller than the
 * other suites' (300, not 1000), so that the lag the `earlyReveals` primary can buy, and with it
 * the phases that must outlast it, fit in short runs.
 */
export const SEALED_TIMING = Object.freeze({
  timestampSkewMaxTicks: 300,
  /** From the proposer's read of agreed time to the commit deadline. */
  commitTicks: 1200,
  /** From the commit deadline to the deadline. */
  revealTicks: 600,
  /** After the heal, honest agents must be done within this (both phases and a lag or two). */
  livenessTicksMax: 8000,
});

/** Probability that replica 0 is the `earlyReveals` primary (else the random mix picks). */
const EARLY_REVEALS_PROBABILITY = 0.5;

export function sealedScenario(seed: number, overrides: SuiteOverrides = {}): ScenarioOptions {
  const base = scenarioFromSeed(seed, {
    replicas: overrides.replicas ?? 4,
    byzantine: overrides.byzantine ?? 1,
    stateMachine: 'coordination',
    agents: 3,
    byzantineAgents: 2,
    ...(overrides.strategies === undefined ? {} : { strategies: overrides.strategies }),
    ...(overrides.drop === undefined ? {} : { drop: overrides.drop }),
    ...(overrides.duplicate === undefined ? {} : { duplicate: overrides.duplicate }),
    ...(overrides.delay === undefined ? {} : { delayTicksMax: overrides.delay }),
    ...(overrides.ticks === undefined ? {} : { ticks: overrides.ticks }),
  });
  const skew = SEALED_TIMING.timestampSkewMaxTicks;
  const protocol = { ...SIMULATION_PROTOCOL, timestampSkewMaxTicks: skew };
  const early =
    overrides.strategies === undefined &&
    base.byzantine.length > 0 &&
    new Prng(seed).fork('sealed-early-reveals').chance(EARLY_REVEALS_PROBABILITY);
  const byzantine = early
    ? [{ id: 0, strategies: ['earlyReveals' as const], colluding: false }]
    : base.byzantine;
  const byzantineIds = new Set(byzantine.map((plan) => plan.id));
  const honestStarts = base.clockStarts.filter((_, id) => !byzantineIds.has(id)).map((c) => c + skew);
  const fastest = Math.max(...honestStarts);
  const clockStarts = base.clockStarts.map((c, id) =>
    byzantineIds.has(id) && early ? fastest - earlyRevealsClockLag(skew) : c + skew,
  );
  return {
    ...base,
    protocol,
    byzantine,
    clockStarts,
    // A replaced Byzantine plan takes its crashes and twin wiring along.
    ...(early
      ? {
          crashes: (base.crashes ?? []).filter((crash) => !byzantineIds.has(crash.id)),
          permanentPartitions: [],
        }
      : {}),
    livenessTicksMax: SEALED_TIMING.livenessTicksMax,
    sealed: { commitTicks: SEALED_TIMING.commitTicks, revealTicks: SEALED_TIMING.revealTicks },
  };
}

/** The cast of a sealed run, from its genesis identities (3 honest agents, 2 liars). */
export function sealedCastOf(context: AgentContext, root: Prng): SealedCast {
  const { options, crypto } = context;
  const plan = options.sealed;
  if (plan === undefined) throw new RangeError('not a sealed run');
  return sealedCast({
    crypto,
    keys: castKeysOf(context, 'sealed'),
    keyStream: root.fork('sealed-keys'),
    prng: root.fork('sealed'),
    writes: 0,
    commitTicks: plan.commitTicks,
    revealTicks: plan.revealTicks,
    startTicksMax: options.agentStartTicksMax,
    agent: castAgentOptions(context),
  });
}
