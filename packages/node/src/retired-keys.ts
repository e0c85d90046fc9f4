/**
 * The keys agents held before their current one, from the coordination registry's history: what
 * a restarted daemon hands its transport with the registry, so an agent still dialling with a
 * rotated-out key is told REVOKED_KEY (signed) instead of failing as an impostor would. The
 * transport remembers rotations it sees while running; this restores what a restart forgot.
 */
import { CoordinationStateMachine, decodeResult, ops } from '@conclave/coordination';
import type { StateMachine } from '@conclave/core';
import type { AgentEntry } from '@conclave/transport';

/** list_agents pages read at most: agentsMax records fit in one default page. */
const PAGES_MAX = 16;

export function retiredKeysOf(machine: StateMachine): AgentEntry[] {
  if (!(machine instanceof CoordinationStateMachine)) return [];
  const retired: AgentEntry[] = [];
  let after: string | null = null;
  for (let page = 0; page < PAGES_MAX; page++) {
    const result = decodeResult(machine.query(ops.listAgents({ after })));
    if (!result.ok || result.kind !== 'agents') return retired;
    for (const agent of result.agents) {
      if (agent.removed) continue;
      for (const key of agent.keys)
        if (key.until !== null) retired.push({ id: agent.id, publicKey: key.publicKey });
    }
    if (result.next === null) return retired;
    after = result.next;
  }
  return retired;
}
