/**
 * The sealed checkers bite: a sealed run passes them, and each one fires on a deliberately broken
 * state machine or on a tampered record of a good run.
 */
import {
  DEFAULT_COORDINATION_LIMITS,
  decodeBallot,
  decodeOperation,
  decodeResult,
  ops,
} from '@conclave/coordination';
import type { ExecutionContext, StateMachine } from '@conclave/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord, SealedRecord } from '../src/record.ts';
import { checkSealedSecrecy, checkSealedTally, replaySealed } from '../src/sealed-checkers.ts';
import { sealedScenario } from '../src/sealed-suite.ts';
import { runScenario, type ScenarioResult } from '../src/simulation.ts';

/** A seed whose primary is the `earlyReveals` replica, so liars' reveals race the commit deadline. */
const SEED = 1;

/**
 * Delegates to the real state machine, but `broken` may rewrite an operation's context or run
 * something after it: the broken machines below are made of it.
 */
class Wrapped implements StateMachine {
  readonly commitDeadlines = new Map<string, number>();
  constructor(
    readonly inner: StateMachine,
    readonly broken: (self: Wrapped, operation: Uint8Array, context: ExecutionContext) => Uint8Array,
  ) {}
  apply(operation: Uint8Array, context: ExecutionContext): Uint8Array {
    const decoded = decodeOperation(operation, DEFAULT_COORDINATION_LIMITS);
    if (decoded.ok && decoded.operation.op === 'propose' && decoded.operation.sealed !== null)
      this.commitDeadlines.set(decoded.operation.proposalId, decoded.operation.sealed.commitDeadline);
    return this.broken(this, operation, context);
  }
  snapshot(): Uint8Array {
    return this.inner.snapshot();
  }
  restore(snapshot: Uint8Array): void {
    this.inner.restore(snapshot);
  }
  digest(): Uint8Array {
    return this.inner.digest();
  }
  query(operation: Uint8Array): Uint8Array {
    return this.inner.query?.(operation) ?? new Uint8Array();
  }
  advanceTime(context: Parameters<NonNullable<StateMachine['advanceTime']>>[0]): void {
    this.inner.advanceTime?.(context);
  }
  agentKeys() {
    return this.inner.agentKeys?.() ?? { version: 0, keys: new Map() };
  }
}

/** The reveal's ballot, when `operation` is a reveal. */
function revealOf(operation: Uint8Array) {
  const decoded = decodeOperation(operation, DEFAULT_COORDINATION_LIMITS);
  if (!decoded.ok || decoded.operation.op !== 'reveal') return undefined;
  const ballot = decodeBallot(decoded.operation.ballotBytes);
  return ballot.ok ? { ballot: ballot.ballot, ballotBytes: decoded.operation.ballotBytes } : undefined;
}

/** Takes a reveal sent before the commit deadline as if the deadline had come: its clock jumps. */
const acceptsEarlyReveals = (self: Wrapped, operation: Uint8Array, context: ExecutionContext) => {
  const reveal = revealOf(operation);
  const commitDeadline =
    reveal === undefined ? undefined : self.commitDeadlines.get(reveal.ballot.proposalId);
  if (commitDeadline !== undefined && context.timestamp < commitDeadline)
    return self.inner.apply(operation, { ...context, timestamp: commitDeadline });
  return self.inner.apply(operation, context);
};

/** Refuses an early reveal as it must, but keeps its ballot in the revealer's kv namespace. */
const keepsEarlyReveals = (self: Wrapped, operation: Uint8Array, context: ExecutionContext) => {
  const result = self.inner.apply(operation, context);
  const reveal = revealOf(operation);
  const decoded = decodeResult(result);
  if (reveal !== undefined && !decoded.ok && decoded.code === 'REVEAL_TOO_EARLY')
    self.inner.apply(ops.kvPut({ key: `${context.agent}/early`, value: reveal.ballotBytes }), context);
  return result;
};

/** A broken machine's run need not wait for honest agents it has stranded: cut it short. */
function short(seed: number) {
  return { ...sealedScenario(seed), livenessTicksMax: 2000 };
}

function withRecord(result: ScenarioResult, sealed: Partial<SealedRecord>): RunRecord {
  return { ...result.record, sealed: { ...(result.record.sealed as SealedRecord), ...sealed } };
}

