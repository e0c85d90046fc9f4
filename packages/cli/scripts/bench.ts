/**
 * `pnpm bench`: closed-loop kv puts against a fresh local cluster of real daemons, compared with
 * what this machine's cores could verify. `pnpm bench:sweep` moves one factor at a time.
 *
 * Order of one run: measure the machine (Ed25519 sign and verify rates, one durable lmdb commit)
 * before any daemon exists; start the cluster; warm up; measure; read every replica's memory;
 * stop everything. Bounded: every wait has a deadline, and the daemons and the temp directory
 * are removed on success, on error and on SIGINT/SIGTERM. Options: packages/cli/BENCHMARK.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeKvOperation, nodeCrypto } from '@conclave/core';
import { openReplicaStore } from '@conclave/node';
import type { ConclaveClient } from '@conclave/sdk';
import { connectAgent } from '../src/connect.ts';
import {
  makeCluster,
  metricsOf,
  metricValue,
  processCpuS,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
} from '../src/local-cluster.ts';
import {
  BENCH_USAGE,
  type BenchOptions,
  type BenchPoint,
  type BenchResult,
  benchResult,
  type MachineFigures,
  markdownTable,
  median,
  medianResult,
  parseBenchArgs,
  payloadValue,
  type RunObservation,
  summaryLines,
  sweepPoints,
} from './bench-lib.ts';
import { buildDaemon, DIST } from './build.ts';

// Bounds on every wait. Generous: ten tsx daemons starting on two busy cores take a while.
const REPLICAS_UP_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** After the window closes, how long requests still in flight may take before clients close. */
const IN_FLIGHT_WAIT_MS = 5_000;
const STOP_TIMEOUT_MS = 10_000;
const STATUS_POLL_MS = 200;
const PROGRESS_EVERY_MS = 10_000;
/** How often replica RSS is sampled during the window (the peak is reported beside the final value). */
const RSS_SAMPLE_MS = 5_000;
/** Distinct keys written, so the kv's state (and its snapshots) stay bounded. */
const KEYS = 1_000;

const CRYPTO_MESSAGE_BYTES = 200;
const CRYPTO_ROUNDS = 5;
const CRYPTO_OPERATIONS_PER_ROUND = 2_000;
const CRYPTO_WARMUP_OPERATIONS = 200;
const COMMITS_MEASURED = 200;
const COMMITS_WARMUP = 10;
const LOG_RECORD_BYTES = 300;

class Interrupted extends Error {
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
  }
}

const interrupt = new AbortController();
const interrupted = new Promise<never>((_, reject) => {
  interrupt.signal.addEventListener('abort', () => reject(interrupt.signal.reason), { once: true });
});
interrupted.catch(() => {}); // observed where it is raced; never an unhandled rejection

/** Rejects as soon as the bench is interrupted, so a run unwinds into its cleanup. */
function unlessInterrupted<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, interrupted]);
}

