/**
 * Agent records and governance actions as plain JSON (keys in hex, join statements decoded):
 * what the CLI prints with --json and the MCP server hands a model, one shape for both.
 */
import { decodeJoinStatement, toHex } from '@conclave/core';
import type { GovernanceAction } from './governance.ts';
import type { AgentView } from './results.ts';

export interface AgentJson {
  readonly id: string;
  readonly removed: boolean;
  readonly publicKey: string | null;
  readonly weight: number;
  readonly council: boolean;
  readonly observer: boolean;
  readonly quotas: AgentView['quotas'];
  readonly keys: readonly {
    readonly publicKey: string;
    readonly from: number;
    readonly until: number | null;
  }[];
}

export function agentToJson(agent: AgentView): AgentJson {
  return {
    id: agent.id,
    removed: agent.removed,
    publicKey: agent.publicKey === null ? null : toHex(agent.publicKey),
    weight: agent.weight,
    council: agent.council,
    observer: agent.observer,
    quotas: agent.quotas,
    keys: agent.keys.map((k) => ({ publicKey: toHex(k.publicKey), from: k.from, until: k.until })),
  };
}

/** An action with its join statement as the agent id and public key it names, not as bytes. */
export function actionToJson(action: GovernanceAction): Record<string, unknown> {
  if (action.kind !== 'register_agent' && action.kind !== 'rotate_agent_key') return { ...action };
  const statement = decodeJoinStatement(action.joinStatement);
  const { joinStatement: _bytes, ...rest } = action;
  return {
    ...rest,
    ...(action.kind === 'register_agent' ? { agent: statement?.id ?? null } : {}),
    publicKey: statement === undefined ? null : toHex(statement.publicKey),
  };
}
