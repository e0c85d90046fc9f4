import { decodeOperation, resolveLimits } from '@conclave/coordination';
import { describe, expect, it } from 'vitest';
import { simulationCrypto } from '../src/cluster-setup.ts';
import {
  PRESSURE_LIMITS,
  PRESSURE_STRATEGY_NAMES,
  type PressureActor,
  PressureAttack,
} from '../src/pressure.ts';
import { Prng } from '../src/prng.ts';
import type { OperationSummary } from '../src/record.ts';
import { Commons, type Operation, summariseOperation } from '../src/workload.ts';

const SIM_CRYPTO = simulationCrypto();
const SIM_KEY = SIM_CRYPTO.keyPairFromSeed(new Uint8Array(32).fill(3)).secretKey;

/** A liar whose "signing" keeps the operation, so the test can read what it asked for. */
function liar(commons = new Commons()) {
  const signed: OperationSummary[] = [];
  /** Lease lengths of the locks it asked for. */
  const ttls: number[] = [];
  let next = 1;
  const actor: PressureActor = {
    id: 'm',
    prng: new Prng(7),
    keyCount: 3,
    victims: ['h1', 'h2'],
    commons,
    remembered: [new Uint8Array([1])],
    nextRequestId: () => next++,
    sign: (_requestId: number, operation: Operation) => {
      signed.push(summariseOperation(operation.bytes));
      const decoded = decodeOperation(operation.bytes, resolveLimits());
      if (decoded.ok && decoded.operation.op === 'lock_acquire') ttls.push(decoded.operation.ttl);
      return new Uint8Array([0xff, signed.length]);
    },
    context: () => {
      throw new Error('not used by these strategies');
    },
  };
  return { attack: new PressureAttack(actor), signed, ttls, commons };
}

describe('pressure strategies', () => {
  it('send at most requestsPerTick frames a tick, always to every replica', () => {
    for (const name of PRESSURE_STRATEGY_NAMES.filter((n) => n !== 'hoard-proposals')) {
      const { attack, commons } = liar();
      commons.addHonestKey('h1/k0', 0);
      for (let tick = 0; tick < 50; tick++) {
        const sends = attack.sends(name, 100 + tick);
        expect(sends.length, name).toBeLessThanOrEqual(PRESSURE_LIMITS.requestsPerTick);
        for (const send of sends) expect(send.to).toEqual({ kind: 'replicas' });
      }
    }
  });

  it('hoarders take a fresh kv key, lock or task with every request', () => {
    for (const [name, op] of [
      ['hoard-kv', 'kv_put'],
      ['hoard-locks', 'lock_acquire'],
      ['hoard-tasks', 'task_create'],
    ] as const) {
      const { attack, signed } = liar();
      for (let tick = 0; tick < 10; tick++) attack.sends(name, tick);
      expect(signed.length, name).toBe(20);
      expect(new Set(signed.map((s) => s.op))).toEqual(new Set([op]));
      expect(new Set(signed.map((s) => s.target)).size, name).toBe(20);
    }
  });

  it('overwrite-kv writes only honest keys written long enough ago; squat-kv only ones not yet written', () => {
    const { attack, signed, commons } = liar();
    commons.addHonestKey('h1/k0', 100);
    expect(attack.sends('overwrite-kv', 100 + PRESSURE_LIMITS.overwriteDelayTicks - 1)).toEqual([]);
    attack.sends('overwrite-kv', 100 + PRESSURE_LIMITS.overwriteDelayTicks);
    expect(signed).toEqual([{ op: 'kv_put', target: 'h1/k0' }]);

    const squatter = liar(commons);
    for (let tick = 0; tick < 30; tick++) squatter.attack.sends('squat-kv', tick);
    const targets = new Set(squatter.signed.map((s) => s.target));
    expect(targets.has('h1/k0')).toBe(false);
    expect([...targets].every((key) => /^h[12]\/k[0-2]$/.test(key ?? ''))).toBe(true);
    expect(targets.size).toBe(5);
  });

  it('event-churn leases all end on the same period boundary', () => {
    const { attack, signed, ttls } = liar();
    const ticks = Array.from({ length: PRESSURE_LIMITS.churnPeriodTicks }, (_, i) => 32 + i);
    for (const tick of ticks) attack.sends('event-churn', tick);
    expect(ttls).toHaveLength(ticks.length);
    expect(new Set(ttls.map((ttl, i) => (ticks[i] as number) + ttl))).toEqual(
      new Set([32 + PRESSURE_LIMITS.churnPeriodTicks]),
    );
    expect(signed.filter((s) => s.op === 'kv_put' && s.target === 'm/churn')).toHaveLength(ticks.length);
  });

  it('hoard-proposals leaves one proposal open and decides the next with its own ballot', () => {
    const proposals: string[] = [];
    const votes: string[] = [];
    let next = 1;
    const actor: PressureActor = {
      id: 'm',
      prng: new Prng(1),
      keyCount: 3,
      victims: [],
      commons: new Commons(),
      remembered: [],
      nextRequestId: () => next++,
      sign: (_r, operation) => {
        const summary = summariseOperation(operation.bytes);
        (summary.op === 'vote' ? votes : proposals).push(
          summary.op === 'vote' ? (operation.ballot?.proposalId ?? '') : (summary.target ?? ''),
        );
        return new Uint8Array([1]);
      },
      context: (requestId, now) => ({
        agent: 'm',
        requestId,
        prng: new Prng(2),
        keyCount: 3,
        commons: new Commons(),
        crypto: SIM_CRYPTO,
        secretKey: SIM_KEY,
        voters: ['m'],
        now,
      }),
    };
    const attack = new PressureAttack(actor);
    for (let tick = 0; tick < 4; tick++) attack.sends('hoard-proposals', tick);
    // p1 and p4 are decided by their proposer's own ballot (retained); p3 and p6 stay open.
    expect(proposals).toEqual(['m.p1', 'm.p3', 'm.p4', 'm.p6']);
    expect(votes).toEqual(['m.p1', 'm.p4']);
  });
});
