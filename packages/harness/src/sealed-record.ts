/**
 * What a run records for the sealed-ballot checkers (sealed-checkers.ts), on the coordination
 * state machine:
 *
 * - every batch seen on the wire: its requests that touch proposals (propose, commit, reveal,
 *   vote), operation bytes and all, so `sealedTally` can replay the sealed rules on the ordered
 *   log itself;
 * - per honest replica, each sealed proposal's tally and evidence as `get_proposal` and
 *   `list_evidence` show them the first time it is seen decided;
 * - secrecy probes: while an honest replica's agreed time is before a sealed proposal's commit
 *   deadline (or the proposal does not exist there yet), after each of its steps its state
 *   snapshot and every reply it sent are searched for the content of every ballot sent so far
 *   on that proposal (reveals and plain votes seen in batches: the ballot bytes, and the reason
 *   when it is distinctive). Hits are recorded with the replica's agreed time.
 *
 * Nothing is probed or queried in runs without a sealed proposal.
 */
import {
  type CoordinationResult,
  DEFAULT_COORDINATION_LIMITS,
  decodeBallot,
  decodeOperation,
  decodeResult,
  type Evidence,
  type KnownAgent,
  ops,
  verifyEvidence,
} from '@conclave/coordination';
import {
  type Batch,
  type CryptoBackend,
  type DecodeLimits,
  decodeFrame,
  MessageType,
  type ReplicaOutput,
  toHex,
} from '@conclave/core';
import type { HonestReplica } from './honest-replica.ts';
import type {
  ExpectedOutcomeRecord,
  SealedDecisionRecord,
  SealedEvidenceRecord,
  SealedLeakRecord,
  SealedOperationRecord,
  SealedRecord,
} from './record.ts';

/** A reason shorter than this is not distinctive enough to look for ("ok", "approve"). */
export const DISTINCTIVE_REASON_BYTES = 16;
/** Leaks recorded at most (one is enough to fail a run). */
export const SEALED_LEAKS_MAX = 100;
/** Evidence items read per replica and proposal at most. */
const EVIDENCE_PAGES_MAX = 20;

const PROPOSAL_OPS: ReadonlySet<string> = new Set(['propose', 'propose_action', 'commit', 'reveal', 'vote']);

/** Ballot content to look for: a ballot sent on a proposal. */
interface Needle {
  readonly proposalId: string;
  readonly agent: string;
  readonly what: 'ballot' | 'reason';
  readonly bytes: Buffer;
}

/** What one honest replica knows of each sealed proposal. */
interface ReplicaView {
  /** Commit deadlines of the proposals it has created. */
  readonly commitDeadlines: Map<string, number>;
  /** Proposals it has reported decided. */
  readonly decided: Set<string>;
  executedSeen: number;
  /** The state machine last probed (a restart brings another). */
  stateMachine: unknown;
  /** Needles known when its state was last searched (new ones are searched for at once). */
  needlesProbed: number;
}

export class SealedObserver {
  readonly #operations = new Map<string, SealedOperationRecord[]>();
  readonly #sealedIds = new Set<string>();
  readonly #needles: Needle[] = [];
  readonly #needleKeys = new Set<string>();
  readonly #views = new Map<number, ReplicaView>();
  readonly #decisions: SealedDecisionRecord[] = [];
  readonly #leaks: SealedLeakRecord[] = [];
  readonly #leakKeys = new Set<string>();
  readonly #probes = { snapshots: 0, replies: 0 };
  readonly #crypto: CryptoBackend;
  readonly #agents: readonly KnownAgent[];
  readonly #decodeLimits: DecodeLimits;

  constructor(crypto: CryptoBackend, agents: readonly KnownAgent[], decodeLimits: DecodeLimits) {
    this.#crypto = crypto;
    this.#agents = agents;
    this.#decodeLimits = decodeLimits;
  }

