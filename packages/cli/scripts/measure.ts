/**
 * Measures a local cluster of real daemons: write throughput and latency for a sync mode, the
 * time a replica needs to catch up after a restart, and replica memory after many writes.
 *
 *   pnpm measure:daemon [--writes N] [--agents A] [--sync full|buffered] [--no-restart]
 *
 * Two restarts are timed once the writes are done: replica 3, down during all the writes,
 * starts and must catch up (state transfer plus committed batches); replica 2, up during the
 * writes, is killed with SIGKILL and restarted (reload from disk, then catch up).
 * Bounded: every wait has a deadline, and the cluster is stopped at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { encodeKvOperation } from '@conclave/core';
import { openReplicaStore, SYNC_MODES } from '@conclave/node';
import { connectAgent } from '../src/connect.ts';
import {
  makeCluster,
  metricsOf,
  metricValue,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '../src/local-cluster.ts';

const { values } = parseArgs({
  options: {
    writes: { type: 'string', default: '10000' },
    agents: { type: 'string', default: '16' },
    sync: { type: 'string', default: 'full' },
    'no-restart': { type: 'boolean', default: false },
    'store-only': { type: 'boolean', default: false },
  },
});
const writes = Number(values.writes);
const agents = Number(values.agents);
const sync = values.sync as string;
const measureRestart = !values['no-restart'];

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

async function main(): Promise<void> {
  const { dir, file } = await makeCluster(4, agents, {}, 'kv');
  const running = new Map<number, RunningReplica>();
  const start = (id: number) =>
    running.set(id, startReplica(dir, id, ['--sync', sync, '--log-level', 'warn']));
  const up = measureRestart ? [0, 1, 2] : [0, 1, 2, 3];
  try {
    for (const id of up) start(id);
    await waitFor(
      'replicas up',
      async () => ((await Promise.all(up.map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined),
      30_000,
    );
    const clients = await Promise.all(
      file.agents.map((a) => connectAgent({ dir, agent: a.id, connectTimeoutMs: 10_000 })),
    );
    const latencies: number[] = [];
    let issued = 0;
    const began = performance.now();
    let lastReport = began;
    await Promise.all(
      clients.map(async (client, index) => {
        while (issued < writes) {
          const n = issued++;
          const t = performance.now();
          await client.request(
            encodeKvOperation({ op: 'put', key: `k${n % 1000}`, value: `${index}-${n}` }),
            { timeoutMs: 30_000 },
          );
          latencies.push(performance.now() - t);
          if (performance.now() - lastReport > 10_000) {
            lastReport = performance.now();
            process.stderr.write(`  ${latencies.length} writes…\n`);
          }
        }
      }),
    );
    const seconds = (performance.now() - began) / 1000;
    latencies.sort((a, b) => a - b);
    const durable = await metricsOf(dir, 0);
    const fsyncCount = metricValue(durable, 'conclave_durable_write_seconds_count');
    const fsyncSum = metricValue(durable, 'conclave_durable_write_seconds_sum');
    console.log(
      `sync=${sync} writes=${writes} agents=${agents}: ${(writes / seconds).toFixed(0)} writes/s, latency p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms`,
    );
    console.log(
      `  replica 0: ${fsyncCount} durable transactions, mean ${((fsyncSum / Math.max(1, fsyncCount)) * 1000).toFixed(2)} ms each, ${(writes / Math.max(1, fsyncCount)).toFixed(1)} writes per transaction`,
    );
    for (const client of clients) await client.close();

    const statuses = await Promise.all(up.map((id) => statusOf(dir, id)));
    const target = Math.max(...statuses.map((s) => s?.executedSequence ?? 0));
    console.log(
      `  rss after ${writes} writes: ${statuses.map((s, i) => `r${up[i]} ${Math.round((s?.rssBytes ?? 0) / 2 ** 20)} MB`).join(', ')}`,
    );

    if (measureRestart) {
      const timeCatchUp = async (id: number, what: string) => {
        const t = performance.now();
        start(id);
        await waitFor(
          `replica ${id} caught up`,
          async () => {
            const s = await statusOf(dir, id);
            return s !== undefined && s.executedSequence >= target ? s : undefined;
          },
          300_000,
          20,
        );
        console.log(
          `  ${what}: caught up to sequence ${target} in ${((performance.now() - t) / 1000).toFixed(2)} s (process start included)`,
        );
      };
      await timeCatchUp(3, 'replica 3, down during all the writes (state transfer)');
      await stopReplica(running.get(2) as RunningReplica, 'SIGKILL');
      await timeCatchUp(2, 'replica 2, killed -9 after the writes (reload from disk)');
    }
  } finally {
    await Promise.all([...running.values()].map((r) => stopReplica(r, 'SIGTERM')));
    rmSync(dirname(dir), { recursive: true, force: true });
  }
}

/**
 * The store alone, without a busy event loop around it: the cost of one durable transaction
 * of a typical step (two log records of 300 bytes) in each sync mode, median of 5 runs of 300.
 */
async function measureStore(): Promise<void> {
  const frame = new Uint8Array(300);
  for (const mode of SYNC_MODES) {
    const runs: number[] = [];
    for (let run = 0; run < 5; run++) {
      const dir = mkdtempSync(join(tmpdir(), 'conclave-store-'));
      const store = openReplicaStore(join(dir, 'db'), mode);
      const began = performance.now();
      for (let i = 0; i < 300; i++) {
        await store.commit([
          { kind: 'log', sequence: i, frame },
          { kind: 'log', sequence: i, frame },
        ]);
      }
      runs.push((performance.now() - began) / 300);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
    runs.sort((a, b) => a - b);
    console.log(
      `store alone, sync=${mode}: ${(runs[2] as number).toFixed(3)} ms per transaction (median of 5 runs of 300; min ${(runs[0] as number).toFixed(3)}, max ${(runs[4] as number).toFixed(3)})`,
    );
  }
}

(values['store-only'] ? measureStore() : main().then(measureStore)).catch((error: unknown) => {
  console.error(`measure failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
