/**
 * The agent registry changing at run time (StateMachine.agentKeys): added agents are admitted,
 * removed or rotated-out keys are refused from the next batch on, at the same point on every
 * replica, and a restarted replica comes back with the same registry.
 */
import { describe, expect, it } from 'vitest';
import {
  createRequest,
  decodeKvResult,
  decodeRefusal,
  encodeKvOperation,
  type KeyPair,
  nodeCrypto,
  toHex,
} from '../src/index.ts';
import { seedOf, TEST_PROTOCOL, TestCluster } from './support/cluster.ts';
import { REGISTRY_PREFIX, RegistryKvStateMachine } from './support/registry-kv.ts';

const crypto = nodeCrypto();
const genesisKeys = [0, 1].map((i) => crypto.keyPairFromSeed(seedOf('agent', i)));
const genesis = genesisKeys.map((k, i) => ({ id: `agent-${i}`, publicKey: k.publicKey }));

function registryCluster(): TestCluster {
  return new TestCluster(4, 2, TEST_PROTOCOL, crypto, () => new RegistryKvStateMachine(crypto.hash, genesis));
}

const put = (key: string, value: string) => encodeKvOperation({ op: 'put', key, value });

/** Queues a request signed with `keys` to every replica; returns its frame. */
function send(
  c: TestCluster,
  agent: string,
  requestId: number,
  operation: Uint8Array,
  keys: KeyPair,
): Uint8Array {
  const { frame } = createRequest({ agent, requestId, operation }, c.crypto, keys.secretKey);
  for (let r = 0; r < c.replicas.length; r++) c.queue.push({ from: agent, to: `r${r}`, frame });
  return frame;
}

/** The result f+1 replicas agree on for an agent's request, decoded as a refusal if it is one. */
function answer(c: TestCluster, agent: string, requestId: number) {
  const replies = (c.replies.get(agent) ?? []).filter((r) => r.requestId === requestId);
  const counts = new Map<string, number>();
  for (const reply of replies) {
    const key = toHex(reply.result);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if ((counts.get(key) as number) >= 2)
      return { refusal: decodeRefusal(reply.result), kv: decodeKvResult(reply.result) };
  }
  return undefined;
}

const newcomer = crypto.keyPairFromSeed(seedOf('newcomer', 0));
const rotated = crypto.keyPairFromSeed(seedOf('rotated', 1));

