import { describe, expect, it } from 'vitest';
import { releaseGateInProcess } from '../src/main.ts';
import type { EquivocationVariant } from '../src/story.ts';

describe('release gate, in process', () => {
  for (const variant of [
    'same-request-id',
    'different-request-ids',
  ] as const satisfies EquivocationVariant[]) {
    it(`keeps the honest majority's decision, with evidence of the equivocation (${variant})`, async () => {
      const lines: string[] = [];
      const summary = await releaseGateInProcess({ variant, print: (line) => lines.push(line) });
      expect(summary.claims.filter((c) => !c.held)).toEqual([]);
      expect(summary.ok).toBe(true);
      expect(summary.outcome).toBe('rejected');
      expect(summary.approvedBy).toEqual(['agent-2', 'agent-4']);
      expect(summary.rejectedBy).toEqual(['agent-0', 'agent-1']);
      expect(summary.excluded).toEqual(['agent-3']);
      expect(summary.forgery).toBe('FORGED_BALLOT');
      expect(summary.evidence).toEqual([
        {
          agent: 'agent-3',
          kind: 'ballot',
          source: variant === 'same-request-id' ? 'replicas' : 'vote',
          choices: expect.arrayContaining(['approve', 'reject']),
          verified: true,
        },
      ]);
      expect(summary.receiptsVerified).toEqual(['agent-2', 'agent-4', 'agent-0', 'agent-1']);
      expect(Object.keys(summary.contradictedReplies)).toEqual(['2']);
      expect(lines.at(-1)).toMatch(/^All 8 claims held/);
    }, 30_000);
  }
});
