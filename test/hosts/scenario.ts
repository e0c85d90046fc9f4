/**
 * Replicas on separate hosts (issue 18, point 3): four replicas, each in its own network
 * namespace with its own address, from a genesis ceremony with those addresses; agents in a
 * fifth namespace; a wide-area link between every pair of hosts. Then:
 *
 *   bench    a bounded closed loop of kv puts: commit latency p50/p99 and throughput;
 *   backup   one backup cut off (all its packets lost) while agents write, then healed: writes
 *            go on during the cut, and the backup's executed sequence reaches the others';
 *   primary  the primary cut off while agents write: the time from the cut to the first
 *            acknowledged write that was sent after it (a view change in between).
 *
 * Every wait is bounded; everything made (namespaces, processes, directories) is removed in a
 * `finally`, and `cleanupAll()` does it synchronously from a signal handler.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { runConclaveHere } from '@conclave/cli';
import type { ProtocolConfig } from '@conclave/core';
import { buildDaemon } from '../../packages/cli/scripts/build.ts';
import { AGENTS_ADDRESS, HostsNetwork, removeStale, replicaAddress, type Wan } from './net.ts';

const ROOT = resolve(import.meta.dirname, '../..');
/** Where a run bundles the CLI: inside packages/cli, so the bundle's dependencies resolve. */
export const bundleDirOf = (runId: string): string => join(ROOT, 'packages/cli', `.${runId}-bundle`);
const AGENT = join(import.meta.dirname, 'agent.ts');
const REPLICAS = 4;
/** Every replica listens on the same ports: each has its own host. */
const PORT = 7400;
const HTTP_PORT = 7500;

export type Cut = 'backup' | 'primary';

export interface HostsOptions {
  readonly wan: Wan;
  /** Acknowledged puts in the measured closed loop. */
  readonly benchWrites: number;
  /** Agents writing at once (one SDK client each, one put in flight each). */
  readonly agents: number;
  readonly cuts: readonly Cut[];
  /** How long a cut backup stays cut. */
  readonly cutMs: number;
  readonly tickMs?: number;
  readonly protocol?: Partial<ProtocolConfig>;
  readonly log?: (line: string) => void;
}

export interface BackupCutReport {
  readonly replica: number;
  readonly cutMs: number;
  /** Writes acknowledged while the backup was cut (after its first second). */
  readonly ackedDuringCut: number;
  /** The others' highest executed sequence when it was healed, and how long it took to reach it. */
  readonly targetSequence: number;
  readonly catchUpMs: number;
}

export interface PrimaryCutReport {
  readonly replica: number;
  readonly viewBefore: number;
  readonly viewAfter: number;
  /** From the cut to the first acknowledgement of a write sent after the cut. */
  readonly recoveryMs: number;
  /** The longest stretch with no acknowledged write around the cut. */
  readonly longestGapMs: number;
}

export interface HostsReport {
  readonly wan: Wan;
  readonly rttMs: number;
  readonly writes: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly opsPerSecond: number;
  readonly backup?: BackupCutReport;
  readonly primary?: PrimaryCutReport;
}

interface Status {
  readonly view: number;
  readonly changingView: boolean;
  readonly primary: number;
  readonly executedSequence: number;
}

const cleanups = new Set<() => void>();

