/**
 * The printout of a chaos run: what it did (faults, load, proxy counters) and what it found.
 */
import type { ChaosReport } from './chaos-options.ts';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The command that runs the same schedule again. */
export function replayCommand(report: ChaosReport): string {
  const o = report.options;
  return `pnpm chaos --seed ${o.seed} --duration ${o.durationMs / 1000} --replicas ${o.replicas} --agents ${o.agents} --sync ${o.sync}`;
}

export function formatReport(report: ChaosReport): string {
  const { faults, load, proxy, cluster } = report;
  const failed = Object.entries(load.failedByCode)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  const lines = [
    'did:',
    `  faults   ${faults.kills} kill -9 (${faults.restarts} restarts), ${faults.partitions} partitions (${faults.partitionsCut} cut, ${faults.partitionsStalled} stall), ${faults.dropEvents} drop events, ${faults.delayWindows} delay windows; ${faults.primaryTargeted} aimed at the primary`,
    `  proxy    ${proxy.connectionsAccepted} connections accepted, ${proxy.connectionsRefused} refused, ${proxy.connectionsHeld} held, ${proxy.connectionsDropped} dropped, ${proxy.connectionsCutByPartition} cut by partitions, ${proxy.upstreamFailures} to a replica that was down`,
    `           ${(proxy.bytesForwarded / 1024 / 1024).toFixed(1)} MiB forwarded, ${proxy.chunksDelayed} chunks delayed, ${proxy.chunksStalled} chunks stalled`,
    `  writes   ${load.attempted} attempted, ${load.acknowledged} acknowledged, ${load.timedOut} timed out${failed === '' ? '' : `, failed: ${failed}`}`,
    `           latency p50 ${load.latencyMsP50.toFixed(0)} ms, p99 ${load.latencyMsP99.toFixed(0)} ms, max ${load.latencyMsMax.toFixed(0)} ms; longest stretch without an acknowledgement ${seconds(load.longestStallMs)}`,
    `  cluster  highest view ${cluster.highestView}, final executed sequence ${cluster.finalSequence}, ${cluster.statusSamples} status samples`,
    'found:',
    ...report.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    report.ok
      ? `chaos: PASSED in ${seconds(report.elapsedMs)} (seed ${report.options.seed})`
      : `chaos: FAILED in ${seconds(report.elapsedMs)} (seed ${report.options.seed}); cluster directory kept at ${report.directory}\n  replay the schedule: ${replayCommand(report)}`,
  ];
  return lines.join('\n');
}
