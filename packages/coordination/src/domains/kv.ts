/**
 * The versioned key-value store: `kv_put`, `kv_cas` (compare-and-set on the version),
 * `kv_delete` and `kv_get`.
 *
 * Versions: the store keeps one revision counter; every write takes the next revision as the
 * key's version. Versions therefore only grow, also across a delete and re-create, so a
 * compare-and-set against a version read before the delete fails (no ABA). Version 0 means
 * "absent".
 *
 * Ownership: a key belongs to the agent that created it and counts against that owner's
 * `kv-keys` and `kv-bytes` quotas (key, value and writers bytes). Only the owner and the agents
 * it granted (`writers`, set by the owner with `kv_put`) may write or delete it; anyone else is
 * refused `FORBIDDEN`. Keys under `shared/` are a commons: any registered agent may write or
 * delete them, they take no writers list, and each counts against whoever wrote it last.
 *
 * Reserved prefixes: a key under `<agentId>/` (a registered agent's id, then a slash) may be
 * created only by that agent; anyone else is refused `FORBIDDEN`, so no one can take an agent's
 * predictable key names before it does ("squatting"). Once created, the key follows the rules
 * above: its owner may grant writers. When several registered ids prefix a key, the longest
 * reserves it. `shared/` is never reserved.
 */
import type { LogPosition } from '../evidence.ts';
import type { ReadOperation, WriteOperation } from '../operations.ts';
import { compareStrings } from '../record.ts';
import type { CoordinationResult, ErrorResult, KvEntry } from '../results.ts';
import { utf8Bytes } from '../validate.ts';
import { type RegisteredAgents, reservedRefusal, SHARED_PREFIX } from './reserved-names.ts';
import { type DomainContext, fail, type QuotaUsage, quota, sortedEntries } from './shared.ts';

/** Keys under this prefix may be written and deleted by every registered agent. */
export const KV_SHARED_PREFIX = SHARED_PREFIX;

type KvWrite = Extract<WriteOperation, { op: 'kv_put' | 'kv_cas' | 'kv_delete' }>;

interface KvRecord {
  value: Uint8Array;
  version: number;
  owner: string;
  writers: readonly string[];
  updatedBy: string;
  updatedAt: LogPosition;
}

/** The store's part of the snapshot record, sorted by key. */
export interface KvSnapshot {
  readonly kv: readonly (KvRecord & { readonly key: string })[];
  /** The last revision given to a write. */
  readonly kvRevision: number;
}

/** One owner's use of its kv quotas. */
interface Usage {
  keys: number;
  bytes: number;
}

/** What a key weighs against its owner's `kv-bytes` quota. */
function entryBytes(key: string, value: Uint8Array, writers: readonly string[]): number {
  return utf8Bytes(key) + value.byteLength + writers.reduce((sum, w) => sum + utf8Bytes(w), 0);
}

const isShared = (key: string): boolean => key.startsWith(KV_SHARED_PREFIX);

/** The key-value store. */
export class KvStore {
  readonly #context: DomainContext;
  readonly #agents: RegisteredAgents;
  #entries = new Map<string, KvRecord>();
  /** Per owner (derived from `#entries`; rebuilt on restore). */
  #usage = new Map<string, Usage>();
  #revision = 0;

  constructor(context: DomainContext, agents: RegisteredAgents) {
    this.#context = context;
    this.#agents = agents;
  }

  write(op: KvWrite, agent: string): CoordinationResult {
    const current = this.#entries.get(op.key);
    const refusal = this.#checkAccess(op, agent, current);
    if (refusal !== undefined) return refusal;
    if (op.op === 'kv_delete') {
      if (current === undefined) return fail('NOT_FOUND', `no key ${op.key}`);
      this.#remove(op.key, current);
      this.#context.emit({ kind: 'kv_deleted', key: op.key, agent }, agent);
      return this.#result(op.key);
    }
    const writers =
      op.op === 'kv_put' && op.writers !== null ? sortedUnique(op.writers) : (current?.writers ?? []);
    // A shared key is charged to its last writer; any other key stays its creator's.
    const owner = current === undefined || isShared(op.key) ? agent : current.owner;
    const overQuota = this.#checkQuota(op.key, op.value, writers, owner, current);
    if (overQuota !== undefined) return overQuota;
    if (current !== undefined) this.#remove(op.key, current);
    this.#revision += 1;
    const record = {
      value: op.value,
      version: this.#revision,
      owner,
      writers,
      updatedBy: agent,
      updatedAt: this.#context.position(),
    };
    this.#add(op.key, record);
    this.#context.emit({ kind: 'kv_put', key: op.key, version: record.version, agent }, agent);
    return this.#result(op.key);
  }

  /** The `kv_get` read. */
  read(op: Extract<ReadOperation, { op: 'kv_get' }>): CoordinationResult {
    return this.#result(op.key);
  }

