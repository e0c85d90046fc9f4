/**
 * One attack against a fresh cluster of four real daemons while the honest agent writes:
 * baseline window, attacker started (own process), attack window with a fresh agent's write in
 * the middle, the attack-specific check, attacker stopped, memory watched coming back. Every
 * wait is bounded; the daemons, the attacker and the cluster directory go away in every case.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  connectAgent,
  makeCluster,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '@conclave/cli';
import { type ConclaveClient, coordination } from '@conclave/sdk';
import { type AttackerHandle, startAttacker } from './attacker-handle.ts';
import type { AttackEntry } from './catalog.ts';
import { type SpecificCheck, specificCheck } from './checks.ts';
import { type AttackMeasurement, RSS_RESIDUAL_MB_MAX, RSS_RETURN_WAIT_MS } from './criteria.ts';
import { type HonestLoad, startHonestLoad } from './honest-load.ts';
import { ATTACKER_AGENT, FRESH_AGENT, HONEST_AGENT } from './names.ts';
import { largestRssMb, RSS_SAMPLE_MS, sampleRssPeak, viewChanges, viewsOf } from './replica-probe.ts';

export const ATTACK_REPLICAS = 4;
/** Agents registered in the attack cluster: honest, attacker, fresh. */
const ATTACK_AGENTS = 3;
const REPLICAS_UP_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 30_000;
const ATTACKER_READY_TIMEOUT_MS = 30_000;
/** The fresh agent's connect + write is given this long before it counts as not done at all. */
const FRESH_PROBE_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
/** Honest writes before the baseline opens, so the cluster is warm. */
const WARMUP_MS = 1_000;
/** Characters of the attacker's error shown in the report. */
const ATTACKER_ERROR_CHARS = 160;
/**
 * The attacker stops by itself this long after its window even if the runner never stops it
 * (the runner stops it after the check, which may wait EXHAUST_WAIT_MS).
 */
const ATTACKER_BACKSTOP_MS = 120_000;

export interface RunOptions {
  readonly durationS: number;
  readonly baselineS: number;
  /** The built daemon (packages/cli/dist…); undefined runs the sources through tsx. */
  readonly bundle: string | undefined;
}

