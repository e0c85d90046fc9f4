/**
 * `pnpm demo` end to end: real daemons on 127.0.0.1, stopped and removed afterwards.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_TIMEOUT_MS, demo, killDemoDaemons } from '../src/demo.ts';

afterAll(killDemoDaemons);

describe('pnpm demo', () => {
  it(
    'runs the release gate against four daemons, one of them lying, and every claim holds',
    async () => {
      const lines: string[] = [];
      const summary = await demo({ print: (line) => lines.push(line) });
      expect(summary.claims.filter((c) => !c.held)).toEqual([]);
      expect(summary.ok).toBe(true);
      expect(summary.outcome).toBe('rejected');
      expect(summary.excluded).toEqual(['agent-3']);
      expect(summary.evidence.every((e) => e.verified)).toBe(true);
      expect(Object.keys(summary.contradictedReplies)).toEqual(['2']);
      expect(lines.some((line) => line.startsWith('Stopping the daemons'))).toBe(true);
    },
    DEMO_TIMEOUT_MS + 30_000,
  );
});
