/**
 * Governance actions: the registry and council changes a proposal may carry, executed by the
 * state machine when the council approves it. This file holds their types and canonical tuples;
 * `domains/actions.ts` checks and executes them.
 *
 * Tuples (inside `['propose_action', proposalId, title, deadline, action]`):
 * - `['register_agent', joinStatement, weight, quotas]`, or with a fifth element `true` to
 *   register an observer (an agent that may read, not write or vote); absent for a full agent, so
 *   the four-element tuple keeps its meaning
 * - `['remove_agent', agent]`
 * - `['rotate_agent_key', agent, joinStatement]`
 * - `['set_agent_quotas', agent, quotas]`
 * - `['set_agent_weight', agent, weight]`
 * - `['set_council', members, threshold]`
 *
 * `joinStatement` is `encodeJoinStatement` bytes (from `@conclave/core`); `quotas` is a list of
 * `[limitName, value]` pairs in name order, each name once (see `agent-quotas.ts`).
 */
import type { Canonical } from '@conclave/core';
import { type AgentQuotas, isQuotaLimitName, QUOTA_LIMIT_NAMES } from './agent-quotas.ts';
import { JOIN_STATEMENT_BYTES_MAX } from './capacity.ts';
import type { CoordinationLimits } from './limits.ts';
import { compareStrings } from './record.ts';
import { AGENT_ID_BYTES_MAX, arity, binary, Invalid, integer, list, oneOf, text } from './validate.ts';

/** What an approved action proposal does. */
export type GovernanceAction =
  | {
      readonly kind: 'register_agent';
      readonly joinStatement: Uint8Array;
      readonly weight: number;
      readonly quotas: AgentQuotas;
      /** Registers a read-only agent (see `AgentRecord.observer`); one canonical form: only `true` is written. */
      readonly observer?: boolean;
    }
  | { readonly kind: 'remove_agent'; readonly agent: string }
  | { readonly kind: 'rotate_agent_key'; readonly agent: string; readonly joinStatement: Uint8Array }
  | { readonly kind: 'set_agent_quotas'; readonly agent: string; readonly quotas: AgentQuotas }
  | { readonly kind: 'set_agent_weight'; readonly agent: string; readonly weight: number }
  | { readonly kind: 'set_council'; readonly members: readonly string[]; readonly threshold: number };

export const ACTION_KINDS = [
  'register_agent',
  'remove_agent',
  'rotate_agent_key',
  'set_agent_quotas',
  'set_agent_weight',
  'set_council',
] as const;

function quotasTuple(quotas: AgentQuotas): Canonical {
  return Object.entries(quotas)
    .filter((entry): entry is [string, number] => entry[1] !== undefined)
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([name, value]) => [name, value]);
}

/** The canonical tuple of an action. */
export function actionTuple(action: GovernanceAction): Canonical {
  switch (action.kind) {
    case 'register_agent': {
      const tuple = [action.kind, action.joinStatement, action.weight, quotasTuple(action.quotas)];
      return action.observer === true ? [...tuple, true] : tuple;
    }
    case 'remove_agent':
      return [action.kind, action.agent];
    case 'rotate_agent_key':
      return [action.kind, action.agent, action.joinStatement];
    case 'set_agent_quotas':
      return [action.kind, action.agent, quotasTuple(action.quotas)];
    case 'set_agent_weight':
      return [action.kind, action.agent, action.weight];
    case 'set_council':
      return [action.kind, [...action.members], action.threshold];
  }
}

/** Quota pairs: known names, strictly ascending (so one map has one encoding), values ≥ 1. */
function decodeQuotas(value: unknown): AgentQuotas {
  const pairs = list(value, 'quotas', 0, QUOTA_LIMIT_NAMES.length);
  const quotas: Record<string, number> = {};
  let previous = '';
  for (const [i, item] of pairs.entries()) {
    const pair = list(item, `quotas[${i}]`, 2, 2);
    const name = text(pair[0], `quotas[${i}].name`, 64);
    if (!isQuotaLimitName(name)) throw new Invalid(`quotas[${i}]: unknown quota ${name}`);
    if (compareStrings(previous, name) >= 0) throw new Invalid('quotas must be in name order, each once');
    quotas[name] = integer(pair[1], `quotas[${i}].value`, 1, Number.MAX_SAFE_INTEGER);
    previous = name;
  }
  return quotas;
}

