/**
 * Governance actions and self-service changes, checked and executed against the registry and the
 * council. Every action is checked twice: when proposed (so a bad one never reaches a vote) and
 * again when approved (the registry may have changed meanwhile: the outcome then records the
 * refusal). Execution is all-or-nothing: every check runs before the first change.
 */
import {
  bytesEqual,
  type CryptoBackend,
  checkJoinStatement,
  decodeJoinStatement,
  type JoinStatement,
} from '@conclave/core';
import { checkQuotas } from '../agent-quotas.ts';
import type { GovernanceAction } from '../governance.ts';
import type { CoordinationLimits } from '../limits.ts';
import type { ErrorResult } from '../results.ts';
import { AGENT_ID_BYTES_MAX, utf8Bytes } from '../validate.ts';
import type { AgentRegistry } from './agents.ts';
import { type Council, checkCouncil } from './council.ts';
import { fail } from './shared.ts';

/** What actions read and change. */
export interface ActionScope {
  readonly agents: AgentRegistry;
  readonly council: Council;
  readonly crypto: CryptoBackend;
  readonly limits: CoordinationLimits;
  /** Keys no agent may hold (the replicas'). */
  readonly reservedKeys: readonly Uint8Array[];
}

/** A checked join statement, or the refusal. */
type Joined = { readonly ok: true; readonly statement: JoinStatement } | ErrorResult;

/** Decodes and checks a join statement: an agent's, with a valid id, signed by its own key (`INVALID_JOIN`). */
export function checkJoin(bytes: Uint8Array, crypto: CryptoBackend): Joined {
  const statement = decodeJoinStatement(bytes);
  if (statement === undefined) return fail('INVALID_JOIN', 'joinStatement is not an encoded join statement');
  if (statement.role !== 'agent')
    return fail('INVALID_JOIN', `the join statement is a ${statement.role}'s, not an agent's`);
  if (utf8Bytes(statement.id) > AGENT_ID_BYTES_MAX)
    return fail('INVALID_JOIN', `agent ids are at most ${AGENT_ID_BYTES_MAX} bytes`);
  const refused = checkJoinStatement(statement, crypto);
  if (refused !== undefined) return fail('INVALID_JOIN', refused);
  return { ok: true, statement };
}

/** `KEY_IN_USE` when any agent holds or held `publicKey` (within the retained history), or a replica holds it. */
export function checkFreshKey(publicKey: Uint8Array, scope: ActionScope): ErrorResult | undefined {
  if (scope.reservedKeys.some((key) => bytesEqual(key, publicKey)))
    return fail('KEY_IN_USE', "this key is a replica's; an agent needs a key of its own");
  if (!scope.agents.keyUsed(publicKey)) return undefined;
  return fail('KEY_IN_USE', 'this key is, or was, registered to an agent; generate a new one');
}

function checkRegistered(agent: string, scope: ActionScope): ErrorResult | undefined {
  return scope.agents.has(agent) ? undefined : fail('UNKNOWN_AGENT', `${agent} is not a registered agent`);
}

/** A new key for `agent`: a valid join statement for that same id, with a key never used. */
export function checkRotation(agent: string, joinStatement: Uint8Array, scope: ActionScope): Joined {
  const joined = checkJoin(joinStatement, scope.crypto);
  if (!joined.ok) return joined;
  if (joined.statement.id !== agent)
    return fail('INVALID_JOIN', `the join statement is for ${joined.statement.id}, not ${agent}`);
  return checkFreshKey(joined.statement.publicKey, scope) ?? joined;
}

function checkRegister(
  action: Extract<GovernanceAction, { kind: 'register_agent' }>,
  scope: ActionScope,
): Joined {
  const joined = checkJoin(action.joinStatement, scope.crypto);
  if (!joined.ok) return joined;
  const { id, publicKey } = joined.statement;
  if (scope.agents.has(id)) return fail('AGENT_EXISTS', `${id} is already registered`);
  const fresh = checkFreshKey(publicKey, scope);
  if (fresh !== undefined) return fresh;
  // A removed id is revived in its own record; only a new id takes a new one.
  if (scope.agents.recordOf(id) === undefined && scope.agents.size >= scope.limits.agentsMax)
    return fail('REGISTRY_FULL', `the registry holds ${scope.agents.size} agent records (agentsMax)`);
  const quotas = checkQuotas(action.quotas, scope.limits);
  return quotas === undefined ? joined : fail('INVALID_ACTION', quotas);
}

function checkSetCouncil(action: Extract<GovernanceAction, { kind: 'set_council' }>, scope: ActionScope) {
  const unknown = action.members.find((m) => !scope.agents.has(m));
  if (unknown !== undefined)
    return fail('UNKNOWN_AGENT', `council member ${unknown} is not a registered agent`);
  const refused = checkCouncil(action, scope.agents, scope.limits.votersMax);
  return refused === undefined ? undefined : fail('INVALID_ACTION', refused);
}

/** Why the action cannot execute now, or undefined. */
export function checkAction(action: GovernanceAction, scope: ActionScope): ErrorResult | undefined {
  switch (action.kind) {
    case 'register_agent': {
      const checked = checkRegister(action, scope);
      return checked.ok ? undefined : checked;
    }
    case 'remove_agent':
      return checkRegistered(action.agent, scope) ?? scope.council.checkRemoval(action.agent, 'remove_agent');
    case 'rotate_agent_key': {
      const unknown = checkRegistered(action.agent, scope);
      if (unknown !== undefined) return unknown;
      const checked = checkRotation(action.agent, action.joinStatement, scope);
      return checked.ok ? undefined : checked;
    }
    case 'set_agent_quotas': {
      const unknown = checkRegistered(action.agent, scope);
      const quotas = checkQuotas(action.quotas, scope.limits);
      return unknown ?? (quotas === undefined ? undefined : fail('INVALID_ACTION', quotas));
    }
    case 'set_agent_weight':
      return checkRegistered(action.agent, scope);
    case 'set_council':
      return checkSetCouncil(action, scope);
  }
}

/** Removes a registered agent: from the registry (from the next sequence) and from the council. Checked by the caller. */
export function removeAgent(agent: string, scope: ActionScope): void {
  scope.agents.remove(agent);
  scope.council.drop(agent);
}

/** Checks the action again and, if it still holds, executes it entirely; returns the refusal otherwise. */
export function executeAction(action: GovernanceAction, scope: ActionScope): ErrorResult | undefined {
  const refused = checkAction(action, scope);
  if (refused !== undefined) return refused;
  switch (action.kind) {
    case 'register_agent': {
      const joined = checkRegister(action, scope);
      if (!joined.ok) return joined;
      scope.agents.add(joined.statement.id, joined.statement.publicKey, {
        weight: action.weight,
        quotas: action.quotas,
        observer: action.observer === true,
      });
      return undefined;
    }
    case 'remove_agent':
      removeAgent(action.agent, scope);
      return undefined;
    case 'rotate_agent_key': {
      const joined = checkRotation(action.agent, action.joinStatement, scope);
      if (!joined.ok) return joined;
      scope.agents.rotate(action.agent, joined.statement.publicKey);
      return undefined;
    }
    case 'set_agent_quotas':
      scope.agents.setQuotas(action.agent, action.quotas);
      return undefined;
    case 'set_agent_weight':
      scope.agents.setWeight(action.agent, action.weight);
      return undefined;
    case 'set_council':
      scope.council.set(action);
      return undefined;
  }
}
