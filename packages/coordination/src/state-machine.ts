/**
 * The coordination state machine: what replicas execute for agents. What each operation does,
 * and the outcome rules, are in `packages/coordination/README.md`.
 *
 * Deterministic: state changes only in `apply`, `advanceTime` and `onEquivocation`, from their
 * arguments and the current state; no clocks, randomness or I/O; every iteration whose order
 * matters runs over sorted keys (never Map insertion order, which differs after `restore`);
 * integer arithmetic only. Bad input never throws: it is answered with an error result.
 */
import {
  type AgentIdentity,
  type BatchContext,
  bytesEqual,
  type CryptoBackend,
  type ExecutionContext,
  encodeCanonical,
  LIMITS,
  type RequestEquivocation,
  type StateMachine,
} from '@conclave/core';
import { decodeBallot } from './ballot.ts';
import { EventLog, type EventLogSnapshot } from './domains/events.ts';
import { type KvSnapshot, KvStore } from './domains/kv.ts';
import { type LockSnapshot, LockTable } from './domains/locks.ts';
import { type DomainContext, fail, sortedKeys } from './domains/shared.ts';
import { TaskBoard, type TaskSnapshot } from './domains/tasks.ts';
import { decodeRequestBody, type Evidence, type LogPosition, type SignedObject } from './evidence.ts';
import { type CoordinationLimits, resolveLimits } from './limits.ts';
import {
  decodeOperation,
  type Operation,
  operationTuple,
  READ_OPERATIONS,
  type ReadOperation,
  type ScoreChoice,
  type WriteOperation,
} from './operations.ts';
import { compareStrings, decodeRecord, encodeRecord, type RecordValue } from './record.ts';
import {
  type CoordinationResult,
  type EventBody,
  encodeResult,
  type ProposalSummary,
  type ProposalView,
} from './results.ts';
import { computeTally, decide, type ProposalRecord, type StoredBallot, sortVoters } from './tally.ts';

/** Options of `CoordinationStateMachine`. */
export interface CoordinationOptions {
  /** Verifies ballot and request signatures (Ed25519 verification is deterministic) and hashes snapshots. */
  readonly crypto: CryptoBackend;
  /** The agent registry at genesis: the cluster config's agents. */
  readonly agents: readonly AgentIdentity[];
  /** Overrides of `DEFAULT_COORDINATION_LIMITS`. Every replica must use the same limits. */
  readonly limits?: Partial<CoordinationLimits>;
}

const SNAPSHOT_FORMAT = 'conclave/coordination/v1';

/**
 * Encodes a result, replacing one larger than core's reply bound (which replicas could not
 * deliver) with a LIMIT error. Only reads can get that large: write results are small by design.
 */
function encodeBounded(result: CoordinationResult): Uint8Array {
  const bytes = encodeResult(result);
  if (bytes.byteLength <= LIMITS.resultBytesMax) return bytes;
  return encodeResult(
    fail(
      'LIMIT',
      `the result is ${bytes.byteLength} bytes, over ${LIMITS.resultBytesMax}; ask for a smaller page`,
    ),
  );
}

/**
 * The coordination state machine. Implements core's `StateMachine` port; give the same options
 * to every replica.
 */
export class CoordinationStateMachine implements StateMachine {
  readonly #crypto: CryptoBackend;
  readonly #limits: CoordinationLimits;
  #agents = new Map<string, Uint8Array>();
  #position: LogPosition = { sequence: 0, timestamp: 0 };
  #proposals = new Map<string, ProposalRecord>();
  #evidence: Evidence[] = [];
  #evidenceNextId = 1;
  #evidenceDropped = 0;
  readonly #events: EventLog;
  readonly #kv: KvStore;
  readonly #locks: LockTable;
  readonly #tasks: TaskBoard;

