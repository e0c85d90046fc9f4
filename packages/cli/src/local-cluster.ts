/**
 * A local cluster of real replica processes on 127.0.0.1: a cluster directory on free ports,
 * daemons as child processes, status and metrics over HTTP, and bounded polling. Used by the
 * end-to-end tests, the measurements, and anything else that needs real daemons.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CoordinationLimits } from '@conclave/coordination';
import {
  type ClusterFile,
  type DaemonStatus,
  httpPortOf,
  initCluster,
  loadClusterFile,
  type StateMachineKind,
} from '@conclave/node';

/** The repository root, from which the CLI runs (tsx resolves the workspace there). */
export const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'packages/cli/src/cli.ts');

/**
 * A fresh cluster directory whose replicas listen on ports the OS chooses when each starts
 * (port 0 in cluster.json): each daemon reports its ports in the directory (`DIR/run`), where
 * peers, agents, `statusOf` and `metricsOf` read them. No port is chosen in advance, so none
 * can be taken by another process in between. `coordination` is written to cluster.json as is.
 */
export async function makeCluster(
  replicas = 4,
  agents = 4,
  protocol: Record<string, number> = {},
  stateMachine: StateMachineKind = 'coordination',
  coordination?: Partial<CoordinationLimits>,
): Promise<{ dir: string; file: ClusterFile }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'conclave-')), 'cluster');
  initCluster({ dir, replicas, agents, protocol, stateMachine, ...(coordination ? { coordination } : {}) });
  const path = join(dir, 'cluster.json');
  const file = JSON.parse(readFileSync(path, 'utf8')) as ClusterFile;
  const patched: ClusterFile = {
    ...file,
    replicas: file.replicas.map((r) => ({ ...r, port: 0, httpPort: 0 })),
  };
  writeFileSync(path, JSON.stringify(patched, null, 2));
  return { dir, file: patched };
}

export interface RunningReplica {
  readonly id: number;
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  output: string;
}

/**
 * Node flags every replica started here gets; operators can pass the same to `conclave start`
 * (NODE_OPTIONS, or `node FLAGS packages/cli/dist/conclave.mjs start …`).
 *
 * - `--max-semi-space-size=4`: young-generation semispaces of 4 MB instead of V8's 16. A
 *   replica allocates fast and briefly (frames, buffers); with 16 MB its RSS settled near
 *   270 MB under load against ~185 MB with 4 MB, at the same throughput.
 * - `--heap-growing-percent=100`: after a full collection the old generation may grow to twice
 *   what survived, instead of V8's up to 4× for a heap it collects quickly. At 64 clients
 *   (`pnpm bench --clients 64 --sync buffered --duration 40`, RSS sampled every 4 s) the largest
 *   replica peaked at 149 MB instead of 195 MB, for about 2% more CPU per request (50%: 137 MB,
 *   ~5% more CPU; `--optimize-for-size`: 114 MB but 30% more CPU).
 */
export const REPLICA_NODE_ARGS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=100'];

export interface StartOptions {
  /**
   * Run this built daemon (`pnpm build`: packages/cli/dist/conclave.mjs) instead of the
   * TypeScript sources through tsx: ~50 MB less RSS per replica, and no start-up transform.
   */
  readonly bundle?: string;
  /**
   * Run this TypeScript entry point (through tsx) instead of the CLI, with the same arguments:
   * the harness's Byzantine replica launcher, for demonstrations.
   */
  readonly script?: string;
}

/**
 * Starts `conclave start` for replica `id` as a child process, from the sources (through tsx)
 * or from a built bundle. Node flags for the replicas (for example
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them) can be given in the environment
 * variable CONCLAVE_REPLICA_NODE_ARGS, separated by spaces.
 */
export function startReplica(
  dir: string,
  id: number,
  extra: string[] = [],
  options: StartOptions = {},
): RunningReplica {
  const nodeArgs = [
    ...REPLICA_NODE_ARGS,
    ...(process.env.CONCLAVE_REPLICA_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
  ];
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      ...(options.bundle === undefined ? ['--import', 'tsx', options.script ?? CLI] : [options.bundle]),
      'start',
      '--dir',
      dir,
      '--replica',
      String(id),
      // Our end of its stdin closes when this process dies, however it dies: no orphan replicas.
      '--stop-on-stdin-close',
      ...extra,
    ],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const running: RunningReplica = {
    id,
    process: child,
    output: '',
    exited: new Promise((done) => child.once('exit', (code) => done(code))),
  };
  const keep = (chunk: Buffer) => {
    running.output = (running.output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return running;
}

/** What a finished `conclave` command left: its exit status and everything it printed. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `conclave ARGS…` from the sources as a child process; killed after `timeoutMs`. */
export function runConclave(args: readonly string[], timeoutMs = 30_000): Promise<CliRun> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((done) => setTimeout(done, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
  );
}

/** Replica `id`'s GET /status, or undefined while it does not answer (or has not started). */
export async function statusOf(dir: string, id: number): Promise<DaemonStatus | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${metricsPortOf(dir, id)}/status`, {
      signal: AbortSignal.timeout(1_000),
    });
    return response.ok ? ((await response.json()) as DaemonStatus) : undefined;
  } catch {
    return undefined;
  }
}

/** Replica `id`'s Prometheus metrics; throws while it does not answer. */
export async function metricsOf(dir: string, id: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${metricsPortOf(dir, id)}/metrics`, {
    signal: AbortSignal.timeout(2_000),
  });
  return response.text();
}

/** Where replica `id` of the cluster in `dir` serves HTTP: configured, or as its daemon reported. */
function metricsPortOf(dir: string, id: number): number {
  const port = httpPortOf(dir, loadClusterFile(dir), id);
  if (port === undefined) throw new Error(`replica ${id} has not reported its ports yet`);
  return port;
}

/** Sums a Prometheus metric's samples whose labels contain `labelFilter` (e.g. `reason="MALFORMED"`). */
export function metricValue(text: string, name: string, labelFilter = ''): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (labelFilter !== '' && !rest.includes(labelFilter)) continue;
    total += Number(line.trim().split(/\s+/).at(-1));
  }
  return total;
}

export async function stopReplica(
  replica: RunningReplica,
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = 10_000,
): Promise<number | null> {
  if (replica.process.exitCode !== null || replica.process.signalCode !== null)
    return replica.process.exitCode;
  replica.process.kill(signal);
  const timer = setTimeout(() => replica.process.kill('SIGKILL'), timeoutMs);
  const code = await replica.exited;
  clearTimeout(timer);
  return code;
}

/** Linux's USER_HZ: the unit of utime and stime in /proc/PID/stat (100 on every mainstream kernel). */
const CLOCK_TICKS_PER_S = 100;

/**
 * CPU seconds (user + system, all threads) a process has used, from /proc; undefined where
 * /proc is not there (macOS) or the process is gone.
 */
export function processCpuS(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / CLOCK_TICKS_PER_S : undefined;
  } catch {
    return undefined;
  }
}