const joinBytes = (value: unknown): Uint8Array => binary(value, 'joinStatement', JOIN_STATEMENT_BYTES_MAX);
const agentId = (value: unknown): string => text(value, 'agent', AGENT_ID_BYTES_MAX);

/** `register_agent` with four elements, or five with `true` last (an observer): one encoding per action. */
function decodeRegister(tuple: unknown[], weight: (v: unknown) => number): GovernanceAction {
  if (tuple.length === 5 && tuple[4] !== true)
    throw new Invalid('register_agent: the fifth element, when present, must be true (an observer)');
  if (tuple.length !== 5) arity(tuple, 4, 'register_agent');
  return {
    kind: 'register_agent',
    joinStatement: joinBytes(tuple[1]),
    weight: weight(tuple[2]),
    quotas: decodeQuotas(tuple[3]),
    ...(tuple.length === 5 ? { observer: true } : {}),
  };
}

/** Decodes an action tuple, checking types and ranges (not the registry: that is the state machine's). Throws `Invalid`. */
export function decodeAction(value: unknown, limits: CoordinationLimits): GovernanceAction {
  const tuple = list(value, 'action', 2, 5);
  const kind = oneOf(tuple[0], 'action kind', ACTION_KINDS);
  const weight = (v: unknown) => integer(v, 'weight', 1, limits.weightMax);
  switch (kind) {
    case 'register_agent':
      return decodeRegister(tuple, weight);
    case 'remove_agent':
      arity(tuple, 2, kind);
      return { kind, agent: agentId(tuple[1]) };
    case 'rotate_agent_key':
      arity(tuple, 3, kind);
      return { kind, agent: agentId(tuple[1]), joinStatement: joinBytes(tuple[2]) };
    case 'set_agent_quotas':
      arity(tuple, 3, kind);
      return { kind, agent: agentId(tuple[1]), quotas: decodeQuotas(tuple[2]) };
    case 'set_agent_weight':
      arity(tuple, 3, kind);
      return { kind, agent: agentId(tuple[1]), weight: weight(tuple[2]) };
    case 'set_council': {
      arity(tuple, 3, kind);
      const members = list(tuple[1], 'members', 0, limits.votersMax).map((m, i) =>
        text(m, `members[${i}]`, AGENT_ID_BYTES_MAX),
      );
      return { kind, members, threshold: integer(tuple[2], 'threshold', 0, limits.votersMax) };
    }
  }
}

/** Builders of actions for `ops.proposeAction` (weight defaults to 1, quotas to none). */
export const actions = {
  registerAgent: (fields: {
    readonly joinStatement: Uint8Array;
    readonly weight?: number;
    readonly quotas?: AgentQuotas;
    /** Register a read-only observer (default false). */
    readonly observer?: boolean;
  }): GovernanceAction => ({
    kind: 'register_agent',
    joinStatement: fields.joinStatement,
    weight: fields.weight ?? 1,
    quotas: fields.quotas ?? {},
    ...(fields.observer === true ? { observer: true } : {}),
  }),
  removeAgent: (agent: string): GovernanceAction => ({ kind: 'remove_agent', agent }),
  rotateAgentKey: (agent: string, joinStatement: Uint8Array): GovernanceAction => ({
    kind: 'rotate_agent_key',
    agent,
    joinStatement,
  }),
  setAgentQuotas: (agent: string, quotas: AgentQuotas): GovernanceAction => ({
    kind: 'set_agent_quotas',
    agent,
    quotas,
  }),
  setAgentWeight: (agent: string, weight: number): GovernanceAction => ({
    kind: 'set_agent_weight',
    agent,
    weight,
  }),
  setCouncil: (members: readonly string[], threshold: number): GovernanceAction => ({
    kind: 'set_council',
    members,
    threshold,
  }),
} as const;
