/**
 * Checkers: pure functions from a run's record to the violations found in it. Only honest
 * replicas and honest agents are held to the protocol's promises; Byzantine ones are ignored.
 *
 * Safety checkers must never fire while at most f replicas are Byzantine; liveness is judged
 * only after the network healed. Each message names the replicas, sequences and ticks involved,
 * so a failing seed can be read without replaying it.
 */
import { checkFairness } from './fairness.ts';
import { checkLivenessBounds } from './liveness-bounds.ts';
import { checkMembershipOutcomes } from './membership-outcomes.ts';
import type { ExecutedRecord, ReplicaRecord, RunRecord } from './record.ts';
import { checkKeyValidity, checkRegistryAgreement } from './registry-checkers.ts';
import { checkSealed } from './sealed-checkers.ts';

export type CheckerName =
  | 'agreement'
  | 'totalOrder'
  | 'exactlyOnce'
  | 'validity'
  | 'consistency'
  | 'liveness'
  /** Receipts honest replicas give verify offline and name the batch honest replicas executed. */
  | 'receipts'
  /** Every agent equivocation the replicas saw left evidence at every honest replica. */
  | 'evidence'
  /** An honest replica threw: a broken invariant of its own state. */
  | 'replicaCrash'
  /** Fairness runs: honest agents served within the bound while liars attack (fairness.ts). */
  | 'fairness'
  /** Runs with a liveness plan: stalls and time to one view within its bounds (liveness-bounds.ts). */
  | 'livenessBound'
  /** Every honest replica's agent registry is identical at every sequence (registry-checkers.ts). */
  | 'registryAgreement'
  /** No request executed under a key outside its validity interval (registry-checkers.ts). */
  | 'keyValidity'
  /** Membership runs: each scripted request, honest or an attack, got an allowed outcome (membership-outcomes.ts). */
  | 'membership'
  /** Runs with sealed proposals: every decided tally is what the ordered log implies (sealed-checkers.ts). */
  | 'sealedTally'
  /** Runs with sealed proposals: no ballot content readable before the commit deadline (sealed-checkers.ts). */
  | 'sealedSecrecy'
  /** Sealed runs: each scripted request, honest or an attack, got an allowed outcome (sealed-checkers.ts). */
  | 'sealedOutcomes';

export interface Violation {
  readonly checker: CheckerName;
  readonly message: string;
  readonly tick?: number;
}

/** Violations reported per checker at most, so one deep divergence does not bury the others. */
export const VIOLATIONS_PER_CHECKER_MAX = 20;

const SAFETY: readonly CheckerName[] = [
  'agreement',
  'totalOrder',
  'exactlyOnce',
  'validity',
  'consistency',
  'receipts',
  'replicaCrash',
  'registryAgreement',
  'keyValidity',
  'membership',
  'sealedTally',
  'sealedSecrecy',
  'sealedOutcomes',
];

export function isSafetyViolation(violation: Violation): boolean {
  return SAFETY.includes(violation.checker);
}

class Collector {
  readonly violations: Violation[] = [];
  constructor(readonly checker: CheckerName) {}

  add(message: string, tick?: number): void {
    if (this.violations.length >= VIOLATIONS_PER_CHECKER_MAX) return;
    this.violations.push(
      tick === undefined ? { checker: this.checker, message } : { checker: this.checker, message, tick },
    );
  }
}

function honestReplicas(record: RunRecord): ReplicaRecord[] {
  return record.replicas.filter((replica) => replica.honest);
}

function short(hex: string): string {
  return hex.slice(0, 12);
}

/** No two honest replicas executed different batches at the same sequence. */
export function checkAgreement(record: RunRecord): Violation[] {
  const out = new Collector('agreement');
  const first = new Map<number, { replica: number; entry: ExecutedRecord }>();
  for (const replica of honestReplicas(record)) {
    for (const entry of replica.executed) {
      const seen = first.get(entry.sequence);
      if (seen === undefined) {
        first.set(entry.sequence, { replica: replica.id, entry });
      } else if (seen.entry.digest !== entry.digest) {
        out.add(
          `sequence ${entry.sequence}: replica ${seen.replica} executed ${short(seen.entry.digest)} (view ${seen.entry.view}, tick ${seen.entry.tick}) but replica ${replica.id} executed ${short(entry.digest)} (view ${entry.view}, tick ${entry.tick})`,
          Math.max(seen.entry.tick, entry.tick),
        );
      }
    }
  }
  return out.violations;
}

