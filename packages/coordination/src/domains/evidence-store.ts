/**
 * The evidence store: proofs of misbehaviour (two different ballots or commitments for one
 * proposal, two different requests with one requestId, a sealed ballot revealed against its
 * commitment, a commitment never revealed), kept within `evidenceMax` in total and
 * `evidencePerAgentMax` per agent, and paged through with `list_evidence`. What did not fit is
 * counted and announced, never kept.
 */
import type { Evidence, SignedObject } from '../evidence.ts';
import type { ReadOperation } from '../operations.ts';
import type { CoordinationResult } from '../results.ts';
import { type DomainContext, present } from './shared.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Evidence before the store numbers and dates it. */
export type NewEvidence = DistributiveOmit<Evidence, 'id' | 'recordedAt'>;

/** The store's part of the snapshot record. */
export interface EvidenceSnapshot {
  /** In id order. */
  readonly evidence: readonly Evidence[];
  readonly evidenceNextId: number;
  /** Items that arrived when the store (or the agent's share of it) was full. */
  readonly evidenceDropped: number;
}

/** The evidence store. Written by the proposals (ballot evidence) and the dispatcher (request evidence). */
export class EvidenceStore {
  readonly #context: DomainContext;
  #items: Evidence[] = [];
  #nextId = 1;
  #dropped = 0;

  constructor(context: DomainContext) {
    this.#context = context;
  }

  /**
   * Keeps ballot evidence against `agent` on `proposalId` unless some is kept already. Returns
   * the id of the evidence kept (the earlier one, if any), or null when it could not be kept.
   */
  recordBallot(
    agent: string,
    proposalId: string,
    first: SignedObject,
    second: SignedObject,
    source: 'vote' | 'replicas',
    keys: readonly Uint8Array[],
  ): number | null {
    return this.recordOnProposal({
      kind: 'ballot',
      agent,
      proposalId,
      requestId: null,
      first,
      second,
      source,
      keys,
    });
  }

  /**
   * Keeps evidence about a voter on a proposal (a ballot, commitment, reveal or no-reveal item),
   * unless an item of that kind about them is kept already. Returns the id of the item kept (the
   * earlier one, if any), or null when it could not be kept.
   */
  recordOnProposal(item: Extract<NewEvidence, { readonly proposalId: string }>): number | null {
    const known = this.#items.find(
      (e) => e.kind === item.kind && e.agent === item.agent && e.proposalId === item.proposalId,
    );
    if (known !== undefined) return known.id;
    return this.#store(item);
  }

  /** Keeps request evidence against `agent` for `requestId`, unless some is kept already. */
  recordRequest(
    agent: string,
    requestId: number,
    first: SignedObject,
    second: SignedObject,
    keys: readonly Uint8Array[],
  ): void {
    const duplicate = this.#items.some(
      (e) => e.kind === 'request' && e.agent === agent && e.requestId === requestId,
    );
    if (duplicate) return;
    this.#store({
      kind: 'request',
      agent,
      proposalId: null,
      requestId,
      // Copied down to bytes and signature: the report's objects may carry more fields at run
      // time, and every field kept would be encoded into the snapshot.
      first: { bytes: first.bytes, signature: first.signature },
      second: { bytes: second.bytes, signature: second.signature },
      source: 'replicas',
      keys,
    });
  }

  /** The `list_evidence` read, in id order. */
  list(op: Extract<ReadOperation, { op: 'list_evidence' }>): CoordinationResult {
    const matching = this.#items.filter(
      (e) =>
        (op.agent === null || e.agent === op.agent) &&
        (op.proposalId === null || e.proposalId === op.proposalId) &&
        (op.after === null || e.id > op.after),
    );
    const page = matching.slice(0, op.limit);
    const next =
      matching.length > op.limit
        ? present(page.at(-1), 'a page cut short holds an item (limit ≥ 1)').id
        : null;
    return { ok: true, kind: 'evidence', at: this.#context.position(), evidence: page, next };
  }

  snapshot(): EvidenceSnapshot {
    return { evidence: this.#items, evidenceNextId: this.#nextId, evidenceDropped: this.#dropped };
  }

  restore(record: EvidenceSnapshot): void {
    this.#items = [...record.evidence];
    this.#nextId = record.evidenceNextId;
    this.#dropped = record.evidenceDropped;
  }

  /** Keeps evidence within its bounds; returns its id, or null (counted and announced) when it could not be kept. */
  #store(item: NewEvidence): number | null {
    const { evidenceMax, evidencePerAgentMax } = this.#context.limits;
    const aboutAgent = this.#items.filter((e) => e.agent === item.agent).length;
    if (this.#items.length >= evidenceMax || aboutAgent >= evidencePerAgentMax) {
      this.#dropped += 1;
      this.#context.emit(
        { kind: 'evidence_dropped', agent: item.agent, evidenceKind: item.kind },
        item.agent,
      );
      return null;
    }
    const id = this.#nextId;
    this.#nextId += 1;
    this.#items.push({ ...item, id, recordedAt: this.#context.position() });
    this.#context.emit(
      {
        kind: 'evidence_recorded',
        evidenceId: id,
        agent: item.agent,
        evidenceKind: item.kind,
        proposalId: item.proposalId,
      },
      item.agent,
    );
    return id;
  }
}