function throwIfInterrupted(): void {
  if (interrupt.signal.aborted) throw interrupt.signal.reason;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Waits for `promise`, or for `ms` at most; either way leaves no timer behind. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([promise, new Promise<void>((done) => (timer = setTimeout(done, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The machine

/** Single-thread Ed25519 rates with node:crypto: the best of a few rounds (interference only slows a round). */
function measureCrypto(): { signPerSecPerCore: number; verifyPerSecPerCore: number } {
  const crypto = nodeCrypto();
  const { secretKey, publicKey } = crypto.keyPairFromSeed(new Uint8Array(randomBytes(32)));
  const message = new Uint8Array(randomBytes(CRYPTO_MESSAGE_BYTES));
  const signature = crypto.sign(message, secretKey);
  for (let i = 0; i < CRYPTO_WARMUP_OPERATIONS; i++) {
    crypto.sign(message, secretKey);
    crypto.verify(message, signature, publicKey);
  }
  const rate = (operation: () => void) => {
    let best = 0;
    for (let round = 0; round < CRYPTO_ROUNDS; round++) {
      const began = performance.now();
      for (let i = 0; i < CRYPTO_OPERATIONS_PER_ROUND; i++) operation();
      best = Math.max(best, CRYPTO_OPERATIONS_PER_ROUND / ((performance.now() - began) / 1000));
    }
    return best;
  };
  const signPerSecPerCore = rate(() => crypto.sign(message, secretKey));
  const verifyPerSecPerCore = rate(() => {
    if (!crypto.verify(message, signature, publicKey)) throw new Error('Ed25519 self-check failed');
  });
  return { signPerSecPerCore, verifyPerSecPerCore };
}

/** Median time of one durable commit (sync full) of two log records, as a replica's step writes. */
async function measureDurableCommitMs(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-bench-store-'));
  try {
    const store = openReplicaStore(join(dir, 'db'), 'full');
    try {
      const frame = new Uint8Array(randomBytes(LOG_RECORD_BYTES));
      const times: number[] = [];
      for (let i = 0; i < COMMITS_WARMUP + COMMITS_MEASURED; i++) {
        throwIfInterrupted();
        const began = performance.now();
        await store.commit([
          { kind: 'log', sequence: i, frame },
          { kind: 'log', sequence: i, frame },
        ]);
        if (i >= COMMITS_WARMUP) times.push(performance.now() - began);
      }
      return median(times);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureMachine(): Promise<MachineFigures> {
  process.stderr.write('measuring this machine (Ed25519 sign/verify, durable commit)…\n');
  const crypto = measureCrypto();
  const fsyncMs = await measureDurableCommitMs();
  return { cores: availableParallelism(), ...crypto, fsyncMs };
}

// ---------------------------------------------------------------------------------------------
// One run

async function waitForReplicas(replicas: readonly RunningReplica[], up: (id: number) => Promise<boolean>) {
  const deadline = Date.now() + REPLICAS_UP_TIMEOUT_MS;
  for (;;) {
    throwIfInterrupted();
    for (const replica of replicas) {
      if (replica.process.exitCode !== null || replica.process.signalCode !== null) {
        const last = replica.output
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line !== '')
          .slice(-3)
          .join(' | ')
          .slice(0, 400);
        throw new Error(
          `replica ${replica.id} exited (${replica.process.exitCode ?? replica.process.signalCode}) while starting${last === '' ? '' : `: ${last}`}`,
        );
      }
    }
    const answers = await Promise.all(replicas.map((r) => up(r.id)));
    if (answers.every(Boolean)) return;
    if (Date.now() > deadline)
      throw new Error(
        `replicas ${replicas
          .filter((_, i) => !answers[i])
          .map((r) => r.id)
          .join(', ')} did not report status within ${REPLICAS_UP_TIMEOUT_MS / 1000} s`,
      );
    await sleep(STATUS_POLL_MS);
  }
}

async function batchMetrics(dir: string): Promise<{ sum: number; count: number }> {
  try {
    const text = await metricsOf(dir, 0);
    return {
      sum: metricValue(text, 'conclave_batch_size_sum'),
      count: metricValue(text, 'conclave_batch_size_count'),
    };
  } catch {
    return { sum: Number.NaN, count: Number.NaN };
  }
}

function cpuOf(pids: readonly (number | undefined)[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const seconds = processCpuS(pid);
    if (seconds === undefined) return undefined;
    total += seconds;
  }
  return total;
}

/**
 * Every client keeps one put in flight. Requests that complete inside the window are counted,
 * with their latency; the window opens after the warm-up and closes after durationS or when
 * `requests` have completed in it.
 */
async function closedLoop(
  clients: readonly ConclaveClient[],
  point: BenchPoint,
  options: BenchOptions,
  dir: string,
  replicaCount: number,
  replicaPids: readonly (number | undefined)[],
): Promise<Omit<RunObservation, 'rssBytesMax' | 'viewChanges'>> {
  const value = payloadValue(point.payloadBytes, new Uint8Array(randomBytes(96)));
  const operations = Array.from({ length: KEYS }, (_, i) =>
    encodeKvOperation({ op: 'put', key: `k${i}`, value }),
  );
  let phase: 'warmup' | 'measure' | 'done' = 'warmup';
  // Read through a call: the phase changes while a client awaits its reply.
  const phaseNow = () => phase;
  let windowStart = 0;
  let windowEnd = 0;
  let issued = 0;
  let failure: unknown;
  const latencies: number[] = [];
  let batchesAtStart: Promise<{ sum: number; count: number }> | undefined;
  let batchesAtEnd: Promise<{ sum: number; count: number }> | undefined;
  const cpuAtStart = { replicas: undefined as number | undefined, clients: undefined as number | undefined };
  const cpuAtEnd = { ...cpuAtStart };
  let rssBytesPeak = 0;
  const sampleRss = async () => {
    const ids = Array.from({ length: replicaCount }, (_, id) => id);
    const statuses = await Promise.all(ids.map((id) => statusOf(dir, id)));
    for (const status of statuses) rssBytesPeak = Math.max(rssBytesPeak, status?.rssBytes ?? 0);
  };
  let done!: () => void;
  const closed = new Promise<void>((resolve) => {
    done = resolve;
  });
  const timers: ReturnType<typeof setTimeout>[] = [];

  const finish = () => {
    if (phase === 'done') return;
    if (phase === 'measure') {
      windowEnd = performance.now();
      batchesAtEnd = batchMetrics(dir);
      cpuAtEnd.replicas = cpuOf(replicaPids);
      cpuAtEnd.clients = cpuOf([process.pid]);
    }
    phase = 'done';
    for (const timer of timers) clearTimeout(timer);
    done();
  };
  const onInterrupt = () => {
    failure ??= interrupt.signal.reason;
    finish();
  };
  interrupt.signal.addEventListener('abort', onInterrupt, { once: true });
  const report = () => {
    const seconds = (performance.now() - windowStart) / 1000;
    process.stderr.write(
      `  ${latencies.length}/${options.requests} requests, ${(latencies.length / seconds).toFixed(1)} ops/s so far\n`,
    );
  };

  timers.push(
    setTimeout(() => {
      if (phase !== 'warmup') return;
      phase = 'measure';
      windowStart = performance.now();
      batchesAtStart = batchMetrics(dir);
      cpuAtStart.replicas = cpuOf(replicaPids);
      cpuAtStart.clients = cpuOf([process.pid]);
      const sampler = setInterval(() => void sampleRss().catch(() => {}), RSS_SAMPLE_MS);
      timers.push(sampler as unknown as ReturnType<typeof setTimeout>);
      if (options.requests === undefined) timers.push(setTimeout(finish, options.durationS * 1000));
      else {
        const progress = setInterval(report, PROGRESS_EVERY_MS);
        timers.push(progress as unknown as ReturnType<typeof setTimeout>);
      }
    }, options.warmupS * 1000),
  );

  const loops = clients.map(async (client) => {
    while (phaseNow() !== 'done') {
      const operation = operations[issued++ % KEYS] as Uint8Array;
      const began = performance.now();
      try {
        await client.request(operation, { timeoutMs: REQUEST_TIMEOUT_MS });
      } catch (error) {
        if (phaseNow() !== 'done') {
          failure ??= error;
          finish();
        }
        return;
      }
      if (phaseNow() !== 'measure') continue;
      latencies.push(performance.now() - began);
      if (options.requests !== undefined && latencies.length >= options.requests) finish();
    }
  });

  try {
    await closed;
    // The window is closed; let the requests in flight finish (bounded) so the daemons are idle.
    if (!interrupt.signal.aborted) await within(Promise.all(loops), IN_FLIGHT_WAIT_MS);
  } finally {
    interrupt.signal.removeEventListener('abort', onInterrupt);
    for (const timer of timers) clearInterval(timer);
  }
  if (failure !== undefined) throw failure;

  const [start, end] = await Promise.all([batchesAtStart, batchesAtEnd]);
  const batches = start !== undefined && end !== undefined ? end.count - start.count : Number.NaN;
  const requestsPerBatch =
    start !== undefined && end !== undefined && batches > 0 ? (end.sum - start.sum) / batches : undefined;
  return {
    committed: latencies.length,
    measuredS: (windowEnd - windowStart) / 1000,
    latenciesMsSorted: Float64Array.from(latencies).sort(),
    requestsPerBatch:
      requestsPerBatch !== undefined && Number.isFinite(requestsPerBatch) ? requestsPerBatch : undefined,
    rssBytesPeak,
    replicaCpuS: difference(cpuAtStart.replicas, cpuAtEnd.replicas),
    clientCpuS: difference(cpuAtStart.clients, cpuAtEnd.clients),
  };
}

function difference(start: number | undefined, end: number | undefined): number | undefined {
  return start === undefined || end === undefined ? undefined : end - start;
}

async function runOnce(
  point: BenchPoint,
  options: BenchOptions,
  machine: MachineFigures,
  bundle: string | undefined,
): Promise<BenchResult> {
  const { dir, file } = await makeCluster(
    point.replicas,
    point.clients,
    { ...options.protocol, batchSizeMax: point.batchMax },
    'kv',
  );
  const replicas: RunningReplica[] = [];
  const clients: ConclaveClient[] = [];
  let closing = false;
  try {
    const daemonArgs = [
      '--sync',
      point.sync,
      '--log-level',
      'warn',
      ...(options.workers === undefined ? [] : ['--verify-workers', String(options.workers)]),
      ...options.daemonArgs,
    ];
    for (let id = 0; id < point.replicas; id++) replicas.push(startReplica(dir, id, daemonArgs, { bundle }));
    await waitForReplicas(replicas, async (id) => (await statusOf(dir, id)) !== undefined);
    const connecting = file.agents.map((agent) =>
      connectAgent({ dir, agent: agent.id, connectTimeoutMs: CONNECT_TIMEOUT_MS }).then((client) => {
        // A connection that completes after the run gave up is closed at once.
        if (closing) void client.close();
        else clients.push(client);
        return client;
      }),
    );
    await unlessInterrupted(Promise.all(connecting));
    const observation = await closedLoop(
      clients,
      point,
      options,
      dir,
      file.replicas.length,
      replicas.map((r) => r.process.pid),
    );
    const statuses = await unlessInterrupted(Promise.all(replicas.map((r) => statusOf(dir, r.id))));
    const silent = replicas.filter((_, i) => statuses[i] === undefined).map((r) => r.id);
    if (silent.length > 0)
      throw new Error(`replicas ${silent.join(', ')} did not report status after the run`);
    const rssBytesMax = Math.max(...statuses.map((s) => s?.rssBytes ?? 0));
    const viewChanges = Math.max(...statuses.map((s) => s?.view ?? 0));
    return benchResult(point, options, machine, { ...observation, rssBytesMax, viewChanges });
  } finally {
    closing = true;
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled(replicas.map((replica) => stopReplica(replica, 'SIGTERM', STOP_TIMEOUT_MS)));
    rmSync(dirname(dir), { recursive: true, force: true });
  }
}

/** `runs` fresh clusters for one point; the median of each figure. */
async function runPoint(
  point: BenchPoint,
  options: BenchOptions,
  machine: MachineFigures,
  bundle: string | undefined,
  log: (line: string) => void,
): Promise<BenchResult> {
  const results: BenchResult[] = [];
  for (let run = 1; run <= options.runs; run++) {
    throwIfInterrupted();
    const result = await runOnce(point, options, machine, bundle);
    if (options.runs > 1) log(`run ${run}/${options.runs}: ${result.opsPerSec.toFixed(1)} ops/s`);
    results.push(result);
  }
  return medianResult(results);
}

const describe = (p: BenchPoint) =>
  `${p.replicas} replicas, ${p.clients} clients, payload ${p.payloadBytes} B, batch ${p.batchMax}, sync ${p.sync}`;

async function main(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options === undefined) return 0;
  const machine = await measureMachine();
  // The daemons run from a bundle built now from the current sources (never a stale one), in
  // a directory of this run's own; --source runs them through tsx instead.
  const bundleDir = options.source ? undefined : join(DIST, `bench-${process.pid}`);
  try {
    const bundle = bundleDir === undefined ? undefined : await buildDaemon(bundleDir);
    return await measure(options, machine, bundle);
  } finally {
    if (bundleDir !== undefined) rmSync(bundleDir, { recursive: true, force: true });
  }
}

async function measure(
  options: BenchOptions,
  machine: MachineFigures,
  bundle: string | undefined,
): Promise<number> {
  if (!options.sweep) {
    process.stderr.write(
      `running: ${describe(options.point)}, ${options.requests === undefined ? `${options.durationS} s` : `${options.requests} requests`} after ${options.warmupS} s of warm-up\n`,
    );
    const result = await runPoint(options.point, options, machine, bundle, (line) => console.log(line));
    for (const line of summaryLines(result)) console.log(line);
    if (options.json) console.log(JSON.stringify(result));
    return 0;
  }
  const points = sweepPoints();
  const results: BenchResult[] = [];
  for (const [index, point] of points.entries()) {
    process.stderr.write(`[${index + 1}/${points.length}] ${describe(point)}…\n`);
    const result = await runPoint(point, options, machine, bundle, (line) =>
      process.stderr.write(`  ${line}\n`),
    );
    process.stderr.write(
      `  ${result.opsPerSec.toFixed(1)} ops/s, p50 ${result.p50Ms.toFixed(3)} ms, ratio ${result.ratio.toFixed(3)}\n`,
    );
    results.push(result);
  }
  console.log(
    `machine: ${machine.cores} cores; per core: verify ${machine.verifyPerSecPerCore.toFixed(1)}/s, sign ${machine.signPerSecPerCore.toFixed(1)}/s; durable commit ${machine.fsyncMs.toFixed(3)} ms; ${options.durationS} s per point after ${options.warmupS} s of warm-up`,
  );
  console.log('');
  console.log(markdownTable(results));
  if (options.json) console.log(JSON.stringify(results));
  return 0;
}

/** The options, or undefined once --help has been printed. */
function parseOptions(argv: readonly string[]): BenchOptions | undefined {
  const options = parseBenchArgs(argv);
  if (!options.help) return options;
  console.log(BENCH_USAGE);
  return undefined;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => interrupt.abort(new Interrupted(signal)));
}

main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`bench: ${message.split('\n')[0]}`);
      process.exitCode = error instanceof Interrupted ? 130 : 1;
    },
  )
  .finally(() => {
    // Everything is stopped by now; should a stray handle remain, do not hang on it.
    setTimeout(() => process.exit(), 2_000).unref();
  });
