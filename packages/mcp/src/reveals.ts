/**
 * Reveals of sealed ballots that this server committed, sent by the server itself once the
 * cluster's agreed time reaches the proposal's commit deadline, so that a tool-calling agent
 * need not hold a tool call open through the whole commit phase (nor remember to come back).
 *
 * - One scheduler per agent client, shared by every MCP session over that client (Streamable
 *   HTTP opens one server per session): a reveal outlives the session that committed it while
 *   any session of the agent is open. When the last one closes, pending reveals are cancelled.
 * - Bounded: at most `PENDING_REVEALS_MAX` pending reveals (cast_vote refuses to commit past
 *   that, before sending anything), and the last `OUTCOMES_MAX` outcomes are remembered.
 * - Each pending reveal is one loop of bounded, cancellable sleeps: it reads the agreed time (an
 *   ordered read, so f+1 replicas vouch for it: agreed time never goes back, so a reveal sent
 *   after seeing it at or past the commit deadline cannot be ordered before it), sleeps about as
 *   long as the commit phase has left (between `REVEAL_POLL_MS_MIN` and `REVEAL_POLL_MS_MAX`),
 *   and reveals once the commit phase is over. It gives up at the deadline, after
 *   `REVEAL_FAILURES_MAX` failures in a row, or on a refusal.
 * - Nothing is stored on disk: after a restart, cast_vote with the same ballot in the reveal
 *   phase recomputes the salt from the agent's key and reveals.
 */
import { decodeResult } from '@conclave/coordination';
import type { ConclaveClient, Coordination } from '@conclave/sdk';

/** Pending reveals one agent's server holds at most. */
export const PENDING_REVEALS_MAX = 64;
/** Finished reveals (revealed, failed or cancelled) remembered, oldest forgotten first. */
export const OUTCOMES_MAX = 64;
/** Shortest and longest sleep between two reads of the agreed time. */
export const REVEAL_POLL_MS_MIN = 100;
export const REVEAL_POLL_MS_MAX = 10_000;
/** Failed calls in a row after which a reveal is given up (cast_vote in the reveal phase retries it). */
export const REVEAL_FAILURES_MAX = 8;
/** How long one call of the loop waits for the cluster. */
const CALL_TIMEOUT_MS = 10_000;

/** A reveal to send: the `ops.reveal` bytes, and the proposal's two deadlines (agreed time, ticks). */
export interface RevealJob {
  readonly proposalId: string;
  readonly commitDeadline: number;
  readonly deadline: number;
  /** The seal the reveal reproduces: a second commit of another ballot is caught with it. */
  readonly seal: Uint8Array;
  readonly operation: Uint8Array;
}

/** What became of a scheduled reveal. */
export interface RevealOutcome {
  readonly proposalId: string;
  readonly status: 'revealed' | 'failed' | 'cancelled';
  /** Where the reveal was ordered (revealed), or null. */
  readonly sequence: number | null;
  readonly detail: string;
}

/** A scheduled reveal as tools show it. */
export interface PendingRevealView {
  readonly proposalId: string;
  readonly revealAt: number;
  readonly deadline: number;
  readonly seal: Uint8Array;
}

interface Pending extends RevealJob {
  readonly controller: AbortController;
}

export interface RevealSchedulerOptions {
  readonly tickMs: number;
  readonly log: (line: string) => void;
  readonly pendingMax?: number;
  readonly pollMsMin?: number;
  readonly pollMsMax?: number;
}

