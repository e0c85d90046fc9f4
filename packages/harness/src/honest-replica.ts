/**
 * An honest replica in the simulator: a core `Replica` stepped through core's `ReplicaHost`, the
 * one place that carries out a replica's output (persist, then send, then report executed), as
 * the daemon does. Around it, what the checkers read afterwards: what it executed and when, the
 * receipts it gave, its restarts.
 *
 * The second copy of a twinned replica is one of these too: the twinned replica's id and key,
 * its own network address.
 */
import { CoordinationStateMachine, decodeResult, ops } from '@conclave/coordination';
import {
  applyPersistRecords,
  type ClusterConfig,
  type CryptoBackend,
  type DurableState,
  type ExecutedBatch,
  InvariantError,
  type Outbound,
  type PeerAddress,
  type PersistRecord,
  type Replica,
  ReplicaHost,
  type ReplicaInput,
  type ReplicaOutput,
  type ReplicaStatus,
  type StateMachine,
  toHex,
  verifyReceipt,
} from '@conclave/core';
import type { Address } from './network.ts';
import { agentKeyAtOf } from './receipt-keys.ts';
import type { ExecutedRecord, ReceiptRecord, ReplicaRecord, RestartRecord, ViewRecord } from './record.ts';
import { type RegistryNote, RegistryTracker, registryDigest, registryOf } from './registry-record.ts';

/** Receipts fetched per honest replica at most (each costs a few signature checks). */
export const RECEIPTS_PER_REPLICA_MAX = 2000;
/** View changes recorded per replica at most (see `views`). */
export const VIEW_RECORDS_MAX = 10_000;

export interface HonestReplicaOptions {
  readonly id: number;
  /** The address it sends from: its id, or a twin copy's own address. */
  readonly address: Address;
  readonly replicaCount: number;
  readonly replica: Replica;
  readonly stateMachine: StateMachine;
  /** The durable state to keep, for a replica that will restart from it; undefined: none kept. */
  readonly durable: DurableState | undefined;
  /** Hands one copy of a message to the network, as sent from `from`. */
  readonly send: (from: Address, peer: PeerAddress, outbound: Outbound) => void;
  /** Checks the receipts of what it executes; absent for a twin copy, which promises none. */
  readonly receipts?: ReceiptAudit;
}

export class HonestReplica {
  readonly id: number;
  readonly address: Address;
  replica: Replica;
  stateMachine: StateMachine;
  durable: DurableState | undefined;
  /** 0 until the first restart. */
  incarnation = 0;
  readonly executed: ExecutedRecord[] = [];
  readonly restarts: RestartRecord[] = [];
  readonly receipts: ReceiptRecord[] = [];
  /** Its view over time, one entry per change (see `#noteView`). */
  readonly views: ViewRecord[] = [];
  /** Rejections counted by earlier incarnations. */
  readonly pastRejections: Record<string, number> = {};
  /** The highest requestId executed per agent. */
  readonly executedMax = new Map<string, number>();
  /** Steps taken (messages and ticks), over every incarnation. */
  steps = 0;
  /** Persist records written, over every incarnation. */
  persistRecords = 0;
  readonly #host: ReplicaHost;
  readonly #audit: ReceiptAudit | undefined;
  /** The tick of the step whose effects are being carried out. */
  #tick = 0;
  /** Its agent registry after each batch (see registry-record.ts). */
  readonly #registry: RegistryTracker;
  /** The highest sequence a state transfer of the current step jumped to. */
  #transferredTo: number | undefined;

