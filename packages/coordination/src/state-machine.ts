/**
 * The coordination state machine: what replicas execute for agents. What each operation does,
 * and the outcome rules, are in `packages/coordination/README.md`.
 *
 * This file is the dispatcher. It owns the log position (sequence and agreed time), runs the
 * timers when time moves, and routes each operation to the domain module that owns the state it
 * touches (`domains/`: proposals, evidence, kv, locks, tasks, the event log, the agent
 * registry). The snapshot is the union of the domains' parts.
 *
 * Deterministic: state changes only in `apply`, `advanceTime` and `onEquivocation`, from their
 * arguments and the current state; no clocks, randomness or I/O; every iteration whose order
 * matters runs over sorted keys (never Map insertion order, which differs after `restore`);
 * integer arithmetic only. Bad input never throws: it is answered with an error result. A broken
 * invariant of the state itself is a bug: it throws `InvariantError`.
 */
import {
  type AgentKeys,
  type BatchContext,
  bytesEqual,
  type CryptoBackend,
  type ExecutionContext,
  LIMITS,
  type RequestEquivocation,
  type StateMachine,
} from '@conclave/core';
import { quotaIn } from './agent-quotas.ts';
import { decodeBallot } from './ballot.ts';
import { type ActionScope, checkAction } from './domains/actions.ts';
import { AgentRegistry, type AgentsSnapshot, type GenesisAgent } from './domains/agents.ts';
import {
  Council,
  type CouncilSnapshot,
  type CouncilState,
  checkCouncil,
  defaultCouncil,
} from './domains/council.ts';
import { EventLog, type EventLogSnapshot } from './domains/events.ts';
import { type EvidenceSnapshot, EvidenceStore } from './domains/evidence-store.ts';
import { type KvSnapshot, KvStore } from './domains/kv.ts';
import { type LockSnapshot, LockTable } from './domains/locks.ts';
import { ProposalBook, type ProposalsSnapshot } from './domains/proposals.ts';
import { reservedRefusal } from './domains/reserved-names.ts';
import { RegistryChanges } from './domains/self-service.ts';
import { type DomainContext, fail, present } from './domains/shared.ts';
import { TaskBoard, type TaskSnapshot } from './domains/tasks.ts';
import { listUsage } from './domains/usage.ts';
import { decodeRequestBody, type LogPosition, type SignedObject } from './evidence.ts';
import { CoordinationConfigError, type CoordinationLimits, resolveLimits } from './limits.ts';
import { decodeOperation, isReadOperation, type Operation, type ReadOperation } from './operations.ts';
import { decodeRecord, encodeRecord, type RecordValue } from './record.ts';
import { type CoordinationResult, type ErrorCode, type ErrorResult, encodeResult } from './results.ts';

/** Options of `CoordinationStateMachine`. */
export interface CoordinationOptions {
  /** Verifies ballot and request signatures (Ed25519 verification is deterministic) and hashes snapshots. */
  readonly crypto: CryptoBackend;
  /** The agent registry at genesis: the cluster config's agents, each with a voting weight (default 1). */
  readonly agents: readonly GenesisAgent[];
  /**
   * The council at genesis: who may propose and vote governance actions, and the approving
   * weight an action needs. Default: every genesis agent, threshold floor(n/2)+1.
   */
  readonly council?: CouncilState;
  /**
   * Keys no agent may hold: the replicas' (`KEY_IN_USE`). A replica's key registered as an agent's
   * would make one identity two peers; the transport refuses such a directory outright.
   */
  readonly reservedKeys?: readonly Uint8Array[];
  /**
   * Overrides of `DEFAULT_COORDINATION_LIMITS` (the cluster file's `coordination`). Every replica
   * must use the same limits. Checked against the registry's size: see `resolveLimits`.
   */
  readonly limits?: Partial<CoordinationLimits>;
  /**
   * Told of every ordered operation refused, with its agent and code: for metrics (the daemon's
   * `conclave_operations_refused_total`). Not part of the replicated state; must not throw.
   */
  readonly onRefused?: (agent: string, code: ErrorCode) => void;
}

// v2: agent records with key history, weights and quotas; the council; keys on ballots and evidence.
// v3: sealed proposals (terms, commitments, unrevealed voters), exclusion reasons, salts on ballots.
const SNAPSHOT_FORMAT = 'conclave/coordination/v3';

/** The whole state as `snapshot()` encodes it: the format tag, the position, and every domain's part. */
interface SnapshotRecord
  extends AgentsSnapshot,
    CouncilSnapshot,
    EventLogSnapshot,
    ProposalsSnapshot,
    EvidenceSnapshot,
    KvSnapshot,
    LockSnapshot,
    TaskSnapshot {
  readonly format: string;
  readonly position: LogPosition;
}

