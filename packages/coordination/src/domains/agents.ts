/**
 * The agent registry: who may send operations, the key their requests and ballots are checked
 * against at each point of the log, and what each agent is granted (voting weight, quota
 * overrides). Starts as the genesis agents; governance actions and self-service operations
 * change it, each change taking effect from the next sequence (see `key-history.ts`).
 *
 * A removed agent's record stays, with its key history, so signatures made before its removal
 * stay verifiable and whatever it still owns stays charged to a record: `agentsMax` bounds the
 * records, registered and removed together. A removed id may be registered again (its record is
 * revived, its history continued); a key that any retained interval holds may never be reused.
 */
import type { AgentIdentity, AgentKeys } from '@conclave/core';
import type { AgentQuotas } from '../agent-quotas.ts';
import { covers, type KeyInterval } from '../key-history.ts';
import type { ReadOperation } from '../operations.ts';
import type { AgentView, CoordinationResult } from '../results.ts';
import { closeCurrent, currentKey, openKey, usesKey } from './registry-history.ts';
import { type DomainContext, pageOf, present, sortedEntries } from './shared.ts';

/** A genesis agent: its identity, voting weight (default 1), and whether it is an observer. */
export interface GenesisAgent extends AgentIdentity {
  readonly weight?: number;
  readonly observer?: boolean;
}

/** What a registration grants an agent. */
export interface AgentGrant {
  readonly weight: number;
  readonly quotas: AgentQuotas;
  readonly observer: boolean;
}

/** One agent's record. */
export interface AgentRecord {
  readonly id: string;
  readonly weight: number;
  readonly quotas: AgentQuotas;
  /**
   * Present (true) only for an observer: an agent that may read (and keep its own key) but not
   * write, vote, or be named a voter or council member. Absent otherwise, so the records of
   * clusters without observers encode as before.
   */
  readonly observer?: true;
  /** Oldest first; the last one is open (`until` null) exactly while the agent is registered. */
  readonly keys: readonly KeyInterval[];
}

/** The registry's part of the snapshot record, sorted by id. */
export interface AgentsSnapshot {
  readonly agents: readonly AgentRecord[];
  /** `agentKeys().version`: bumped by every change of the registry. */
  readonly agentsVersion: number;
}

/** The agent registry. Read by the dispatcher (who may apply), the proposals (voters, ballot keys) and the actions. */
export class AgentRegistry {
  readonly #context: Pick<DomainContext, 'position' | 'limits'>;
  #records = new Map<string, AgentRecord>();
  #version = 0;
  #keysCache: AgentKeys | undefined;

