import { describe, expect, it } from 'vitest';
import { taskAllocation } from '../src/main.ts';

describe('task allocation', () => {
  it('completes every task exactly once despite a hoarder and a worker that goes silent', async () => {
    const summary = await taskAllocation(() => undefined);
    expect(summary.claims.filter((c) => !c.held)).toEqual([]);
    expect(summary.ok).toBe(true);
    expect(Object.values(summary.completions)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(Object.keys(summary.completedBy).sort()).toEqual(['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8']);
    for (const agent of Object.values(summary.completedBy)) expect(['ada', 'brook']).toContain(agent);
    expect(summary.refusals).toEqual([
      'hoarder t1 CONFLICT',
      'hoarder t2 CONFLICT',
      'hoarder t3 CONFLICT',
      'hoarder t8 QUOTA',
      'ghost t3 EXPIRED',
    ]);
    expect([...summary.expired].sort()).toEqual(['t3', 't4', 't5', 't6', 't7']);
  }, 30_000);
});
