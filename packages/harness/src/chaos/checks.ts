/**
 * What a chaos run checks once everything has healed, whatever the faults were: liveness after
 * the heal, convergence, agreement, that every acknowledged write reads back, progress during
 * the faults, and that no replica stopped by itself.
 */
import { performance } from 'node:perf_hooks';
import { decodeKvResult, encodeKvOperation } from '@conclave/core';
import type { ConclaveClient } from '@conclave/sdk';
import { CHAOS_LIMITS, type ChaosCheck } from './chaos-options.ts';
import { sleep } from './clock.ts';
import type { ChaosCluster } from './cluster.ts';
import type { WriteLedger } from './ledger.ts';
import type { ChaosLoad } from './load.ts';
import type { StatusSampler } from './sampler.ts';

/** Liveness after heal: one more write per agent, acknowledged within a bound. */
export async function livenessAfterHeal(
  load: ChaosLoad,
  clients: readonly ConclaveClient[],
): Promise<ChaosCheck> {
  const finalStarted = performance.now();
  const finals = await load.finalWrites(clients, finalStarted);
  const failures = finals.filter((x) => x !== undefined);
  return {
    name: 'liveness after heal',
    ok: failures.length === 0,
    detail:
      failures.length === 0
        ? `every agent's write after the heal was acknowledged within ${((performance.now() - finalStarted) / 1000).toFixed(1)} s`
        : failures.join('; '),
  };
}

export interface Convergence {
  readonly check: ChaosCheck;
  /** -1 and '' when the replicas did not converge. */
  readonly finalSequence: number;
  readonly finalDigest: string;
}

/** Convergence: every replica at one executed sequence with one digest, within a bound. */
export async function convergence(cluster: ChaosCluster, sampler: StatusSampler): Promise<Convergence> {
  const n = cluster.replicaCount;
  const convergeStarted = performance.now();
  let lastSeen = '';
  while (performance.now() - convergeStarted < CHAOS_LIMITS.convergenceTimeoutMs) {
    const statuses = await cluster.statuses();
    for (const s of statuses) if (s !== undefined) sampler.record(s.id, s.executedSequence, s.stateDigest);
    lastSeen = statuses
      .map((s, id) =>
        s === undefined ? `${id}: down` : `${id}: ${s.executedSequence}/${s.stateDigest.slice(0, 8)}`,
      )
      .join(', ');
    const sequences = new Set(statuses.map((s) => s?.executedSequence));
    const digests = new Set(statuses.map((s) => s?.stateDigest));
    if (statuses.every((s) => s !== undefined) && sequences.size === 1 && digests.size === 1) {
      const finalSequence = statuses[0]?.executedSequence ?? -1;
      const finalDigest = statuses[0]?.stateDigest ?? '';
      const detail = `all ${n} replicas at executed sequence ${finalSequence}, digest ${finalDigest.slice(0, 16)}…, after ${((performance.now() - convergeStarted) / 1000).toFixed(1)} s`;
      return { check: { name: 'convergence', ok: true, detail }, finalSequence, finalDigest };
    }
    await sleep(100);
  }
  const detail = `not within ${CHAOS_LIMITS.convergenceTimeoutMs / 1000} s; last seen (sequence/digest) ${lastSeen}`;
  return { check: { name: 'convergence', ok: false, detail }, finalSequence: -1, finalDigest: '' };
}

/** Agreement: no two replicas reported different digests at one executed sequence, all run long. */
export function agreement(sampler: StatusSampler): ChaosCheck {
  const ok = sampler.disagreements.length === 0;
  return {
    name: 'agreement',
    ok,
    detail: ok
      ? `${sampler.samples} status samples over ${sampler.digests.size} executed sequences: one digest per sequence`
      : sampler.disagreements.join('; '),
  };
}

/** Keys whose read-back failed: a count, and the first lines describing them. */
interface Missing {
  count: number;
  readonly lines: string[];
}

/**
 * Durability: every acknowledged write reads back with quorum reads (its value, or a later write
 * of the same key by the same agent), and a few with ordered reads too.
 */
