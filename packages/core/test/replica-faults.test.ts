import { describe, expect, it } from 'vitest';
import { TestCluster } from './support/cluster.ts';

describe('crashed primary', () => {
  it('backups change view and every request completes', () => {
    const c = new TestCluster(4, 2);
    c.down.add(0);
    const ids: [number, number][] = [];
    for (let i = 0; i < 6; i++) ids.push([i % 2, c.submit(i % 2, `k${i}`, `v${i}`)]); // agents broadcast after their timeout
    c.run(400);
    for (const [agent, id] of ids)
      expect(c.accepted(agent, id), `agent ${agent} request ${id}`).toBeDefined();
    for (const r of [1, 2, 3]) {
      expect(c.replicas[r]!.status().view).toBeGreaterThanOrEqual(1);
      expect(c.replicas[r]!.status().changingView).toBe(false);
    }
    c.checkAgreement([1, 2, 3]);
  });
});

// (b) an equivocating primary, (c) a view change that keeps a prepared certificate and (d) a
// replica that catches up by state transfer: test/transcripts/equivocating-primary.txt,
// view-change-prepared.txt and state-transfer.txt.
