import { describe, expect, it } from 'vitest';
import {
  BASELINE_POINT,
  type BenchResult,
  BenchUsageError,
  benchResult,
  cryptoBoundOpsPerSec,
  markdownTable,
  median,
  medianResult,
  parseBenchArgs,
  payloadValue,
  percentile,
  round,
  summaryLines,
  sweepPoints,
} from '../scripts/bench-lib.ts';
import { processCpuS } from '../src/local-cluster.ts';

const machine = { cores: 2, signPerSecPerCore: 30_000, verifyPerSecPerCore: 10_000, fsyncMs: 0.5 };

function result(overrides: Partial<BenchResult> = {}): BenchResult {
  const base = benchResult(
    BASELINE_POINT,
    { workers: undefined, daemonArgs: [], warmupS: 2, source: false, protocol: {} },
    machine,
    {
      committed: 1_000,
      measuredS: 10,
      latenciesMsSorted: Float64Array.from({ length: 100 }, (_, i) => i + 1),
      rssBytesMax: 150 * 2 ** 20,
      rssBytesPeak: 180 * 2 ** 20,
      viewChanges: 0,
      requestsPerBatch: 4,
      replicaCpuS: 2,
      clientCpuS: 0.5,
    },
  );
  return { ...base, ...overrides };
}

describe('parseBenchArgs', () => {
  it('has the documented defaults', () => {
    const options = parseBenchArgs([]);
    expect(options.point).toEqual({
      replicas: 4,
      clients: 16,
      payloadBytes: 128,
      batchMax: 64,
      sync: 'full',
    });
    expect(options).toMatchObject({
      durationS: 10,
      warmupS: 2,
      requests: undefined,
      workers: undefined,
      daemonArgs: [],
      source: false,
      protocol: {},
      runs: 1,
      json: false,
      sweep: false,
      help: false,
    });
  });

  it('reads every option', () => {
    const options = parseBenchArgs([
      '--replicas=7',
      '--clients',
      '4',
      '--payload',
      '0',
      '--batch',
      '256',
      '--duration',
      '2.5',
      '--warmup',
      '0',
      '--sync',
      'buffered',
      '--requests',
      '1000000',
      '--workers',
      '2',
      '--daemon-arg=--log-level',
      '--daemon-arg',
      'info',
      '--runs',
      '3',
      '--source',
      '--protocol',
      'pipelineDepthMax=2',
      '--protocol=checkpointInterval=32',
      '--json',
    ]);
    expect(options.point).toEqual({
      replicas: 7,
      clients: 4,
      payloadBytes: 0,
      batchMax: 256,
      sync: 'buffered',
    });
    expect(options).toMatchObject({
      durationS: 2.5,
      warmupS: 0,
      requests: 1_000_000,
      workers: 2,
      daemonArgs: ['--log-level', 'info'],
      source: true,
      protocol: { pipelineDepthMax: 2, checkpointInterval: 32 },
      runs: 3,
      json: true,
    });
  });

  it('gives the sweep its own default duration', () => {
    expect(parseBenchArgs(['--sweep']).durationS).toBe(5);
    expect(parseBenchArgs(['--sweep', '--duration', '2']).durationS).toBe(2);
  });

  it.each([
    [['--replicas', '3'], '--replicas must be between 4 and 64, got 3'],
    [['--clients', '0'], '--clients must be between 1'],
    [['--clients', 'many'], '--clients takes a whole number, got "many"'],
    [['--batch', '1.5'], '--batch takes a whole number'],
    [['--payload', '-1'], '--payload'],
    [['--duration', '0'], '--duration must be above 0'],
    [['--warmup', 'soon'], '--warmup takes a number of seconds'],
    [['--sync', 'fast'], '--sync takes full or buffered, got "fast"'],
    [['--requests', '0'], '--requests must be between 1'],
    [['--runs', '0'], '--runs must be between 1'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['positional'], 'positional'],
    [['--sweep', '--replicas', '7'], '--sweep chooses replicas, clients, payload, batch and sync itself'],
    [['--protocol', 'pipelineDepthMax'], '--protocol takes NAME=N'],
    [['--protocol', 'speed=3'], '--protocol: speed is not a protocol setting (checkpointInterval, '],
    [['--protocol', 'batchSizeMax=8'], 'use --batch'],
    [['--protocol', 'pipelineDepthMax=0'], '--protocol pipelineDepthMax must be between 1'],
  ])('refuses %j with a one-line message', (argv, message) => {
    let caught: unknown;
    try {
      parseBenchArgs(argv);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BenchUsageError);
    expect((caught as Error).message).toContain(message);
    expect((caught as Error).message).not.toContain('\n');
  });
});

