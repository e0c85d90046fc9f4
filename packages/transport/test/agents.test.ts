/** The agent book behind `setAgents`: current keys, retired keys and their bound, all-or-nothing updates. */
import { describe, expect, it } from 'vitest';
import { AgentBook, RETIRED_KEYS_PER_AGENT_MAX } from '../src/agents.ts';
import { bytesEqual } from '../src/crypto.ts';
import { admit, indexDirectory, revocationOf } from '../src/directory.ts';
import { type AgentEntry, agentPeer, replicaPeer } from '../src/index.ts';
import { testCluster, testKey } from './support.ts';

const key = (seed: number) => testKey(seed).publicKey;
const alice = (seed: number): AgentEntry => ({ id: 'alice', publicKey: key(seed) });
const ALICE = agentPeer('alice');

describe('AgentBook', () => {
  it('retires the key an agent loses, forgets it when the key comes back, and keeps the newest few', () => {
    const book = new AgentBook([alice(10)], new Map());
    book.replace([alice(11)]);
    expect(book.retiredKeysOf(ALICE)).toEqual([key(10)]);
    book.replace([alice(10)]);
    expect(book.retiredKeysOf(ALICE)).toEqual([key(11)]);
    for (let seed = 20; seed < 20 + 2 * RETIRED_KEYS_PER_AGENT_MAX; seed++) book.replace([alice(seed)]);
    const retired = book.retiredKeysOf(ALICE);
    expect(retired).toHaveLength(RETIRED_KEYS_PER_AGENT_MAX);
    // The newest retired key is the one held just before the current one.
    expect(retired.at(-1)).toEqual(key(20 + 2 * RETIRED_KEYS_PER_AGENT_MAX - 2));
  });

  it('drops the retired keys of an agent removed, and takes retired keys handed in', () => {
    const book = new AgentBook([alice(10)], new Map());
    book.replace([alice(11)]);
    book.replace([]);
    expect(book.keyOf(ALICE)).toBeUndefined();
    expect(book.retiredKeysOf(ALICE)).toEqual([]);
    book.replace([alice(12)], [alice(10), alice(12), { id: 'nobody', publicKey: key(13) }]);
    // The current key is never retired; an id not listed keeps nothing.
    expect(book.retiredKeysOf(ALICE)).toEqual([key(10)]);
    expect(book.retiredKeysOf(agentPeer('nobody'))).toEqual([]);
  });

  it('changes nothing when an update is refused', () => {
    const book = new AgentBook([alice(10)], new Map());
    expect(() => book.replace([alice(11), alice(12)])).toThrow(
      expect.objectContaining({ code: 'INVALID_DIRECTORY' }),
    );
    expect(() => book.replace([alice(11)], [{ id: 'alice', publicKey: new Uint8Array(3) }])).toThrow(
      expect.objectContaining({ code: 'INVALID_DIRECTORY' }),
    );
    expect(book.keyOf(ALICE)).toEqual(key(10));
    expect(book.retiredKeysOf(ALICE)).toEqual([]);
  });
});

describe('admit and revocationOf', () => {
  const cluster = testCluster(4);
  const holds = (held: Uint8Array) => (publicKey: Uint8Array) => bytesEqual(publicKey, held);

  it('tells replicas, unknown agents, revoked keys and impostors apart', () => {
    const index = indexDirectory(cluster.directory);
    const aliceKey = cluster.directory.agents[0]?.publicKey as Uint8Array;
    index.replaceAgents([alice(50), cluster.directory.agents[1] as AgentEntry]);
    expect(admit(index, ALICE, holds(key(50)))).toEqual({ ok: true, publicKey: key(50) });
    expect(admit(index, ALICE, holds(aliceKey))).toEqual({ ok: false, reason: 'REVOKED_KEY' });
    expect(admit(index, ALICE, holds(key(51)))).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(admit(index, agentPeer('mallory'), holds(key(51)))).toEqual({
      ok: false,
      reason: 'UNKNOWN_AGENT',
    });
    expect(admit(index, replicaPeer(9), holds(key(51)))).toEqual({ ok: false, reason: 'UNKNOWN_PEER' });
    expect(revocationOf(index, ALICE, aliceKey)).toBe('REVOKED_KEY');
    expect(revocationOf(index, ALICE, key(50))).toBeUndefined();
    expect(revocationOf(index, agentPeer('carol'), key(50))).toBe('UNKNOWN_AGENT');
    // Replicas never change.
    expect(index.publicKeyOf(replicaPeer(0))).toEqual(cluster.directory.replicas[0]?.publicKey);
  });
});