  /** Throws `CoordinationConfigError` on contradictory limits, and on duplicate agent ids. */
  constructor(options: CoordinationOptions) {
    this.#crypto = options.crypto;
    this.#limits = resolveLimits(options.limits);
    this.#events = new EventLog({ limits: this.#limits, position: () => this.#position });
    const context: DomainContext = {
      limits: this.#limits,
      position: () => this.#position,
      emit: (body) => this.#events.append(body),
    };
    this.#kv = new KvStore(context);
    this.#locks = new LockTable(context);
    this.#tasks = new TaskBoard(context);
    for (const agent of options.agents) {
      if (this.#agents.has(agent.id)) throw new Error(`agent ${agent.id} appears twice in the registry`);
      this.#agents.set(agent.id, agent.publicKey);
    }
  }

  /** The limits in force. */
  get limits(): CoordinationLimits {
    return this.#limits;
  }

  // -------------------------------------------------------------------------------------------
  // The StateMachine port.

  /** Executes one ordered operation from `context.agent`. Never throws on bad input. */
  apply(operation: Uint8Array, context: ExecutionContext): Uint8Array {
    this.#advance(context);
    if (!this.#agents.has(context.agent))
      return encodeResult(fail('FORBIDDEN', `agent ${context.agent} is not registered`));
    const decoded = decodeOperation(operation, this.#limits);
    if (!decoded.ok) return encodeResult(fail(decoded.code, decoded.message));
    return encodeBounded(this.#execute(decoded.operation, context.agent));
  }

  /** Answers a read-only operation from the current state; refuses writes with READ_ONLY. Never mutates. */
  query(operation: Uint8Array): Uint8Array {
    const decoded = decodeOperation(operation, this.#limits);
    if (!decoded.ok) return encodeResult(fail(decoded.code, decoded.message));
    if (!READ_OPERATIONS.has(decoded.operation.op))
      return encodeResult(fail('READ_ONLY', `${decoded.operation.op} changes state; send it as a request`));
    return encodeBounded(this.#read(decoded.operation as ReadOperation));
  }

  /** Agreed time moved: closes proposals at their deadline, ends expired leases and claims, prunes. */
  advanceTime(context: BatchContext): void {
    this.#advance(context);
  }

  /**
   * The replicas proved that an agent signed two requests with one requestId. Two votes on the
   * same proposal with different ballots become ballot evidence (and void the ballot while the
   * proposal is open); anything else becomes request evidence. Reports that do not check out
   * (bad signatures, mismatched bodies) are ignored.
   */
  onEquivocation(report: RequestEquivocation, context: BatchContext): void {
    this.#advance(context);
    const key = this.#agents.get(report.agent);
    if (key === undefined) return;
    const first = decodeRequestBody(report.first.bytes);
    const second = decodeRequestBody(report.second.bytes);
    if (first === undefined || second === undefined) return;
    for (const body of [first, second])
      if (body.agent !== report.agent || body.requestId !== report.requestId) return;
    if (bytesEqual(report.first.bytes, report.second.bytes)) return;
    if (!this.#crypto.verify(report.first.bytes, report.first.signature, key)) return;
    if (!this.#crypto.verify(report.second.bytes, report.second.signature, key)) return;

    const ballots = [first, second].map((body) => {
      const operation = decodeOperation(body.operation, this.#limits);
      if (!operation.ok || operation.operation.op !== 'vote') return undefined;
      const { ballotBytes, signature } = operation.operation;
      const ballot = decodeBallot(ballotBytes, this.#limits);
      if (!ballot.ok || ballot.ballot.agent !== report.agent) return undefined;
      if (!this.#crypto.verify(ballotBytes, signature, key)) return undefined;
      return { proposalId: ballot.ballot.proposalId, signed: { bytes: ballotBytes, signature } };
    });
    const [a, b] = ballots;
    if (
      a !== undefined &&
      b !== undefined &&
      a.proposalId === b.proposalId &&
      !bytesEqual(a.signed.bytes, b.signed.bytes)
    ) {
      this.#ballotEquivocation(a.proposalId, report.agent, a.signed, b.signed, 'replicas');
      return;
    }
    const duplicate = this.#evidence.some(
      (e) => e.kind === 'request' && e.agent === report.agent && e.requestId === report.requestId,
    );
    if (duplicate) return;
    this.#storeEvidence({
      kind: 'request',
      agent: report.agent,
      proposalId: null,
      requestId: report.requestId,
      first: { bytes: report.first.bytes, signature: report.first.signature },
      second: { bytes: report.second.bytes, signature: report.second.signature },
      source: 'replicas',
    });
  }

  /** The whole state, canonically encoded (sorted keys throughout). */
  snapshot(): Uint8Array {
    return encodeRecord(this.#snapshotRecord() as unknown as RecordValue);
  }

  /** Replaces the state with one taken by `snapshot()`. Throws on bytes that are not a snapshot. */
  restore(snapshot: Uint8Array): void {
    const record = decodeRecord(snapshot) as SnapshotRecord | undefined;
    if (
      record === undefined ||
      record === null ||
      typeof record !== 'object' ||
      record.format !== SNAPSHOT_FORMAT
    )
      throw new Error('CoordinationStateMachine.restore: not a coordination snapshot');
    this.#agents = new Map(record.agents.map((a) => [a.id, a.publicKey]));
    this.#position = { ...record.position };
    this.#events.restore(record);
    this.#proposals = new Map(
      record.proposals.map((p) => [
        p.proposalId,
        {
          proposalId: p.proposalId,
          proposer: p.proposer,
          title: p.title,
          rule: p.rule,
          voters: p.voters,
          deadline: p.deadline,
          candidates: p.candidates,
          createdAt: p.createdAt,
          ballots: new Map(
            p.ballots.map((b) => [
              b.agent,
              {
                ballotBytes: b.ballotBytes,
                signature: b.signature,
                choice: b.choice,
                confidencePermille: b.confidencePermille,
                castAt: b.castAt,
              },
            ]),
          ),
          excluded: new Map(p.excluded.map((e) => [e.agent, e.evidenceId])),
          status: p.status,
          decidedAt: p.decidedAt,
        },
      ]),
    );
    this.#evidence = [...record.evidence];
    this.#evidenceNextId = record.evidenceNextId;
    this.#evidenceDropped = record.evidenceDropped;
    this.#kv.restore(record);
    this.#locks.restore(record);
    this.#tasks.restore(record);
  }

  /** The digest of `snapshot()`. */
  digest(): Uint8Array {
    return this.#crypto.hash(this.snapshot());
  }

  // -------------------------------------------------------------------------------------------
  // Time.

  #advance(context: BatchContext): void {
    if (context.sequence !== this.#position.sequence) this.#events.startSequence();
    // Agreed time never decreases; a lower reading (a bug upstream) is clamped, not trusted.
    const timestamp = Math.max(context.timestamp, this.#position.timestamp);
    const moved = timestamp > this.#position.timestamp;
    this.#position = { sequence: context.sequence, timestamp };
    // Nothing created at time t is ever due at t (deadlines, leases and retention are ≥ 1 tick
    // ahead), so timers need to run only when time moves.
    if (moved) this.#runTimers();
  }

  #runTimers(): void {
    const now = this.#position.timestamp;
    const dueProposals = [...this.#proposals.values()]
      .filter((p) => p.status === 'open' && p.deadline <= now)
      .sort((a, b) => a.deadline - b.deadline || compareStrings(a.proposalId, b.proposalId));
    for (const proposal of dueProposals) this.#evaluate(proposal, true);

    this.#locks.expire(now);
    this.#tasks.expireClaims(now);
    const retention = this.#limits.retentionTicks;
    for (const proposalId of sortedKeys(this.#proposals)) {
      const proposal = this.#proposals.get(proposalId) as ProposalRecord;
      if (proposal.decidedAt === null || proposal.decidedAt.timestamp + retention > now) continue;
      this.#proposals.delete(proposalId);
      this.#emit({ kind: 'proposal_pruned', proposalId });
    }
    this.#tasks.prune(now);
  }

  #emit(body: EventBody): void {
    this.#events.append(body);
  }

  // -------------------------------------------------------------------------------------------
  // Dispatch.

  #execute(operation: Operation, agent: string): CoordinationResult {
    switch (operation.op) {
      case 'propose':
        return this.#propose(operation, agent);
      case 'vote':
        return this.#vote(operation, agent);
      case 'kv_put':
      case 'kv_cas':
      case 'kv_delete':
        return this.#kv.write(operation, agent);
      case 'lock_acquire':
      case 'lock_renew':
      case 'lock_release':
        return this.#locks.write(operation, agent);
      case 'task_create':
      case 'task_claim':
      case 'task_complete':
      case 'task_release':
        return this.#tasks.write(operation, agent);
      default:
        return this.#read(operation);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Proposals and ballots.

  #propose(op: Extract<WriteOperation, { op: 'propose' }>, agent: string): CoordinationResult {
    const limits = this.#limits;
    const now = this.#position.timestamp;
    const seen = new Set<string>();
    for (const voter of op.voters) {
      if (!this.#agents.has(voter.agent))
        return fail('INVALID', `voter ${voter.agent} is not a registered agent`);
      if (seen.has(voter.agent)) return fail('INVALID', `voter ${voter.agent} appears twice`);
      seen.add(voter.agent);
    }
    const totalWeight = op.voters.reduce((sum, v) => sum + v.weight, 0);
    const candidates = [...op.candidates].sort(compareStrings);
    if (new Set(candidates).size !== candidates.length) return fail('INVALID', 'candidates must be distinct');
    switch (op.rule.kind) {
      case 'threshold':
        if (op.rule.k > op.voters.length)
          return fail('INVALID', `k (${op.rule.k}) exceeds the number of voters (${op.voters.length})`);
        break;
      case 'weighted':
        if (op.rule.approveWeight > totalWeight)
          return fail(
            'INVALID',
            `approveWeight (${op.rule.approveWeight}) exceeds the total weight (${totalWeight})`,
          );
        break;
      case 'score':
        if (candidates.length < 2) return fail('INVALID', 'a score proposal needs at least 2 candidates');
        if (op.rule.minBallots > op.voters.length)
          return fail(
            'INVALID',
            `minBallots (${op.rule.minBallots}) exceeds the number of voters (${op.voters.length})`,
          );
        break;
    }
    if (op.rule.kind !== 'score' && candidates.length > 0)
      return fail('INVALID', 'only score proposals have candidates');
    if (op.deadline <= now)
      return fail('EXPIRED', `deadline ${op.deadline} is not after the agreed time ${now}`);
    if (op.deadline - now > limits.deadlineTicksMax)
      return fail('INVALID', `deadline is more than ${limits.deadlineTicksMax} ticks ahead`);

    const voters = sortVoters(op.voters);
    const existing = this.#proposals.get(op.proposalId);
    if (existing !== undefined) {
      const same =
        existing.proposer === agent &&
        bytesEqual(
          encodeCanonical(operationTuple({ ...op, voters, candidates })),
          encodeCanonical(operationTuple({ op: 'propose', ...existing })),
        );
      if (same)
        return { ok: true, kind: 'proposal', at: this.#position, proposal: this.#proposalView(existing) };
      return fail('CONFLICT', `proposal ${op.proposalId} exists`);
    }
    if (this.#proposals.size >= limits.proposalsMax)
      return fail('LIMIT', `${limits.proposalsMax} proposals are kept at most (proposalsMax)`);
    let open = 0;
    for (const p of this.#proposals.values()) if (p.proposer === agent && p.status === 'open') open += 1;
    if (open >= limits.openProposalsPerAgentMax)
      return fail('LIMIT', `${agent} has ${open} open proposals (openProposalsPerAgentMax)`);

    const proposal: ProposalRecord = {
      proposalId: op.proposalId,
      proposer: agent,
      title: op.title,
      rule: op.rule,
      voters,
      deadline: op.deadline,
      candidates,
      createdAt: this.#position,
      ballots: new Map(),
      excluded: new Map(),
      status: 'open',
      decidedAt: null,
    };
    this.#proposals.set(op.proposalId, proposal);
    this.#emit({
      kind: 'proposal_created',
      proposalId: op.proposalId,
      proposer: agent,
      deadline: op.deadline,
    });
    this.#evaluate(proposal, false);
    return { ok: true, kind: 'proposal', at: this.#position, proposal: this.#proposalView(proposal) };
  }

  #vote(op: Extract<WriteOperation, { op: 'vote' }>, agent: string): CoordinationResult {
    const decoded = decodeBallot(op.ballotBytes, this.#limits);
    if (!decoded.ok) return fail('INVALID', `ballot: ${decoded.message}`);
    const ballot = decoded.ballot;
    if (ballot.agent !== agent)
      return fail('FORGED_BALLOT', `the ballot is ${ballot.agent}'s but the request is signed by ${agent}`);
    const key = this.#agents.get(agent) as Uint8Array;
    if (!this.#crypto.verify(op.ballotBytes, op.signature, key))
      return fail('FORGED_BALLOT', `the ballot signature does not verify against ${agent}'s key`);
    const proposal = this.#proposals.get(ballot.proposalId);
    if (proposal === undefined) return fail('NOT_FOUND', `no proposal ${ballot.proposalId}`);
    if (!proposal.voters.some((v) => v.agent === agent))
      return fail('FORBIDDEN', `${agent} is not a voter of ${ballot.proposalId}`);

    const previous = proposal.ballots.get(agent);
    if (previous !== undefined) {
      if (!bytesEqual(previous.ballotBytes, op.ballotBytes)) {
        this.#ballotEquivocation(
          proposal.proposalId,
          agent,
          { bytes: previous.ballotBytes, signature: previous.signature },
          { bytes: op.ballotBytes, signature: op.signature },
          'vote',
        );
        return fail(
          'EQUIVOCATION',
          `${agent} signed a different ballot for ${proposal.proposalId}; neither counts`,
        );
      }
      if (proposal.excluded.has(agent))
        return fail(
          'EQUIVOCATION',
          `${agent} equivocated on ${proposal.proposalId}; its ballot does not count`,
        );
      return {
        ok: true,
        kind: 'vote',
        at: this.#position,
        duplicate: true,
        proposal: this.#proposalSummary(proposal),
      };
    }
    if (proposal.excluded.has(agent))
      return fail('EQUIVOCATION', `${agent} equivocated on ${proposal.proposalId}; it may not vote on it`);
    if (this.#position.timestamp >= proposal.deadline)
      return fail('EXPIRED', `voting on ${proposal.proposalId} closed at ${proposal.deadline}`);
    if (proposal.status !== 'open')
      return fail('CLOSED', `${proposal.proposalId} is already ${proposal.status}`);

    const invalid = this.#checkChoice(proposal, ballot.choice);
    if (invalid !== undefined) return fail('INVALID', invalid);
    const stored: StoredBallot = {
      ballotBytes: op.ballotBytes,
      signature: op.signature,
      choice: ballot.choice,
      confidencePermille: ballot.confidencePermille,
      castAt: this.#position,
    };
    proposal.ballots.set(agent, stored);
    this.#emit({ kind: 'ballot_cast', proposalId: proposal.proposalId, agent });
    this.#evaluate(proposal, false);
    return {
      ok: true,
      kind: 'vote',
      at: this.#position,
      duplicate: false,
      proposal: this.#proposalSummary(proposal),
    };
  }

  #checkChoice(proposal: ProposalRecord, choice: StoredBallot['choice']): string | undefined {
    if (proposal.rule.kind !== 'score')
      return typeof choice === 'string' ? undefined : 'this proposal takes approve, reject or abstain';
    if (typeof choice === 'string') return 'this proposal takes a score for every candidate';
    const scored = (choice as ScoreChoice).map(([candidate]) => candidate).sort(compareStrings);
    if (scored.length !== proposal.candidates.length || scored.some((c, i) => c !== proposal.candidates[i]))
      return `a ballot must score exactly the candidates ${proposal.candidates.join(', ')}`;
    return undefined;
  }

  /** Decides the proposal if its tally now implies an outcome. */
  #evaluate(proposal: ProposalRecord, atDeadline: boolean): void {
    if (proposal.status !== 'open') return;
    const tally = computeTally(proposal);
    const status = decide(proposal.rule, tally, atDeadline);
    if (status === 'open') return;
    proposal.status = status;
    proposal.decidedAt = this.#position;
    this.#emit({
      kind: 'proposal_decided',
      proposalId: proposal.proposalId,
      outcome: status,
      winner: status === 'approved' ? tally.winner : null,
    });
  }

  /** Records two different signed ballots of one agent for one proposal, and voids its ballot while the proposal is open. */
  #ballotEquivocation(
    proposalId: string,
    agent: string,
    first: SignedObject,
    second: SignedObject,
    source: 'vote' | 'replicas',
  ): void {
    let evidenceId: number | null = null;
    const known = this.#evidence.find(
      (e) => e.kind === 'ballot' && e.agent === agent && e.proposalId === proposalId,
    );
    if (known !== undefined) evidenceId = known.id;
    else
      evidenceId = this.#storeEvidence({
        kind: 'ballot',
        agent,
        proposalId,
        requestId: null,
        first,
        second,
        source,
      });
    const proposal = this.#proposals.get(proposalId);
    if (
      proposal === undefined ||
      proposal.status !== 'open' ||
      proposal.excluded.has(agent) ||
      !proposal.voters.some((v) => v.agent === agent)
    )
      return;
    proposal.excluded.set(agent, evidenceId);
    this.#emit({ kind: 'ballot_voided', proposalId, agent, evidenceId });
    this.#evaluate(proposal, false);
  }

  /** Keeps evidence within its bounds; returns its id, or null (counted and announced) when it could not be kept. */
  #storeEvidence(item: DistributiveOmit<Evidence, 'id' | 'recordedAt'>): number | null {
    const limits = this.#limits;
    const aboutAgent = this.#evidence.filter((e) => e.agent === item.agent).length;
    if (this.#evidence.length >= limits.evidenceMax || aboutAgent >= limits.evidencePerAgentMax) {
      this.#evidenceDropped += 1;
      this.#emit({ kind: 'evidence_dropped', agent: item.agent, evidenceKind: item.kind });
      return null;
    }
    const id = this.#evidenceNextId;
    this.#evidenceNextId += 1;
    this.#evidence.push({ ...item, id, recordedAt: this.#position } as Evidence);
    this.#emit({
      kind: 'evidence_recorded',
      evidenceId: id,
      agent: item.agent,
      evidenceKind: item.kind,
      proposalId: item.proposalId,
    });
    return id;
  }

  // -------------------------------------------------------------------------------------------
  // Reads: never mutate.

  #read(op: ReadOperation): CoordinationResult {
    const at = this.#position;
    switch (op.op) {
      case 'get_proposal': {
        const proposal = this.#proposals.get(op.proposalId);
        if (proposal === undefined) return fail('NOT_FOUND', `no proposal ${op.proposalId}`);
        return { ok: true, kind: 'proposal', at, proposal: this.#proposalView(proposal) };
      }
      case 'list_proposals': {
        const ids = sortedKeys(this.#proposals).filter((id) => {
          const status = (this.#proposals.get(id) as ProposalRecord).status;
          return op.status === 'all' || (op.status === 'open') === (status === 'open');
        });
        const { page, next } = pageOf(ids, op.after, op.limit);
        return {
          ok: true,
          kind: 'proposals',
          at,
          proposals: page.map((id) => this.#proposalSummary(this.#proposals.get(id) as ProposalRecord)),
          next,
        };
      }
      case 'get_ballot': {
        const proposal = this.#proposals.get(op.proposalId);
        const ballot = proposal?.ballots.get(op.agent);
        if (proposal === undefined || ballot === undefined)
          return fail('NOT_FOUND', `no ballot of ${op.agent} on ${op.proposalId}`);
        return {
          ok: true,
          kind: 'ballot',
          at,
          proposalId: op.proposalId,
          agent: op.agent,
          ballotBytes: ballot.ballotBytes,
          signature: ballot.signature,
          counted: !proposal.excluded.has(op.agent),
        };
      }
      case 'list_evidence': {
        const matching = this.#evidence.filter(
          (e) =>
            (op.agent === null || e.agent === op.agent) &&
            (op.proposalId === null || e.proposalId === op.proposalId) &&
            (op.after === null || e.id > op.after),
        );
        const page = matching.slice(0, op.limit);
        const next = matching.length > op.limit ? (page[page.length - 1] as Evidence).id : null;
        return { ok: true, kind: 'evidence', at, evidence: page, next };
      }
      case 'kv_get':
        return this.#kv.read(op);
      case 'get_lock':
        return this.#locks.read(op);
      case 'get_task':
      case 'list_tasks':
        return this.#tasks.read(op);
      case 'events':
        return this.#events.read(op);
      case 'list_agents': {
        const { page, next } = pageOf(sortedKeys(this.#agents), op.after, op.limit);
        return {
          ok: true,
          kind: 'agents',
          at,
          agents: page.map((id) => ({ id, publicKey: this.#agents.get(id) as Uint8Array })),
          next,
        };
      }
    }
  }

  #proposalView(proposal: ProposalRecord): ProposalView {
    return {
      proposalId: proposal.proposalId,
      proposer: proposal.proposer,
      title: proposal.title,
      rule: proposal.rule,
      voters: proposal.voters,
      deadline: proposal.deadline,
      candidates: proposal.candidates,
      createdAt: proposal.createdAt,
      status: proposal.status,
      decidedAt: proposal.decidedAt,
      tally: computeTally(proposal),
    };
  }

  #proposalSummary(proposal: ProposalRecord): ProposalSummary {
    return {
      proposalId: proposal.proposalId,
      proposer: proposal.proposer,
      title: proposal.title,
      status: proposal.status,
      deadline: proposal.deadline,
      decidedAt: proposal.decidedAt,
      winner: proposal.status === 'approved' ? computeTally(proposal).winner : null,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Snapshot.

  #snapshotRecord(): SnapshotRecord {
    return {
      format: SNAPSHOT_FORMAT,
      position: this.#position,
      agents: sortedKeys(this.#agents).map((id) => ({ id, publicKey: this.#agents.get(id) as Uint8Array })),
      proposals: sortedKeys(this.#proposals).map((id) => {
        const p = this.#proposals.get(id) as ProposalRecord;
        return {
          proposalId: p.proposalId,
          proposer: p.proposer,
          title: p.title,
          rule: p.rule,
          voters: p.voters,
          deadline: p.deadline,
          candidates: p.candidates,
          createdAt: p.createdAt,
          status: p.status,
          decidedAt: p.decidedAt,
          ballots: sortedKeys(p.ballots).map((agent) => ({
            agent,
            ...(p.ballots.get(agent) as StoredBallot),
          })),
          excluded: sortedKeys(p.excluded).map((agent) => ({
            agent,
            evidenceId: p.excluded.get(agent) ?? null,
          })),
        };
      }),
      evidence: this.#evidence,
      evidenceNextId: this.#evidenceNextId,
      evidenceDropped: this.#evidenceDropped,
      ...this.#kv.snapshot(),
      ...this.#locks.snapshot(),
      ...this.#tasks.snapshot(),
      ...this.#events.snapshot(),
    };
  }
}

/** Factory: `coordinationStateMachine({ crypto, agents: cluster.agents })`. */
export function coordinationStateMachine(options: CoordinationOptions): CoordinationStateMachine {
  return new CoordinationStateMachine(options);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface SnapshotRecord extends EventLogSnapshot, KvSnapshot, LockSnapshot, TaskSnapshot {
  readonly format: string;
  readonly position: LogPosition;
  readonly agents: readonly { readonly id: string; readonly publicKey: Uint8Array }[];
  readonly proposals: readonly (Omit<ProposalRecord, 'ballots' | 'excluded'> & {
    readonly ballots: readonly (StoredBallot & { readonly agent: string })[];
    readonly excluded: readonly { readonly agent: string; readonly evidenceId: number | null }[];
  })[];
  readonly evidence: readonly Evidence[];
  readonly evidenceNextId: number;
  readonly evidenceDropped: number;
}

/** A page of sorted ids strictly after `after`, and the cursor for the next page (null at the end). */
function pageOf(
  ids: readonly string[],
  after: string | null,
  limit: number,
): { page: string[]; next: string | null } {
  const rest = after === null ? ids : ids.filter((id) => compareStrings(id, after) > 0);
  const page = rest.slice(0, limit);
  return { page, next: rest.length > limit ? (page[page.length - 1] as string) : null };
}