  /** Whether a sealed proposal has been seen (proposed in a batch on the wire). */
  get active(): boolean {
    return this.#sealedIds.size > 0;
  }

  /** A batch seen on the wire for the first time. */
  observeBatch(digest: string, batch: Batch): void {
    const found: SealedOperationRecord[] = [];
    batch.requests.forEach((request, index) => {
      const decoded = decodeOperation(request.body.operation, DEFAULT_COORDINATION_LIMITS);
      if (!decoded.ok || !PROPOSAL_OPS.has(decoded.operation.op)) return;
      const { agent, requestId } = request.body;
      found.push({ index, agent, requestId, operation: request.body.operation });
      const op = decoded.operation;
      if ((op.op === 'propose' || op.op === 'propose_action') && op.sealed !== null)
        this.#sealedIds.add(op.proposalId);
      if (op.op === 'reveal' || op.op === 'vote') this.#addNeedles(op.ballotBytes);
    });
    if (found.length > 0) this.#operations.set(digest, found);
  }

  #addNeedles(ballotBytes: Uint8Array): void {
    const key = toHex(ballotBytes);
    if (this.#needleKeys.has(key)) return;
    this.#needleKeys.add(key);
    const decoded = decodeBallot(ballotBytes);
    if (!decoded.ok) return;
    const { proposalId, agent, reason } = decoded.ballot;
    this.#needles.push({ proposalId, agent, what: 'ballot', bytes: Buffer.from(ballotBytes) });
    const text = Buffer.from(reason, 'utf8');
    if (text.byteLength >= DISTINCTIVE_REASON_BYTES && !this.#needleKeys.has(`reason:${reason}`)) {
      this.#needleKeys.add(`reason:${reason}`);
      this.#needles.push({ proposalId, agent, what: 'reason', bytes: text });
    }
  }

  /** After one step of an honest replica (its own address, not a twin copy), effects carried out. */
  afterStep(node: HonestReplica, output: ReplicaOutput, tick: number): void {
    if (this.#sealedIds.size === 0) return;
    const view = this.#viewOf(node.id);
    const executedNow = node.executed.length !== view.executedSeen;
    view.executedSeen = node.executed.length;
    if (executedNow || view.commitDeadlines.size < this.#sealedIds.size) this.#learnDeadlines(node, view);
    // The state changes only by executing, a state transfer or a restart (a new state machine).
    const changed =
      executedNow || output.stateTransfers.length > 0 || view.stateMachine !== node.stateMachine;
    view.stateMachine = node.stateMachine;
    this.#probe(node, view, output, tick, changed);
    if (executedNow) this.#noteDecisions(node, view);
  }

  #viewOf(id: number): ReplicaView {
    let view = this.#views.get(id);
    if (view === undefined) {
      view = {
        commitDeadlines: new Map(),
        decided: new Set(),
        executedSeen: 0,
        stateMachine: undefined,
        needlesProbed: 0,
      };
      this.#views.set(id, view);
    }
    return view;
  }

  #learnDeadlines(node: HonestReplica, view: ReplicaView): void {
    for (const proposalId of this.#sealedIds) {
      if (view.commitDeadlines.has(proposalId)) continue;
      const result = query(node, ops.getProposal({ proposalId }));
      if (result.ok && result.kind === 'proposal' && result.proposal.sealed !== null)
        view.commitDeadlines.set(proposalId, result.proposal.sealed.commitDeadline);
    }
  }