/**
 * Encodes a result, replacing one larger than core's reply bound (which replicas could not
 * deliver) with a LIMIT error. Only reads can get that large: write results are small by design.
 */
function encodeBounded(result: CoordinationResult, onLimit?: () => void): Uint8Array {
  const bytes = encodeResult(result);
  if (bytes.byteLength <= LIMITS.resultBytesMax) return bytes;
  onLimit?.();
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
  readonly #onRefused: ((agent: string, code: ErrorCode) => void) | undefined;
  #position: LogPosition = { sequence: 0, timestamp: 0 };
  readonly #agents: AgentRegistry;
  readonly #council: Council;
  /**
   * Ids with a record, removed ones too: whose `<agentId>/` names are reserved. A removed agent's
   * names stay reserved, so no one takes them over while its record (and maybe its data) remains.
   */
  readonly #recorded = { has: (agent: string) => this.#agents.recordOf(agent) !== undefined };
  readonly #changes: RegistryChanges;
  readonly #events: EventLog;
  readonly #evidence: EvidenceStore;
  readonly #proposals: ProposalBook;
  readonly #kv: KvStore;
  readonly #locks: LockTable;
  readonly #tasks: TaskBoard;
  readonly #usageContext: Pick<DomainContext, 'position' | 'quotaOf'>;

  /**
   * Throws `CoordinationConfigError` on contradictory limits or an invalid council, and a plain
   * `Error` on duplicate agent ids or a bad weight.
   */
  constructor(options: CoordinationOptions) {
    this.#crypto = options.crypto;
    this.#onRefused = options.onRefused;
    this.#limits = resolveLimits(options.limits, options.agents.length);
    const position = () => this.#position;
    const quotaOf: DomainContext['quotaOf'] = (agent, name) =>
      quotaIn(this.#agents.quotasOf(agent), this.#limits, name);
    this.#events = new EventLog({ limits: this.#limits, position, quotaOf });
    const context: DomainContext = {
      limits: this.#limits,
      position,
      emit: (body, producer) => this.#events.append(body, producer),
      quotaOf,
    };
    this.#agents = new AgentRegistry(context, options.agents);
    this.#council = new Council(context, this.#genesisCouncil(options));
    const scope: ActionScope = {
      agents: this.#agents,
      council: this.#council,
      crypto: this.#crypto,
      limits: this.#limits,
      reservedKeys: options.reservedKeys ?? [],
    };
    this.#changes = new RegistryChanges(context, scope);
    this.#evidence = new EvidenceStore(context);
    this.#proposals = new ProposalBook(context, this.#agents, this.#evidence, this.#crypto, {
      council: () => this.#council.state,
      check: (action) => checkAction(action, scope),
      execute: (action, proposalId, proposer) => this.#changes.execute(action, proposalId, proposer),
    });
    this.#kv = new KvStore(context, this.#recorded);
    this.#locks = new LockTable(context);
    this.#tasks = new TaskBoard(context);
    this.#usageContext = context;
  }

  /** The limits in force. */
  get limits(): CoordinationLimits {
    return this.#limits;
  }

  /** The council given, checked against the genesis agents; or the default. */
  #genesisCouncil(options: CoordinationOptions): CouncilState {
    if (options.council === undefined)
      return defaultCouncil(options.agents.filter((a) => a.observer !== true).map((a) => a.id));
    const refused = checkCouncil(options.council, this.#agents, this.#limits.votersMax);
    if (refused !== undefined) throw new CoordinationConfigError(`council: ${refused}`);
    return options.council;
  }

  // -------------------------------------------------------------------------------------------
  // The StateMachine port.

  /** Executes one ordered operation from `context.agent`. Never throws on bad input. */
  apply(operation: Uint8Array, context: ExecutionContext): Uint8Array {
    this.#advance(context);
    const result = this.#applyDecoded(operation, context);
    const refused = (code: ErrorCode) => this.#onRefused?.(context.agent, code);
    if (!result.ok) refused(result.code);
    return encodeBounded(result, () => refused('LIMIT'));
  }

  #applyDecoded(operation: Uint8Array, context: ExecutionContext): CoordinationResult {
    // Registry changes take effect from the next sequence, as core's key check does.
    if (this.#agents.keyAt(context.agent, context.sequence) === undefined)
      return fail('FORBIDDEN', `agent ${context.agent} is not registered`);
    const decoded = decodeOperation(operation, this.#limits);
    if (!decoded.ok) return fail(decoded.code, decoded.message);
    if (!isReadOperation(decoded.operation)) {
      const refused =
        this.#observerRefusal(decoded.operation, context.agent) ?? this.#events.checkRate(context.agent);
      if (refused !== undefined) return refused;
    }
    return this.#execute(decoded.operation, context.agent);
  }

  /**
   * An observer may read and look after its own key (rotate it, revoke it), nothing else: the
   * key a dashboard or auditor holds can then never write, propose or vote.
   */
  #observerRefusal(operation: Operation, agent: string): ErrorResult | undefined {
    if (!this.#agents.isObserver(agent)) return undefined;
    if (operation.op === 'rotate_key' || operation.op === 'revoke_self') return undefined;
    return fail('READ_ONLY', `${agent} is an observer: it may read, not ${operation.op}`);
  }

  /** Answers a read-only operation from the current state; refuses writes with READ_ONLY. Never mutates. */
  query(operation: Uint8Array): Uint8Array {
    const decoded = decodeOperation(operation, this.#limits);
    if (!decoded.ok) return encodeResult(fail(decoded.code, decoded.message));
    if (!isReadOperation(decoded.operation))
      return encodeResult(fail('READ_ONLY', `${decoded.operation.op} changes state; send it as a request`));
    return encodeBounded(this.#read(decoded.operation));
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
    const checked = this.#checkReport(report);
    if (checked === undefined) return;
    const [a, b] = checked.operations.map((operation, i) =>
      this.#signedBallotIn(operation, report.agent, present(checked.keys[i], 'a key per operation')),
    );
    if (
      a !== undefined &&
      b !== undefined &&
      a.proposalId === b.proposalId &&
      !bytesEqual(a.signed.bytes, b.signed.bytes)
    ) {
      this.#proposals.recordBallotEquivocation(
        a.proposalId,
        report.agent,
        a.signed,
        b.signed,
        'replicas',
        checked.keys,
      );
      return;
    }
    this.#evidence.recordRequest(report.agent, report.requestId, report.first, report.second, checked.keys);
  }

  /**
   * The registered agents' current keys, for core's request check. A change made while sequence
   * `s` executes shows here once that batch is done, so it applies from `s + 1`.
   */
  agentKeys(): AgentKeys {
    return this.#agents.agentKeys();
  }

  /** The whole state, canonically encoded (sorted keys throughout). */
  snapshot(): Uint8Array {
    const record: SnapshotRecord = {
      format: SNAPSHOT_FORMAT,
      position: this.#position,
      ...this.#agents.snapshot(),
      ...this.#council.snapshot(),
      ...this.#events.snapshot(),
      ...this.#proposals.snapshot(),
      ...this.#evidence.snapshot(),
      ...this.#kv.snapshot(),
      ...this.#locks.snapshot(),
      ...this.#tasks.snapshot(),
    };
    // Interfaces have no index signature, so TypeScript cannot see that the record is a
    // RecordValue; encodeRecord checks every field as it encodes (and throws on a bad one).
    return encodeRecord(record as unknown as RecordValue);
  }

  /** Replaces the state with one taken by `snapshot()`. Throws on bytes that are not a snapshot. */
  restore(snapshot: Uint8Array): void {
    // Core restores only certified snapshots, which this code wrote and whose digest core checks
    // right after; the format tag is the one check made here.
    const record = decodeRecord(snapshot) as SnapshotRecord | undefined;
    if (
      record === undefined ||
      record === null ||
      typeof record !== 'object' ||
      record.format !== SNAPSHOT_FORMAT
    )
      throw new Error('CoordinationStateMachine.restore: not a coordination snapshot');
    this.#agents.restore(record);
    this.#council.restore(record);
    this.#position = { ...record.position };
    this.#events.restore(record);
    this.#proposals.restore(record);
    this.#evidence.restore(record);
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

  /** Every domain's timers. Their order fixes the order of the events they emit, so it is part of the replicated behaviour. */
  #runTimers(): void {
    const now = this.#position.timestamp;
    this.#proposals.closeDue(now);
    this.#locks.expire(now);
    this.#tasks.expireClaims(now);
    this.#proposals.prune(now);
    this.#tasks.prune(now);
  }

  // -------------------------------------------------------------------------------------------
  // Dispatch.

  #execute(operation: Operation, agent: string): CoordinationResult {
    const reserved = this.#reservedRefusal(operation, agent);
    if (reserved !== undefined) return reserved;
    switch (operation.op) {
      case 'propose':
        return this.#proposals.propose(operation, agent);
      case 'propose_action':
        return this.#proposals.proposeAction(operation, agent);
      case 'rotate_key':
        return this.#changes.rotateKey(agent, operation.joinStatement);
      case 'revoke_self':
        return this.#changes.revokeSelf(agent);
      case 'vote':
        return this.#proposals.vote(operation, agent);
      case 'commit':
        return this.#proposals.commit(operation, agent);
      case 'reveal':
        return this.#proposals.reveal(operation, agent);
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

  /**
   * A lock, task or proposal named under another agent's `<agentId>/` is not created (kv keys
   * are checked by the store, which also knows whether the key exists).
   */
  #reservedRefusal(operation: Operation, agent: string): ErrorResult | undefined {
    switch (operation.op) {
      case 'lock_acquire':
        return reservedRefusal('lock', operation.name, agent, this.#recorded);
      case 'task_create':
        return reservedRefusal('task', operation.taskId, agent, this.#recorded);
      case 'propose':
      case 'propose_action':
        return reservedRefusal('proposal', operation.proposalId, agent, this.#recorded);
      default:
        return undefined;
    }
  }

  /** Reads never mutate. */
  #read(op: ReadOperation): CoordinationResult {
    switch (op.op) {
      case 'get_proposal':
      case 'list_proposals':
      case 'get_ballot':
      case 'get_commitment':
        return this.#proposals.read(op);
      case 'list_evidence':
        return this.#evidence.list(op);
      case 'kv_get':
        return this.#kv.read(op);
      case 'get_lock':
        return this.#locks.read(op);
      case 'get_task':
      case 'list_tasks':
        return this.#tasks.read(op);
      case 'events':
        return this.#events.read(op);
      case 'list_agents':
        return this.#agents.list(op, (agent) => this.#council.has(agent));
      case 'get_council':
        return this.#council.read(op);
      case 'list_usage': {
        const holders = [this.#kv, this.#locks, this.#tasks, this.#proposals, this.#events];
        return listUsage(op, this.#agents.recordIds(), holders, this.#usageContext);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Equivocation reports.

  /**
   * The keys that verify the two signed operations, and the operations, if the report checks
   * out: two different request bodies, both the agent's own with the reported requestId, each
   * signed with one of the agent's keys (current or past: the first request may predate a rotation).
   */
  #checkReport(
    report: RequestEquivocation,
  ): { readonly keys: readonly Uint8Array[]; readonly operations: readonly Uint8Array[] } | undefined {
    const first = decodeRequestBody(report.first.bytes);
    const second = decodeRequestBody(report.second.bytes);
    if (first === undefined || second === undefined) return undefined;
    for (const body of [first, second])
      if (body.agent !== report.agent || body.requestId !== report.requestId) return undefined;
    if (bytesEqual(report.first.bytes, report.second.bytes)) return undefined;
    const firstKey = this.#keyThatSigned(report.agent, report.first);
    const secondKey = this.#keyThatSigned(report.agent, report.second);
    if (firstKey === undefined || secondKey === undefined) return undefined;
    return { keys: [firstKey, secondKey], operations: [first.operation, second.operation] };
  }

  /** The agent's retained key (newest first) whose signature `signed` carries; undefined if none. */
  #keyThatSigned(agent: string, signed: SignedObject): Uint8Array | undefined {
    const keys = [...this.#agents.keysOf(agent)].reverse();
    return keys.find((key) => this.#crypto.verify(signed.bytes, signed.signature, key));
  }

  /** The ballot a request's operation casts, if it is a vote carrying a valid ballot `agent` signed with `key`. */
  #signedBallotIn(
    operation: Uint8Array,
    agent: string,
    key: Uint8Array,
  ): { readonly proposalId: string; readonly signed: SignedObject } | undefined {
    const decoded = decodeOperation(operation, this.#limits);
    if (!decoded.ok || decoded.operation.op !== 'vote') return undefined;
    const { ballotBytes, signature } = decoded.operation;
    const ballot = decodeBallot(ballotBytes, this.#limits);
    if (!ballot.ok || ballot.ballot.agent !== agent) return undefined;
    if (!this.#crypto.verify(ballotBytes, signature, key)) return undefined;
    return { proposalId: ballot.ballot.proposalId, signed: { bytes: ballotBytes, signature } };
  }
}

/** Factory: `coordinationStateMachine({ crypto, agents: cluster.agents })`. */
export function coordinationStateMachine(options: CoordinationOptions): CoordinationStateMachine {
  return new CoordinationStateMachine(options);
}
