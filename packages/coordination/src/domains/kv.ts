/**
 * The versioned key-value store: `kv_put`, `kv_cas` (compare-and-set on the version),
 * `kv_delete` and `kv_get`. A key's version counts its writes since it was last absent.
 */
import type { LogPosition } from '../evidence.ts';
import type { ReadOperation, WriteOperation } from '../operations.ts';
import type { CoordinationResult, KvEntry } from '../results.ts';
import { type DomainContext, fail, sortedEntries } from './shared.ts';

type KvWrite = Extract<WriteOperation, { op: 'kv_put' | 'kv_cas' | 'kv_delete' }>;

interface KvRecord {
  value: Uint8Array;
  version: number;
  updatedBy: string;
  updatedAt: LogPosition;
}

/** The store's part of the snapshot record, sorted by key. */
export interface KvSnapshot {
  readonly kv: readonly (KvRecord & { readonly key: string })[];
}

/** The key-value store. */
export class KvStore {
  readonly #context: DomainContext;
  #entries = new Map<string, KvRecord>();

  constructor(context: DomainContext) {
    this.#context = context;
  }

  write(op: KvWrite, agent: string): CoordinationResult {
    const current = this.#entries.get(op.key);
    const version = current?.version ?? 0;
    if (op.op === 'kv_delete') {
      if (op.expectedVersion !== null && op.expectedVersion !== version)
        return fail('VERSION_MISMATCH', `${op.key} is at version ${version}, not ${op.expectedVersion}`);
      if (current === undefined) return fail('NOT_FOUND', `no key ${op.key}`);
      this.#entries.delete(op.key);
      this.#context.emit({ kind: 'kv_deleted', key: op.key, agent });
      return this.#result(op.key);
    }
    if (op.op === 'kv_cas' && op.expectedVersion !== version)
      return fail('VERSION_MISMATCH', `${op.key} is at version ${version}, not ${op.expectedVersion}`);
    const { kvKeysMax } = this.#context.limits;
    if (current === undefined && this.#entries.size >= kvKeysMax)
      return fail('LIMIT', `${kvKeysMax} keys at most (kvKeysMax)`);
    this.#entries.set(op.key, {
      value: op.value,
      version: version + 1,
      updatedBy: agent,
      updatedAt: this.#context.position(),
    });
    this.#context.emit({ kind: 'kv_put', key: op.key, version: version + 1, agent });
    return this.#result(op.key);
  }

  /** The `kv_get` read. */
  read(op: Extract<ReadOperation, { op: 'kv_get' }>): CoordinationResult {
    return this.#result(op.key);
  }

  snapshot(): KvSnapshot {
    return { kv: sortedEntries(this.#entries).map(([key, entry]) => ({ key, ...entry })) };
  }

  restore(record: KvSnapshot): void {
    this.#entries = new Map(
      record.kv.map((e) => [
        e.key,
        { value: e.value, version: e.version, updatedBy: e.updatedBy, updatedAt: e.updatedAt },
      ]),
    );
  }

  #result(key: string): CoordinationResult {
    return { ok: true, kind: 'kv', at: this.#context.position(), entry: this.#entry(key) };
  }

  /** A key's entry; version 0 and nulls when absent. */
  #entry(key: string): KvEntry {
    const entry = this.#entries.get(key);
    if (entry === undefined) return { key, value: null, version: 0, updatedBy: null, updatedAt: null };
    return {
      key,
      value: entry.value,
      version: entry.version,
      updatedBy: entry.updatedBy,
      updatedAt: entry.updatedAt,
    };
  }
}