  /** Searches the state and the replies of a replica for ballots whose commit phase is open there. */
  #probe(
    node: HonestReplica,
    view: ReplicaView,
    output: ReplicaOutput,
    tick: number,
    changed: boolean,
  ): void {
    const agreedTime = node.replica.status().agreedTime;
    const open = this.#needles.filter((needle) => {
      const commitDeadline = view.commitDeadlines.get(needle.proposalId);
      return commitDeadline === undefined || agreedTime < commitDeadline;
    });
    if (open.length === 0 || this.#leaks.length >= SEALED_LEAKS_MAX) return;
    if (changed || view.needlesProbed !== this.#needles.length) {
      view.needlesProbed = this.#needles.length;
      this.#probes.snapshots++;
      const snapshot = Buffer.from(node.stateMachine.snapshot());
      for (const needle of open)
        if (snapshot.indexOf(needle.bytes) !== -1) this.#leak(node.id, tick, agreedTime, needle, 'snapshot');
    }
    for (const out of output.send) {
      if (out.type !== MessageType.reply) continue;
      const decoded = decodeFrame(out.frame, this.#decodeLimits, this.#crypto.hash);
      if (!decoded.ok || decoded.value.body.type !== MessageType.reply) continue;
      this.#probes.replies++;
      const result = Buffer.from(decoded.value.body.result);
      for (const needle of open)
        if (result.indexOf(needle.bytes) !== -1) this.#leak(node.id, tick, agreedTime, needle, 'reply');
    }
  }

  #leak(
    replica: number,
    tick: number,
    agreedTime: number,
    needle: Needle,
    where: 'snapshot' | 'reply',
  ): void {
    // One record per replica, ballot and place: the first time is what matters.
    const key = `${replica}:${needle.proposalId}:${needle.agent}:${needle.what}:${where}:${needle.bytes.toString('hex').slice(0, 32)}`;
    if (this.#leakKeys.has(key) || this.#leaks.length >= SEALED_LEAKS_MAX) return;
    this.#leakKeys.add(key);
    const { proposalId, agent, what } = needle;
    this.#leaks.push({ replica, tick, agreedTime, proposalId, agent, what, where });
  }

  #noteDecisions(node: HonestReplica, view: ReplicaView): void {
    for (const proposalId of this.#sealedIds) {
      if (view.decided.has(proposalId)) continue;
      const result = query(node, ops.getProposal({ proposalId }));
      if (!result.ok || result.kind !== 'proposal') continue;
      const { proposal } = result;
      if (proposal.status === 'open' || proposal.sealed === null || proposal.decidedAt === null) continue;
      view.decided.add(proposalId);
      this.#decisions.push({
        replica: node.id,
        proposalId,
        status: proposal.status,
        decidedAt: proposal.decidedAt,
        commitDeadline: proposal.sealed.commitDeadline,
        deadline: proposal.deadline,
        tally: proposal.tally,
        evidence: this.#evidenceOn(node, proposalId),
      });
    }
  }

  #evidenceOn(node: HonestReplica, proposalId: string): SealedEvidenceRecord[] {
    const items: SealedEvidenceRecord[] = [];
    let after: number | null = null;
    for (let page = 0; page < EVIDENCE_PAGES_MAX; page++) {
      const result = query(node, ops.listEvidence({ after, limit: 100 }));
      if (!result.ok || result.kind !== 'evidence') break;
      for (const item of result.evidence as readonly Evidence[]) {
        if (item.proposalId !== proposalId) continue;
        const verified = verifyEvidence(item, this.#agents, this.#crypto).ok;
        items.push({ id: item.id, kind: item.kind, agent: item.agent, verified });
      }
      if (result.next === null) break;
      after = result.next;
    }
    return items;
  }

  record(outcomes?: readonly ExpectedOutcomeRecord[]): SealedRecord | undefined {
    if (this.#sealedIds.size === 0 && outcomes === undefined) return undefined;
    return {
      operations: this.#operations,
      decisions: this.#decisions,
      leaks: this.#leaks,
      probes: { ...this.#probes },
      ...(outcomes === undefined ? {} : { outcomes }),
    };
  }
}

function query(node: HonestReplica, operation: Uint8Array): CoordinationResult {
  const answer = node.stateMachine.query?.(operation);
  return answer === undefined ? { ok: false, code: 'INVALID', message: 'no query' } : decodeResult(answer);
}