/** The cluster could not be set up at all: the command exits 2. */
export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupError';
  }
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function startCluster(options: RunOptions): Promise<{ dir: string; replicas: RunningReplica[] }> {
  const { dir } = await makeCluster(ATTACK_REPLICAS, ATTACK_AGENTS, {}, 'coordination');
  const replicas: RunningReplica[] = [];
  try {
    for (let id = 0; id < ATTACK_REPLICAS; id++)
      replicas.push(startReplica(dir, id, ['--log-level', 'warn'], { bundle: options.bundle }));
    await waitFor(
      'every replica to report status',
      async () => {
        const crashed = replicas.find((r) => r.process.exitCode !== null);
        if (crashed !== undefined)
          throw new SetupError(`replica ${crashed.id} exited: ${crashed.output.slice(-300)}`);
        const up = await Promise.all(replicas.map((r) => statusOf(dir, r.id)));
        return up.every((s) => s !== undefined) ? true : undefined;
      },
      REPLICAS_UP_TIMEOUT_MS,
    );
    return { dir, replicas };
  } catch (error) {
    await stopAll(dir, replicas);
    throw new SetupError(`cluster did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function stopAll(dir: string, replicas: readonly RunningReplica[]): Promise<void> {
  await Promise.allSettled(replicas.map((r) => stopReplica(r, 'SIGTERM', STOP_TIMEOUT_MS)));
  rmSync(dirname(dir), { recursive: true, force: true });
}

/** A fresh agent connects and completes one write: the time it took, or null past the bound. */
async function freshWriteMs(dir: string): Promise<number | null> {
  const began = performance.now();
  let client: ConclaveClient | undefined;
  try {
    const attempt = connectAgent({ dir, agent: FRESH_AGENT, connectTimeoutMs: FRESH_PROBE_TIMEOUT_MS }).then(
      async (c) => {
        client = c;
        await coordination(c).kv.put('fresh/key', new Uint8Array(4), { timeoutMs: FRESH_PROBE_TIMEOUT_MS });
      },
    );
    await withTimeout(attempt, FRESH_PROBE_TIMEOUT_MS, 'fresh agent');
    return performance.now() - began;
  } catch {
    return null;
  } finally {
    await client?.close().catch(() => {});
  }
}

/** After the attack: waits (bounded) for the largest RSS to come back near where it started. */
async function rssAfterMb(dir: string, beforeMb: number): Promise<number> {
  const deadline = performance.now() + RSS_RETURN_WAIT_MS;
  let now = await largestRssMb(dir, ATTACK_REPLICAS);
  while (now - beforeMb > RSS_RESIDUAL_MB_MAX && performance.now() < deadline) {
    await sleep(RSS_SAMPLE_MS);
    now = await largestRssMb(dir, ATTACK_REPLICAS);
  }
  return now;
}

/** What the run has going while the attack is measured. */
interface Running {
  readonly entry: AttackEntry;
  readonly options: RunOptions;
  readonly dir: string;
  readonly replicas: readonly RunningReplica[];
  readonly load: HonestLoad;
  readonly check: SpecificCheck | undefined;
}

/** Before the attacker exists: where views and memory start, and the honest baseline. */
async function measureBaseline(run: Running) {
  await sleep(WARMUP_MS);
  await run.check?.prepare();
  const views = await viewsOf(run.dir, ATTACK_REPLICAS);
  // The honest load alone grows a young replica's heap for a while: "before" is the largest
  // RSS seen over the whole baseline, so that growth is not blamed on the attack.
  const baselinePeak = sampleRssPeak(run.dir, ATTACK_REPLICAS);
  run.load.open();
  await sleep(run.options.baselineS * 1000);
  const window = run.load.close();
  return { views, rssMb: await baselinePeak.stop(), window };
}

/** The attack window: the honest load, a fresh agent's write and the check's midway step halfway through. */
async function measureUnderAttack(run: Running) {
  const halfMs = (run.options.durationS * 1000) / 2;
  run.load.open();
  const midway = sleep(halfMs).then(() =>
    Promise.all([freshWriteMs(run.dir), run.check?.midway().catch(() => {})]),
  );
  await sleep(run.options.durationS * 1000);
  const window = run.load.close();
  const [freshMs] = await midway;
  return { window, freshMs };
}

async function measure(
  run: Running,
  attackerOf: () => AttackerHandle | undefined,
  start: () => AttackerHandle,
) {
  const before = await measureBaseline(run);
  const attacker = start();
  await withTimeout(attacker.ready, ATTACKER_READY_TIMEOUT_MS, 'attacker start');
  const peak = sampleRssPeak(run.dir, ATTACK_REPLICAS);
  const during = await measureUnderAttack(run);
  const failure = await run.check?.verify().catch((e: unknown) => `check failed: ${String(e)}`);
  await attackerOf()?.stop();
  const peakMb = await peak.stop();
  await run.load.stop();
  const viewsAfter = await viewsOf(run.dir, ATTACK_REPLICAS);
  const afterMb = await rssAfterMb(run.dir, before.rssMb);
  const measurement: AttackMeasurement = {
    attack: run.entry.name,
    baseline: before.window,
    during: during.window,
    viewChanges: viewChanges(before.views, viewsAfter),
    rssMb: { before: before.rssMb, peak: Math.max(peakMb, afterMb), after: afterMb },
    freshWriteMs: during.freshMs,
    crashedReplicas: run.replicas
      .filter((r) => r.process.exitCode !== null || r.process.signalCode !== null)
      .map((r) => r.id),
    specific: run.entry.check === undefined ? undefined : { name: run.entry.check, failure: failure ?? null },
    attacker: { ...attacker.stats(), ...attackerError(attacker) },
  };
  return measurement;
}

/** The attacker's error, if it broke down: an attack that did not run is not a measured attack. */
function attackerError(attacker: AttackerHandle): { error?: string } {
  const failure = attacker.failure();
  return failure === undefined ? {} : { error: failure.slice(0, ATTACKER_ERROR_CHARS) };
}

async function connectHonest(dir: string): Promise<ConclaveClient> {
  try {
    return await withTimeout(
      connectAgent({ dir, agent: HONEST_AGENT, connectTimeoutMs: CONNECT_TIMEOUT_MS }),
      CONNECT_TIMEOUT_MS,
      'honest agent connect',
    );
  } catch (error) {
    throw new SetupError(`honest agent could not connect: ${String(error)}`);
  }
}

/** One attack, measured, against a cluster of its own; the cluster and the attacker are gone after. */
export async function runAttack(entry: AttackEntry, options: RunOptions): Promise<AttackMeasurement> {
  const { dir, replicas } = await startCluster(options);
  let attacker: AttackerHandle | undefined;
  try {
    const honestClient = await connectHonest(dir);
    const honest = coordination(honestClient);
    const load = startHonestLoad(honest);
    const check =
      entry.check === undefined
        ? undefined
        : specificCheck(entry.check, honest, () => attacker, load.completed);
    const start = () => {
      attacker = startAttacker({
        dir,
        agent: ATTACKER_AGENT,
        honestAgent: HONEST_AGENT,
        replicas: ATTACK_REPLICAS,
        attack: entry.name,
        durationMs: options.durationS * 1000 + ATTACKER_BACKSTOP_MS,
      });
      return attacker;
    };
    try {
      return await measure({ entry, options, dir, replicas, load, check }, () => attacker, start);
    } finally {
      await load.stop();
      await honestClient.close().catch(() => {});
    }
  } finally {
    await attacker?.stop();
    await stopAll(dir, replicas);
  }
}
