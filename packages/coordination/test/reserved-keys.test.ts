import { encodeJoinStatement, nodeCrypto, signJoinStatement } from '@conclave/core';
import { describe, expect, it } from 'vitest';
import { CoordinationStateMachine, decodeResult, ops } from '../src/index.ts';

const crypto = nodeCrypto();
const keys = (seed: number) => crypto.keyPairFromSeed(new Uint8Array(32).fill(seed));

describe("a replica's key is never an agent's", () => {
  it('refuses a rotation to a reserved key with KEY_IN_USE, and accepts a fresh one', () => {
    const [alice, replica, fresh] = [keys(1), keys(9), keys(3)];
    const machine = new CoordinationStateMachine({
      crypto,
      agents: [{ id: 'alice', publicKey: alice.publicKey }],
      reservedKeys: [replica.publicKey],
    });
    const rotateTo = (pair: ReturnType<typeof keys>, requestId: number) => {
      const statement = signJoinStatement(
        { role: 'agent', id: 'alice', publicKey: pair.publicKey, host: '', port: 0 },
        pair.secretKey,
        crypto,
      );
      machine.advanceTime({ sequence: requestId, timestamp: requestId });
      const result = machine.apply(ops.rotateKey({ joinStatement: encodeJoinStatement(statement) }), {
        agent: 'alice',
        requestId,
        sequence: requestId,
        timestamp: requestId,
      });
      return decodeResult(result);
    };
    expect(rotateTo(replica, 1)).toMatchObject({ ok: false, code: 'KEY_IN_USE' });
    expect(machine.agentKeys().keys.get('alice')).toEqual(alice.publicKey);
    expect(rotateTo(fresh, 2)).toMatchObject({ ok: true, kind: 'agent' });
    expect(machine.agentKeys().keys.get('alice')).toEqual(fresh.publicKey);
  });
});
