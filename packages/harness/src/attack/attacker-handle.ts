/**
 * The runner's side of the attacker process: starts it (plain node with tsx, like the replicas'
 * launcher), reads its JSON lines, and stops it — SIGTERM, then SIGKILL after a bound — in
 * every case, including a process that stopped itself (slow-reader).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '@conclave/cli';

const ATTACKER_SCRIPT = join(import.meta.dirname, 'attacker-process.ts');
const STOP_GRACE_MS = 2_000;
/**
 * The attacker runs at the lowest CPU priority. In a deployment it is on its own machine and its
 * CPU is not the replicas'; here all share two cores, and an attacker at equal priority would
 * measure how a busy neighbour slows every process, not what its traffic makes a replica do. At
 * niceness 19 it still sends as fast as whatever CPU the cluster leaves idle allows.
 */
export const ATTACKER_NICENESS = 19;
const OUTPUT_KEPT_CHARS = 4_000;

export interface AttackerHandle {
  readonly process: ChildProcess;
  /** Resolves when the attacker says it started; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves with the reason once the attacker reports it was refused for good. */
  readonly exhausted: Promise<string>;
  /** The attacker's latest counts. */
  stats(): Readonly<Record<string, number | string>>;
  /** The error the attack process ended with, if it ended with one. */
  failure(): string | undefined;
  stop(): Promise<void>;
}

interface Line {
  readonly event?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly stats?: Record<string, number | string>;
}

export function startAttacker(options: {
  dir: string;
  agent: string;
  honestAgent: string;
  replicas: number;
  attack: string;
  durationMs: number;
}): AttackerHandle {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      ATTACKER_SCRIPT,
      options.dir,
      options.agent,
      options.honestAgent,
      String(options.replicas),
      options.attack,
      String(options.durationMs),
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  if (child.pid !== undefined) setPriority(child.pid, ATTACKER_NICENESS);
  let stats: Record<string, number | string> = {};
  let stderr = '';
  let failure: string | undefined;
  let onReady!: () => void;
  let onFailed!: (error: Error) => void;
  let onExhausted!: (reason: string) => void;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFailed = reject;
  });
  ready.catch(() => {});
  const exhausted = new Promise<string>((resolve) => {
    onExhausted = resolve;
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const text of lines) {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        continue;
      }
      if (line.event === 'ready') onReady();
      else if (line.event === 'exhausted') onExhausted(line.reason ?? '?');
      else if (line.event === 'stats' && line.stats !== undefined) stats = line.stats;
      else if (line.event === 'error') failure = line.message ?? 'unknown error';
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-OUTPUT_KEPT_CHARS);
  });
  child.once('exit', (code) =>
    onFailed(new Error(`attacker exited (${code}) before it was ready: ${stderr.trim()}`)),
  );
  return {
    process: child,
    ready,
    exhausted,
    stats: () => stats,
    failure: () => failure,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT'); // a stopped process cannot act on SIGTERM
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
