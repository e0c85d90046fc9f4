/**
 * What the runner reads from the replicas: views and memory over GET /status, sampled in the
 * background during an attack so the peak is seen.
 */
import { statusOf } from '@conclave/cli';

const MB = 2 ** 20;
/** How often replica RSS is sampled while an attack runs. */
export const RSS_SAMPLE_MS = 500;

/** Each replica's view now (undefined where it does not answer). */
export async function viewsOf(dir: string, replicas: number): Promise<(number | undefined)[]> {
  const statuses = await Promise.all(Array.from({ length: replicas }, (_, id) => statusOf(dir, id)));
  return statuses.map((s) => s?.view);
}

/** The largest replica's RSS in MB now; 0 if none answers. */
export async function largestRssMb(dir: string, replicas: number): Promise<number> {
  const statuses = await Promise.all(Array.from({ length: replicas }, (_, id) => statusOf(dir, id)));
  return Math.max(0, ...statuses.map((s) => (s?.rssBytes ?? 0) / MB));
}

/** The largest view change any replica went through between two readings. */
export function viewChanges(
  before: readonly (number | undefined)[],
  after: readonly (number | undefined)[],
): number {
  let most = 0;
  for (const [i, start] of before.entries()) {
    const end = after[i];
    if (start !== undefined && end !== undefined) most = Math.max(most, end - start);
  }
  return most;
}

/** Samples the largest RSS every RSS_SAMPLE_MS until stopped; returns the peak. */
export function sampleRssPeak(dir: string, replicas: number): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await largestRssMb(dir, replicas));
      await new Promise((done) => setTimeout(done, RSS_SAMPLE_MS));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}