/**
 * Each honest replica executes strictly increasing sequences without gaps, at agreed times that
 * never decrease. A jump is state
 * transfer (a snapshot replaced the skipped batches); it is accepted only when everything the
 * replica executed afterwards agrees with what other honest replicas executed at those sequences.
 */
export function checkTotalOrder(record: RunRecord): Violation[] {
  const out = new Collector('totalOrder');
  const replicas = honestReplicas(record);
  const bySequence = new Map<number, { replica: number; entry: ExecutedRecord }[]>();
  for (const replica of replicas) {
    for (const entry of replica.executed) {
      let list = bySequence.get(entry.sequence);
      if (list === undefined) {
        list = [];
        bySequence.set(entry.sequence, list);
      }
      list.push({ replica: replica.id, entry });
    }
  }
  for (const replica of replicas) {
    let previous = 0;
    let agreedTime = 0;
    let jumpedFrom: number | undefined;
    let incarnation = 0;
    for (const entry of replica.executed) {
      if ((entry.incarnation ?? 0) !== incarnation) {
        // A restart: the replica resumes from what it made durable, possibly below what it had
        // executed (it re-executes silently); agreement checks those sequences against the others.
        incarnation = entry.incarnation ?? 0;
        previous = replica.restarts?.[incarnation - 1]?.lastExecuted ?? entry.sequence - 1;
        agreedTime = 0;
        jumpedFrom = undefined;
      }
      if (entry.sequence <= previous) {
        out.add(`replica ${replica.id} executed sequence ${entry.sequence} after ${previous}`, entry.tick);
        continue;
      }
      if (entry.timestamp < agreedTime) {
        out.add(
          `replica ${replica.id} executed sequence ${entry.sequence} at agreed time ${entry.timestamp}, after ${agreedTime}`,
          entry.tick,
        );
      }
      agreedTime = Math.max(agreedTime, entry.timestamp);
      if (entry.sequence > previous + 1) jumpedFrom = previous;
      if (jumpedFrom !== undefined) {
        for (const other of bySequence.get(entry.sequence) ?? []) {
          if (other.replica === replica.id) continue;
          const disagreement = describeDisagreement(entry, other.entry);
          if (disagreement !== undefined) {
            out.add(
              `replica ${replica.id} jumped from sequence ${jumpedFrom} (state transfer) and then at sequence ${entry.sequence} ${disagreement} replica ${other.replica}`,
              entry.tick,
            );
            break;
          }
        }
      }
      previous = entry.sequence;
    }
  }
  return out.violations;
}

function describeDisagreement(a: ExecutedRecord, b: ExecutedRecord): string | undefined {
  if (a.digest !== b.digest) return `executed ${short(a.digest)}, unlike ${short(b.digest)} at`;
  if (a.stateDigest !== undefined && b.stateDigest !== undefined && a.stateDigest !== b.stateDigest) {
    return `reached state ${short(a.stateDigest)}, unlike ${short(b.stateDigest)} at`;
  }
  if (!sameRequests(a, b)) return 'executed different requests or results than';
  return undefined;
}

function sameRequests(a: ExecutedRecord, b: ExecutedRecord): boolean {
  if (a.requests.length !== b.requests.length) return false;
  return a.requests.every((request, i) => {
    const other = b.requests[i];
    return (
      other !== undefined &&
      other.agent === request.agent &&
      other.requestId === request.requestId &&
      other.result === request.result
    );
  });
}

/**
 * No honest replica executed one (agent, requestId) twice; honest replicas executed it at one
 * sequence; no honest agent saw two different results vouched for one requestId.
 */
