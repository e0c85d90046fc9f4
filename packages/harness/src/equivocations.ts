/**
 * The agent equivocations the replicas saw, for the evidence checker: two different signed
 * bodies under one requestId that both reached one honest replica; and, in the ordered log, a
 * second different ballot for a proposal after the agent's first one was counted.
 */
import { decodeResult } from '@conclave/coordination';
import { fromHex } from '@conclave/core';
import type { BatchRecord, EquivocationRecord, ExecutedRecord, ReplicaRecord } from './record.ts';
import type { Commons } from './workload.ts';

/** The different bodies each honest replica received per lying agent's signed request id. */
export class RequestBodiesSeen {
  /** `agent#requestId@replica` → digest of each different body → the tick it first arrived. */
  readonly #seen = new Map<string, Map<string, number>>();

  get entries(): ReadonlyMap<string, ReadonlyMap<string, number>> {
    return this.#seen;
  }

  note(agent: string, requestId: number, replica: number, digest: string, tick: number): void {
    const key = `${agent}#${requestId}@${replica}`;
    let bodies = this.#seen.get(key);
    if (bodies === undefined) {
      bodies = new Map();
      this.#seen.set(key, bodies);
    }
    if (!bodies.has(digest)) bodies.set(digest, tick);
  }

  /**
   * What a replica saw before its crash was never durable (requests are not): it cannot prove an
   * equivocation whose two bodies straddle its restart.
   */
  forget(replica: number): void {
    for (const key of [...this.#seen.keys()]) if (key.endsWith(`@${replica}`)) this.#seen.delete(key);
  }
}

/** Both kinds of equivocation: requests first, then ballots in the ordered log. */
export function equivocationsSeen(
  requestsSeen: ReadonlyMap<string, ReadonlyMap<string, number>>,
  commons: Commons,
  batches: ReadonlyMap<string, BatchRecord>,
  replicas: readonly ReplicaRecord[],
  healTick: number,
): EquivocationRecord[] {
  return [
    ...requestEquivocations(requestsSeen, commons, healTick),
    ...ballotEquivocations(commons, batches, replicas),
  ];
}

/** Two different signed bodies under one requestId at one honest replica, reported once per request. */
function requestEquivocations(
  requestsSeen: ReadonlyMap<string, ReadonlyMap<string, number>>,
  commons: Commons,
  healTick: number,
): EquivocationRecord[] {
  const out: EquivocationRecord[] = [];
  const reportedRequests = new Set<string>();
  for (const [seenAt, bodies] of requestsSeen) {
    // Before the heal a replica's forward of the second body may be lost for good: evidence is
    // promised, like liveness, for what the replicas see after it.
    if (bodies.size < 2 || Math.max(...bodies.values()) < healTick) continue;
    const key = seenAt.slice(0, seenAt.lastIndexOf('@'));
    if (reportedRequests.has(key)) continue;
    reportedRequests.add(key);
    const agent = key.slice(0, key.indexOf('#'));
    const keys = [key];
    const ballots = [...bodies.keys()].map((digest) => commons.ballotsByDigest.get(digest)?.ballot);
    const [a, b] = ballots;
    if (a !== undefined && b !== undefined && a.proposalId === b.proposalId && a.ballotHex !== b.ballotHex)
      keys.push(`${agent}@${a.proposalId}`);
    out.push({
      agent,
      description: `honest replica ${seenAt.slice(seenAt.lastIndexOf('@') + 1)} received ${bodies.size} different requests signed as ${key}`,
      keys,
      tick: Math.max(...bodies.values()),
    });
  }
  return out;
}

/** A second, different ballot on one proposal executed after the agent's first was counted. */
function ballotEquivocations(
  commons: Commons,
  batches: ReadonlyMap<string, BatchRecord>,
  replicas: readonly ReplicaRecord[],
): EquivocationRecord[] {
  const out: EquivocationRecord[] = [];
  const bySequence = orderedLog(replicas);
  const counted = new Map<string, string>();
  const reported = new Set<string>();
  for (const sequence of [...bySequence.keys()].sort((x, y) => x - y)) {
    const entry = bySequence.get(sequence) as ExecutedRecord;
    const batch = batches.get(entry.digest);
    if (batch === undefined) continue;
    for (const request of entry.requests) {
      const body = batch.requests.find((r) => r.agent === request.agent && r.requestId === request.requestId);
      const ballot = body === undefined ? undefined : commons.ballotsByDigest.get(body.digest)?.ballot;
      if (ballot === undefined) continue;
      const slot = `${request.agent}@${ballot.proposalId}`;
      const first = counted.get(slot);
      if (first === undefined) {
        const result = decodeResult(fromHex(request.result));
        if (result.ok && result.kind === 'vote' && !result.duplicate) counted.set(slot, ballot.ballotHex);
      } else if (first !== ballot.ballotHex && !reported.has(slot)) {
        reported.add(slot);
        out.push({
          agent: request.agent,
          description: `${request.agent} cast a second, different ballot on ${ballot.proposalId} (request ${request.requestId}, sequence ${sequence}) after its first was counted`,
          keys: [slot],
          tick: entry.tick,
          sequence,
        });
      }
    }
  }
  return out;
}

/** The ordered log, once per sequence, from whichever honest replica executed it first in id order (agreement is checked elsewhere). */
function orderedLog(replicas: readonly ReplicaRecord[]): Map<number, ExecutedRecord> {
  const bySequence = new Map<number, ExecutedRecord>();
  for (const replica of replicas)
    if (replica.honest)
      for (const entry of replica.executed)
        if (!bySequence.has(entry.sequence)) bySequence.set(entry.sequence, entry);
  return bySequence;
}
