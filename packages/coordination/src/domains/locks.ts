/**
 * Locks with leases: `lock_acquire`, `lock_renew`, `lock_release` and `get_lock`. A lease ends
 * at its expiry tick; every grant of any lock takes the next fencing token.
 */
import type { ReadOperation, WriteOperation } from '../operations.ts';
import type { CoordinationResult, ErrorResult, LockView } from '../results.ts';
import { type DomainContext, fail, type QuotaUsage, quota, sortedEntries } from './shared.ts';

type LockWrite = Extract<WriteOperation, { op: 'lock_acquire' | 'lock_renew' | 'lock_release' }>;

interface LockRecord {
  holder: string;
  expiresAt: number;
  token: number;
}

/** The table's part of the snapshot record, sorted by name. */
export interface LockSnapshot {
  readonly locks: readonly (LockRecord & { readonly name: string })[];
  readonly lockTokenNext: number;
}

/** The lock table, with the fencing-token counter. */
export class LockTable {
  readonly #context: DomainContext;
  /** Held locks, and expired ones no batch has removed yet (they count as free). */
  #locks = new Map<string, LockRecord>();
  #tokenNext = 1;

  constructor(context: DomainContext) {
    this.#context = context;
  }

  write(op: LockWrite, agent: string): CoordinationResult {
    const now = this.#context.position().timestamp;
    const current = this.#locks.get(op.name);
    // A lease past its expiry is free, whether or not a batch has removed it from the table yet.
    const held = current !== undefined && current.expiresAt > now ? current : undefined;
    const refusal =
      op.op === 'lock_acquire'
        ? this.#acquire(op, agent, held, now)
        : op.op === 'lock_renew'
          ? this.#renew(op, agent, held, now)
          : this.#release(op, agent, held);
    if (refusal !== undefined) return refusal;
    return { ok: true, kind: 'lock', at: this.#context.position(), lock: this.#view(op.name) };
  }

  /** The `get_lock` read. A lease past its expiry is free even if no batch has run since to remove it. */
  read(op: Extract<ReadOperation, { op: 'get_lock' }>): CoordinationResult {
    const at = this.#context.position();
    const lock = this.#locks.get(op.name);
    if (lock !== undefined && lock.expiresAt <= at.timestamp)
      return {
        ok: true,
        kind: 'lock',
        at,
        lock: { name: op.name, holder: null, expiresAt: null, token: null },
      };
    return { ok: true, kind: 'lock', at, lock: this.#view(op.name) };
  }

  /** Timer: frees every lock whose lease ended at or before `now`, in name order. */
  expire(now: number): void {
    for (const [name, lock] of sortedEntries(this.#locks)) {
      if (lock.expiresAt > now) continue;
      this.#locks.delete(name);
      this.#context.emit({ kind: 'lock_expired', name, holder: lock.holder }, lock.holder);
    }
  }

  /** Unexpired locks `agent` holds: what its lock quota counts. */
  usageOf(agent: string): QuotaUsage {
    return { locksPerAgentMax: this.#heldBy(agent, this.#context.position().timestamp) };
  }

  snapshot(): LockSnapshot {
    return {
      locks: sortedEntries(this.#locks).map(([name, lock]) => ({ name, ...lock })),
      lockTokenNext: this.#tokenNext,
    };
  }

  restore(record: LockSnapshot): void {
    this.#locks = new Map(
      record.locks.map((l) => [l.name, { holder: l.holder, expiresAt: l.expiresAt, token: l.token }]),
    );
    this.#tokenNext = record.lockTokenNext;
  }

  /** Returns the refusal, or undefined once the lock is granted. */
  #acquire(
    op: Extract<LockWrite, { op: 'lock_acquire' }>,
    agent: string,
    held: LockRecord | undefined,
    now: number,
  ): ErrorResult | undefined {
    if (held !== undefined)
      return fail(
        'CONFLICT',
        held.holder === agent
          ? `${agent} already holds ${op.name}; renew it`
          : `${op.name} is held by ${held.holder} until ${held.expiresAt}`,
      );
    // An expired lock still in the table counts as free: against no one's quota.
    const locksPerAgentMax = this.#context.quotaOf(agent, 'locksPerAgentMax');
    const heldByAgent = this.#heldBy(agent, now);
    if (heldByAgent >= locksPerAgentMax)
      return quota('locks', agent, heldByAgent, locksPerAgentMax, 'locksPerAgentMax');
    const lock = { holder: agent, expiresAt: now + op.ttl, token: this.#tokenNext };
    this.#tokenNext += 1;
    this.#locks.set(op.name, lock);
    this.#context.emit({ kind: 'lock_acquired', name: op.name, ...lock }, agent);
    return undefined;
  }

  #renew(
    op: Extract<LockWrite, { op: 'lock_renew' }>,
    agent: string,
    held: LockRecord | undefined,
    now: number,
  ): ErrorResult | undefined {
    if (held === undefined) return fail('NOT_FOUND', `${op.name} is not held`);
    if (held.holder !== agent) return fail('FORBIDDEN', `${op.name} is held by ${held.holder}`);
    held.expiresAt = now + op.ttl;
    this.#context.emit(
      { kind: 'lock_renewed', name: op.name, holder: agent, expiresAt: held.expiresAt },
      agent,
    );
    return undefined;
  }

  #release(
    op: Extract<LockWrite, { op: 'lock_release' }>,
    agent: string,
    held: LockRecord | undefined,
  ): ErrorResult | undefined {
    if (held === undefined) return fail('NOT_FOUND', `${op.name} is not held`);
    if (held.holder !== agent) return fail('FORBIDDEN', `${op.name} is held by ${held.holder}`);
    this.#locks.delete(op.name);
    this.#context.emit({ kind: 'lock_released', name: op.name, holder: agent }, agent);
    return undefined;
  }

  /** Unexpired locks `agent` holds. */
  #heldBy(agent: string, now: number): number {
    let held = 0;
    for (const lock of this.#locks.values()) if (lock.holder === agent && lock.expiresAt > now) held += 1;
    return held;
  }

  #view(name: string): LockView {
    const lock = this.#locks.get(name);
    if (lock === undefined) return { name, holder: null, expiresAt: null, token: null };
    return { name, holder: lock.holder, expiresAt: lock.expiresAt, token: lock.token };
  }
}