export async function acknowledgedWrites(
  reader: ConclaveClient,
  ledger: WriteLedger,
): Promise<{ readonly check: ChaosCheck; readonly keysChecked: number }> {
  const missing: Missing = { count: 0, lines: [] };
  const keys = [...ledger.acknowledged.keys()];
  for (let i = 0; i < keys.length; i += CHAOS_LIMITS.readsInFlightMax)
    await Promise.all(
      keys.slice(i, i + CHAOS_LIMITS.readsInFlightMax).map((key) => quorumRead(reader, ledger, key, missing)),
    );
  // A few ordered reads too: they go through consensus after everything else.
  for (const key of keys.slice(0, 3)) await orderedRead(reader, ledger, key, missing);
  const ok = missing.count === 0 && ledger.wrongResults.length === 0;
  const detail = ok
    ? `${ledger.acks} acknowledged writes over ${keys.length} keys: every key holds its acknowledged value or a later write`
    : `${missing.count} keys do not: ${[...ledger.wrongResults, ...missing.lines].join('; ')}`;
  return { check: { name: 'acknowledged writes', ok, detail }, keysChecked: keys.length };
}

async function quorumRead(reader: ConclaveClient, ledger: WriteLedger, key: string, missing: Missing) {
  const allowed = ledger.allowed(key);
  let last = '';
  for (let attempt = 0; attempt < CHAOS_LIMITS.readAttemptsMax; attempt++) {
    try {
      const read = await reader.query(encodeKvOperation({ op: 'get', key }), 'quorum');
      const result = decodeKvResult(read.result);
      if (result.ok && result.value !== null && allowed.has(result.value)) return;
      last = `read ${JSON.stringify(result)} at sequence ${read.executedSequenceMin}`;
      break;
    } catch (error) {
      last = (error as Error).message;
    }
  }
  missing.count++;
  if (missing.lines.length < 20)
    missing.lines.push(`${key}: acknowledged ${ledger.acknowledged.get(key)}, ${last}`);
}

async function orderedRead(reader: ConclaveClient, ledger: WriteLedger, key: string, missing: Missing) {
  try {
    const read = await reader.request(encodeKvOperation({ op: 'get', key }));
    const result = decodeKvResult(read.result);
    if (!(result.ok && result.value !== null && ledger.allowed(key).has(result.value))) {
      missing.count++;
      missing.lines.push(`${key}: linearizable read ${JSON.stringify(result)}`);
    }
  } catch (error) {
    missing.count++;
    missing.lines.push(`${key}: linearizable read failed: ${(error as Error).message}`);
  }
}

/** With at most f replicas out at once, acknowledgements must keep coming during the chaos. */
export function progress(ledger: WriteLedger, chaosEndedMs: number): { check: ChaosCheck; stallMs: number } {
  const stallMs = longestGapMs(
    ledger.ackTimesMs.filter((t) => t <= chaosEndedMs),
    chaosEndedMs,
  );
  const check = {
    name: 'progress during the faults',
    ok: stallMs <= CHAOS_LIMITS.progressGapMsMax,
    detail: `longest stretch without an acknowledged write ${(stallMs / 1000).toFixed(1)} s (bound ${CHAOS_LIMITS.progressGapMsMax / 1000} s)`,
  };
  return { check, stallMs };
}

/** A broken invariant stops a daemon with status 1: any exit we did not cause fails the run. */
export function noSelfExits(selfExits: readonly string[], kills: number): ChaosCheck {
  const ok = selfExits.length === 0;
  return {
    name: 'no replica stopped by itself',
    ok,
    detail: ok ? `${kills} kill${kills === 1 ? '' : 's'} by us, no other exit` : selfExits.join('\n'),
  };
}

/** The longest time between consecutive acknowledgements (and the ends of the phase). */
function longestGapMs(times: readonly number[], endMs: number): number {
  let longest = 0;
  let previous = 0;
  for (const t of [...times].sort((a, b) => a - b)) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return Math.max(longest, endMs - previous);
}
