/**
 * Which key a receipt's request must verify against, as an agent checking it offline would
 * learn it: from the coordination state machine's key history (`list_agents`, `keyInForce`).
 * Other state machines keep the cluster config's fixed registry (`verifyReceipt`'s default).
 */
import {
  type AgentView,
  CoordinationStateMachine,
  decodeResult,
  keyInForce,
  ops,
} from '@conclave/coordination';
import type { StateMachine } from '@conclave/core';

/** Pages of `list_agents` read at most (100 agents each). */
const AGENT_PAGES_MAX = 100;

type AgentKeyAt = (agent: string, sequence: number) => Uint8Array | undefined;

/** The last answer per state machine, with the registry version it was read at. */
const cache = new WeakMap<StateMachine, { readonly version: number; readonly keyAt: AgentKeyAt }>();

/** `(agent, sequence) → key in force`, from the state machine's registry; undefined if it keeps none. */
export function agentKeyAtOf(stateMachine: StateMachine): AgentKeyAt | undefined {
  if (!(stateMachine instanceof CoordinationStateMachine)) return undefined;
  // The history changes only with the registry, whose version then grows.
  const version = stateMachine.agentKeys().version;
  const cached = cache.get(stateMachine);
  if (cached?.version === version) return cached.keyAt;
  const keyAt = readHistory(stateMachine);
  cache.set(stateMachine, { version, keyAt });
  return keyAt;
}

function readHistory(stateMachine: CoordinationStateMachine): AgentKeyAt {
  const agents: AgentView[] = [];
  let after: string | null = null;
  for (let page = 0; page < AGENT_PAGES_MAX; page++) {
    const result = decodeResult(stateMachine.query(ops.listAgents({ after, limit: 100 })));
    if (!result.ok || result.kind !== 'agents') break;
    agents.push(...result.agents);
    if (result.next === null) break;
    after = result.next;
  }
  return (agent: string, sequence: number) => keyInForce(agents, agent, sequence);
}