/** Removes everything every run in this process made; synchronous, for signal handlers. */
export function cleanupAll(): void {
  for (const cleanup of [...cleanups]) cleanup();
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

async function conclave(...args: string[]): Promise<string> {
  const result = await runConclaveHere(args);
  if (result.status !== 0) throw new Error(`conclave ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export async function runHosts(options: HostsOptions): Promise<HostsReport> {
  const log = options.log ?? (() => undefined);
  removeStale(log);
  const network = await HostsNetwork.create(REPLICAS, options.wan);
  const work = mkdtempSync(join(tmpdir(), `${network.runId}-work-`));
  const processes: ChildProcess[] = [];
  const cleanup = () => {
    for (const child of processes) child.kill('SIGKILL');
    network.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(bundleDirOf(network.runId), { recursive: true, force: true });
    cleanups.delete(cleanup);
  };
  cleanups.add(cleanup);
  try {
    log(
      `hosts ${network.runId}: replicas at ${replicaAddress(0)}…${replicaAddress(REPLICAS - 1)}, agents at ${AGENTS_ADDRESS}`,
    );
    // Replicas run the bundled CLI: four tsx start-ups at once on two cores take half a minute.
    const bundle = await buildDaemon(bundleDirOf(network.runId));
    const { operators, agentsDir, hash, agents } = await ceremony(work, options);
    const status = (id: number) => statusOf(network.replicaNs(id));
    for (const [id, dir] of operators.entries()) {
      const child = spawn(
        'ip',
        ['netns', 'exec', network.replicaNs(id), process.execPath, bundle, 'start']
          .concat(['--dir', dir, '--replica', String(id), '--genesis-hash', hash, '--stop-on-stdin-close'])
          .concat(['--log-level', 'warn']),
        { cwd: ROOT, stdio: ['pipe', 'ignore', 'inherit'] },
      );
      processes.push(child);
    }
    await waitFor('four replicas to answer /status', 90_000, async () => {
      const statuses = await Promise.all(operators.map((_, id) => status(id)));
      return statuses.every((s) => s !== undefined) ? true : undefined;
    });
    log('four replicas up, each in its own namespace');

    const agent = new AgentHost(network.agentsNs, agentsDir, agents);
    processes.push(agent.child);
    await agent.ready();
    await agent.call({ cmd: 'bench', writes: 2 * options.agents }, 60_000); // warm-up: connections, JIT
    const bench = (await agent.call({ cmd: 'bench', writes: options.benchWrites }, 300_000)) as {
      latenciesMs: number[];
      elapsedMs: number;
      failed: number;
    };
    const sorted = [...bench.latenciesMs].sort((a, b) => a - b);
    const report: {
      -readonly [K in keyof HostsReport]: HostsReport[K];
    } = {
      wan: options.wan,
      rttMs: 2 * options.wan.delayMs,
      writes: sorted.length,
      failed: bench.failed,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      opsPerSecond: sorted.length / (bench.elapsedMs / 1000),
    };
    log(
      `bench: ${report.writes} puts, p50 ${report.p50Ms.toFixed(0)} ms, p99 ${report.p99Ms.toFixed(0)} ms, ` +
        `${report.opsPerSecond.toFixed(1)} ops/s`,
    );
    for (const cut of options.cuts) {
      if (cut === 'backup') report.backup = await cutBackup(network, agent, status, options, log);
      else report.primary = await cutPrimary(network, agent, status, log);
    }
    return report;
  } finally {
    cleanup();
  }
}

async function ceremony(work: string, options: HostsOptions) {
  const operators = Array.from({ length: REPLICAS }, (_, id) => join(work, `operator-${id}`));
  const agentsDir = join(work, 'agents');
  const agents = Array.from({ length: options.agents }, (_, k) => `agent-${k}`);
  for (const [id, dir] of operators.entries())
    await conclave(
      'keygen', '--replica', String(id), '--host', replicaAddress(id), '--port', String(PORT),
      '--http-port', String(HTTP_PORT), '--out', dir,
    ); // biome-ignore format: flag pairs
  for (const name of agents) await conclave('keygen', '--agent', name, '--out', agentsDir);
  const coordinator = join(work, 'coordinator');
  mkdirSync(coordinator);
  const genesis = join(coordinator, 'genesis.json');
  const assembled = await conclave(
    'genesis', 'assemble',
    ...operators.map((dir, id) => join(dir, `replica-${id}.join.json`)),
    ...agents.map((name) => join(agentsDir, `${name}.join.json`)),
    '--out', genesis, '--council', 'agent-0', '--threshold', '1',
    ...(options.tickMs === undefined ? [] : ['--tick-ms', String(options.tickMs)]),
    ...(options.protocol === undefined ? [] : ['--protocol', JSON.stringify(options.protocol)]),
  ); // biome-ignore format: flag pairs
  const hash = /hash ([0-9a-f]{64})/.exec(assembled)?.[1];
  if (hash === undefined) throw new Error(`genesis assemble printed no hash:\n${assembled}`);
  for (const [id, dir] of operators.entries()) {
    copyFileSync(genesis, join(dir, 'genesis.json'));
    await conclave(
      'genesis',
      'sign',
      join(dir, 'genesis.json'),
      '--key',
      join(dir, 'keys', `replica-${id}.secret`),
    );
    copyFileSync(join(dir, 'genesis.json'), genesis);
  }
  await conclave('genesis', 'verify', genesis, '--genesis-hash', hash);
  for (const dir of [...operators, agentsDir]) copyFileSync(genesis, join(dir, 'genesis.json'));
  return { operators, agentsDir, hash, agents };
}

/** A replica's /status, read inside its namespace (it serves on that namespace's 127.0.0.1). */
function statusOf(ns: string): Promise<Status | undefined> {
  return new Promise((done) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, 'curl', '-s', '-m', '1', `http://127.0.0.1:${HTTP_PORT}/status`],
      { timeout: 3_000 },
      (error, stdout) => {
        if (error !== null) return done(undefined);
        try {
          done(JSON.parse(stdout) as Status);
        } catch {
          done(undefined);
        }
      },
    );
  });
}

