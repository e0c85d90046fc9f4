import { CoordinationStateMachine, decodeResult, ops } from '@conclave/coordination';
import {
  composedOperation,
  composeStateMachines,
  decodeCanonical,
  type ExecutionContext,
  encodeCanonical,
  type StateMachine,
} from '@conclave/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type InProcessCluster, startInProcessCluster } from '../src/index.ts';

/**
 * The smallest useful custom state machine: named counters. It follows the determinism rules:
 * state changes only in apply, no clock, no randomness, sorted snapshot.
 */
class Counters implements StateMachine {
  #counts = new Map<string, number>();
  constructor(readonly hash: (data: Uint8Array) => Uint8Array) {}
  apply(operation: Uint8Array, context: ExecutionContext): Uint8Array {
    const decoded = decodeCanonical(operation);
    if (!decoded.ok || typeof decoded.value !== 'string')
      return encodeCanonical([false, 'expected a counter name']);
    const next = (this.#counts.get(decoded.value) ?? 0) + 1;
    this.#counts.set(decoded.value, next);
    return encodeCanonical([true, next, context.timestamp]);
  }
  snapshot(): Uint8Array {
    return encodeCanonical([...this.#counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  restore(snapshot: Uint8Array): void {
    const decoded = decodeCanonical(snapshot);
    this.#counts = new Map(decoded.ok ? (decoded.value as [string, number][]) : []);
  }
  digest(): Uint8Array {
    return this.hash(this.snapshot());
  }
}

const clusters: InProcessCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.stop();
});

describe('your own state machine, beside the coordination one', () => {
  it('routes by name, keeps one snapshot and digest, and refuses unknown names', () => {
    const hash = (d: Uint8Array) => new Uint8Array(32).fill(d.length % 251);
    const composed = composeStateMachines({ counters: new Counters(hash), other: new Counters(hash) }, hash);
    const context = { agent: 'a', requestId: 1, sequence: 1, timestamp: 7 };
    expect(
      decodeCanonical(composed.apply(composedOperation('counters', encodeCanonical('x')), context)),
    ).toEqual({ ok: true, value: [true, 1, 7] });
    expect(
      decodeCanonical(composed.apply(composedOperation('nope', encodeCanonical('x')), context)),
    ).toMatchObject({ ok: true, value: [false, expect.stringContaining('no state machine called "nope"')] });
    expect(decodeCanonical(composed.apply(new Uint8Array([0xc1]), context))).toMatchObject({
      value: [false, expect.any(String)],
    });
    const copy = composeStateMachines({ counters: new Counters(hash), other: new Counters(hash) }, hash);
    copy.restore(composed.snapshot());
    expect(Buffer.from(copy.snapshot()).equals(Buffer.from(composed.snapshot()))).toBe(true);
    expect(() => composeStateMachines({ 'Bad Name': new Counters(hash) }, hash)).toThrow(/must match/);
  });

  it('replicates an application state machine next to coordination in one total order', async () => {
    const cluster = await startInProcessCluster({
      agents: ['alice', 'bob'],
      stateMachine: ({ crypto, cluster: c }) =>
        composeStateMachines(
          {
            coordination: new CoordinationStateMachine({ crypto, agents: c.agents }),
            counters: new Counters(crypto.hash),
          },
          crypto.hash,
        ),
    });
    clusters.push(cluster);
    const alice = await cluster.connect('alice');
    const bob = await cluster.connect('bob');
    const bump = encodeCanonical('deploys');
    await alice.request(composedOperation('counters', bump));
    const second = await bob.request(composedOperation('counters', bump));
    expect(decodeCanonical(second.result)).toMatchObject({ ok: true, value: [true, 2, expect.any(Number)] });
    const put = await alice.request(
      composedOperation('coordination', ops.kvPut({ key: 'k', value: new Uint8Array([1]) })),
    );
    expect(decodeResult(put.result)).toMatchObject({ ok: true, kind: 'kv' });
    expect(put.sequence).toBeGreaterThan(second.sequence);
    // Replies need only f+1 replicas; give the others a moment (bounded) to execute as far.
    const digests = () =>
      new Set([0, 1, 2, 3].map((r) => Buffer.from(cluster.stateMachine(r).digest()).toString('hex')));
    for (
      let attempt = 0;
      attempt < 100 &&
      ([0, 1, 2, 3].some((r) => cluster.status(r).lastExecuted < put.sequence) || digests().size > 1);
      attempt++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(digests().size).toBe(1);
    await alice.close();
    await bob.close();
  });
});