describe('a registry that changes at run time', () => {
  it('admits an agent from the batch after its registration, not before', () => {
    const c = registryCluster();
    const early = send(c, 'agent-9', 1, put('x', 'early'), newcomer);
    c.run(3);
    expect(c.replicas.every((r) => !r.agentKeys().has('agent-9'))).toBe(true);
    expect(c.inject(0, early).rejected.map((r) => r.code)).toEqual(['UNKNOWN_SENDER']);
    send(
      c,
      'agent-0',
      1,
      put(`${REGISTRY_PREFIX}agent-9`, toHex(newcomer.publicKey)),
      genesisKeys[0] as KeyPair,
    );
    c.run(3);
    expect(c.replicas.every((r) => r.agentKeys().has('agent-9'))).toBe(true);
    send(c, 'agent-9', 2, put('x', 'admitted'), newcomer);
    c.run(3);
    expect(answer(c, 'agent-9', 2)?.kv).toEqual({ ok: true, value: 'admitted', version: 1 });
    c.checkAgreement();
  });

  it('refuses, at the same sequence everywhere, a request ordered after its agent was removed', () => {
    const c = registryCluster();
    // Both reach the primary before either executes: the removal is ordered first, then the
    // removed agent's request, in the next batch. Every replica refuses it there.
    send(c, 'agent-0', 1, put(`${REGISTRY_PREFIX}agent-1`, ''), genesisKeys[0] as KeyPair);
    send(c, 'agent-1', 1, put('y', 'too late'), genesisKeys[1] as KeyPair);
    c.run(3);
    expect(answer(c, 'agent-1', 1)?.refusal).toEqual({
      code: 'UNKNOWN_AGENT',
      detail: 'agent agent-1 is not registered',
    });
    for (let r = 0; r < 4; r++) {
      const refused = (c.executed[r] ?? []).flatMap((b) => b.refused.map((x) => ({ ...x, at: b.sequence })));
      expect(refused.map((x) => [x.agent, x.requestId, x.code, x.at])).toEqual([
        ['agent-1', 1, 'UNKNOWN_AGENT', 2],
      ]);
      expect(c.machines[r]?.get('y')).toBeUndefined();
    }
    expect(c.replicas.every((r) => r.status().pendingRequests === 0)).toBe(true);
    c.checkAgreement();
  });

  it('refuses a rotated-out key and accepts the new one, even for the requestId that was refused', () => {
    const c = registryCluster();
    const agent1 = genesisKeys[1] as KeyPair;
    send(c, 'agent-1', 1, put(`${REGISTRY_PREFIX}agent-1`, toHex(rotated.publicKey)), agent1);
    send(c, 'agent-1', 2, put('z', 'old key'), agent1);
    c.run(3);
    expect(answer(c, 'agent-1', 2)?.refusal?.code).toBe('REVOKED_KEY');
    // The old key is now refused on arrival, before it costs a signature check.
    const stale = createRequest(
      { agent: 'agent-1', requestId: 3, operation: put('z', 'x') },
      c.crypto,
      agent1.secretKey,
    );
    expect(c.inject(1, stale.frame).rejected.map((r) => r.code)).toEqual(['REVOKED_KEY']);
    // …and a host checking signatures ahead of the step is not asked to check it either.
    const decoded = c.replicas[1]?.decode(stale.frame);
    expect(decoded?.ok && c.replicas[1]?.signatureChecks(decoded.value)).toEqual([]);
    // Re-signed under the new key, requestId 2 executes: it was refused, never executed, and two
    // bodies under two keys are not equivocation.
    c.replies.delete('agent-1');
    send(c, 'agent-1', 2, put('z', 'new key'), rotated);
    c.run(3);
    expect(answer(c, 'agent-1', 2)?.kv).toEqual({ ok: true, value: 'new key', version: 1 });
    expect(c.executed.flat().flatMap((b) => b.equivocations)).toEqual([]);
    c.checkAgreement();
  });

  it('answers a retransmitted rotation or revocation whose replies were lost, under the key it retired', () => {
    for (const [label, newKey] of [
      ['rotation', toHex(rotated.publicKey)],
      ['revocation', ''],
    ] as const) {
      const c = registryCluster();
      const agent1 = genesisKeys[1] as KeyPair;
      // Every reply to agent-1 is lost while its own change executes.
      c.interceptor = (envelope) => (envelope.to === 'agent-1' ? [] : undefined);
      const frame = send(c, 'agent-1', 1, put(`${REGISTRY_PREFIX}agent-1`, newKey), agent1);
      c.run(3);
      expect(answer(c, 'agent-1', 1), label).toBeUndefined();
      c.interceptor = undefined;
      // The retransmission names a key no longer in force, yet gets the cached reply…
      for (let r = 0; r < 4; r++) c.queue.push({ from: 'agent-1', to: `r${r}`, frame });
      c.deliverAll();
      expect(answer(c, 'agent-1', 1)?.kv, label).toMatchObject({ ok: true });
      // …while a new request under that key is still refused.
      const next = createRequest(
        { agent: 'agent-1', requestId: 2, operation: put('q', 'x') },
        c.crypto,
        agent1.secretKey,
      );
      expect(
        c.inject(0, next.frame).rejected.map((r) => r.code),
        label,
      ).toEqual([newKey === '' ? 'UNKNOWN_SENDER' : 'REVOKED_KEY']);
    }
  });

  it('reports the new registry to the host in the step that executed the change', () => {
    const c = registryCluster();
    const reported: number[] = [];
    c.observer = ({ replica, output }) => {
      if (output.agentKeys !== undefined) {
        expect(output.agentKeys.get('agent-9')).toEqual(newcomer.publicKey);
        reported.push(replica);
      }
    };
    send(
      c,
      'agent-0',
      1,
      put(`${REGISTRY_PREFIX}agent-9`, toHex(newcomer.publicKey)),
      genesisKeys[0] as KeyPair,
    );
    c.run(3);
    expect(reported.sort()).toEqual([0, 1, 2, 3]);
  });

  it('a restarted replica comes back with the registry the others hold', () => {
    const c = registryCluster();
    send(
      c,
      'agent-0',
      1,
      put(`${REGISTRY_PREFIX}agent-9`, toHex(newcomer.publicKey)),
      genesisKeys[0] as KeyPair,
    );
    send(c, 'agent-0', 2, put(`${REGISTRY_PREFIX}agent-1`, ''), genesisKeys[0] as KeyPair);
    c.run(3);
    // Past a checkpoint, so the restart comes back from a snapshot plus the log above it.
    for (let i = 0; i < 6; i++) {
      send(c, 'agent-9', 1 + i, put('w', `${i}`), newcomer);
      c.run(3);
    }
    expect(answer(c, 'agent-9', 6)?.kv).toEqual({ ok: true, value: '5', version: 6 });
    c.restart(2);
    c.run(20);
    const keysOf = (r: number) =>
      [...(c.replicas[r]?.agentKeys() ?? [])].map(([id, key]) => [id, toHex(key)]).sort();
    expect(keysOf(2)).toEqual(keysOf(0));
    expect(keysOf(2).map(([id]) => id)).toEqual(['agent-0', 'agent-9']);
    expect(c.replicas[2]?.status().lastExecuted).toBe(c.replicas[0]?.status().lastExecuted);
  });
});
