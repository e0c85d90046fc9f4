/**
 * The governance council a cluster starts with (`council` in cluster.json and genesis.json): the
 * agents whose votes approve governance actions, and how many must. Agents may carry a voting
 * `weight` (a whole number >= 1, default 1). The coordination state machine enforces the votes;
 * this file only checks that the numbers make sense before any replica starts.
 */

export interface Council {
  /** Agent ids, each an agent of the same file. */
  readonly members: readonly string[];
  /** Approvals needed: 1 <= threshold <= members.length. */
  readonly threshold: number;
}

/** Every agent, with a majority of them: what `conclave init` and `genesis assemble` write by default. */
export function defaultCouncil(agentIds: readonly string[]): Council {
  return { members: [...agentIds], threshold: Math.floor(agentIds.length / 2) + 1 };
}

/** Why `council` does not fit these agents (observers may not sit on it), or undefined when it does. */
export function checkCouncil(
  council: unknown,
  agentIds: readonly string[],
  observerIds: readonly string[] = [],
): string | undefined {
  if (council === null || typeof council !== 'object' || Array.isArray(council))
    return '"council" must be an object {members, threshold}';
  const { members, threshold } = council as Partial<Council>;
  if (!Array.isArray(members) || members.some((member) => typeof member !== 'string'))
    return '"council.members" must be a list of agent ids';
  const unknown = members.filter((member) => !agentIds.includes(member));
  if (unknown.length > 0) return `council member(s) ${unknown.join(', ')} are not agents of this cluster`;
  const observers = members.filter((member) => observerIds.includes(member));
  if (observers.length > 0)
    return `council member(s) ${observers.join(', ')} are observers, which may not vote`;
  if (new Set(members).size !== members.length) return 'a council member appears twice';
  if (!Number.isSafeInteger(threshold) || (threshold as number) < 1 || (threshold as number) > members.length)
    return `"council.threshold" must be a whole number from 1 to ${members.length} (the members), got ${String(threshold)}`;
  return undefined;
}

/** Why an agent's `weight` is wrong, or undefined when it is absent or a whole number >= 1. */
export function checkWeight(weight: unknown, agent: string): string | undefined {
  if (weight === undefined) return undefined;
  if (!Number.isSafeInteger(weight) || (weight as number) < 1)
    return `agent ${agent}: "weight" must be a whole number >= 1, got ${String(weight)}`;
  return undefined;
}

/** Why an agent's `observer` is wrong, or undefined when it is absent or a boolean. */
export function checkObserver(observer: unknown, agent: string): string | undefined {
  if (observer === undefined || typeof observer === 'boolean') return undefined;
  return `agent ${agent}: "observer" must be true or false, got ${String(observer)}`;
}