describe('sweepPoints', () => {
  it('moves one factor at a time and runs the baseline once', () => {
    const points = sweepPoints();
    expect(points[0]).toEqual(BASELINE_POINT);
    expect(points).toHaveLength(12);
    const keys = points.map((p) => JSON.stringify(p));
    expect(new Set(keys).size).toBe(points.length);
    for (const point of points) {
      const moved = (Object.keys(point) as (keyof typeof point)[]).filter(
        (k) => point[k] !== BASELINE_POINT[k],
      );
      expect(moved.length).toBeLessThanOrEqual(1);
    }
    expect(points.map((p) => p.replicas).sort((a, b) => a - b)).toContain(10);
    expect(points.filter((p) => p.batchMax !== 64).map((p) => p.batchMax)).toEqual([1, 8, 256]);
    expect(points.filter((p) => p.clients !== 16).map((p) => p.clients)).toEqual([1, 4, 64]);
    expect(points.filter((p) => p.payloadBytes !== 128).map((p) => p.payloadBytes)).toEqual([0, 1024]);
    expect(points.filter((p) => p.sync !== 'full').map((p) => p.sync)).toEqual(['buffered']);
  });
});

describe('statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.9)).toBe(90);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile(values, 1)).toBe(100);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBe(0);
  });

  it('takes medians of odd and even counts without reordering its input', () => {
    const values = [3, 1, 2];
    expect(median(values)).toBe(2);
    expect(values).toEqual([3, 1, 2]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
  });

  it('rounds', () => {
    expect(round(1.23456, 3)).toBe(1.235);
    expect(round(1234.56, 1)).toBe(1234.6);
  });
});

