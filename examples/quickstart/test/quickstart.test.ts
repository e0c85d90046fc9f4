import { describe, expect, it } from 'vitest';
import { quickstart } from '../src/main.ts';

describe('quickstart', () => {
  it('two agents approve a 2-of-2 proposal and both vote receipts verify', async () => {
    const lines: string[] = [];
    const summary = await quickstart((line) => lines.push(line));
    expect(summary).toEqual({ outcome: 'approved', receiptsVerified: true });
    expect(lines.join('\n')).toContain('approved');
  }, 20_000);
});
