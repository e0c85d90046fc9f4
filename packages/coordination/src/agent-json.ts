/**
 * An agent record as plain JSON (keys in hex): what the CLI prints with --json and the MCP
 * server hands a model, one shape for both.
 */
import { toHex } from '@conclave/core';
import type { AgentView } from './results.ts';

export interface AgentJson {
  readonly id: string;
  readonly removed: boolean;
  readonly publicKey: string | null;
  readonly weight: number;
  readonly council: boolean;
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
    quotas: agent.quotas,
    keys: agent.keys.map((k) => ({ publicKey: toHex(k.publicKey), from: k.from, until: k.until })),
  };
}