export function checkExactlyOnce(record: RunRecord): Violation[] {
  const out = new Collector('exactlyOnce');
  const sequenceOf = new Map<string, { replica: number; sequence: number }>();
  for (const replica of honestReplicas(record)) {
    const seen = new Map<string, number>();
    const seenIn = new Map<string, number>();
    for (const entry of replica.executed) {
      for (const request of entry.requests) {
        const key = `${request.agent}#${request.requestId}`;
        const before = seen.get(key);
        // After a restart a replica rebuilds its state by executing again what it had executed
        // at the same sequence: that is not a second execution.
        const rebuilt = before === entry.sequence && (seenIn.get(key) ?? 0) !== (entry.incarnation ?? 0);
        seenIn.set(key, entry.incarnation ?? 0);
        if (before !== undefined && !rebuilt) {
          out.add(
            `replica ${replica.id} executed ${key} twice: at sequence ${before} and at ${entry.sequence}`,
            entry.tick,
          );
        }
        seen.set(key, entry.sequence);
        const elsewhere = sequenceOf.get(key);
        if (elsewhere === undefined) {
          sequenceOf.set(key, { replica: replica.id, sequence: entry.sequence });
        } else if (elsewhere.sequence !== entry.sequence) {
          out.add(
            `${key} executed at sequence ${elsewhere.sequence} by replica ${elsewhere.replica} but at ${entry.sequence} by replica ${replica.id}`,
            entry.tick,
          );
        }
      }
    }
  }
  for (const agent of record.agents) {
    if (!agent.honest) continue;
    const first = new Map<number, { sequence: number; result: string }>();
    for (const accepted of agent.accepted) {
      const before = first.get(accepted.requestId);
      if (before === undefined) {
        first.set(accepted.requestId, accepted);
      } else if (before.sequence !== accepted.sequence || before.result !== accepted.result) {
        out.add(
          `agent ${agent.id} request ${accepted.requestId}: f+1 replicas vouched for (sequence ${before.sequence}, result ${short(before.result)}) and for (sequence ${accepted.sequence}, result ${short(accepted.result)})`,
          accepted.tick,
        );
      }
    }
  }
  return out.violations;
}

/**
 * Honest replicas execute only requests a simulated agent signed: the (agent, requestId) was
 * issued, the batch came over the network, every request in it is one an agent created, and what
 * was executed is, in order, part of that batch.
 */
export function checkValidity(record: RunRecord): Violation[] {
  const out = new Collector('validity');
  const issued = new Set<string>();
  for (const { agent, requestId } of record.created.values()) issued.add(`${agent}#${requestId}`);
  for (const replica of honestReplicas(record)) {
    for (const entry of replica.executed) {
      for (const request of entry.requests) {
        if (!issued.has(`${request.agent}#${request.requestId}`)) {
          out.add(
            `replica ${replica.id} executed ${request.agent}#${request.requestId} at sequence ${entry.sequence}, which no agent created`,
            entry.tick,
          );
        }
      }
      const batch = record.batches.get(entry.digest);
      if (batch === undefined) {
        if (entry.requests.length > 0) {
          out.add(
            `replica ${replica.id} executed batch ${short(entry.digest)} at sequence ${entry.sequence} that never crossed the network`,
            entry.tick,
          );
        }
        continue;
      }
      // Agreed time never goes back, so a batch may run at a later time than it names (a null
      // batch names 0); never at an earlier one.
      if (entry.timestamp < batch.timestamp) {
        out.add(
          `replica ${replica.id} sequence ${entry.sequence}: batch ${short(entry.digest)} has timestamp ${batch.timestamp} but was executed at agreed time ${entry.timestamp}`,
          entry.tick,
        );
      }
      for (const request of batch.requests) {
        if (!record.created.has(request.digest)) {
          out.add(
            `replica ${replica.id} executed batch ${short(entry.digest)} at sequence ${entry.sequence} holding request ${short(request.digest)} (${request.agent}#${request.requestId}) no agent created`,
            entry.tick,
          );
        }
      }
      let cursor = 0;
      for (const request of entry.requests) {
        while (
          cursor < batch.requests.length &&
          (batch.requests[cursor]?.agent !== request.agent ||
            batch.requests[cursor]?.requestId !== request.requestId)
        ) {
          cursor++;
        }
        if (cursor === batch.requests.length) {
          out.add(
            `replica ${replica.id} sequence ${entry.sequence}: executed ${request.agent}#${request.requestId}, which is not (in this order) in batch ${short(entry.digest)}`,
            entry.tick,
          );
          break;
        }
        cursor++;
      }
    }
  }
  return out.violations;
}

