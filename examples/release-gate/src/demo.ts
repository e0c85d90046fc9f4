/**
 * `pnpm demo`: the release gate against real replica daemons on 127.0.0.1. Four `conclave start`
 * processes (replica 2 started by the harness's Byzantine launcher, lying in its replies), five agents over WebSocket, one of them
 * equivocating and one forging. Every daemon is stopped and the cluster directory removed at the
 * end, on failure too. Exits 0 only if every claim of the story held.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  makeCluster,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '@conclave/cli';
import { nodeCrypto } from '@conclave/core';
import { BYZANTINE_REPLICA_SCRIPT } from '@conclave/harness';
import {
  clusterConfigOf,
  dialOptions,
  directoryOf,
  loadClusterFile,
  loadSecretKey,
  readListeningAddress,
  tlsOptionsOf,
} from '@conclave/node';
import { agentPeer, webSocketTransport } from '@conclave/transport';
import {
  AGENTS,
  type ReleaseGateOptions,
  type ReleaseGateSummary,
  runReleaseGate,
  type Stage,
} from './story.ts';

const REPLICAS = 4;
const BYZANTINE_REPLICA = 2;
/** Bounds of the whole run and of its parts. */
export const DEMO_TIMEOUT_MS = 60_000;
const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** A Stage on a cluster directory: agents reach the daemons over WebSocket (wss if configured). */
function daemonStage(dir: string): Stage {
  const file = loadClusterFile(dir);
  const crypto = nodeCrypto();
  const tls = tlsOptionsOf(dir, file);
  const secretKey = (agent: string) => {
    const entry = file.agents.find((a) => a.id === agent);
    if (entry === undefined) throw new Error(`no agent ${agent} in ${dir}/cluster.json`);
    return loadSecretKey(dir, entry.id, entry.publicKey, crypto);
  };
  return {
    description: `Release gate on ${file.replicas.length} replica daemons (${file.replicas.map((r) => `${r.host}:${readListeningAddress(dir, r.id)?.port ?? r.port}`).join(', ')}), ${file.agents.length} agents over WebSocket.`,
    cluster: clusterConfigOf(file),
    crypto,
    byzantineReplicas: [BYZANTINE_REPLICA],
    transport: (agent) =>
      webSocketTransport({
        identity: { peer: agentPeer(agent), secretKey: secretKey(agent) },
        directory: directoryOf(file),
        crypto,
        ...dialOptions(dir, file),
        ...(tls === undefined ? {} : { tls }),
      }),
    secretKey,
  };
}

/** Daemons started by this process, so that every exit path can stop them. */
const running = new Set<RunningReplica>();
let clusterRoot: string | undefined;

async function cleanUp(): Promise<void> {
  await Promise.all([...running].map((replica) => stopReplica(replica, 'SIGTERM', STOP_TIMEOUT_MS)));
  running.clear();
  if (clusterRoot !== undefined) rmSync(clusterRoot, { recursive: true, force: true });
  clusterRoot = undefined;
}

/** Last resort when the process must exit now (a deadline, a signal, a test torn down): no waiting. */
export function killDemoDaemons(): void {
  for (const replica of running) replica.process.kill('SIGKILL');
  running.clear();
  if (clusterRoot !== undefined) rmSync(clusterRoot, { recursive: true, force: true });
  clusterRoot = undefined;
}

export async function demo(options: ReleaseGateOptions = {}): Promise<ReleaseGateSummary> {
  const print = options.print ?? console.log;
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  try {
    const { dir, file } = await makeCluster(REPLICAS, AGENTS.length);
    clusterRoot = dirname(dir);
    print(
      `Starting ${REPLICAS} replica daemons on 127.0.0.1 (replica ${BYZANTINE_REPLICA} wrapped by the harness to lie in its replies)…`,
    );
    for (let id = 0; id < REPLICAS; id++) {
      const extra = ['--log-level', 'warn'];
      if (id !== BYZANTINE_REPLICA) running.add(startReplica(dir, id, extra));
      else
        running.add(
          startReplica(dir, id, [...extra, '--misbehave', 'lying-replies'], {
            script: BYZANTINE_REPLICA_SCRIPT,
          }),
        );
    }
    const exited = [...running].map((replica) =>
      replica.exited.then((code) => {
        throw new Error(
          `replica ${replica.id} exited early (status ${code}):\n${replica.output.split('\n').slice(-5).join('\n')}`,
        );
      }),
    );
    const up = waitFor(
      'every replica to answer /status',
      async () => {
        const statuses = await Promise.all(file.replicas.map((r) => statusOf(dir, r.id)));
        return statuses.every((s) => s !== undefined) ? true : undefined;
      },
      STARTUP_TIMEOUT_MS,
    );
    await Promise.race([up, ...exited]);
    print(`  all ${REPLICAS} up after ${seconds()} s; cluster directory ${dir}`);
    print('');
    const summary = await Promise.race([runReleaseGate(daemonStage(dir), options), ...exited]);
    print(`Stopping the daemons (${seconds()} s so far).`);
    for (const promise of exited) promise.catch(() => undefined);
    return summary;
  } finally {
    await cleanUp();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const deadline = setTimeout(() => {
    console.error(`demo: no result within ${DEMO_TIMEOUT_MS / 1000} s; stopping the daemons`);
    killDemoDaemons();
    process.exit(1);
  }, DEMO_TIMEOUT_MS);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killDemoDaemons();
      process.exit(130);
    });
  }
  const started = performance.now();
  const summary = await demo().catch((error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  });
  clearTimeout(deadline);
  console.log(
    summary?.ok
      ? `Demo passed in ${((performance.now() - started) / 1000).toFixed(1)} s; daemons stopped, directory removed.`
      : 'Demo FAILED.',
  );
  process.exit(summary?.ok ? 0 : 1);
}