describe('sealed checkers', () => {
  let good: ScenarioResult;
  beforeAll(() => {
    good = runScenario(sealedScenario(SEED));
  }, 120_000);

  it('a good run passes, with decisions replayed and commit phases probed', () => {
    expect(good.violations.map((v) => `[${v.checker}] ${v.message}`)).toEqual([]);
    const sealed = good.record.sealed as SealedRecord;
    expect(new Set(sealed.decisions.map((d) => d.proposalId)).size).toBe(3);
    expect(sealed.probes.snapshots).toBeGreaterThan(0);
    const replay = replaySealed(good.record);
    expect([...replay.proposals.values()].every((p) => p.status !== 'open')).toBe(true);
  });

  it('sealedTally fires on a tampered tally, status, exclusion or evidence', () => {
    const sealed = good.record.sealed as SealedRecord;
    const decision = sealed.decisions.find((d) => d.proposalId === 's-threshold');
    if (decision === undefined) throw new Error('no s-threshold decision');
    const tamper = (change: Partial<typeof decision>) =>
      checkSealedTally(withRecord(good, { decisions: [{ ...decision, ...change }] }));
    const { tally } = decision;
    expect(
      tamper({
        tally: { ...tally, approve: { count: tally.approve.count + 1, weight: tally.approve.weight + 1 } },
      }),
    ).not.toEqual([]);
    expect(tamper({ status: decision.status === 'approved' ? 'rejected' : 'approved' })).not.toEqual([]);
    expect(
      tamper({ decidedAt: { ...decision.decidedAt, sequence: decision.decidedAt.sequence + 1 } }),
    ).not.toEqual([]);
    // mallory-0's mismatched reveal counted as if its ballot were good.
    expect(
      tamper({ tally: { ...tally, excluded: tally.excluded.filter((e) => e.agent !== 'mallory-0') } }),
    ).not.toEqual([]);
    expect(tamper({ evidence: decision.evidence.map((e) => ({ ...e, verified: false })) })).not.toEqual([]);
    expect(checkSealedTally(good.record)).toEqual([]);
  });

  it('sealedTally fires when the ordered log loses an honest reveal', () => {
    const sealed = good.record.sealed as SealedRecord;
    const operations = new Map(
      [...sealed.operations.entries()].map(([digest, list]) => [
        digest,
        list.filter((o) => {
          const reveal = revealOf(o.operation);
          return !(reveal?.ballot.agent === 'agent-1' && reveal.ballot.proposalId === 's-score');
        }),
      ]),
    );
    const violations = checkSealedTally(withRecord(good, { operations }));
    expect(violations.some((v) => v.message.includes('s-score'))).toBe(true);
  });

  it('sealedSecrecy fires on ballot content held before the commit deadline', () => {
    const leak = {
      replica: 1,
      tick: 50,
      agreedTime: 300,
      proposalId: 's-score',
      agent: 'agent-1',
      what: 'ballot' as const,
      where: 'snapshot' as const,
    };
    expect(checkSealedSecrecy(withRecord(good, { leaks: [leak] }))).toHaveLength(1);
    const afterDeadline = { ...leak, agreedTime: 10_000_000 };
    expect(checkSealedSecrecy(withRecord(good, { leaks: [afterDeadline] }))).toEqual([]);
  });

  it('a state machine that takes reveals before the commit deadline fails sealedSecrecy and sealedTally', () => {
    const result = runScenario(short(SEED), {
      wrapStateMachine: (inner) => new Wrapped(inner, acceptsEarlyReveals),
    });
    const checkers = new Set(result.violations.map((v) => v.checker));
    expect(checkers.has('sealedSecrecy')).toBe(true);
    expect(checkers.has('sealedTally')).toBe(true);
  });

  it('a state machine that refuses early reveals but keeps their ballots fails sealedSecrecy only', () => {
    const result = runScenario(short(SEED), {
      wrapStateMachine: (inner) => new Wrapped(inner, keepsEarlyReveals),
    });
    const checkers = new Set(result.violations.map((v) => v.checker));
    expect(checkers).toEqual(new Set(['sealedSecrecy']));
    expect(result.record.sealed?.leaks.some((l) => l.agent === 'mallory-0' && l.where === 'snapshot')).toBe(
      true,
    );
  });
});
