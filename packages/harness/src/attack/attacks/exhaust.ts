/**
 * State exhaustion: one registered agent fills a shared, bounded table of the coordination state
 * (kv keys, locks, proposals, tasks) until refused. Before quotas per agent, the honest agent's
 * next new entry is refused too (LIMIT); with them, only the attacker is (QUOTA).
 */
import { DEFAULT_COORDINATION_LIMITS } from '@conclave/coordination';
import { type Attack, connectAttacker, fillUntilRefused } from './context.ts';

const VALUE = new TextEncoder().encode('x'.repeat(64));
/** The longest lease the cluster grants, so the locks outlive the attack. */
const LOCK_LEASE_TICKS = DEFAULT_COORDINATION_LIMITS.leaseTicksMax;
const PROPOSAL_TTL_TICKS = 1_000_000;

export const kvExhaust: Attack = async (context) => {
  const coord = await connectAttacker(context);
  await fillUntilRefused(context, (i) => coord.kv.put(`attacker/k${i}`, VALUE));
};

export const lockExhaust: Attack = async (context) => {
  const coord = await connectAttacker(context);
  await fillUntilRefused(context, (i) => coord.locks.acquire(`attacker/l${i}`, LOCK_LEASE_TICKS));
};

/** Opens and at once decides proposals: decided ones stay retained, so the per-agent open cap does not stop it. */
export const proposalExhaust: Attack = async (context) => {
  const coord = await connectAttacker(context);
  await fillUntilRefused(context, async (i) => {
    const proposalId = `attacker-p${i}`;
    await coord.propose({
      proposalId,
      title: 'filler',
      rule: { kind: 'threshold', k: 1 },
      voters: [{ agent: context.agent, weight: 1 }],
      ttlTicks: PROPOSAL_TTL_TICKS,
    });
    await coord.vote(proposalId, 'approve');
  });
};

export const taskExhaust: Attack = async (context) => {
  const coord = await connectAttacker(context);
  await fillUntilRefused(context, (i) => coord.tasks.create(`attacker-t${i}`, VALUE));
};