/**
 * What agents accepted matches what honest replicas executed; honest replicas that executed the
 * same batch got the same results; honest replicas that ended at the same sequence ended in the
 * same state.
 */
export function checkConsistency(record: RunRecord): Violation[] {
  const out = new Collector('consistency');
  const replicas = honestReplicas(record);
  const executedAs = new Map<string, { replica: number; sequence: number; result: string }[]>();
  const atSequence = new Map<number, { replica: number; entry: ExecutedRecord }>();
  for (const replica of replicas) {
    for (const entry of replica.executed) {
      for (const request of entry.requests) {
        const key = `${request.agent}#${request.requestId}`;
        let list = executedAs.get(key);
        if (list === undefined) {
          list = [];
          executedAs.set(key, list);
        }
        list.push({ replica: replica.id, sequence: entry.sequence, result: request.result });
      }
      const seen = atSequence.get(entry.sequence);
      if (seen === undefined) {
        atSequence.set(entry.sequence, { replica: replica.id, entry });
      } else if (seen.entry.digest === entry.digest) {
        if (!sameRequests(seen.entry, entry)) {
          out.add(
            `sequence ${entry.sequence}: replicas ${seen.replica} and ${replica.id} executed batch ${short(entry.digest)} with different requests or results`,
            entry.tick,
          );
        } else if (
          seen.entry.stateDigest !== undefined &&
          entry.stateDigest !== undefined &&
          seen.entry.stateDigest !== entry.stateDigest
        ) {
          out.add(
            `sequence ${entry.sequence}: replicas ${seen.replica} and ${replica.id} reached different states ${short(seen.entry.stateDigest)} and ${short(entry.stateDigest)}`,
            entry.tick,
          );
        }
      }
    }
  }
  for (const agent of record.agents) {
    if (!agent.honest) continue;
    for (const accepted of agent.accepted) {
      const key = `${agent.id}#${accepted.requestId}`;
      for (const executed of executedAs.get(key) ?? []) {
        if (executed.sequence !== accepted.sequence || executed.result !== accepted.result) {
          out.add(
            `agent ${agent.id} accepted (sequence ${accepted.sequence}, result ${short(accepted.result)}) for request ${accepted.requestId} but honest replica ${executed.replica} executed it at sequence ${executed.sequence} with result ${short(executed.result)}`,
            accepted.tick,
          );
          break;
        }
      }
    }
  }
  const finalStates = new Map<number, { replica: number; stateDigest: string }>();
  for (const replica of replicas) {
    if (replica.final === undefined) continue;
    const seen = finalStates.get(replica.final.lastExecuted);
    if (seen === undefined) {
      finalStates.set(replica.final.lastExecuted, {
        replica: replica.id,
        stateDigest: replica.final.stateDigest,
      });
    } else if (seen.stateDigest !== replica.final.stateDigest) {
      out.add(
        `replicas ${seen.replica} and ${replica.id} both ended at sequence ${replica.final.lastExecuted} in different states ${short(seen.stateDigest)} and ${short(replica.final.stateDigest)}`,
        record.endTick,
      );
    }
  }
  return out.violations;
}

/** After the network healed, every request every honest agent planned was accepted before the run ended. */
export function checkLiveness(record: RunRecord): Violation[] {
  const out = new Collector('liveness');
  for (const agent of record.agents) {
    if (!agent.honest) continue;
    const accepted = new Set(agent.accepted.map((entry) => entry.requestId));
    const done = agent.issued.filter((request) => accepted.has(request.requestId)).length;
    if (done < agent.requestsPlanned) {
      const waiting = agent.issued.find((request) => !accepted.has(request.requestId));
      out.add(
        `agent ${agent.id} completed ${done} of ${agent.requestsPlanned} requests by tick ${record.endTick} (healed at ${record.healTick})${
          waiting === undefined
            ? ''
            : `; request ${waiting.requestId} issued at tick ${waiting.issuedTick} is still waiting`
        }`,
        record.endTick,
      );
    }
  }
  return out.violations;
}

