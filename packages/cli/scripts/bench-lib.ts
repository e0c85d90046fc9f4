/**
 * The pure half of `pnpm bench`: options, statistics, the sweep's points, the figures of one
 * run and how they are printed. No processes, no clocks, no disk: bench.ts does the measuring.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_PROTOCOL_CONFIG } from '@conclave/core';
import type { SyncMode } from '@conclave/node';

const SYNC_MODES: readonly SyncMode[] = ['full', 'buffered'];

/** What one run varies: the sweep moves one of these at a time away from the baseline. */
export interface BenchPoint {
  readonly replicas: number;
  readonly clients: number;
  readonly payloadBytes: number;
  /** The protocol's batchSizeMax. */
  readonly batchMax: number;
  readonly sync: SyncMode;
}

export const BASELINE_POINT: BenchPoint = Object.freeze({
  replicas: 4,
  clients: 16,
  payloadBytes: 128,
  batchMax: 64,
  sync: 'full',
});

export interface BenchOptions {
  readonly point: BenchPoint;
  readonly durationS: number;
  readonly warmupS: number;
  /** Run until this many requests complete after the warm-up, instead of for durationS. */
  readonly requests: number | undefined;
  /** Passed to every daemon as `--verify-workers N`; undefined leaves the daemon's default. */
  readonly workers: number | undefined;
  /** Passed to every daemon verbatim, after the bench's own flags. */
  readonly daemonArgs: readonly string[];
  /** Run the daemons from the TypeScript sources through tsx instead of the bundle `pnpm build` makes. */
  readonly source: boolean;
  /** Protocol settings written into cluster.json over the defaults (`--protocol name=value`). */
  readonly protocol: Readonly<Record<string, number>>;
  readonly runs: number;
  readonly json: boolean;
  readonly sweep: boolean;
  readonly help: boolean;
}

// Limits on the options: each is what the protocol or this machine can take, not a preference.
export const REPLICAS_MIN = 4;
export const REPLICAS_MAX = 64; // LIMITS.replicasMax in @conclave/core
export const CLIENTS_MAX = 1_000;
/** The operation limit is 64 KiB; the put's encoding needs a few bytes around the value. */
export const PAYLOAD_BYTES_MAX = 65_000;
export const BATCH_MAX_MAX = 4_096; // LIMITS.pendingRequestsMax: a batch cannot hold more
export const DURATION_S_MAX = 86_400;
export const REQUESTS_MAX = 100_000_000;
export const WORKERS_MAX = 256;
export const RUNS_MAX = 100;
export const SWEEP_DURATION_S_DEFAULT = 5;

export const BENCH_USAGE = `pnpm bench [options]         one closed-loop run against a fresh local cluster of kv replicas
pnpm bench:sweep [options]   one factor at a time around the baseline, as a Markdown table

  --replicas N        replicas, at least 4 (default 4)
  --clients N         SDK clients, each with one request in flight (default 16)
  --payload BYTES     bytes of each put's value (default 128)
  --batch N           the protocol's batchSizeMax (default 64)
  --duration S        seconds measured after the warm-up (default 10; 5 per point with --sweep)
  --warmup S          seconds run before measuring, not counted (default 2)
  --sync MODE         full or buffered, the daemons' --sync (default full)
  --requests N        measure until N requests complete instead of for --duration
  --workers N         pass --verify-workers N to every daemon
  --daemon-arg X      pass X to every daemon verbatim (repeatable)
  --source            run the daemons from the TypeScript sources through tsx, not the built bundle
  --protocol NAME=N   a protocol setting in cluster.json, e.g. pipelineDepthMax=2 (repeatable)
  --runs R            repeat with fresh clusters, report the median of each figure (default 1)
  --json              print one JSON object (an array with --sweep) as the last line of stdout
  --sweep             replicas 4,7,10; payload 0,128,1024; batch 1,8,64,256; clients 1,4,16,64; sync full,buffered
  --help              this text

Details and the meaning of every figure: packages/cli/BENCHMARK.md`;

/** Bad options: the bench prints the message on one line and exits with 1. */
export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

