/**
 * A real daemon (one replica, its transport on 127.0.0.1 port 0, one verify worker) and a real
 * agent connection: a forged prePrepare sent by a registered agent is refused by type, counted
 * under the agent's name, and none of its signatures reaches the verify pool; a query from the
 * same agent still does.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createQuery,
  encodeBody,
  encodeFrame,
  encodeKvOperation,
  MessageType,
  makeBatch,
  nodeCrypto,
  type Request,
} from '@conclave/core';
import { agentPeer, replicaPeer, type Transport, webSocketTransport } from '@conclave/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { dialOptions } from '../src/addresses.ts';
import { type ClusterFile, directoryOf, initCluster, loadSecretKey } from '../src/cluster-file.ts';
import { ReplicaDaemon } from '../src/daemon.ts';

const crypto = nodeCrypto();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A cluster directory whose replicas listen on OS-chosen ports. */
function clusterDir(): { dir: string; file: ClusterFile } {
  const root = mkdtempSync(join(tmpdir(), 'conclave-agent-types-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'cluster');
  initCluster({ dir, replicas: 4, agents: 2, stateMachine: 'kv' });
  const path = join(dir, 'cluster.json');
  const file = JSON.parse(readFileSync(path, 'utf8')) as ClusterFile;
  const patched = { ...file, replicas: file.replicas.map((r) => ({ ...r, port: 0, httpPort: 0 })) };
  writeFileSync(path, JSON.stringify(patched, null, 2));
  return { dir, file: patched };
}

/** A prePrepare claiming to be replica 1's, with a garbage signature, carrying 16 × 64 agents' requests. */
function forgedPrePrepare(agents: readonly string[]): Uint8Array {
  const batches = Array.from({ length: 16 }, (_, b) =>
    makeBatch(
      1_000 + b,
      Array.from({ length: 64 }, (_, r) => {
        const body: Request = {
          type: MessageType.request,
          agent: agents[r % agents.length] as string,
          requestId: b * 64 + r + 1,
          operation: new Uint8Array(8),
          publicKey: new Uint8Array(32),
        };
        const signature = new Uint8Array(64).fill(0x77);
        new DataView(signature.buffer).setUint32(0, b * 64 + r);
        return { body, bytes: encodeBody(body), signature };
      }),
      crypto.hash,
    ),
  );
  const body = {
    type: MessageType.prePrepare,
    view: 1,
    sequence: 1,
    digest: (batches[0] as { digest: Uint8Array }).digest,
    replica: 1,
  } as const;
  return encodeFrame({ body, bytes: encodeBody(body), signature: new Uint8Array(64).fill(0x5a) }, batches);
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function counterValue(daemon: ReplicaDaemon, name: string, labels: Record<string, string>) {
  const metric = await daemon.metrics.registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((value) =>
    Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted),
  );
  return match?.value ?? 0;
}

describe('a daemon and an agent sending replica-only message types', () => {
  it('refuses them by type, counted per agent, with no signature work; agent types still pass', async () => {
    const { dir, file } = clusterDir();
    const daemon = await ReplicaDaemon.start({ dir, replica: 0, verifyWorkers: 1, logLevel: 'silent' });
    cleanups.push(() => daemon.stop());
    const agent = file.agents[1] as { id: string; publicKey: string };
    const transport: Transport = webSocketTransport({
      identity: { peer: agentPeer(agent.id), secretKey: loadSecretKey(dir, agent.id, agent.publicKey) },
      directory: directoryOf(file),
      crypto,
      ...dialOptions(dir, file),
    });
    await transport.start();
    cleanups.push(() => transport.close());
    await until('the agent connected to replica 0', () =>
      transport.connected().includes(replicaPeer(0)) ? true : undefined,
    );
    const refused = () =>
      counterValue(daemon, 'conclave_agent_refused_total', { agent: agent.id, reason: 'REPLICA_ONLY_TYPE' });
    const pooled = () => counterValue(daemon, 'conclave_signature_checks_total', { where: 'pool' });

    expect(transport.send(replicaPeer(0), forgedPrePrepare(file.agents.map((a) => a.id)))).toBe('queued');
    await until('the prePrepare refused', async () => ((await refused()) === 1 ? true : undefined));
    await daemon.metrics.registry.metrics(); // the scrape refreshes the signature counters
    expect(await pooled()).toBe(0);

    // The same agent's query is admitted, and its one signature is checked in the pool.
    const query = createQuery(
      { agent: agent.id, queryId: 1, operation: encodeKvOperation({ op: 'get', key: 'k' }) },
      crypto,
      loadSecretKey(dir, agent.id, agent.publicKey),
    ).frame;
    expect(transport.send(replicaPeer(0), query)).toBe('queued');
    await until('the query checked in the pool', async () => {
      await daemon.metrics.registry.metrics();
      return (await pooled()) === 1 ? true : undefined;
    });
    expect(await refused()).toBe(1);
  });
});
