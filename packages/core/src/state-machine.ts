/**
 * The application state machine port: what replicas execute, in sequence order.
 *
 * Determinism rules: `apply` must depend only on the current state, the operation and the
 * context it is given (agreed time, sequence, agent). No clocks, no randomness, no I/O, no
 * iteration order that differs between runs. Two replicas that apply the same operations in
 * the same order must produce equal results, equal snapshots and equal digests.
 */
import { type Canonical, decodeCanonical, encodeCanonical } from './codec.ts';
import type { SignedBytes } from './receipt.ts';

export interface ExecutionContext {
  /** The agent that signed the request. */
  readonly agent: string;
  readonly requestId: number;
  readonly sequence: number;
  /** Agreed time from the batch's pre-prepare, in ticks; never decreases. */
  readonly timestamp: number;
}

/** Where a batch sits in the ordered log: what `advanceTime` and `onEquivocation` are told. */
export interface BatchContext {
  readonly sequence: number;
  /** Agreed time of the batch, in ticks; never decreases. */
  readonly timestamp: number;
}

/**
 * Proof that an agent signed two different requests with the same requestId: both signed
 * bodies (canonical `[1, agent, requestId, operation]`). The ordered log carries both, so every
 * replica learns of it at the same point, and anyone can re-check the two signatures.
 */
export interface RequestEquivocation {
  readonly agent: string;
  readonly requestId: number;
  /** The request that was executed. */
  readonly first: SignedBytes;
  /** A different request the agent signed with the same requestId; never executed. */
  readonly second: SignedBytes;
}

/**
 * The agents whose requests a replica accepts, and the key each must sign with, as a state
 * machine that manages its own registry holds them (see `StateMachine.agentKeys`).
 */
export interface AgentKeys {
  /** Changes whenever `keys` changes; the replica re-reads `keys` only then. */
  readonly version: number;
  readonly keys: ReadonlyMap<string, Uint8Array>;
}

export interface StateMachine {
  /** Applies one operation and returns its result. Must not throw on bad operations: return an error result. */
  apply(operation: Uint8Array, context: ExecutionContext): Uint8Array;
  /** A canonical byte form of the whole state: equal states give equal bytes. */
  snapshot(): Uint8Array;
  /** Replaces the state with a snapshot taken by `snapshot()`. */
  restore(snapshot: Uint8Array): void;
  /** A collision-resistant digest of the state: equal states give equal digests. */
  digest(): Uint8Array;
  /**
   * Optional: answers a read-only operation from the current state without changing it. Used by
   * quorum and local reads, which are not ordered. Must not mutate state.
   */
  query?(operation: Uint8Array): Uint8Array;
  /**
   * Optional: called once for every executed batch, before its requests, including the empty
   * batches a primary sends when idle. Deadlines, leases and other time-driven changes happen
   * here, at agreed time, and so at the same point on every replica.
   */
  advanceTime?(context: BatchContext): void;
  /**
   * Optional: the agent registry, for a state machine whose membership changes at run time
   * (registrations, removals, key rotations executed as operations). The replica reads it after
   * construction, after `restore` and after every executed batch, and from the next batch on
   * executes a request only if it is signed with its agent's key here; requests signed with any
   * other key are refused without reaching `apply`. Without it the registry is the cluster
   * config's agents, fixed.
   */
  agentKeys?(): AgentKeys;
  /** Optional: the ordered log proved that an agent equivocated (see `RequestEquivocation`). */
  onEquivocation?(evidence: RequestEquivocation, context: BatchContext): void;
}

// ---------------------------------------------------------------------------------------------
// A small deterministic key-value store, used by tests and the simulator.

export type KvOperation =
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'delete'; readonly key: string };

export type KvResult =
  | { readonly ok: true; readonly value: string | null; readonly version: number }
  | { readonly ok: false; readonly error: string };

export function encodeKvOperation(operation: KvOperation): Uint8Array {
  const tuple: Canonical =
    operation.op === 'put' ? ['put', operation.key, operation.value] : [operation.op, operation.key];
  return encodeCanonical(tuple);
}

export function decodeKvResult(bytes: Uint8Array): KvResult {
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok || !Array.isArray(decoded.value)) return { ok: false, error: 'undecodable result' };
  const [ok, value, version] = decoded.value as [boolean, string | null, number];
  return ok ? { ok: true, value, version } : { ok: false, error: String(value) };
}

function kvResult(result: KvResult): Uint8Array {
  return encodeCanonical(result.ok ? [true, result.value, result.version] : [false, result.error, 0]);
}

/**
 * Keys map to [value, version]; version counts writes to the key. Snapshots list entries in
 * sorted key order, so they are canonical.
 */
export class KvStateMachine implements StateMachine {
  readonly #entries = new Map<string, { value: string; version: number }>();
  readonly #hash: (data: Uint8Array) => Uint8Array;

  constructor(hash: (data: Uint8Array) => Uint8Array) {
    this.#hash = hash;
  }

  apply(operation: Uint8Array): Uint8Array {
    const decoded = decodeCanonical(operation);
    if (!decoded.ok || !Array.isArray(decoded.value))
      return kvResult({ ok: false, error: 'malformed operation' });
    const [op, key, value] = decoded.value as unknown[];
    if (typeof key !== 'string') return kvResult({ ok: false, error: 'key must be a string' });
    const current = this.#entries.get(key);
    switch (op) {
      case 'get':
        return kvResult({ ok: true, value: current?.value ?? null, version: current?.version ?? 0 });
      case 'put': {
        if (typeof value !== 'string') return kvResult({ ok: false, error: 'value must be a string' });
        const version = (current?.version ?? 0) + 1;
        this.#entries.set(key, { value, version });
        return kvResult({ ok: true, value, version });
      }
      case 'delete':
        this.#entries.delete(key);
        return kvResult({ ok: true, value: null, version: 0 });
      default:
        return kvResult({ ok: false, error: `unknown operation ${String(op)}` });
    }
  }

  /** Only `get` is read-only; anything else is refused rather than applied. */
  query(operation: Uint8Array): Uint8Array {
    const decoded = decodeCanonical(operation);
    if (!decoded.ok || !Array.isArray(decoded.value) || decoded.value[0] !== 'get') {
      return kvResult({ ok: false, error: 'only get can be a read-only query' });
    }
    return this.apply(operation);
  }

  get(key: string): string | undefined {
    return this.#entries.get(key)?.value;
  }

  snapshot(): Uint8Array {
    const keys = [...this.#entries.keys()].sort();
    return encodeCanonical(
      keys.map((key) => {
        const entry = this.#entries.get(key) as { value: string; version: number };
        return [key, entry.value, entry.version];
      }),
    );
  }

  restore(snapshot: Uint8Array): void {
    const decoded = decodeCanonical(snapshot);
    if (!decoded.ok || !Array.isArray(decoded.value))
      throw new Error('KvStateMachine.restore: not a KV snapshot');
    this.#entries.clear();
    for (const [key, value, version] of decoded.value as [string, string, number][])
      this.#entries.set(key, { value, version });
  }

  digest(): Uint8Array {
    return this.#hash(this.snapshot());
  }
}
