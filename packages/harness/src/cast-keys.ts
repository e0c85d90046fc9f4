/**
 * What a scripted cast (3 honest agents, 2 liars) is made of, shared by the suites that script
 * one (membership, sealed): the genesis identities, and the settings every scripted agent runs with.
 */
import { type KeyPair, quorumsOf, signedReplyVerifier } from '@conclave/core';
import type { AgentContext } from './cluster-setup.ts';
import type { CastContext } from './membership-scripts.ts';

/** The ids every scripted cast needs among the genesis agents. */
const CAST_IDS = ['agent-0', 'agent-1', 'agent-2', 'mallory-0', 'mallory-1'] as const;

/** Every genesis agent's key pair by id; throws, naming `suite`, if one of the cast's ids is missing. */
export function castKeysOf(context: AgentContext, suite: string): Map<string, KeyPair> {
  const { identities } = context;
  const ids = [...identities.agentIds, ...identities.malloryIds];
  const keyPairs = [...identities.agentKeys, ...identities.malloryKeys];
  for (const id of CAST_IDS)
    if (!ids.includes(id)) throw new RangeError(`a ${suite} run needs genesis agent ${id}`);
  return new Map(ids.map((id, i) => [id, keyPairs[i] as KeyPair]));
}

/** The run's settings every scripted agent of a cast runs with. */
export function castAgentOptions(context: AgentContext): CastContext['agent'] {
  const { identities, options, crypto } = context;
  return {
    crypto,
    verifier: signedReplyVerifier(crypto, identities.config),
    decodeLimits: context.decodeLimits,
    faultsMax: quorumsOf(options.replicas).f,
    thinkTicks: options.agentThinkTicksMax,
    retryTicks: options.agentRetryTicks,
    retryTicksMax: options.agentRetryTicksMax,
    created: context.created,
  };
}