function integerOption(text: string | undefined, flag: string, fallback: number, min: number, max: number) {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text))
    throw new BenchUsageError(`${flag} takes a whole number, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (value < min || value > max)
    throw new BenchUsageError(`${flag} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function secondsOption(text: string | undefined, flag: string, fallback: number, min: number) {
  if (text === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(text))
    throw new BenchUsageError(`${flag} takes a number of seconds, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (value < min || value > DURATION_S_MAX)
    throw new BenchUsageError(
      `${flag} must be ${min === 0 ? 'at least 0' : 'above 0'} and at most ${DURATION_S_MAX} s, got ${value}`,
    );
  if (min > 0 && value === 0) throw new BenchUsageError(`${flag} must be above 0 s`);
  return value;
}

/** `--protocol name=value` pairs: names of ProtocolConfig, positive whole numbers; batchSizeMax has --batch. */
function protocolOption(pairs: readonly string[]): Record<string, number> {
  const protocol: Record<string, number> = {};
  for (const pair of pairs) {
    const match = /^(\w+)=(\d+)$/.exec(pair);
    if (match === null)
      throw new BenchUsageError(
        `--protocol takes NAME=N, for example pipelineDepthMax=2, got ${JSON.stringify(pair)}`,
      );
    const [, name, value] = match as unknown as [string, string, string];
    if (name === 'batchSizeMax') throw new BenchUsageError('--protocol batchSizeMax: use --batch');
    if (!Object.hasOwn(DEFAULT_PROTOCOL_CONFIG, name))
      throw new BenchUsageError(
        `--protocol: ${name} is not a protocol setting (${Object.keys(DEFAULT_PROTOCOL_CONFIG).join(', ')})`,
      );
    protocol[name] = integerOption(value, `--protocol ${name}`, 0, 1, Number.MAX_SAFE_INTEGER);
  }
  return protocol;
}

/** The options of `pnpm bench`; throws BenchUsageError with a one-line message. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        replicas: { type: 'string' },
        clients: { type: 'string' },
        payload: { type: 'string' },
        batch: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        sync: { type: 'string' },
        requests: { type: 'string' },
        workers: { type: 'string' },
        'daemon-arg': { type: 'string', multiple: true },
        source: { type: 'boolean' },
        protocol: { type: 'string', multiple: true },
        runs: { type: 'string' },
        json: { type: 'boolean' },
        sweep: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new BenchUsageError(`${message} (see --help)`);
  }
  const text = (name: string) => values[name] as string | undefined;
  const sweep = values.sweep === true;
  if (sweep) {
    const fixed = ['replicas', 'clients', 'payload', 'batch', 'sync', 'requests'].filter(
      (name) => values[name] !== undefined,
    );
    if (fixed.length > 0)
      throw new BenchUsageError(
        `--sweep chooses replicas, clients, payload, batch and sync itself; drop ${fixed.map((n) => `--${n}`).join(', ')}`,
      );
  }
  const sync = text('sync') ?? BASELINE_POINT.sync;
  if (!SYNC_MODES.includes(sync as SyncMode))
    throw new BenchUsageError(`--sync takes ${SYNC_MODES.join(' or ')}, got ${JSON.stringify(sync)}`);
  const requestsText = text('requests');
  const workersText = text('workers');
  return {
    point: {
      replicas: integerOption(
        text('replicas'),
        '--replicas',
        BASELINE_POINT.replicas,
        REPLICAS_MIN,
        REPLICAS_MAX,
      ),
      clients: integerOption(text('clients'), '--clients', BASELINE_POINT.clients, 1, CLIENTS_MAX),
      payloadBytes: integerOption(
        text('payload'),
        '--payload',
        BASELINE_POINT.payloadBytes,
        0,
        PAYLOAD_BYTES_MAX,
      ),
      batchMax: integerOption(text('batch'), '--batch', BASELINE_POINT.batchMax, 1, BATCH_MAX_MAX),
      sync: sync as SyncMode,
    },
    durationS: secondsOption(text('duration'), '--duration', sweep ? SWEEP_DURATION_S_DEFAULT : 10, 1e-9),
    warmupS: secondsOption(text('warmup'), '--warmup', 2, 0),
    requests:
      requestsText === undefined ? undefined : integerOption(requestsText, '--requests', 0, 1, REQUESTS_MAX),
    workers:
      workersText === undefined ? undefined : integerOption(workersText, '--workers', 0, 0, WORKERS_MAX),
    daemonArgs: (values['daemon-arg'] as string[] | undefined) ?? [],
    source: values.source === true,
    protocol: protocolOption((values.protocol as string[] | undefined) ?? []),
    runs: integerOption(text('runs'), '--runs', 1, 1, RUNS_MAX),
    json: values.json === true,
    sweep,
    help: values.help === true,
  };
}

/** The sweep: the baseline, then each factor moved alone; a point that equals another is run once. */
export function sweepPoints(baseline: BenchPoint = BASELINE_POINT): BenchPoint[] {
  const variations: BenchPoint[] = [
    baseline,
    ...[4, 7, 10].map((replicas) => ({ ...baseline, replicas })),
    ...[0, 128, 1024].map((payloadBytes) => ({ ...baseline, payloadBytes })),
    ...[1, 8, 64, 256].map((batchMax) => ({ ...baseline, batchMax })),
    ...[1, 4, 16, 64].map((clients) => ({ ...baseline, clients })),
    ...SYNC_MODES.map((sync) => ({ ...baseline, sync })),
  ];
  const seen = new Set<string>();
  return variations.filter((point) => {
    const key = `${point.replicas}/${point.clients}/${point.payloadBytes}/${point.batchMax}/${point.sync}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Nearest-rank percentile of ascending values (p in [0, 1]); 0 for no values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** The middle value (the mean of the two middle ones for an even count); 0 for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * The throughput at which every core of this machine would do nothing but check each request's
 * signature once at each replica (all replicas share this machine's cores).
 */
export function cryptoBoundOpsPerSec(cores: number, verifyPerSecPerCore: number, replicas: number): number {
  return (cores * verifyPerSecPerCore) / replicas;
}

/** A value of exactly `bytes` ASCII characters (base64 of `random`, repeated as needed). */
export function payloadValue(bytes: number, random: Uint8Array): string {
  const alphabet = Buffer.from(random).toString('base64').replace(/=+$/, '');
  if (bytes > 0 && alphabet.length === 0) throw new RangeError('payloadValue needs some random bytes');
  let value = '';
  while (value.length < bytes) value += alphabet;
  return value.slice(0, bytes);
}

/** This machine, measured before any daemon starts. */
export interface MachineFigures {
  readonly cores: number;
  readonly signPerSecPerCore: number;
  readonly verifyPerSecPerCore: number;
  /** Median time of one durable (sync full) lmdb commit of two 300-byte log records. */
  readonly fsyncMs: number;
}

/** What one run observed, before rounding. */
export interface RunObservation {
  readonly committed: number;
  readonly measuredS: number;
  /** Latency of every request counted, ascending. */
  readonly latenciesMsSorted: ArrayLike<number>;
  readonly rssBytesMax: number;
  /** The highest view any replica was in after the window: view changes in a run (clusters start in view 0). */
  readonly viewChanges: number;
  /** Largest RSS of any replica in samples taken every few seconds during the window. */
  readonly rssBytesPeak: number;
  readonly requestsPerBatch: number | undefined;
  /** CPU seconds (user + system) the replicas spent in the window, all together; undefined where unreadable. */
  readonly replicaCpuS: number | undefined;
  /** CPU seconds the bench process (its clients) spent in the window. */
  readonly clientCpuS: number | undefined;
}

/** One run's figures, as printed and as the JSON line. */
export interface BenchResult {
  readonly replicas: number;
  readonly clients: number;
  readonly batchMax: number;
  readonly payloadBytes: number;
  readonly sync: SyncMode;
  readonly workers: number | null;
  readonly daemonArgs: readonly string[];
  /** How the daemons ran: the built bundle, or the sources through tsx. */
  readonly daemon: 'bundle' | 'source';
  /** The `--protocol` settings, over the defaults. */
  readonly protocol: Readonly<Record<string, number>>;
  readonly runs: number;
  readonly warmupS: number;
  readonly durationS: number;
  readonly committed: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly rssMbMax: number;
  /** Largest replica RSS seen in the window (sampled every few seconds) or right after it. */
  readonly rssMbPeak: number;
  readonly requestsPerBatch: number | null;
  /** View changes during the run (warm-up included); several runs: the most in any one. */
  readonly viewChanges: number;
  /** CPU time per committed request in one replica (the replicas' mean), µs; null where unreadable. */
  readonly replicaCpuUsPerRequest: number | null;
  /** CPU time per committed request in the bench's clients (all in one process), µs. */
  readonly clientCpuUsPerRequest: number | null;
  readonly cores: number;
  readonly signPerSecPerCore: number;
  readonly verifyPerSecPerCore: number;
  readonly fsyncMs: number;
  readonly cryptoBoundOpsPerSec: number;
  readonly ratio: number;
}

const MB = 2 ** 20;

function perRequestUs(cpuS: number | undefined, requests: number): number | null {
  return cpuS === undefined || requests <= 0 ? null : round((cpuS * 1e6) / requests, 1);
}

export function benchResult(
  point: BenchPoint,
  options: Pick<BenchOptions, 'workers' | 'daemonArgs' | 'warmupS' | 'source' | 'protocol'>,
  machine: MachineFigures,
  observation: RunObservation,
): BenchResult {
  const opsPerSec = observation.measuredS > 0 ? observation.committed / observation.measuredS : 0;
  const bound = cryptoBoundOpsPerSec(machine.cores, machine.verifyPerSecPerCore, point.replicas);
  return {
    replicas: point.replicas,
    clients: point.clients,
    batchMax: point.batchMax,
    payloadBytes: point.payloadBytes,
    sync: point.sync,
    workers: options.workers ?? null,
    daemonArgs: [...options.daemonArgs],
    daemon: options.source ? 'source' : 'bundle',
    protocol: { ...options.protocol },
    runs: 1,
    warmupS: options.warmupS,
    durationS: round(observation.measuredS, 3),
    committed: observation.committed,
    opsPerSec: round(opsPerSec, 1),
    p50Ms: round(percentile(observation.latenciesMsSorted, 0.5), 3),
    p90Ms: round(percentile(observation.latenciesMsSorted, 0.9), 3),
    p99Ms: round(percentile(observation.latenciesMsSorted, 0.99), 3),
    rssMbMax: round(observation.rssBytesMax / MB, 1),
    rssMbPeak: round(Math.max(observation.rssBytesPeak, observation.rssBytesMax) / MB, 1),
    requestsPerBatch:
      observation.requestsPerBatch === undefined ? null : round(observation.requestsPerBatch, 2),
    viewChanges: observation.viewChanges,
    replicaCpuUsPerRequest: perRequestUs(observation.replicaCpuS, observation.committed * point.replicas),
    clientCpuUsPerRequest: perRequestUs(observation.clientCpuS, observation.committed),
    cores: machine.cores,
    signPerSecPerCore: round(machine.signPerSecPerCore, 1),
    verifyPerSecPerCore: round(machine.verifyPerSecPerCore, 1),
    fsyncMs: round(machine.fsyncMs, 3),
    cryptoBoundOpsPerSec: round(bound, 1),
    ratio: bound > 0 ? round(opsPerSec / bound, 3) : 0,
  };
}

const MEDIAN_FIELDS = [
  'durationS',
  'committed',
  'opsPerSec',
  'p50Ms',
  'p90Ms',
  'p99Ms',
  'rssMbMax',
  'rssMbPeak',
  'signPerSecPerCore',
  'verifyPerSecPerCore',
  'fsyncMs',
  'cryptoBoundOpsPerSec',
  'ratio',
] as const satisfies readonly (keyof BenchResult)[];

/** Several runs of one point as one: the median of each figure on its own. */
export function medianResult(results: readonly BenchResult[]): BenchResult {
  const first = results[0];
  if (first === undefined) throw new RangeError('medianResult needs at least one result');
  const merged: Record<string, unknown> = { ...first, runs: results.length };
  for (const field of MEDIAN_FIELDS) merged[field] = median(results.map((r) => r[field]));
  const batches = results.map((r) => r.requestsPerBatch).filter((v): v is number => v !== null);
  merged.requestsPerBatch = batches.length === 0 ? null : round(median(batches), 2);
  for (const field of ['replicaCpuUsPerRequest', 'clientCpuUsPerRequest'] as const) {
    const known = results.map((r) => r[field]).filter((v): v is number => v !== null);
    merged[field] = known.length === 0 ? null : round(median(known), 1);
  }
  merged.committed = Math.round(merged.committed as number);
  // A view change in any run is one too many for an honest, busy primary: not a median.
  merged.viewChanges = Math.max(...results.map((r) => r.viewChanges));
  return merged as unknown as BenchResult;
}

const fixed = (value: number, digits: number) => value.toFixed(digits);

/** The human summary of one result: a few aligned lines. */
export function summaryLines(result: BenchResult): string[] {
  const label = (name: string) => name.padEnd(9);
  const workers = result.workers === null ? 'daemon default' : String(result.workers);
  const perBatch =
    result.requestsPerBatch === null ? '' : `, ${fixed(result.requestsPerBatch, 2)} requests/batch`;
  const runs = result.runs > 1 ? ` (median of ${result.runs} runs)` : '';
  return [
    `${label('bench')}${result.replicas} replicas, ${result.clients} clients, payload ${result.payloadBytes} B, batch ${result.batchMax}, sync ${result.sync}, verify workers ${workers}, daemon from ${result.daemon}`,
    `${label('result')}${fixed(result.opsPerSec, 1)} ops/s, ${result.committed} committed in ${fixed(result.durationS, 3)} s${perBatch}${runs}`,
    `${label('latency')}p50 ${fixed(result.p50Ms, 3)} ms, p90 ${fixed(result.p90Ms, 3)} ms, p99 ${fixed(result.p99Ms, 3)} ms`,
    `${label('views')}${result.viewChanges} view changes${result.runs > 1 ? ' (the most in one run)' : ''}`,
    `${label('memory')}rss ${fixed(result.rssMbMax, 1)} MB (largest replica after the window), peak ${fixed(result.rssMbPeak, 1)} MB (sampled during it)`,
    ...(result.replicaCpuUsPerRequest === null || result.clientCpuUsPerRequest === null
      ? []
      : [
          `${label('cpu')}${fixed(result.replicaCpuUsPerRequest, 1)} µs per request in each replica, ${fixed(result.clientCpuUsPerRequest, 1)} µs in the clients`,
        ]),
    `${label('machine')}${result.cores} cores; per core: verify ${fixed(result.verifyPerSecPerCore, 1)}/s, sign ${fixed(result.signPerSecPerCore, 1)}/s; durable commit ${fixed(result.fsyncMs, 3)} ms`,
    `${label('bound')}${fixed(result.cryptoBoundOpsPerSec, 1)} ops/s (${result.cores} cores × ${fixed(result.verifyPerSecPerCore, 1)} verify/s ÷ ${result.replicas} replicas), ratio ${fixed(result.ratio, 3)}`,
  ];
}

/** The sweep's results as a Markdown table, columns padded so it also reads as plain text. */
export function markdownTable(results: readonly BenchResult[]): string {
  const header = [
    'replicas',
    'clients',
    'payload',
    'batch',
    'sync',
    'ops/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'RSS MB',
    'bound ops/s',
    'ratio',
    'replica µs/req',
    'client µs/req',
  ];
  const rows = results.map((r) => [
    String(r.replicas),
    String(r.clients),
    String(r.payloadBytes),
    String(r.batchMax),
    r.sync,
    fixed(r.opsPerSec, 1),
    fixed(r.p50Ms, 3),
    fixed(r.p90Ms, 3),
    fixed(r.p99Ms, 3),
    fixed(r.rssMbMax, 1),
    fixed(r.cryptoBoundOpsPerSec, 1),
    fixed(r.ratio, 3),
    r.replicaCpuUsPerRequest === null ? '—' : fixed(r.replicaCpuUsPerRequest, 1),
    r.clientCpuUsPerRequest === null ? '—' : fixed(r.clientCpuUsPerRequest, 1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const textual = new Set([4]); // sync: left-aligned; numbers right-aligned
  const line = (cells: readonly string[]) =>
    `| ${cells
      .map((cell, i) =>
        textual.has(i) ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
      )
      .join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (textual.has(i) ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