/** The reveals one agent's server sends on its own. */
export class RevealScheduler {
  readonly #coordination: Coordination;
  readonly #options: Required<RevealSchedulerOptions>;
  readonly #pending = new Map<string, Pending>();
  readonly #outcomes = new Map<string, RevealOutcome>();
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(coordination: Coordination, options: RevealSchedulerOptions) {
    this.#coordination = coordination;
    this.#options = {
      pendingMax: PENDING_REVEALS_MAX,
      pollMsMin: REVEAL_POLL_MS_MIN,
      pollMsMax: REVEAL_POLL_MS_MAX,
      ...options,
    };
  }

  /** Reveals scheduled and not finished. */
  get size(): number {
    return this.#pending.size;
  }

  get pendingMax(): number {
    return this.#options.pendingMax;
  }

  /** Whether `proposalId` could be scheduled now (already scheduled counts: it is not added twice). */
  hasRoomFor(proposalId: string): boolean {
    return !this.#closed && (this.#pending.has(proposalId) || this.#pending.size < this.#options.pendingMax);
  }

  /** The scheduled reveal on `proposalId`, if any. */
  pending(proposalId: string): PendingRevealView | undefined {
    const job = this.#pending.get(proposalId);
    if (job === undefined) return undefined;
    return { proposalId, revealAt: job.commitDeadline, deadline: job.deadline, seal: job.seal };
  }

  /** What became of the last scheduled reveal on `proposalId`, if it finished and is still remembered. */
  outcome(proposalId: string): RevealOutcome | undefined {
    return this.#outcomes.get(proposalId);
  }

  /**
   * Schedules a reveal. An already scheduled reveal on the same proposal is kept (the caller
   * checked it is the same seal). False when there is no room or the scheduler is closed.
   */
  schedule(job: RevealJob): boolean {
    if (!this.hasRoomFor(job.proposalId)) return false;
    if (this.#pending.has(job.proposalId)) return true;
    const pending: Pending = { ...job, controller: new AbortController() };
    this.#pending.set(job.proposalId, pending);
    this.#outcomes.delete(job.proposalId);
    const run = this.#run(pending).catch((error: unknown) =>
      this.#finish(pending, 'failed', null, `unexpected failure: ${messageOf(error)}`),
    );
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
    return true;
  }

  /** Stops the scheduled reveal on `proposalId` (revealed some other way): no outcome is kept. */
  forget(proposalId: string): void {
    const pending = this.#pending.get(proposalId);
    if (pending === undefined) return;
    this.#pending.delete(proposalId);
    pending.controller.abort(new Error('revealed by cast_vote'));
  }

  /** Cancels every pending reveal and waits for their loops to end. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of [...this.#pending.values()])
      this.#finish(
        pending,
        'cancelled',
        null,
        'the server closed before the commit phase ended; call cast_vote again with the same ballot in the reveal phase',
      );
    await Promise.allSettled([...this.#running]);
  }

  async #run(job: Pending): Promise<void> {
    const signal = job.controller.signal;
    const call = { signal, timeoutMs: CALL_TIMEOUT_MS };
    let failures = 0;
    let lastFailure = '';
    const failed = async (error: unknown) => {
      failures += 1;
      lastFailure = messageOf(error);
      // Back off: twice the shortest sleep per failure in a row, within the longest.
      await sleep(Math.min(this.#options.pollMsMax, this.#options.pollMsMin * 2 ** failures), signal);
    };
    while (!signal.aborted) {
      if (failures >= REVEAL_FAILURES_MAX) {
        this.#finish(job, 'failed', null, `${failures} failed calls in a row (last: ${lastFailure})`);
        return;
      }
      let now: number;
      try {
        now = await this.#coordination.agreedTime(call);
      } catch (error) {
        if (signal.aborted) return;
        await failed(error);
        continue;
      }
      if (now >= job.deadline) {
        this.#finish(job, 'failed', null, `the deadline ${job.deadline} passed before the reveal was sent`);
        return;
      }
      if (now < job.commitDeadline) {
        const remainingMs = (job.commitDeadline - now) * this.#options.tickMs;
        await sleep(
          Math.min(this.#options.pollMsMax, Math.max(this.#options.pollMsMin, remainingMs)),
          signal,
        );
        continue;
      }
      let result: ReturnType<typeof decodeResult>;
      let sequence: number;
      try {
        const answer = await this.#coordination.client.request(job.operation, call);
        result = decodeResult(answer.result);
        sequence = answer.sequence;
      } catch (error) {
        if (signal.aborted) return;
        await failed(error);
        continue;
      }
      if (result.ok) {
        const duplicate =
          result.kind === 'vote' && result.duplicate ? ' (already revealed: a duplicate)' : '';
        this.#finish(job, 'revealed', sequence, `revealed at sequence ${sequence}${duplicate}`);
        return;
      }
      if (result.code === 'REVEAL_TOO_EARLY') {
        // Cannot happen after an ordered read at or past the commit deadline; read the time again.
        await failed(new Error(result.message));
        continue;
      }
      this.#finish(job, 'failed', null, `refused: ${result.code}: ${result.message}`);
      return;
    }
  }

  #finish(job: Pending, status: RevealOutcome['status'], sequence: number | null, detail: string): void {
    if (this.#pending.get(job.proposalId) !== job) return;
    this.#pending.delete(job.proposalId);
    job.controller.abort(new Error(detail));
    this.#outcomes.delete(job.proposalId);
    this.#outcomes.set(job.proposalId, { proposalId: job.proposalId, status, sequence, detail });
    while (this.#outcomes.size > OUTCOMES_MAX) {
      const oldest = this.#outcomes.keys().next().value as string;
      this.#outcomes.delete(oldest);
    }
    this.#options.log(`sealed reveal on ${job.proposalId}: ${status}: ${detail}`);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; never keeps the process alive by itself. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((done) => {
    const onAbort = () => {
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      done();
    }, ms);
    timer.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The scheduler of each agent client, and how many servers use it. */
const shared = new WeakMap<ConclaveClient, { scheduler: RevealScheduler; users: number }>();

/**
 * The reveal scheduler of `coordination`'s client, shared by every server over that client;
 * `release` (once per acquire) closes it when the last server using it goes.
 */
export function acquireRevealScheduler(
  coordination: Coordination,
  options: RevealSchedulerOptions,
): { readonly scheduler: RevealScheduler; release(): Promise<void> } {
  const client = coordination.client;
  let entry = shared.get(client);
  if (entry === undefined) {
    entry = { scheduler: new RevealScheduler(coordination, options), users: 0 };
    shared.set(client, entry);
  }
  entry.users += 1;
  const held = entry;
  let released = false;
  return {
    scheduler: held.scheduler,
    release: async () => {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users > 0) return;
      if (shared.get(client) === held) shared.delete(client);
      await held.scheduler.close();
    },
  };
}
