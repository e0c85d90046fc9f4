/**
 * The release gate inside one process: 4 replicas on the in-memory network, replica 2 Byzantine.
 * Run: pnpm --filter @conclave-examples/release-gate start [-- --variant different-request-ids]
 * The same story against real daemons: pnpm demo.
 */
import { pathToFileURL } from 'node:url';
import { lyingReplies } from '@conclave/harness';
import { startInProcessCluster } from '@conclave/sdk';
import {
  AGENTS,
  type ReleaseGateOptions,
  type ReleaseGateSummary,
  runReleaseGate,
  type Stage,
} from './story.ts';

const BYZANTINE_REPLICA = 2;

export async function releaseGateInProcess(options: ReleaseGateOptions = {}): Promise<ReleaseGateSummary> {
  const cluster = await startInProcessCluster({
    agents: [...AGENTS],
    byzantine: { [BYZANTINE_REPLICA]: lyingReplies },
  });
  const stage: Stage = {
    description: `Release gate on an in-process cluster: ${cluster.cluster.replicas.length} replicas on an in-memory network, ${AGENTS.length} agents.`,
    cluster: cluster.cluster,
    crypto: cluster.crypto,
    byzantineReplicas: [BYZANTINE_REPLICA],
    transport: (agent) => cluster.transport(agent),
    secretKey: (agent) => cluster.identity(agent).secretKey,
  };
  try {
    return await runReleaseGate(stage, options);
  } finally {
    await cluster.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const variant = process.argv.includes('different-request-ids')
    ? 'different-request-ids'
    : 'same-request-id';
  const summary = await releaseGateInProcess({ variant }).catch((error: unknown) => {
    console.error(`release gate failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  });
  process.exit(summary?.ok ? 0 : 1);
}
