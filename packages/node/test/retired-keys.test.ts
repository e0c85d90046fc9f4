import { CoordinationStateMachine, ops } from '@conclave/coordination';
import { encodeJoinStatement, KvStateMachine, nodeCrypto, signJoinStatement } from '@conclave/core';
import { describe, expect, it } from 'vitest';
import { retiredKeysOf } from '../src/retired-keys.ts';

const crypto = nodeCrypto();
const keys = (seed: number) => crypto.keyPairFromSeed(new Uint8Array(32).fill(seed));

describe('retiredKeysOf', () => {
  it('lists the keys an agent rotated away from, and nothing for a removed agent or a kv machine', () => {
    const [alice, bob, next] = [keys(1), keys(2), keys(3)];
    const machine = new CoordinationStateMachine({
      crypto,
      agents: [
        { id: 'alice', publicKey: alice.publicKey },
        { id: 'bob', publicKey: bob.publicKey },
      ],
      council: { members: ['alice', 'bob'], threshold: 1 },
    });
    expect(retiredKeysOf(machine)).toEqual([]);
    const statement = signJoinStatement(
      { role: 'agent', id: 'alice', publicKey: next.publicKey, host: '', port: 0 },
      next.secretKey,
      crypto,
    );
    machine.advanceTime({ sequence: 1, timestamp: 1 });
    machine.apply(ops.rotateKey({ joinStatement: encodeJoinStatement(statement) }), {
      agent: 'alice',
      requestId: 1,
      sequence: 1,
      timestamp: 1,
    });
    machine.advanceTime({ sequence: 2, timestamp: 2 });
    machine.apply(ops.revokeSelf(), { agent: 'bob', requestId: 1, sequence: 2, timestamp: 2 });
    expect(retiredKeysOf(machine)).toEqual([{ id: 'alice', publicKey: alice.publicKey }]);
    expect(retiredKeysOf(new KvStateMachine(crypto.hash))).toEqual([]);
  });
});
