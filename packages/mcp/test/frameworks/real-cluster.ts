/**
 * Four real daemons on 127.0.0.1 for the stdio framework tests, run from the esbuild bundle of
 * the CLI (one file: the replicas and every `conclave mcp` a framework launches start in about
 * a second each, not under tsx), and a watcher agent the tests read proposals with.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  connectAgent,
  makeCluster,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '@conclave/cli';
import { type Coordination, coordination } from '@conclave/sdk';
import { buildDaemon, DIST } from '../../../cli/scripts/build.ts';
import { untilReadable } from './shared.ts';

/** No framework test acts as this agent, so its reads never share a request id with a server's. */
const WATCHER = 'agent-3';

export interface RealCluster {
  readonly dir: string;
  /** How to run the CLI: node and the bundle. */
  readonly conclave: readonly [string, ...string[]];
  /** Waits until the proposal is on the cluster, there to vote on. */
  untilProposed(proposalId: string): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the bundle, starts four replicas of a fresh cluster (4 agents) and waits until each answers. */
export async function startRealCluster(): Promise<RealCluster> {
  const outDir = join(DIST, `frameworks-${process.pid}`);
  const replicas: RunningReplica[] = [];
  let dir = '';
  let watcher: Coordination | undefined;
  const stop = async () => {
    await watcher?.client.close().catch(() => undefined);
    await Promise.all(replicas.map((replica) => stopReplica(replica, 'SIGKILL')));
    if (dir !== '') rmSync(dirname(dir), { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  };
  try {
    const [bundle, made] = await Promise.all([buildDaemon(outDir), makeCluster(4, 4)]);
    dir = made.dir;
    for (let id = 0; id < 4; id++) replicas.push(startReplica(dir, id, [], { bundle }));
    await untilUp(dir);
    watcher = coordination(await connectAgent({ dir, agent: WATCHER }));
    const reader = watcher;
    return {
      dir,
      conclave: [process.execPath, bundle],
      // The proposer's own `conclave mcp` starts first: seconds on a busy machine.
      untilProposed: (proposalId) => untilReadable(reader, proposalId, 30_000),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits, up to 30 s, until the four replicas answer their status. */
function untilUp(dir: string): Promise<true> {
  return waitFor(
    'replicas up',
    async () =>
      (await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined,
    30_000,
  );
}
