import { describe, expect, it } from 'vitest';
import { type Address, type Envelope, type FaultConfig, Network, PERFECT_NETWORK } from '../src/network.ts';
import { Prng } from '../src/prng.ts';

const frame = (i: number) => new Uint8Array([i & 0xff, i >> 8]);

/** Sends `count` frames from replica 0 to 1 at tick 0, then collects deliveries until `ticks`. */
function run(
  seed: number,
  faults: FaultConfig,
  count: number,
  ticks = 200,
): { delivered: Envelope[]; network: Network } {
  const network = new Network({ replicaCount: 4, prng: new Prng(seed), faults });
  for (let i = 0; i < count; i++) network.sendTo(0, 1, 3, frame(i));
  const delivered: Envelope[] = [];
  for (let tick = 0; tick <= ticks; tick++) {
    network.advanceTo(tick);
    for (let e = network.nextDue(); e !== undefined; e = network.nextDue()) delivered.push(e);
  }
  return { delivered, network };
}

const summary = (envelopes: Envelope[]) => envelopes.map((e) => `${e.deliverAt}:${e.frame[0]}:${e.frame[1]}`);

describe('Network', () => {
  it('delivers everything in send order on a perfect network, one tick later', () => {
    const { delivered, network } = run(1, PERFECT_NETWORK, 50);
    expect(delivered).toHaveLength(50);
    expect(delivered.every((e) => e.deliverAt === 1)).toBe(true);
    expect(delivered.map((e) => e.frame[0])).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(network.stats).toMatchObject({ sent: 50, delivered: 50, dropped: 0, duplicated: 0 });
  });

  it('drops, duplicates, delays and reorders deterministically for a seed', () => {
    const faults: FaultConfig = {
      dropProbability: 0.2,
      duplicateProbability: 0.2,
      delayTicksMin: 1,
      delayTicksMax: 5,
      reorderProbability: 0.3,
      reorderDelayTicksMax: 20,
    };
    const first = run(11, faults, 500);
    const second = run(11, faults, 500);
    expect(summary(second.delivered)).toEqual(summary(first.delivered));
    expect(second.network.stats).toEqual(first.network.stats);
    const stats = first.network.stats;
    // 500 sends, ~20% dropped, ~20% of the rest duplicated: wide bounds, exact for this seed anyway.
    expect(stats.dropped).toBeGreaterThan(60);
    expect(stats.dropped).toBeLessThan(140);
    expect(stats.duplicated).toBeGreaterThan(40);
    expect(stats.delivered).toBe(500 - stats.dropped + stats.duplicated);
    const order = first.delivered.map((e) => e.order);
    expect(order).not.toEqual([...order].sort((a, b) => a - b));
    expect(first.delivered.every((e) => e.deliverAt - e.sentAt >= 1 && e.deliverAt - e.sentAt <= 25)).toBe(
      true,
    );
    const other = run(12, faults, 500);
    expect(summary(other.delivered)).not.toEqual(summary(first.delivered));
  });

  it('delivers frames due at one tick in insertion order', () => {
    const { delivered } = run(3, { ...PERFECT_NETWORK, delayTicksMax: 3 }, 300);
    for (let i = 1; i < delivered.length; i++) {
      const a = delivered[i - 1] as Envelope;
      const b = delivered[i] as Envelope;
      expect(a.deliverAt < b.deliverAt || (a.deliverAt === b.deliverAt && a.order < b.order)).toBe(true);
    }
  });

  it('cuts partitioned nodes apart until the partition heals, both ways, including frames in flight', () => {
    const network = new Network({
      replicaCount: 4,
      prng: new Prng(5),
      faults: { ...PERFECT_NETWORK, delayTicksMin: 5, delayTicksMax: 5 },
      partitions: [{ startTick: 10, healTick: 20, sideA: [0, 'agent-0'], sideB: [1, 2] }],
    });
    const received: [Address, Address, number][] = [];
    for (let tick = 0; tick < 40; tick++) {
      network.advanceTo(tick);
      for (let e = network.nextDue(); e !== undefined; e = network.nextDue())
        received.push([e.from, e.to, e.sentAt]);
      if (tick === 7 || tick === 12 || tick === 20) {
        network.sendTo(0, 1, 3, frame(tick));
        network.sendTo(1, 0, 3, frame(tick));
        network.sendTo('agent-0', 2, 1, frame(tick));
        network.sendTo(0, 3, 3, frame(tick));
      }
    }
    // Sent at 7, due at 12: in flight when the partition started, so cut off too (except 0 -> 3).
    // Sent at 12: cut off at once (except 0 -> 3). Sent at 20: healed.
    expect(received).toEqual([
      [0, 3, 7],
      [0, 3, 12],
      [0, 1, 20],
      [1, 0, 20],
      ['agent-0', 2, 20],
      [0, 3, 20],
    ]);
    expect(network.stats.droppedByPartition).toBe(6);
    expect(network.partitioned(0, 1, 15)).toBe(true);
    expect(network.partitioned(0, 3, 15)).toBe(false);
    expect(network.partitioned(1, 2, 15)).toBe(false);
  });

  it('fans "replicas" out to every replica but the sender, and agents reach all replicas', () => {
    const network = new Network({ replicaCount: 4, prng: new Prng(1) });
    expect(network.resolve(2, { kind: 'replicas' })).toEqual([0, 1, 3]);
    expect(network.resolve('agent-1', { kind: 'replicas' })).toEqual([0, 1, 2, 3]);
    expect(network.resolve(0, { kind: 'agent', id: 'agent-1' })).toEqual(['agent-1']);
  });

  it('heals when faults are replaced', () => {
    const network = new Network({
      replicaCount: 4,
      prng: new Prng(2),
      faults: { ...PERFECT_NETWORK, dropProbability: 1 },
      partitions: [{ startTick: 0, healTick: 1000, sideA: [0], sideB: [1] }],
    });
    network.sendTo(0, 2, 3, frame(1));
    network.setFaults(PERFECT_NETWORK);
    network.setPartitions([]);
    network.sendTo(0, 2, 3, frame(2));
    network.sendTo(0, 1, 3, frame(3));
    network.advanceTo(1);
    expect(network.nextDue()?.frame[0]).toBe(2);
    expect(network.nextDue()?.frame[0]).toBe(3);
    expect(network.nextDue()).toBeUndefined();
    expect(network.stats.dropped).toBe(1);
  });

  it('says what became of each copy it was handed', () => {
    const network = new Network({
      replicaCount: 4,
      prng: new Prng(3),
      faults: { ...PERFECT_NETWORK, duplicateProbability: 1 },
      partitions: [{ startTick: 0, healTick: 10, sideA: [0], sideB: [1] }],
    });
    expect(network.send(0, { kind: 'replicas' }, 3, frame(1))).toEqual([
      { to: 1, outcome: 'partitioned' },
      { to: 2, outcome: 'duplicated' },
      { to: 3, outcome: 'duplicated' },
    ]);
    network.setFaults({ ...PERFECT_NETWORK, dropProbability: 1 });
    expect(network.sendTo(0, 2, 3, frame(2))).toBe('dropped');
    network.setFaults(PERFECT_NETWORK);
    expect(network.sendTo(0, 2, 3, frame(3))).toBe('queued');
    expect(network.stats).toMatchObject({ sent: 5, dropped: 1, droppedByPartition: 1, duplicated: 2 });
  });

  it('refuses bad fault settings and time going backwards', () => {
    expect(
      () =>
        new Network({
          replicaCount: 4,
          prng: new Prng(1),
          faults: { ...PERFECT_NETWORK, dropProbability: 2 },
        }),
    ).toThrow(RangeError);
    expect(
      () =>
        new Network({ replicaCount: 4, prng: new Prng(1), faults: { ...PERFECT_NETWORK, delayTicksMin: 0 } }),
    ).toThrow(RangeError);
    const network = new Network({ replicaCount: 4, prng: new Prng(1) });
    network.advanceTo(5);
    expect(() => network.advanceTo(4)).toThrow(RangeError);
  });
});
