/**
 * The membership half of the ceremony test, against real daemons: the council adds an agent at
 * run time, the agent rotates its key, the council removes it. Timed where the issue asks: from
 * approval to the new agent's first write, and from approval of a removal to the removed
 * agent's last connection closing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AgentView, actions } from '@conclave/coordination';
import {
  encodeJoinStatement,
  fromHex,
  type KeyPair,
  nodeCrypto,
  publicKeyOf,
  signJoinStatement,
  toHex,
} from '@conclave/core';
import { clusterConfigOf, directoryOf, loadClusterFile } from '@conclave/node';
import { type AgentIdentity, type Coordination, connect, coordination, MembershipError } from '@conclave/sdk';
import { agentPeer, type Transport, webSocketTransport } from '@conclave/transport';
import { expect } from 'vitest';
import { waitFor } from './support.ts';

const crypto = nodeCrypto();
const bytes = (text: string) => new TextEncoder().encode(text);
const freshKeys = (): KeyPair =>
  crypto.keyPairFromSeed(globalThis.crypto.getRandomValues(new Uint8Array(32)));

/** A registry as compared across replicas: ids, removal, and each key's interval. */
function summary(agents: readonly AgentView[]): string[] {
  return agents.map(
    (a) =>
      `${a.id}${a.removed ? ' (removed)' : ''}: ${a.keys.map((k) => `${toHex(k.publicKey).slice(0, 8)}[${k.from},${k.until})`).join(' ')}`,
  );
}

/** Connects any identity over WebSocket to the cluster in `dir`; remembers each agent's latest transport. */
function connector(dir: string) {
  const file = loadClusterFile(dir);
  const cluster = clusterConfigOf(file);
  const replicas = directoryOf(file).replicas;
  const transports = new Map<string, Transport>();
  const transportFor = (who: AgentIdentity): Transport => {
    const transport = webSocketTransport({
      identity: { peer: agentPeer(who.agent), secretKey: who.secretKey },
      directory: { replicas, agents: [{ id: who.agent, publicKey: publicKeyOf(who.secretKey) }] },
      crypto,
    });
    transports.set(who.agent, transport);
    return transport;
  };
  const connectAs = (who: AgentIdentity) =>
    connect({
      cluster,
      identity: who,
      transport: transportFor(who),
      transportFor,
      crypto,
      connectTimeoutMs: 5_000,
    });
  return { connectAs, transports };
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

/** alice (the council, threshold 1) proposes and approves; resolves at approval, with its time. */
async function approve(
  alice: Coordination,
  proposalId: string,
  action: Parameters<Coordination['proposeAction']>[0],
) {
  await alice.proposeAction(action, { proposalId, ttlTicks: 60_000 });
  const { proposal } = await alice.vote(proposalId, 'approve');
  expect(proposal.status).toBe('approved');
  expect(proposal.actionOutcome).toMatchObject({ status: 'executed' });
  return performance.now();
}

export async function runMembership(clusterDir: string, agentDir: string) {
  const { connectAs, transports } = connector(clusterDir);
  const aliceKey = fromHex(readFileSync(join(agentDir, 'keys', 'alice.secret'), 'utf8').trim());
  const alice = coordination(await connectAs({ agent: 'alice', secretKey: aliceKey }));

  // Added at run time: connects and writes as soon as the registration is approved.
  const dave = freshKeys();
  const added = await approve(
    alice,
    'add-dave',
    actions.registerAgent({ joinStatement: joinOf('dave', dave) }),
  );
  const daveClient = coordination(await connectAs({ agent: 'dave', secretKey: dave.secretKey }));
  const first = await daveClient.kv.put('dave/first', bytes('1'));
  const approvalToFirstWriteMs = performance.now() - added;

  // Rotated: keeps working with the new key; the old one is refused.
  const next = freshKeys();
  const rotation = await daveClient.rotateKey(next.secretKey);
  const afterRotation = await daveClient.kv.put('dave/first', bytes('2'));
  expect(afterRotation.updatedAt?.sequence).toBeGreaterThanOrEqual(rotation.effectiveFrom);
  expect(afterRotation.version).toBeGreaterThan(first.version); // kv versions are the store's revisions
  const stale = await connectAs({ agent: 'dave-old', secretKey: dave.secretKey }).catch((e: unknown) => e);
  expect(stale).toBeInstanceOf(MembershipError); // an unknown id, with the old key
  const oldKey = await connectAs({ agent: 'dave', secretKey: dave.secretKey }).catch((e: unknown) => e);
  expect(oldKey).toMatchObject({ code: 'REVOKED_KEY' });

  // Removed: refused, and its connections closed.
  const daveTransport = transports.get('dave') as Transport;
  await daveClient.client.close().catch(() => undefined);
  const current = coordination(await connectAs({ agent: 'dave', secretKey: next.secretKey }));
  const liveTransport = transports.get('dave') as Transport;
  const removed = await approve(alice, 'remove-dave', actions.removeAgent('dave'));
  await waitFor(
    'dave disconnected',
    () => (liveTransport.connected().length === 0 ? true : undefined),
    10_000,
    5, // ms between looks: this is a measurement
  );
  const approvalToDisconnectMs = performance.now() - removed;
  const refused = await current.kv.put('dave/first', bytes('3')).catch((e: unknown) => e);
  expect(refused).toMatchObject({ code: 'UNKNOWN_AGENT' });
  await current.client.close().catch(() => undefined);
  void daveTransport;

  const registry = summary(await alice.agents());
  expect(registry.find((line) => line.startsWith('dave'))).toMatch(
    /^dave \(removed\): \S+\[\d+,\d+\) \S+\[\d+,\d+\)$/,
  );
  console.log(
    `membership: approval -> first write of a new agent ${approvalToFirstWriteMs.toFixed(0)} ms; approval of a removal -> disconnected ${approvalToDisconnectMs.toFixed(0)} ms`,
  );
  return {
    registry,
    approvalToFirstWriteMs,
    approvalToDisconnectMs,
    /** The registry as replica `id` alone answers it, once it has caught up to `registry`. */
    registryAt: (id: number) =>
      waitFor(
        `replica ${id}'s registry`,
        async () => {
          const local = await alice.agents({ consistency: 'local', replica: id }).catch(() => undefined);
          const lines = local === undefined ? undefined : summary(local);
          return JSON.stringify(lines) === JSON.stringify(registry) ? lines : undefined;
        },
        30_000,
      ),
    close: () => alice.client.close(),
  };
}
