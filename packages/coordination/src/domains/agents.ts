/**
 * The agent registry: who may send operations, and the public key their requests, ballots and
 * equivocation reports are checked against. Fixed at genesis (the cluster config's agents);
 * `list_agents` pages through it.
 */
import type { AgentIdentity } from '@conclave/core';
import type { ReadOperation } from '../operations.ts';
import type { AgentView, CoordinationResult } from '../results.ts';
import { type DomainContext, pageOf, sortedEntries } from './shared.ts';

/** The registry's part of the snapshot record, sorted by id. */
export interface AgentsSnapshot {
  readonly agents: readonly AgentView[];
}

/** The agent registry. Read by the dispatcher (who may apply) and by the proposals (voters, ballot keys). */
export class AgentRegistry {
  readonly #context: Pick<DomainContext, 'position'>;
  #keys = new Map<string, Uint8Array>();

  /** Throws on an agent id that appears twice. */
  constructor(context: Pick<DomainContext, 'position'>, agents: readonly AgentIdentity[]) {
    this.#context = context;
    for (const agent of agents) {
      if (this.#keys.has(agent.id)) throw new Error(`agent ${agent.id} appears twice in the registry`);
      this.#keys.set(agent.id, agent.publicKey);
    }
  }

  has(agent: string): boolean {
    return this.#keys.has(agent);
  }

  /** The agent's public key; undefined if it is not registered. */
  keyOf(agent: string): Uint8Array | undefined {
    return this.#keys.get(agent);
  }

  /** The `list_agents` read. */
  list(op: Extract<ReadOperation, { op: 'list_agents' }>): CoordinationResult {
    const { page, next } = pageOf(sortedEntries(this.#keys), op.after, op.limit);
    return {
      ok: true,
      kind: 'agents',
      at: this.#context.position(),
      agents: page.map(([id, publicKey]) => ({ id, publicKey })),
      next,
    };
  }

  snapshot(): AgentsSnapshot {
    return { agents: sortedEntries(this.#keys).map(([id, publicKey]) => ({ id, publicKey })) };
  }

  restore(record: AgentsSnapshot): void {
    this.#keys = new Map(record.agents.map((a) => [a.id, a.publicKey]));
  }
}
