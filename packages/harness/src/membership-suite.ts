/**
 * The membership suite (issue 16): n=4 on the coordination state machine, one Byzantine replica
 * from the random mix and the seed's network faults and honest crashes, as in `agents`; instead
 * of the random workload, the scripted cast of membership-agents.ts changes the registry while
 * the cluster runs and two liars attack it. The registry checkers (`registryAgreement`,
 * `keyValidity`) and the outcome checker (`membership`) hold every run.
 */
import { castAgentOptions, castKeysOf } from './cast-keys.ts';
import type { AgentContext } from './cluster-setup.ts';
import { type Cast, COUNCIL, membershipCast } from './membership-agents.ts';
import type { Prng } from './prng.ts';
import { scenarioFromSeed } from './scenario.ts';
import type { ScenarioOptions, SuiteOverrides } from './scenario-options.ts';

/** Ordinary writes per honest agent before and after its membership steps. */
export const MEMBERSHIP_WRITES = 3;

export function membershipScenario(seed: number, overrides: SuiteOverrides = {}): ScenarioOptions {
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
  return {
    ...base,
    membership: { writes: overrides.requests ?? MEMBERSHIP_WRITES, council: COUNCIL },
  };
}

/** The cast of a membership run, from the run's genesis identities (3 honest agents, 2 liars). */
export function membershipCastOf(context: AgentContext, root: Prng): Cast {
  const { options, crypto } = context;
  const plan = options.membership;
  if (plan === undefined) throw new RangeError('not a membership run');
  return membershipCast({
    crypto,
    keys: castKeysOf(context, 'membership'),
    keyStream: root.fork('membership-keys'),
    prng: root.fork('membership'),
    writes: plan.writes,
    // Half the runs register the newcomer as an observer (read-only), half as a full agent.
    newcomerObserver: root.fork('membership-observer').int(2) === 1,
    startTicksMax: options.agentStartTicksMax,
    agent: castAgentOptions(context),
  });
}
