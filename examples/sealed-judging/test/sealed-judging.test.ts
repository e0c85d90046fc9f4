import { describe, expect, it } from 'vitest';
import { judging } from '../src/judging.ts';
import { holds } from '../src/main.ts';

describe('sealed judging', () => {
  it('the judges decide; the copycat cannot copy and is excluded; the silent judge is recorded', async () => {
    const lines: string[] = [];
    const summary = await judging((line) => lines.push(line));
    expect(summary.seenDuringCommit).toEqual({
      committed: ['alpha', 'beta', 'copycat', 'gamma', 'silent'],
      scoresVisible: false,
    });
    expect(summary.copycatRefusals).toEqual(['NOT_FOUND', 'FORGED_BALLOT', 'REVEAL_MISMATCH']);
    expect(summary.excluded).toEqual([{ agent: 'copycat', reason: 'reveal_mismatch' }]);
    expect(summary.unrevealed).toEqual(['silent']);
    expect(summary.evidence.map((e) => [e.kind, e.agent, e.verified])).toEqual([
      ['reveal_mismatch', 'copycat', true],
      ['no_reveal', 'silent', true],
    ]);
    // Medians over alpha, beta, gamma: answer-1 {2, 6, 7} → 6, answer-2 {5, 7, 9} → 7.
    expect(summary.winner).toBe('answer-2');
    expect(holds(summary)).toBe(true);
    expect(lines.join('\n')).toContain('winner answer-2');
  }, 60_000);
});