/**
 * Every receipt an honest replica gave verifies offline (`verifyReceipt`: the agent's signature,
 * inclusion in the batch, 2f+1 commits) and names the batch honest replicas executed at its
 * sequence.
 */
export function checkReceipts(record: RunRecord): Violation[] {
  const out = new Collector('receipts');
  const executedAt = new Map<number, { replica: number; digest: string }>();
  for (const replica of honestReplicas(record))
    for (const entry of replica.executed)
      if (!executedAt.has(entry.sequence))
        executedAt.set(entry.sequence, { replica: replica.id, digest: entry.digest });
  for (const replica of honestReplicas(record)) {
    for (const receipt of replica.receipts ?? []) {
      const what = `replica ${replica.id}'s receipt for ${receipt.agent}#${receipt.requestId} at sequence ${receipt.sequence}`;
      if (!receipt.ok) {
        out.add(`${what} does not verify: ${receipt.reason ?? 'no reason given'}`, receipt.tick);
        continue;
      }
      const executed = executedAt.get(receipt.sequence);
      if (executed !== undefined && executed.digest !== receipt.digest) {
        out.add(
          `${what} proves batch ${short(receipt.digest ?? '')} but replica ${executed.replica} executed ${short(executed.digest)} there`,
          receipt.tick,
        );
      }
    }
  }
  return out.violations;
}

/**
 * Every agent equivocation the replicas saw (see `EquivocationRecord`) left evidence at every
 * honest replica by the end: in a batch it executed, or in its final state. A replica that
 * skipped the batch holding the evidence by state transfer is excused when it ended past it.
 */
export function checkEvidence(record: RunRecord): Violation[] {
  const out = new Collector('evidence');
  const replicas = honestReplicas(record);
  /** Evidence key → sequences at which some honest replica produced it. */
  const producedAt = new Map<string, Set<number>>();
  const held = new Map<number, Set<string>>();
  for (const replica of replicas) {
    const keys = new Set(replica.evidence ?? []);
    for (const entry of replica.executed) {
      for (const key of entry.equivocations ?? []) {
        keys.add(key);
        let at = producedAt.get(key);
        if (at === undefined) {
          at = new Set();
          producedAt.set(key, at);
        }
        at.add(entry.sequence);
      }
    }
    held.set(replica.id, keys);
  }
  for (const equivocation of record.equivocations ?? []) {
    for (const replica of replicas) {
      const keys = held.get(replica.id) as Set<string>;
      if (equivocation.keys.some((key) => keys.has(key))) continue;
      const executed = new Set(replica.executed.map((entry) => entry.sequence));
      const last = replica.final?.lastExecuted ?? 0;
      const skipped = equivocation.keys.some((key) =>
        [...(producedAt.get(key) ?? [])].some((sequence) => !executed.has(sequence) && sequence <= last),
      );
      if (skipped) continue;
      // A replica that has not yet executed as far as the evidence (it restarted late, say) owes it
      // nothing yet: catching up is liveness, checked elsewhere.
      const producedFirst = Math.min(
        ...equivocation.keys.flatMap((key) => [...(producedAt.get(key) ?? [])]),
        equivocation.sequence ?? Number.POSITIVE_INFINITY,
      );
      if (Number.isFinite(producedFirst) && last < producedFirst) continue;
      out.add(
        `replica ${replica.id} holds no evidence (${equivocation.keys.join(' or ')}) though ${equivocation.description} (by tick ${equivocation.tick})`,
        record.endTick,
      );
    }
  }
  return out.violations;
}

export const SAFETY_CHECKERS: readonly ((record: RunRecord) => Violation[])[] = [
  checkAgreement,
  checkTotalOrder,
  checkExactlyOnce,
  checkValidity,
  checkConsistency,
  checkReceipts,
  checkRegistryAgreement,
  checkKeyValidity,
  checkMembershipOutcomes,
  checkSealed,
];

/** Every checker, safety first. */
export function checkRun(record: RunRecord): Violation[] {
  return [
    ...SAFETY_CHECKERS.flatMap((check) => check(record)),
    ...checkLiveness(record),
    ...checkEvidence(record),
    ...checkFairness(record),
    ...checkLivenessBounds(record),
  ];
}
