/**
 * Reserved names: a kv key, lock name, task id or proposal id under `<agentId>/` (a registered
 * agent's id, then a slash) may be created only by that agent, so no agent can take another's
 * predictable names before it does ("squatting"). When several registered ids prefix a name, the
 * longest reserves it. Names under `shared/` are never reserved.
 */

import type { ErrorResult } from '../results.ts';
import { fail } from './shared.ts';

/** Who is registered: reserved prefixes belong to registered agents only. */
export interface RegisteredAgents {
  has(agent: string): boolean;
}

/** Names under this prefix are a commons (kv: any registered agent may write or delete them). */
export const SHARED_PREFIX = 'shared/';

/**
 * The registered agent whose prefix `<agentId>/` reserves `name` (the longest such id), or
 * undefined. Names are bounded by their field's limit, so the scan is short.
 */
export function reservedOwnerOf(name: string, agents: RegisteredAgents): string | undefined {
  if (name.startsWith(SHARED_PREFIX)) return undefined;
  for (let slash = name.lastIndexOf('/'); slash > 0; slash = name.lastIndexOf('/', slash - 1)) {
    const prefix = name.slice(0, slash);
    if (agents.has(prefix)) return prefix;
  }
  return undefined;
}

/** `FORBIDDEN` when `name` is reserved for an agent other than `agent`; undefined when it may create it. */
export function reservedRefusal(
  what: 'key' | 'lock' | 'task' | 'proposal',
  name: string,
  agent: string,
  agents: RegisteredAgents,
): ErrorResult | undefined {
  const owner = reservedOwnerOf(name, agents);
  if (owner === undefined || owner === agent) return undefined;
  return fail('FORBIDDEN', `${what} ${name} is under ${owner}/, which only ${owner} may create names in`);
}