describe('figures', () => {
  it('divides the cores’ verify rate among the replicas', () => {
    expect(cryptoBoundOpsPerSec(2, 10_000, 4)).toBe(5_000);
    expect(cryptoBoundOpsPerSec(8, 7_000, 7)).toBe(8_000);
  });

  it('makes a payload of exactly the requested bytes', () => {
    const random = Uint8Array.from({ length: 12 }, (_, i) => i * 21);
    for (const bytes of [0, 1, 16, 128, 1024]) {
      const value = payloadValue(bytes, random);
      expect(Buffer.byteLength(value, 'utf8')).toBe(bytes);
      expect(value).toMatch(/^[A-Za-z0-9+/]*$/);
    }
  });

  it('derives throughput, percentiles, memory, bound and ratio from one observation', () => {
    const r = result();
    expect(r).toMatchObject({
      committed: 1_000,
      durationS: 10,
      opsPerSec: 100,
      p50Ms: 50,
      p90Ms: 90,
      p99Ms: 99,
      rssMbMax: 150,
      rssMbPeak: 180,
      requestsPerBatch: 4,
      cryptoBoundOpsPerSec: 5_000,
      ratio: 0.02,
      workers: null,
      runs: 1,
      // 2 CPU-seconds over 4 replicas × 1,000 requests; 0.5 s over 1,000 requests.
      replicaCpuUsPerRequest: 500,
      clientCpuUsPerRequest: 500,
      daemon: 'bundle',
    });
  });

  it('reports no CPU figure when /proc could not be read', () => {
    const r = benchResult(
      BASELINE_POINT,
      { workers: 0, daemonArgs: [], warmupS: 2, source: true, protocol: { pipelineDepthMax: 2 } },
      machine,
      {
        committed: 10,
        measuredS: 1,
        latenciesMsSorted: [1],
        rssBytesMax: 0,
        rssBytesPeak: 0,
        viewChanges: 0,
        requestsPerBatch: undefined,
        replicaCpuS: undefined,
        clientCpuS: 0.1,
      },
    );
    expect(r.replicaCpuUsPerRequest).toBeNull();
    expect(r.daemon).toBe('source');
    expect(r.protocol).toEqual({ pipelineDepthMax: 2 });
    expect(r.clientCpuUsPerRequest).toBe(10_000);
    expect(summaryLines(r).join('\n')).not.toContain('µs per request');
  });

  it.runIf(process.platform === 'linux')('reads a process’s CPU time from /proc', () => {
    const before = processCpuS(process.pid) as number;
    // Spin until this process has used 200 ms of CPU (as Node counts it), not 200 ms of wall
    // time: on a loaded machine 200 ms of wall time can hold well under 100 ms of CPU.
    const start = process.cpuUsage();
    const cap = performance.now() + 10_000;
    const used = () => {
      const { user, system } = process.cpuUsage(start);
      return user + system;
    };
    let spin = 0;
    while (used() < 200_000 && performance.now() < cap) spin++;
    const after = processCpuS(process.pid) as number;
    expect(spin).toBeGreaterThan(0);
    // 200 ms of CPU: /proc shows at least 100 ms of it at 10 ms resolution.
    expect(after - before).toBeGreaterThanOrEqual(0.1);
    expect(processCpuS(2 ** 22 + 12_345)).toBeUndefined();
  });

  it('reports the median of each figure over runs', () => {
    const merged = medianResult([
      result({ opsPerSec: 100, p99Ms: 9, ratio: 0.02, requestsPerBatch: null }),
      result({ opsPerSec: 300, p99Ms: 1, ratio: 0.06, requestsPerBatch: 3 }),
      result({ opsPerSec: 200, p99Ms: 5, ratio: 0.04, requestsPerBatch: 5 }),
    ]);
    expect(merged).toMatchObject({ opsPerSec: 200, p99Ms: 5, ratio: 0.04, requestsPerBatch: 4, runs: 3 });
    const cpu = medianResult([
      result({ replicaCpuUsPerRequest: 300 }),
      result({ replicaCpuUsPerRequest: null }),
      result({ replicaCpuUsPerRequest: 100 }),
    ]);
    expect(cpu.replicaCpuUsPerRequest).toBe(200);
    // One run with a view change is not hidden by two without.
    const views = medianResult([
      result({ viewChanges: 0 }),
      result({ viewChanges: 2 }),
      result({ viewChanges: 0 }),
    ]);
    expect(views.viewChanges).toBe(2);
    expect(() => medianResult([])).toThrow(RangeError);
  });
});

describe('printing', () => {
  it('summarises a run in aligned lines that name the ratio', () => {
    const lines = summaryLines(result());
    expect(lines.join('\n')).toContain('ratio 0.020');
    expect(lines.join('\n')).toContain('100.0 ops/s');
    expect(lines.join('\n')).toContain('500.0 µs per request in each replica, 500.0 µs in the clients');
    const valueColumns = lines.map((line) => line.search(/(?<=^\S+\s+)\S/));
    expect(new Set(valueColumns).size).toBe(1);
  });

  it('tabulates a sweep in Markdown with every column', () => {
    const table = markdownTable([result(), result({ replicas: 10, sync: 'buffered', opsPerSec: 12.3 })]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]?.split('|').map((c) => c.trim())).toEqual([
      '',
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
      '',
    ]);
    expect(lines[2]).toMatch(/\|\s+500\.0 \|\s+500\.0 \|$/);
    expect(lines[1]).toMatch(/^\|[-:| ]+\|$/);
    expect(lines[3]).toContain('buffered');
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });
});