async function cutBackup(
  network: HostsNetwork,
  agent: AgentHost,
  status: (id: number) => Promise<Status | undefined>,
  options: HostsOptions,
  log: (line: string) => void,
): Promise<BackupCutReport> {
  const before = await waitFor('a status from replica 0', 10_000, () => status(0));
  // The replica after the primary's successor: not the next primary if a view change happens.
  const replica = (before.primary + 2) % REPLICAS;
  await agent.call({ cmd: 'stream-start' }, 10_000);
  await sleep(1_000);
  const cutAt = Date.now();
  network.cut(replica);
  log(`backup ${replica} cut off for ${options.cutMs / 1000} s while agents write`);
  await sleep(options.cutMs);
  const others = [0, 1, 2, 3].filter((id) => id !== replica);
  const executed = await Promise.all(others.map(async (id) => (await status(id))?.executedSequence ?? 0));
  const targetSequence = Math.max(...executed);
  const healAt = Date.now();
  network.heal(replica);
  const stream = (await agent.call({ cmd: 'stream-stop' }, 60_000)) as StreamResult;
  const ackedDuringCut = stream.writes.filter((w) => w.ackedAt > cutAt + 1_000 && w.ackedAt <= healAt).length;
  await waitFor(`backup ${replica} to reach sequence ${targetSequence}`, 60_000, async () => {
    const s = await status(replica);
    return s !== undefined && s.executedSequence >= targetSequence ? true : undefined;
  });
  const catchUpMs = Date.now() - healAt;
  log(
    `backup ${replica}: ${ackedDuringCut} writes acknowledged during the cut; caught up to ${targetSequence} in ${catchUpMs} ms after the heal`,
  );
  return { replica, cutMs: options.cutMs, ackedDuringCut, targetSequence, catchUpMs };
}

interface StreamResult {
  readonly writes: { sentAt: number; ackedAt: number }[];
  readonly failed: number;
}

async function cutPrimary(
  network: HostsNetwork,
  agent: AgentHost,
  status: (id: number) => Promise<Status | undefined>,
  log: (line: string) => void,
): Promise<PrimaryCutReport> {
  const before = await waitFor('a settled status', 10_000, async () => {
    const s = await status(0);
    return s !== undefined && !s.changingView ? s : undefined;
  });
  const replica = before.primary;
  await agent.call({ cmd: 'stream-start' }, 10_000);
  await sleep(1_000);
  const cutAt = Date.now();
  network.cut(replica);
  log(`primary ${replica} (view ${before.view}) cut off while agents write`);
  const others = [0, 1, 2, 3].filter((id) => id !== replica);
  const after = await waitFor('a new view among the others', 60_000, async () => {
    const statuses = await Promise.all(others.map(status));
    const moved = statuses.filter((s) => s !== undefined && s.view > before.view && !s.changingView);
    return moved.length >= 3 ? moved[0] : undefined;
  });
  await sleep(2_000);
  const stream = (await agent.call({ cmd: 'stream-stop' }, 60_000)) as StreamResult;
  network.heal(replica);
  const afterCut = stream.writes.filter((w) => w.sentAt >= cutAt).map((w) => w.ackedAt);
  if (afterCut.length === 0) throw new Error('no write sent after the primary was cut was acknowledged');
  const recoveryMs = Math.min(...afterCut) - cutAt;
  const acks = stream.writes.map((w) => w.ackedAt).sort((a, b) => a - b);
  let longestGapMs = 0;
  for (let i = 1; i < acks.length; i++)
    longestGapMs = Math.max(longestGapMs, (acks[i] as number) - (acks[i - 1] as number));
  log(
    `primary ${replica} cut: view ${before.view} → ${after.view}; first write sent after the cut acknowledged ${recoveryMs} ms after it; longest gap ${longestGapMs} ms`,
  );
  return { replica, viewBefore: before.view, viewAfter: after.view, recoveryMs, longestGapMs };
}

/** The agents' process in its namespace, spoken to one JSON line at a time. */
class AgentHost {
  readonly child: ChildProcess;
  readonly #lines: Interface;
  readonly #pending: ((line: string) => void)[] = [];
  #stderr = '';

  constructor(ns: string, dir: string, agents: readonly string[]) {
    this.child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--import', 'tsx', AGENT, dir, ...agents],
      {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + String(chunk)).slice(-4_000);
    });
    this.#lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    this.#lines.on('line', (line) => this.#pending.shift()?.(line));
  }

  #next(timeoutMs: number, what: string): Promise<object> {
    return new Promise((done, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`the agents' process: no answer to ${what} in ${timeoutMs / 1000} s\n${this.#stderr}`),
          ),
        timeoutMs,
      );
      this.child.once('exit', (code) =>
        reject(new Error(`the agents' process exited (${code}):\n${this.#stderr}`)),
      );
      this.#pending.push((line) => {
        clearTimeout(timer);
        const value = JSON.parse(line) as { error?: string };
        if (value.error !== undefined) reject(new Error(`the agents' process: ${value.error}`));
        else done(value);
      });
    });
  }

  ready(): Promise<object> {
    return this.#next(90_000, 'connecting');
  }

  call(command: { cmd: string; writes?: number }, timeoutMs: number): Promise<object> {
    const answer = this.#next(timeoutMs, command.cmd);
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
    return answer;
  }
}
