/**
 * What every attack gets in the attacker process: who it is, where the cluster is, when to stop,
 * and how to tell the runner what it did. Attacks run in their own process (attacker-process.ts)
 * so their CPU use does not slow the honest agent's event loop in the runner.
 */
import { connectAgent } from '@conclave/cli';
import { type Coordination, coordination, RejectedError } from '@conclave/sdk';

export interface AttackContext {
  readonly dir: string;
  /** The attacker's agent id (registered in cluster.json). */
  readonly agent: string;
  /** The honest agent's id, for attacks on what it owns. */
  readonly honestAgent: string;
  readonly replicas: number;
  /** Aborted when the attack must stop: its time is up or the runner said so. */
  readonly signal: AbortSignal;
  /** Adds to one of the counts reported to the runner. */
  count(name: string, by?: number): void;
  /** Sets one figure reported to the runner (e.g. sockets held now). */
  set(name: string, value: number | string): void;
  /** The attacker was refused for good (state full, or forbidden): the runner may check now. */
  exhausted(reason: string): void;
  /** Sends the counts to the runner now (before the process stops itself, say). */
  flush(): void;
}

export type Attack = (context: AttackContext) => Promise<void>;

/** Requests an attacker keeps in flight at once: enough to fill a batch, bounded. */
export const ATTACK_IN_FLIGHT_MAX = 32;
export const ATTACK_CALL_TIMEOUT_MS = 10_000;

/** Waits `ms`, or less if the signal aborts; leaves no listener behind (attacks sleep often). */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((done) => {
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    };
    const timer = setTimeout(finish, ms);
    signal?.addEventListener('abort', finish, { once: true });
  });

/** The attacker's SDK client with the coordination operations. */
export async function connectAttacker(context: AttackContext): Promise<Coordination> {
  const client = await connectAgent({
    dir: context.dir,
    agent: context.agent,
    connectTimeoutMs: 30_000,
    timeoutMs: ATTACK_CALL_TIMEOUT_MS,
  });
  context.signal.addEventListener('abort', () => void client.close(), { once: true });
  return coordination(client);
}

/** The state machine's reason for a refusal (LIMIT, QUOTA, FORBIDDEN…), or the SDK's error code. */
export function refusalOf(error: unknown): string {
  if (error instanceof RejectedError) return error.reason;
  if (error !== null && typeof error === 'object' && 'code' in error) return String(error.code);
  return 'ERROR';
}

/** Refusals that mean "you may not have more": the attack has filled what it can. */
const FULL_REASONS: ReadonlySet<string> = new Set(['LIMIT', 'QUOTA']);

/**
 * Runs `step(i)` for i = 0, 1, 2… with ATTACK_IN_FLIGHT_MAX in flight until the signal aborts or
 * a step is refused with LIMIT/QUOTA (then reports `exhausted`). Counts `ok` and each refusal.
 */
export async function fillUntilRefused(
  context: AttackContext,
  step: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  let full = false;
  const worker = async () => {
    while (!context.signal.aborted && !full) {
      const i = next++;
      try {
        await step(i);
        context.count('ok');
      } catch (error) {
        const reason = refusalOf(error);
        context.count(`refused_${reason}`);
        // An operation the cluster calls malformed is a bug in the attack, not a defence: stop loudly.
        if (reason === 'INVALID') throw error;
        if (FULL_REASONS.has(reason)) {
          full = true;
          context.set('filled', next);
          context.exhausted(reason);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: ATTACK_IN_FLIGHT_MAX }, worker));
}
