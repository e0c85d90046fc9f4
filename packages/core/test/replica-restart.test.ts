import { describe, expect, it } from 'vitest';
import { MessageType } from '../src/index.ts';
import { TestCluster } from './support/cluster.ts';

const equivocation = (c: TestCluster) =>
  c.replicas.reduce((sum, r) => {
    const counts = r.rejections();
    return sum + (counts.CONFLICTING_VOTE ?? 0) + (counts.CONFLICTING_PRE_PREPARE ?? 0);
  }, 0);

describe('restart from durable state', () => {
  it('a backup restarted mid-run rebuilds its state, catches up and agrees', () => {
    const c = new TestCluster(4, 1);
    for (let i = 0; i < 10; i++) {
      c.submit(0, `k${i % 3}`, `v${i}`, [0]);
      c.run(2);
    }
    const before = c.replicas[2]!.status();
    expect(before.stableCheckpoint).toBeGreaterThan(0);
    c.restart(2);
    const after = c.replicas[2]!.status();
    // Everything it had committed is back: the snapshot plus re-execution of the durable log.
    expect(after.lastExecuted).toBe(before.lastExecuted);
    expect(after.stableCheckpoint).toBe(before.stableCheckpoint);
    expect(Buffer.from(c.machines[2]!.digest()).toString('hex')).toBe(
      Buffer.from(c.machines[0]!.digest()).toString('hex'),
    );
    for (let i = 10; i < 20; i++) {
      c.submit(0, `k${i % 3}`, `v${i}`, [0]);
      c.run(2);
    }
    c.run(50);
    c.checkAgreement();
    expect(c.replicas[2]!.status().lastExecuted).toBe(c.replicas[0]!.status().lastExecuted);
    expect(equivocation(c)).toBe(0);
  });

  it('a primary restarted with batches in flight neither re-proposes nor equivocates', () => {
    const c = new TestCluster(4, 2);
    // Hold every commit so that several sequences are in flight when the primary dies.
    let holding = true;
    const held: typeof c.queue = [];
    c.interceptor = (envelope, frame) => {
      if (holding && frame?.body.type === MessageType.commit) {
        held.push(envelope);
        return [];
      }
      return undefined;
    };
    const ids = [c.submit(0, 'a', '1', [0]), c.submit(1, 'b', '2', [0]), c.submit(0, 'c', '3', [0])];
    c.deliverAll();
    const proposed = c.replicas[0]!.status();
    c.restart(0);
    holding = false;
    c.queue.push(...held);
    c.submit(1, 'd', '4', [0]);
    c.run(100);
    for (const [agent, id] of [
      [0, ids[0]!],
      [1, ids[1]!],
      [0, ids[2]!],
    ] as const)
      expect(c.accepted(agent, id), `agent ${agent} request ${id}`).toBeDefined();
    c.checkAgreement();
    expect(equivocation(c)).toBe(0);
    // The restarted primary kept its view: no view change was needed.
    expect(c.replicas[1]!.status().view).toBe(proposed.view);
  });

  it('every replica restarted in turn under load: agreement, no equivocation, all requests complete', () => {
    const c = new TestCluster(4, 2);
    const ids: [number, number][] = [];
    for (let round = 0; round < 3; round++) {
      for (let r = 0; r < 4; r++) {
        for (let i = 0; i < 3; i++) ids.push([i % 2, c.submit(i % 2, `k${i}`, `r${round}-${r}-${i}`)]);
        c.run(3);
        c.restart(r);
        c.run(30);
      }
    }
    c.run(300);
    for (const [agent, id] of ids)
      expect(c.accepted(agent, id), `agent ${agent} request ${id}`).toBeDefined();
    c.checkAgreement();
    expect(equivocation(c)).toBe(0);
  });
});
