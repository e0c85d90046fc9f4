/**
 * A pool of worker threads that check Ed25519 signatures, so a replica uses the cores a server
 * has: the step loop stays serial and deterministic, and the signatures of the frames waiting for
 * it are checked in parallel ahead of it. Results only feed the replica's cache of valid
 * signatures (`verifyCache` in @conclave/core): the replica still checks every signature it
 * relies on, so a pool that fails, or answers wrongly "invalid", costs time and never safety,
 * and a pool can never make the replica accept a signature its own check would refuse.
 *
 * Checks queued in one turn of the event loop travel together: one message per worker, packed
 * into one transferred buffer.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SignatureCheck } from '@conclave/core';

/** Workers a daemon starts when nothing says otherwise: one core for the step loop, the rest verify. */
export function defaultVerifyWorkers(cores = availableParallelism()): number {
  return Math.max(0, Math.min(8, cores - 1));
}

/** Workers one pool may have at most. */
export const VERIFY_WORKERS_MAX = 64;

interface Waiting {
  readonly checks: readonly SignatureCheck[];
  readonly results: boolean[];
  remaining: number;
  resolve(results: boolean[]): void;
  reject(error: Error): void;
}

interface Slice {
  readonly waiting: Waiting;
  readonly from: number;
  readonly to: number;
}

export interface VerifyPoolStats {
  readonly workers: number;
  /** Signatures checked by the workers. */
  readonly checked: number;
  /** Messages posted to workers (each carries many checks). */
  readonly batches: number;
  /** Checks waiting or in flight. */
  readonly inFlight: number;
}

export class VerifyPool {
  readonly #workers: Worker[];
  readonly #inFlight = new Map<number, { slices: Slice[]; worker: number }>();
  #queue: Waiting[] = [];
  #scheduled = false;
  #nextId = 0;
  #next = 0;
  #checked = 0;
  #batches = 0;
  #pendingChecks = 0;
  #closed = false;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 1 || size > VERIFY_WORKERS_MAX)
      throw new RangeError(`a verify pool needs 1..${VERIFY_WORKERS_MAX} workers, got ${size}`);
    this.#workers = Array.from({ length: size }, (_, index) => {
      const worker = new Worker(new URL('./verify-worker.mjs', import.meta.url));
      worker.unref();
      worker.on('message', (message: { id: number; results: Uint8Array }) => this.#onResults(message));
      worker.on('error', (error) => this.#failWorker(index, error));
      worker.on('exit', (code) => {
        if (!this.#closed) this.#failWorker(index, new Error(`verify worker exited with code ${code}`));
      });
      return worker;
    });
  }

  get size(): number {
    return this.#workers.length;
  }

  stats(): VerifyPoolStats {
    return {
      workers: this.#workers.length,
      checked: this.#checked,
      batches: this.#batches,
      inFlight: this.#pendingChecks,
    };
  }

  /** Checks the signatures; one boolean per check, in order. Rejects only if the pool broke or closed. */
  verify(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    if (this.#closed) return Promise.reject(new Error('verify pool closed'));
    if (checks.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#queue.push({
        checks,
        results: new Array(checks.length).fill(false),
        remaining: checks.length,
        resolve,
        reject,
      });
      this.#pendingChecks += checks.length;
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Splits what was queued in this turn evenly over the workers: one packed message each. */
  #flush(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    if (this.#closed || queue.length === 0) return;
    let total = 0;
    for (const waiting of queue) total += waiting.checks.length;
    const per = Math.ceil(total / this.#workers.length);
    let slices: Slice[] = [];
    let count = 0;
    for (const waiting of queue) {
      let from = 0;
      while (from < waiting.checks.length) {
        const to = Math.min(waiting.checks.length, from + (per - count));
        slices.push({ waiting, from, to });
        count += to - from;
        from = to;
        if (count >= per) {
          this.#post(slices, count);
          slices = [];
          count = 0;
        }
      }
    }
    if (count > 0) this.#post(slices, count);
  }

  #post(slices: Slice[], count: number): void {
    let bytes = 0;
    for (const slice of slices)
      for (let i = slice.from; i < slice.to; i++)
        bytes += 4 + (slice.waiting.checks[i] as SignatureCheck).data.byteLength + 96;
    const buffer = new Uint8Array(bytes);
    const view = new DataView(buffer.buffer);
    let at = 0;
    for (const slice of slices) {
      for (let i = slice.from; i < slice.to; i++) {
        const check = slice.waiting.checks[i] as SignatureCheck;
        view.setUint32(at, check.data.byteLength, true);
        at += 4;
        buffer.set(check.data, at);
        at += check.data.byteLength;
        buffer.set(check.signature.subarray(0, 64), at);
        at += 64;
        buffer.set(check.publicKey.subarray(0, 32), at);
        at += 32;
      }
    }
    const id = this.#nextId++;
    const worker = this.#next;
    this.#next = (this.#next + 1) % this.#workers.length;
    this.#inFlight.set(id, { slices, worker });
    this.#batches++;
    (this.#workers[worker] as Worker).postMessage({ id, buffer: buffer.buffer, count }, [buffer.buffer]);
  }

  #onResults({ id, results }: { id: number; results: Uint8Array }): void {
    const job = this.#inFlight.get(id);
    if (job === undefined) return;
    this.#inFlight.delete(id);
    let index = 0;
    for (const slice of job.slices) {
      for (let i = slice.from; i < slice.to; i++) slice.waiting.results[i] = results[index++] === 1;
      this.#settle(slice.waiting, slice.to - slice.from);
    }
    this.#checked += results.length;
  }

  #settle(waiting: Waiting, done: number): void {
    this.#pendingChecks -= done;
    waiting.remaining -= done;
    if (waiting.remaining === 0) waiting.resolve(waiting.results);
  }

  /** A worker that dies fails what it held; the callers fall back to checking inline. */
  #failWorker(index: number, error: Error): void {
    for (const [id, job] of this.#inFlight) {
      if (job.worker !== index) continue;
      this.#inFlight.delete(id);
      for (const slice of job.slices) {
        this.#pendingChecks -= slice.to - slice.from;
        slice.waiting.reject(error);
      }
    }
    if (!this.#closed) {
      this.#closed = true; // a broken pool is not repaired: the daemon checks inline from now on
      void this.close();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const waiting of this.#queue) waiting.reject(new Error('verify pool closed'));
    this.#queue = [];
    for (const job of this.#inFlight.values())
      for (const slice of job.slices) slice.waiting.reject(new Error('verify pool closed'));
    this.#inFlight.clear();
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }

  get closed(): boolean {
    return this.#closed;
  }
}