  constructor(options: HonestReplicaOptions) {
    this.id = options.id;
    this.address = options.address;
    this.replica = options.replica;
    this.stateMachine = options.stateMachine;
    this.durable = options.durable;
    this.#audit = options.receipts;
    this.#registry = new RegistryTracker(options.replica.agentKeys());
    this.#host = new ReplicaHost({
      id: options.id,
      replicaCount: options.replicaCount,
      effects: {
        persist: (records) => this.#persist(records),
        send: (peer, outbound) => options.send(this.address, peer, outbound),
        executed: (batches) => this.#recordExecuted(batches),
      },
    });
  }

  /** Steps the replica; its effects wait for `finishRound`. Throws what the replica throws. */
  step(input: ReplicaInput, tick: number): ReplicaOutput {
    this.steps++;
    this.#tick = tick;
    const output = this.#host.step(this.replica, input);
    const transfers = output.stateTransfers.map((transfer) => transfer.sequence);
    this.#transferredTo = transfers.length === 0 ? undefined : Math.max(...transfers);
    return output;
  }

  /** Carries out the step's effects: persist, then send, then record what executed. */
  finishRound(): void {
    // Persistence is in memory, so a round is carried out before this returns.
    if (this.#host.finishRound() !== undefined) throw new InvariantError('simulated persistence went async');
    this.#registry.reset(this.replica.agentKeys());
    this.#noteView();
  }

  /** Records the replica's view when it (or whether it is changing views) differs from the last one recorded. */
  #noteView(): void {
    const { view, changingView } = this.replica.status();
    const last = this.views.at(-1);
    if (last !== undefined && last.view === view && last.changingView === changingView) return;
    // A run's views change at most once per view-change timeout; the bound only guards a runaway.
    if (this.views.length < VIEW_RECORDS_MAX) this.views.push({ tick: this.#tick, view, changingView });
  }

  /** Counts this incarnation's rejections as past ones: it is about to be replaced. */
  retire(): void {
    for (const [code, count] of Object.entries(this.replica.rejections()))
      this.pastRejections[code] = (this.pastRejections[code] ?? 0) + (count ?? 0);
  }

  /** Takes over a replica rebuilt from the durable state, as the next incarnation. */
  resume(replica: Replica, stateMachine: StateMachine, crashTick: number, tick: number): void {
    this.replica = replica;
    this.stateMachine = stateMachine;
    this.#registry.reset(replica.agentKeys());
    this.incarnation++;
    this.restarts.push({
      crashTick,
      restartTick: tick,
      durable: true,
      lastExecuted: replica.status().lastExecuted,
    });
  }

  /** What the checkers read about this replica at the end of the run. */
  record(status: ReplicaStatus, downSince: number | undefined): ReplicaRecord {
    return {
      id: this.id,
      honest: true,
      executed: this.executed,
      final: {
        lastExecuted: status.lastExecuted,
        stateDigest: toHex(this.stateMachine.digest()),
        view: status.view,
        registry: registryDigest(registryOf(this.replica.agentKeys())),
      },
      receipts: this.receipts,
      evidence: evidenceKeys(this.stateMachine),
      ...(this.restarts.length === 0 ? {} : { restarts: this.restarts }),
      ...(downSince === undefined ? {} : { downSince }),
      views: this.views,
    };
  }

  #persist(records: readonly PersistRecord[]): void {
    this.persistRecords += records.length;
    if (this.durable !== undefined) this.durable = applyPersistRecords(this.durable, records);
  }

  #recordExecuted(batches: readonly ExecutedBatch[]): void {
    const notes = this.#registry.notes(batches, this.#transferredTo, this.replica.agentKeys());
    batches.forEach((batch, index) => {
      // The state digest is only known after the last batch of the step.
      const last = index === batches.length - 1;
      const digest = last ? toHex(this.stateMachine.digest()) : undefined;
      const note = notes[index] ?? {};
      this.executed.push(executedRecord(batch, this.#tick, digest, this.incarnation, note));
      this.#audit?.check(this, batch, this.#tick);
      for (const request of batch.requests)
        if (request.requestId > (this.executedMax.get(request.agent) ?? 0))
          this.executedMax.set(request.agent, request.requestId);
    });
  }
}

/** Fetches receipts for what honest replicas executed and checks them offline, as an agent would. */
export class ReceiptAudit {
  checked = 0;
  /** Receipts no longer available (garbage-collected at once). */
  unavailable = 0;
  readonly #cluster: ClusterConfig;
  readonly #crypto: CryptoBackend;

  constructor(cluster: ClusterConfig, crypto: CryptoBackend) {
    this.#cluster = cluster;
    this.#crypto = crypto;
  }

  check(node: HonestReplica, batch: ExecutedBatch, tick: number): void {
    if (batch.requests.length === 0) return;
    const agentKeyAt = agentKeyAtOf(node.stateMachine);
    for (const request of batch.requests) {
      if (node.receipts.length >= RECEIPTS_PER_REPLICA_MAX) return;
      const receipt = node.replica.receipt(batch.sequence, request.agent, request.requestId);
      if (receipt === undefined) {
        this.unavailable++;
        continue;
      }
      this.checked++;
      const verified = verifyReceipt(receipt, this.#cluster, this.#crypto, agentKeyAt);
      const base = { sequence: batch.sequence, agent: request.agent, requestId: request.requestId, tick };
      node.receipts.push(
        verified.ok
          ? { ...base, ok: true, digest: toHex(verified.digest), view: verified.view }
          : { ...base, ok: false, reason: verified.reason },
      );
    }
  }
}

/** Evidence held in a replica's final state: `agent#requestId` for requests, `agent@proposalId` for ballots. */
function evidenceKeys(stateMachine: StateMachine): string[] {
  if (!(stateMachine instanceof CoordinationStateMachine)) return [];
  const keys: string[] = [];
  let after: number | null = null;
  for (let page = 0; page < 100; page++) {
    const result = decodeResult(stateMachine.query(ops.listEvidence({ after, limit: 100 })));
    if (!result.ok || result.kind !== 'evidence') break;
    for (const item of result.evidence)
      keys.push(
        item.kind === 'ballot' ? `${item.agent}@${item.proposalId}` : `${item.agent}#${item.requestId}`,
      );
    if (result.next === null) break;
    after = result.next;
  }
  return keys;
}

function executedRecord(
  batch: ExecutedBatch,
  tick: number,
  stateDigest: string | undefined,
  incarnation: number,
  registry: RegistryNote,
): ExecutedRecord {
  const equivocations = batch.equivocations.map((e) => `${e.agent}#${e.requestId}`);
  const refused = batch.refused.map((r) => ({ ...r, publicKey: toHex(r.publicKey) }));
  const base = {
    ...(incarnation === 0 ? {} : { incarnation }),
    ...(equivocations.length === 0 ? {} : { equivocations }),
    ...(refused.length === 0 ? {} : { refused }),
    ...registry,
    tick,
    sequence: batch.sequence,
    view: batch.view,
    digest: toHex(batch.digest),
    timestamp: batch.timestamp,
    via: batch.via,
    requests: batch.requests.map((request) => ({
      agent: request.agent,
      requestId: request.requestId,
      result: toHex(request.result),
      publicKey: toHex(request.publicKey),
    })),
  };
  return stateDigest === undefined ? base : { ...base, stateDigest };
}
