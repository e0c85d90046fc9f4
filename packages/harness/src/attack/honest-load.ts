/**
 * The honest agent: one SDK client in a closed loop of kv puts (one in flight), timed. The
 * runner opens and closes measurement windows; a write counts in the window it completes in.
 */
import { performance } from 'node:perf_hooks';
import type { Coordination } from '@conclave/sdk';
import { type WindowFigures, windowFigures } from './criteria.ts';

/**
 * Keys the honest agent rotates over: its kv use stays small and fixed, and well inside its
 * quota (kvKeysPerAgentMax, 32 by default), which the checks' keys (`honest/owned`,
 * `honest/new-…`) share.
 */
const HONEST_KEYS = 16;
export const HONEST_CALL_TIMEOUT_MS = 10_000;
/** After a failed write, pause before the next, so an error storm does not spin. */
const ERROR_PAUSE_MS = 50;

export interface HonestLoad {
  /** Starts counting a new window (the previous one's figures are dropped unless closed). */
  open(): void;
  /** The figures of the window opened last. */
  close(): WindowFigures;
  /** Writes completed since the loop started. */
  completed(): number;
  /** Stops the loop; resolves once the write in flight has ended. */
  stop(): Promise<void>;
}

export function startHonestLoad(coord: Coordination): HonestLoad {
  const value = new TextEncoder().encode('honest value');
  let latencies: number[] = [];
  let errors = 0;
  let openedAt = performance.now();
  let running = true;
  let completed = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const began = performance.now();
      try {
        await coord.kv.put(`honest/k${i % HONEST_KEYS}`, value, { timeoutMs: HONEST_CALL_TIMEOUT_MS });
        latencies.push(performance.now() - began);
        completed++;
      } catch {
        errors++;
        await new Promise((done) => setTimeout(done, ERROR_PAUSE_MS));
      }
    }
  })();
  return {
    open: () => {
      latencies = [];
      errors = 0;
      openedAt = performance.now();
    },
    completed: () => completed,
    close: () => windowFigures(latencies, (performance.now() - openedAt) / 1000, errors),
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
