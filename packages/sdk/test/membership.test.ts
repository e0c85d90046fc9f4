/**
 * Membership at run time through the SDK, on an in-process cluster of real replicas: the
 * council registers a newcomer, who then acts; an agent rotates its key and keeps working while
 * its old key is refused; a removed agent is refused; receipts signed before a rotation still
 * verify against the key history.
 */
import { actions } from '@conclave/coordination';
import {
  encodeJoinStatement,
  type KeyPair,
  nodeCrypto,
  signJoinStatement,
  verifyReceipt,
} from '@conclave/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Coordination,
  coordination,
  type InProcessCluster,
  MembershipError,
  RejectedError,
  startInProcessCluster,
} from '../src/index.ts';

const crypto = nodeCrypto();
const clusters: InProcessCluster[] = [];
afterEach(async () => {
  for (const cluster of clusters.splice(0)) await cluster.stop();
});

const bytes = (text: string) => new TextEncoder().encode(text);
const freshKeys = (): KeyPair =>
  crypto.keyPairFromSeed(globalThis.crypto.getRandomValues(new Uint8Array(32)));

/** alice, bob and carol are the council (threshold 2 of 3 with the default for 3 agents). */
async function start(): Promise<{ cluster: InProcessCluster; council: Coordination[] }> {
  const cluster = await startInProcessCluster({ agents: ['alice', 'bob', 'carol'] });
  clusters.push(cluster);
  const council = await Promise.all(
    ['alice', 'bob', 'carol'].map((a) => cluster.connect(a).then(coordination)),
  );
  return { cluster, council };
}

/** alice proposes, bob approves (2 of 3): the action executes in bob's vote's step. */
async function approve(
  council: Coordination[],
  proposalId: string,
  action: Parameters<Coordination['proposeAction']>[0],
) {
  const [alice, bob] = council as [Coordination, Coordination];
  await alice.proposeAction(action, { proposalId, ttlTicks: 10_000 });
  await alice.vote(proposalId, 'approve');
  const { proposal } = await bob.vote(proposalId, 'approve');
  return proposal;
}

function joinOf(agent: string, keys: KeyPair): Uint8Array {
  return encodeJoinStatement(
    signJoinStatement(
      { role: 'agent', id: agent, publicKey: keys.publicKey, host: '', port: 0 },
      keys.secretKey,
      crypto,
    ),
  );
}

describe('membership at run time', () => {
  it('a newcomer registered by the council writes at once; before, it is refused', async () => {
    const { cluster, council } = await start();
    const dave = freshKeys();
    await expect(
      cluster.connectAs({ agent: 'dave', secretKey: dave.secretKey }, { connectTimeoutMs: 3_000 }),
    ).rejects.toMatchObject({
      code: 'UNKNOWN_AGENT',
    });
    const proposal = await approve(
      council,
      'add-dave',
      actions.registerAgent({ joinStatement: joinOf('dave', dave) }),
    );
    expect(proposal.status).toBe('approved');
    expect(proposal.actionOutcome).toMatchObject({ status: 'executed' });
    const daveClient = coordination(await cluster.connectAs({ agent: 'dave', secretKey: dave.secretKey }));
    expect((await daveClient.kv.put('dave/hello', bytes('hi'))).version).toBe(1);
    const record = (await council[0]!.agents()).find((a) => a.id === 'dave');
    expect(record?.keys.map((k) => k.until)).toEqual([null]);
  });

  it('an agent rotates its key and keeps working; the old key is refused, old receipts still verify', async () => {
    const { cluster, council } = await start();
    const carol = council[2] as Coordination;
    const before = await carol.client.requestWithReceipt(
      (await import('@conclave/coordination')).ops.kvPut({ key: 'carol/x', value: bytes('1') }),
    );
    const oldSecret = cluster.identity('carol').secretKey;
    const next = freshKeys();
    const change = await carol.rotateKey(next.secretKey);
    expect(change.effectiveFrom).toBeGreaterThan(before.sequence);
    // The same client now signs with the new key, over a new connection.
    expect((await carol.kv.put('carol/x', bytes('2'))).version).toBe(2);
    await carol.client.close(); // one connection per agent id on the in-memory network
    await expect(
      cluster.connectAs({ agent: 'carol', secretKey: oldSecret }, { connectTimeoutMs: 3_000 }),
    ).rejects.toMatchObject({ code: 'REVOKED_KEY' });
    // A receipt signed before the rotation: not by the key in force now, but by the one in
    // force at its sequence, which the history knows.
    const history = await council[0]!.keyHistory();
    expect(verifyReceipt(before.receipt, cluster.cluster, crypto, history).ok).toBe(true);
    const currentOnly = (agent: string) => (agent === 'carol' ? next.publicKey : undefined);
    expect(verifyReceipt(before.receipt, cluster.cluster, crypto, currentOnly).ok).toBe(false);
  });

  it('a removed agent is refused, with a typed error, in flight and on reconnect', async () => {
    const { cluster, council } = await start();
    const carol = council[2] as Coordination;
    await carol.kv.put('carol/x', bytes('1'));
    await approve(council, 'remove-carol', actions.removeAgent('carol'));
    const error = await carol.kv.put('carol/x', bytes('2')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MembershipError);
    expect((error as MembershipError).code).toBe('UNKNOWN_AGENT');
    await carol.client.close(); // one connection per agent id on the in-memory network
    await expect(cluster.connect('carol', { connectTimeoutMs: 3_000 })).rejects.toMatchObject({
      code: 'UNKNOWN_AGENT',
    });
    expect((await council[0]!.council()).members).toEqual(['alice', 'bob']);
  });

  it('only the council may propose an action, and a forged join statement is refused', async () => {
    const { cluster, council } = await start();
    const dave = freshKeys();
    const mallory = freshKeys();
    // Mallory signs a statement claiming dave's key: no proof of possession.
    const forged = encodeJoinStatement({
      ...signJoinStatement(
        { role: 'agent', id: 'dave', publicKey: mallory.publicKey, host: '', port: 0 },
        mallory.secretKey,
        crypto,
      ),
      publicKey: dave.publicKey,
    });
    const refusal = await council[0]!
      .proposeAction(actions.registerAgent({ joinStatement: forged }), {
        proposalId: 'forged',
        ttlTicks: 10_000,
      })
      .catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RejectedError);
    expect((refusal as RejectedError).reason).toBe('INVALID_JOIN');
    void cluster;
  });
});