  /** What `owner`'s keys hold against its kv quotas (the counts the quota check uses). */
  usageOf(owner: string): QuotaUsage {
    const usage = this.#usage.get(owner) ?? { keys: 0, bytes: 0 };
    return { kvKeysPerAgentMax: usage.keys, kvBytesPerAgentMax: usage.bytes };
  }

  snapshot(): KvSnapshot {
    return {
      kv: sortedEntries(this.#entries).map(([key, entry]) => ({ key, ...entry })),
      kvRevision: this.#revision,
    };
  }

  restore(record: KvSnapshot): void {
    this.#entries = new Map();
    this.#usage = new Map();
    this.#revision = record.kvRevision;
    for (const e of record.kv)
      this.#add(e.key, {
        value: e.value,
        version: e.version,
        owner: e.owner,
        writers: e.writers,
        updatedBy: e.updatedBy,
        updatedAt: e.updatedAt,
      });
  }

  /** Version check first (it answers a stale CAS the same way for everyone), then ownership. */
  #checkAccess(op: KvWrite, agent: string, current: KvRecord | undefined): ErrorResult | undefined {
    const version = current?.version ?? 0;
    const expected = op.op === 'kv_put' ? null : op.expectedVersion;
    if (expected !== null && expected !== version)
      return fail('VERSION_MISMATCH', `${op.key} is at version ${version}, not ${expected}`);
    if (op.op === 'kv_put' && op.writers !== null) {
      if (isShared(op.key))
        return fail(
          'INVALID',
          `${op.key} is under ${KV_SHARED_PREFIX}, which every agent may write; it takes no writers`,
        );
      if (current !== undefined && current.owner !== agent)
        return fail('FORBIDDEN', `only ${op.key}'s owner ${current.owner} may set its writers`);
    }
    if (current === undefined) return this.#checkReserved(op, agent);
    if (isShared(op.key) || current.owner === agent) return undefined;
    if (current.writers.includes(agent)) return undefined;
    return fail(
      'FORBIDDEN',
      `${op.key} belongs to ${current.owner}, who has not granted ${agent} write access`,
    );
  }

  /** Creating a key under another agent's reserved prefix is refused (deleting an absent one is NOT_FOUND). */
  #checkReserved(op: KvWrite, agent: string): ErrorResult | undefined {
    if (op.op === 'kv_delete') return undefined;
    return reservedRefusal('key', op.key, agent, this.#agents);
  }

  /** The owner's quotas hold with the new entry in place of the current one. */
  #checkQuota(
    key: string,
    value: Uint8Array,
    writers: readonly string[],
    owner: string,
    current: KvRecord | undefined,
  ): ErrorResult | undefined {
    const kvKeysPerAgentMax = this.#context.quotaOf(owner, 'kvKeysPerAgentMax');
    const kvBytesPerAgentMax = this.#context.quotaOf(owner, 'kvBytesPerAgentMax');
    const usage = this.#usage.get(owner) ?? { keys: 0, bytes: 0 };
    const sameOwner = current !== undefined && current.owner === owner;
    const keys = usage.keys + (sameOwner ? 0 : 1);
    const bytes =
      usage.bytes -
      (sameOwner ? entryBytes(key, current.value, current.writers) : 0) +
      entryBytes(key, value, writers);
    if (keys > kvKeysPerAgentMax)
      return quota('kv-keys', owner, usage.keys, kvKeysPerAgentMax, 'kvKeysPerAgentMax');
    if (bytes > kvBytesPerAgentMax)
      return quota('kv-bytes', owner, usage.bytes, kvBytesPerAgentMax, 'kvBytesPerAgentMax');
    return undefined;
  }

  #add(key: string, record: KvRecord): void {
    this.#entries.set(key, record);
    const usage = this.#usage.get(record.owner) ?? { keys: 0, bytes: 0 };
    usage.keys += 1;
    usage.bytes += entryBytes(key, record.value, record.writers);
    this.#usage.set(record.owner, usage);
  }

  #remove(key: string, record: KvRecord): void {
    this.#entries.delete(key);
    const usage = this.#usage.get(record.owner);
    if (usage === undefined) return;
    usage.keys -= 1;
    usage.bytes -= entryBytes(key, record.value, record.writers);
    if (usage.keys === 0) this.#usage.delete(record.owner);
  }

  #result(key: string): CoordinationResult {
    return { ok: true, kind: 'kv', at: this.#context.position(), entry: this.#entry(key) };
  }

  /** A key's entry; version 0 and nulls when absent. */
  #entry(key: string): KvEntry {
    const entry = this.#entries.get(key);
    if (entry === undefined)
      return { key, value: null, version: 0, owner: null, writers: [], updatedBy: null, updatedAt: null };
    return {
      key,
      value: entry.value,
      version: entry.version,
      owner: entry.owner,
      writers: entry.writers,
      updatedBy: entry.updatedBy,
      updatedAt: entry.updatedAt,
    };
  }
}

/** The writers list as stored: sorted, each once. */
function sortedUnique(writers: readonly string[]): readonly string[] {
  return [...new Set(writers)].sort(compareStrings);
}