  /** Throws on an agent id that appears twice or a weight that is not an integer in 1..weightMax. */
  constructor(context: Pick<DomainContext, 'position' | 'limits'>, agents: readonly GenesisAgent[]) {
    this.#context = context;
    for (const agent of agents) {
      if (this.#records.has(agent.id)) throw new Error(`agent ${agent.id} appears twice in the registry`);
      const weight = agent.weight ?? 1;
      if (!Number.isSafeInteger(weight) || weight < 1 || weight > context.limits.weightMax)
        throw new Error(`agent ${agent.id}: weight must be an integer in 1..${context.limits.weightMax}`);
      const keys = [{ publicKey: agent.publicKey, from: 0, until: null }];
      this.#records.set(agent.id, {
        id: agent.id,
        weight,
        quotas: {},
        ...observerField(agent.observer),
        keys,
      });
    }
  }

  /** Registered now (its latest change may take effect only from the next sequence). */
  has(agent: string): boolean {
    return this.keyOf(agent) !== undefined;
  }

  /** The agent's current key; undefined if it is not registered. */
  keyOf(agent: string): Uint8Array | undefined {
    const record = this.#records.get(agent);
    return record === undefined ? undefined : currentKey(record.keys);
  }

  /** The key interval of `agent` in force at `sequence`; undefined if it had none. */
  intervalAt(agent: string, sequence: number): KeyInterval | undefined {
    return this.#records.get(agent)?.keys.find((k) => covers(k, sequence));
  }

  /** The key requests and ballots of `agent` at `sequence` were checked against; undefined if it had none. */
  keyAt(agent: string, sequence: number): Uint8Array | undefined {
    return this.intervalAt(agent, sequence)?.publicKey;
  }

  /** The agent's key whose interval starts at `from` (a ballot's `keyFrom`); undefined once dropped from the history. */
  keyFrom(agent: string, from: number): Uint8Array | undefined {
    return this.#records.get(agent)?.keys.find((k) => k.from === from)?.publicKey;
  }

  /** Every key of the agent the history retains, oldest first. */
  keysOf(agent: string): readonly Uint8Array[] {
    return (this.#records.get(agent)?.keys ?? []).map((k) => k.publicKey);
  }

  /** The agent's record (registered or removed). */
  recordOf(agent: string): AgentRecord | undefined {
    return this.#records.get(agent);
  }

  /** The voting weight of a registered agent (1 for an unknown one). */
  weightOf(agent: string): number {
    return this.#records.get(agent)?.weight ?? 1;
  }

  /** Whether `agent` has a record marked observer (read-only). */
  isObserver(agent: string): boolean {
    return this.#records.get(agent)?.observer === true;
  }

  quotasOf(agent: string): AgentQuotas | undefined {
    return this.#records.get(agent)?.quotas;
  }

  /** Whether any record's retained history holds `publicKey`. */
  keyUsed(publicKey: Uint8Array): boolean {
    for (const record of this.#records.values()) if (usesKey(record.keys, publicKey)) return true;
    return false;
  }

  /** Records held (registered and removed): what `agentsMax` bounds. */
  get size(): number {
    return this.#records.size;
  }

  /** Every record's id (registered and removed), sorted. */
  recordIds(): string[] {
    return sortedEntries(this.#records).map(([id]) => id);
  }

  /** Registered agents' ids, sorted. */
  registered(): string[] {
    return sortedEntries(this.#records)
      .filter(([, r]) => currentKey(r.keys) !== undefined)
      .map(([id]) => id);
  }

  /**
   * Registers `agent` (new, or a removed record revived) with `publicKey` from the next sequence.
   * A revived record takes the role given now, not its old one.
   */
  add(agent: string, publicKey: Uint8Array, grant: AgentGrant): void {
    const keys = this.#records.get(agent)?.keys ?? [];
    const { weight, quotas, observer } = grant;
    this.#update({
      id: agent,
      weight,
      quotas,
      ...observerField(observer),
      keys: this.#opened(keys, publicKey),
    });
  }

  /** Replaces a registered agent's key from the next sequence. */
  rotate(agent: string, publicKey: Uint8Array): void {
    const record = this.#registeredRecord(agent);
    this.#update({ ...record, keys: this.#opened(record.keys, publicKey) });
  }

  /** Ends a registered agent's key at the next sequence; its record stays. */
  remove(agent: string): void {
    const record = this.#registeredRecord(agent);
    this.#update({ ...record, keys: closeCurrent(record.keys, this.#nextSequence()) });
  }

  setWeight(agent: string, weight: number): void {
    this.#update({ ...this.#registeredRecord(agent), weight });
  }

  setQuotas(agent: string, quotas: AgentQuotas): void {
    this.#update({ ...this.#registeredRecord(agent), quotas });
  }

  /** The current keys of registered agents, for core; a new object (and version) after every change. */
  agentKeys(): AgentKeys {
    if (this.#keysCache === undefined) {
      const keys = new Map<string, Uint8Array>();
      for (const id of this.registered()) keys.set(id, present(this.keyOf(id), 'registered has a key'));
      this.#keysCache = { version: this.#version, keys };
    }
    return this.#keysCache;
  }

  /** The `list_agents` read: every record, removed ones too, with key history and council membership. */
  list(
    op: Extract<ReadOperation, { op: 'list_agents' }>,
    isMember: (agent: string) => boolean,
  ): CoordinationResult {
    const { page, next } = pageOf(sortedEntries(this.#records), op.after, op.limit);
    const agents = page.map(([, record]) => agentView(record, isMember(record.id)));
    return { ok: true, kind: 'agents', at: this.#context.position(), agents, next };
  }

  /** One record as `list_agents` shows it. */
  view(agent: string, isMember: boolean): AgentView | undefined {
    const record = this.#records.get(agent);
    return record === undefined ? undefined : agentView(record, isMember);
  }

  snapshot(): AgentsSnapshot {
    return { agents: sortedEntries(this.#records).map(([, r]) => r), agentsVersion: this.#version };
  }

  restore(record: AgentsSnapshot): void {
    this.#records = new Map(record.agents.map((r) => [r.id, r]));
    this.#version = record.agentsVersion;
    this.#keysCache = undefined;
  }

  #nextSequence(): number {
    return this.#context.position().sequence + 1;
  }

  #opened(keys: readonly KeyInterval[], publicKey: Uint8Array): KeyInterval[] {
    return openKey(keys, publicKey, this.#nextSequence(), this.#context.limits.keyHistoryMax);
  }

  #registeredRecord(agent: string): AgentRecord {
    const record = present(this.#records.get(agent), `${agent} was checked to be registered`);
    present(currentKey(record.keys), `${agent} was checked to be registered`);
    return record;
  }

  #update(record: AgentRecord): void {
    this.#records.set(record.id, record);
    this.#version += 1;
    this.#keysCache = undefined;
  }
}

function agentView(record: AgentRecord, council: boolean): AgentView {
  const publicKey = currentKey(record.keys) ?? null;
  return {
    id: record.id,
    publicKey,
    removed: publicKey === null,
    weight: record.weight,
    quotas: record.quotas,
    council,
    observer: record.observer === true,
    keys: record.keys,
  };
}

/** The record's `observer` field: present only when true (see `AgentRecord.observer`). */
function observerField(observer: boolean | undefined): { readonly observer?: true } {
  return observer === true ? { observer: true } : {};
}
