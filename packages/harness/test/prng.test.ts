import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/prng.ts';

const draws = (prng: Prng, count: number) => Array.from({ length: count }, () => prng.nextUint32());

describe('Prng', () => {
  it('replays the same stream for the same seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (seed) => {
        expect(draws(new Prng(seed), 32)).toEqual(draws(new Prng(seed), 32));
      }),
      { seed: 1, numRuns: 50 },
    );
  });

  it('gives different streams for neighbouring seeds', () => {
    expect(draws(new Prng(1), 8)).not.toEqual(draws(new Prng(2), 8));
  });

  it('pins its output, so a seed means the same run on every machine and version', () => {
    expect(draws(new Prng(42), 4)).toMatchInlineSnapshot(`
      [
        1028872839,
        2516511472,
        400437680,
        853279530,
      ]
    `);
  });

  it('keeps int, range and chance within bounds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 1, max: 1000 }),
        (seed, max) => {
          const prng = new Prng(seed);
          for (let i = 0; i < 50; i++) {
            const value = prng.int(max);
            expect(Number.isInteger(value) && value >= 0 && value < max).toBe(true);
            const ranged = prng.range(-3, max);
            expect(ranged >= -3 && ranged <= max).toBe(true);
            const unit = prng.next();
            expect(unit >= 0 && unit < 1).toBe(true);
          }
          expect(prng.chance(0)).toBe(false);
          expect(prng.chance(1)).toBe(true);
        },
      ),
      { seed: 2, numRuns: 50 },
    );
  });

  it('is roughly uniform', () => {
    const prng = new Prng(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const bucket = prng.int(10);
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(600);
  });

  it('shuffles into a permutation and leaves the input alone', () => {
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const shuffled = new Prng(3).shuffle(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
    expect(items).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Prng(3).shuffle(items)).toEqual(shuffled);
    expect(new Prng(3).sample(items, 3)).toHaveLength(3);
    expect(new Prng(3).pick(items)).toBe(new Prng(3).pick(items));
  });

  it('forks independent, reproducible streams without consuming the parent', () => {
    const parent = new Prng(9);
    const a = draws(parent.fork('network'), 8);
    const b = draws(parent.fork('agents'), 8);
    expect(a).not.toEqual(b);
    expect(draws(new Prng(9).fork('network'), 8)).toEqual(a);
    // Forking does not move the parent: a run's other streams stay put when a fork is added.
    expect(draws(parent, 8)).toEqual(draws(new Prng(9), 8));
    expect(draws(new Prng(10).fork('network'), 8)).not.toEqual(a);
  });

  it('rejects nonsense arguments', () => {
    expect(() => new Prng(1.5)).toThrow(TypeError);
    expect(() => new Prng(1).int(0)).toThrow(RangeError);
    expect(() => new Prng(1).pick([])).toThrow(RangeError);
  });

  it('fills byte arrays of any length', () => {
    const bytes = new Prng(5).bytes(33);
    expect(bytes).toHaveLength(33);
    expect(new Prng(5).bytes(33)).toEqual(bytes);
  });
});
