/**
 * How a sealed vote waits for the reveal phase: quorum reads with waits that double up to a
 * ceiling, so a long commit phase costs a few reads per voter. `sleep` is replaced by a recorder
 * (no real time passes).
 */
import type { ProposalView } from '@conclave/coordination';
import { nodeCrypto } from '@conclave/core';
import { describe, expect, it, vi } from 'vitest';

const waits: number[] = [];
vi.mock('../src/sleep.ts', () => ({
  sleep: async (ms: number) => {
    waits.push(ms);
  },
}));

const { untilRevealPhase } = await import('../src/sealed-vote.ts');

function ports(commitReads: number) {
  let reads = 0;
  return {
    reads: () => reads,
    ports: {
      agent: 'agent-0',
      crypto: nodeCrypto(),
      sign: () => new Uint8Array(64),
      send: async () => {
        throw new Error('not used');
      },
      decision: async () => {
        reads += 1;
        return { phase: reads <= commitReads ? 'commit' : 'reveal' } as unknown as ProposalView;
      },
      commitment: async () => null,
      ballot: async () => null,
    },
  };
}

describe('untilRevealPhase', () => {
  it('doubles its wait between reads up to pollMaxMs, and stops at the first read past the commit phase', async () => {
    waits.length = 0;
    const fake = ports(8);
    await untilRevealPhase(fake.ports, 'p', { pollMs: 100, pollMaxMs: 1_000 });
    expect(fake.reads()).toBe(9);
    expect(waits).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('keeps a fixed wait when pollMaxMs is not above pollMs', async () => {
    waits.length = 0;
    await untilRevealPhase(ports(3).ports, 'p', { pollMs: 50, pollMaxMs: 50 });
    expect(waits).toEqual([50, 50, 50]);
  });
});
