/**
 * Sealed ballots on a proposal: `commit` before the commit deadline, `reveal` from then until the
 * deadline, and what the deadline does to voters that committed and never revealed (see seal.ts
 * for the objects, the README for the rules).
 *
 * What the state holds before the commit deadline is the signed commitments only: a reveal
 * before then is refused before anything of it is read into the state, so no ballot content is
 * in any replica's state (or event, or read) during the commit phase.
 */
import { bytesEqual, type CryptoBackend } from '@conclave/core';
import { type Ballot, decodeBallot } from '../ballot.ts';
import type { SignedObject } from '../evidence.ts';
import type { SealedTerms, WriteOperation } from '../operations.ts';
import type { CoordinationResult, ErrorResult } from '../results.ts';
import { decodeCommitment, encodeCommitment, revealMatches } from '../seal.ts';
import {
  choiceProblem,
  type Exclusion,
  type ProposalRecord,
  type StoredBallot,
  type StoredCommitment,
} from '../tally.ts';
import type { AgentRegistry } from './agents.ts';
import type { EvidenceStore } from './evidence-store.ts';
import { type DomainContext, fail, invariant, present } from './shared.ts';

type Commit = Extract<WriteOperation, { op: 'commit' }>;
type Reveal = Extract<WriteOperation, { op: 'reveal' }>;
type Lookup = (proposalId: string) => ProposalRecord | undefined;

/** A sealed proposal's terms; only called once the proposal is known to be sealed. */
function termsOf(proposal: ProposalRecord): SealedTerms {
  invariant(proposal.sealed !== null, `${proposal.proposalId} is sealed`);
  return proposal.sealed;
}

/** The signed commitment a stored one stands for: its bytes are rebuilt exactly (the encoding is canonical). */
export function signedCommitment(
  proposal: ProposalRecord,
  agent: string,
  stored: StoredCommitment,
): SignedObject {
  const bytes = encodeCommitment({ proposalId: proposal.proposalId, agent, seal: stored.seal });
  return { bytes, signature: stored.signature };
}

/** What the sealed rules need from the proposal book around them. */
export interface SealedHooks {
  /** Why `agent` may not vote on `proposal` (not a voter, not on the council), or undefined. */
  readonly voterRefusal: (proposal: ProposalRecord, agent: string) => ErrorResult | undefined;
  /** Voids `agent`'s ballot on `proposal` for `exclusion`, announces it and re-evaluates. */
  readonly exclude: (proposal: ProposalRecord, agent: string, exclusion: Exclusion) => void;
  /** Re-evaluates `proposal` after a change (it may be decided now). */
  readonly evaluate: (proposal: ProposalRecord) => void;
  /** Records two different ballots `agent` signed for `proposal` (evidence) and excludes it. */
  readonly equivocate: (
    proposal: ProposalRecord,
    agent: string,
    first: SignedObject,
    second: SignedObject,
  ) => void;
  /** The `vote` result for `proposal`. */
  readonly result: (proposal: ProposalRecord, duplicate: boolean) => CoordinationResult;
}

/** Verifies signed objects against the registry's keys: the key in force, and its interval's `from`. */
export class SignerCheck {
  readonly #context: DomainContext;
  readonly #agents: AgentRegistry;
  readonly #crypto: CryptoBackend;

  constructor(context: DomainContext, agents: AgentRegistry, crypto: CryptoBackend) {
    this.#context = context;
    this.#agents = agents;
    this.#crypto = crypto;
  }

  /** The `from` of `agent`'s key in force, if `signed` verifies against it; else the refusal naming `what`. */
  keyFromOf(agent: string, signed: SignedObject, what: string): number | ErrorResult {
    const sequence = this.#context.position().sequence;
    const interval = present(
      this.#agents.intervalAt(agent, sequence),
      `${agent}, whose operation is executing, has a key in force`,
    );
    if (!this.#crypto.verify(signed.bytes, signed.signature, interval.publicKey))
      return fail('FORGED_BALLOT', `the ${what} signature does not verify against ${agent}'s key`);
    return interval.from;
  }

  /**
   * The ballot in `signed`, if it is `agent`'s own, well formed, and signed with `agent`'s key in
   * force (with that key's `from`); else the refusal. What votes and reveals both check first.
   */
  verifiedBallot(
    signed: { readonly ballotBytes: Uint8Array; readonly signature: Uint8Array },
    agent: string,
  ): { readonly ok: true; readonly ballot: Ballot; readonly keyFrom: number } | ErrorResult {
    const decoded = decodeBallot(signed.ballotBytes, this.#context.limits);
    if (!decoded.ok) return fail('INVALID', `ballot: ${decoded.message}`);
    const { ballot } = decoded;
    if (ballot.agent !== agent)
      return fail('FORGED_BALLOT', `the ballot is ${ballot.agent}'s but the request is signed by ${agent}`);
    const keyFrom = this.keyFromOf(
      agent,
      { bytes: signed.ballotBytes, signature: signed.signature },
      'ballot',
    );
    return typeof keyFrom === 'number' ? { ok: true, ballot, keyFrom } : keyFrom;
  }

  /** `agent`'s key whose interval starts at `from`, if still retained. */
  keyFrom(agent: string, from: number): Uint8Array | undefined {
    return this.#agents.keyFrom(agent, from);
  }

  /** `agent`'s key in force now. */
  keyNow(agent: string): Uint8Array | undefined {
    return this.#agents.keyAt(agent, this.#context.position().sequence);
  }
}

/** Commit, reveal and the no-reveal records of sealed proposals. */
export class SealedBallots {
  readonly #context: DomainContext;
  readonly #signers: SignerCheck;
  readonly #evidence: EvidenceStore;
  readonly #crypto: CryptoBackend;
  readonly #hooks: SealedHooks;

  constructor(
    context: DomainContext,
    signers: SignerCheck,
    evidence: EvidenceStore,
    crypto: CryptoBackend,
    hooks: SealedHooks,
  ) {
    this.#context = context;
    this.#signers = signers;
    this.#evidence = evidence;
    this.#crypto = crypto;
    this.#hooks = hooks;
  }

  /**
   * Records `agent`'s signed commitment. The same seal again is a duplicate; another seal is
   * equivocation (evidence kept, the voter excluded).
   */
  commit(lookup: Lookup, op: Commit, agent: string): CoordinationResult {
    const decoded = decodeCommitment(op.commitmentBytes, this.#context.limits);
    if (!decoded.ok) return fail('INVALID', `commitment: ${decoded.message}`);
    const { proposalId, seal } = decoded.commitment;
    if (decoded.commitment.agent !== agent)
      return fail(
        'FORGED_BALLOT',
        `the commitment is ${decoded.commitment.agent}'s but the request is signed by ${agent}`,
      );
    const signed = { bytes: op.commitmentBytes, signature: op.signature };
    const keyFrom = this.#signers.keyFromOf(agent, signed, 'commitment');
    if (typeof keyFrom !== 'number') return keyFrom;
    const found = this.#sealedProposal(lookup, proposalId, agent);
    if (!('proposalId' in found)) return found;
    const previous = found.commitments.get(agent);
    if (previous !== undefined) return this.#commitAgain(found, previous, signed, agent);
    if (found.ballots.has(agent)) return fail('COMMIT_CLOSED', `${agent} revealed on ${proposalId} already`);
    const closed = this.#phaseRefusal(found, 'commit');
    if (closed !== undefined) return closed;
    const committedAt = this.#context.position();
    found.commitments.set(agent, { seal, signature: op.signature, committedAt, keyFrom });
    this.#context.emit({ kind: 'ballot_committed', proposalId, agent }, agent);
    return this.#hooks.result(found, false);
  }

  /**
   * Reveals `agent`'s ballot. Refused before the commit deadline with nothing of it kept; a
   * ballot and salt that do not reproduce the commitment are recorded and exclude the voter.
   */
  reveal(lookup: Lookup, op: Reveal, agent: string): CoordinationResult {
    const verified = this.#signers.verifiedBallot(op, agent);
    if (!verified.ok) return verified;
    const { ballot, keyFrom } = verified;
    const signed = { bytes: op.ballotBytes, signature: op.signature };
    const found = this.#sealedProposal(lookup, ballot.proposalId, agent);
    if (!('proposalId' in found)) return found;
    // Before anything that could keep part of the reveal: nothing of an early one is recorded.
    const { commitDeadline } = termsOf(found);
    if (this.#context.position().timestamp < commitDeadline)
      return fail('REVEAL_TOO_EARLY', `${found.proposalId} takes reveals from ${commitDeadline}`);
    const previous = found.ballots.get(agent);
    if (previous !== undefined) return this.#revealAgain(found, agent, previous, signed);
    const excluded = found.excluded.get(agent);
    if (excluded !== undefined)
      return fail(
        excluded.reason === 'equivocation' ? 'EQUIVOCATION' : 'REVEAL_MISMATCH',
        `${agent}'s ballot on ${found.proposalId} does not count (${excluded.reason})`,
      );
    const commitment = found.commitments.get(agent);
    if (commitment === undefined)
      return fail('NO_COMMITMENT', `${agent} did not commit on ${found.proposalId}`);
    const closed = this.#phaseRefusal(found, 'reveal');
    if (closed !== undefined) return closed;
    const committed = { proposalId: found.proposalId, agent, seal: commitment.seal };
    if (!revealMatches(committed, op.ballotBytes, op.salt, this.#crypto))
      return this.#mismatch(found, agent, commitment, signed, op.salt, keyFrom);
    // The voter committed to a ballot that does not fit the proposal: it can never count.
    const invalid = choiceProblem(found, ballot.choice);
    if (invalid !== undefined) return fail('INVALID', invalid);
    // The ballot and salt now reproduce the seal, and the ballot is signed: the commitment is not kept.
    found.commitments.delete(agent);
    found.ballots.set(agent, {
      ballotBytes: op.ballotBytes,
      signature: op.signature,
      choice: ballot.choice,
      confidencePermille: ballot.confidencePermille,
      castAt: this.#context.position(),
      keyFrom,
      salt: op.salt,
      committedAt: commitment.committedAt,
    });
    this.#context.emit({ kind: 'ballot_revealed', proposalId: found.proposalId, agent }, agent);
    this.#hooks.evaluate(found);
    return this.#hooks.result(found, false);
  }

  /** Timer, at the commit deadline: announces that reveals are open (once). */
  openReveals(proposal: ProposalRecord): void {
    if (proposal.revealOpened) return;
    proposal.revealOpened = true;
    // No reveal is taken before the commit deadline, so every commitment is still held here.
    let committed = 0;
    for (const agent of proposal.commitments.keys()) if (!proposal.excluded.has(agent)) committed += 1;
    this.#context.emit(
      { kind: 'reveal_opened', proposalId: proposal.proposalId, committed },
      proposal.proposer,
    );
  }

  /** At the deadline: every counted commitment without a reveal gets a no-reveal record, in voter order. */
  recordMissingReveals(proposal: ProposalRecord): void {
    for (const { agent } of proposal.voters) {
      const commitment = proposal.commitments.get(agent);
      if (commitment === undefined || proposal.excluded.has(agent)) continue;
      const key = this.#signers.keyFrom(agent, commitment.keyFrom);
      const evidenceId = this.#evidence.recordOnProposal({
        kind: 'no_reveal',
        agent,
        proposalId: proposal.proposalId,
        requestId: null,
        first: signedCommitment(proposal, agent, commitment),
        second: null,
        revealDeadline: proposal.deadline,
        source: 'deadline',
        keys: key === undefined ? [] : [key],
      });
      proposal.unrevealed.set(agent, evidenceId);
      this.#context.emit(
        { kind: 'reveal_missing', proposalId: proposal.proposalId, agent, evidenceId },
        agent,
      );
    }
  }

  /** Whether every counted commitment has been revealed (a revealed one is no longer held). */
  allRevealed(proposal: ProposalRecord): boolean {
    for (const agent of proposal.commitments.keys()) if (!proposal.excluded.has(agent)) return false;
    return true;
  }

  /** The proposal, if it exists, is sealed, and `agent` is one of its voters; else the refusal. */
  #sealedProposal(lookup: Lookup, proposalId: string, agent: string): ProposalRecord | ErrorResult {
    const proposal = lookup(proposalId);
    if (proposal === undefined) return fail('NOT_FOUND', `no proposal ${proposalId}`);
    if (proposal.sealed === null)
      return fail(
        'NOT_SEALED',
        `${proposalId} is an open ballot: cast a vote, there is nothing to commit or reveal`,
      );
    return this.#hooks.voterRefusal(proposal, agent) ?? proposal;
  }

  /** Why the phase does not take a commit (or a reveal) now: closed, or past its deadline. */
  #phaseRefusal(proposal: ProposalRecord, step: 'commit' | 'reveal'): ErrorResult | undefined {
    const now = this.#context.position().timestamp;
    const terms = termsOf(proposal);
    if (step === 'commit' && now >= terms.commitDeadline)
      return fail('COMMIT_CLOSED', `commitments on ${proposal.proposalId} closed at ${terms.commitDeadline}`);
    if (now >= proposal.deadline)
      return fail('EXPIRED', `reveals on ${proposal.proposalId} closed at ${proposal.deadline}`);
    if (proposal.status !== 'open')
      return fail('CLOSED', `${proposal.proposalId} is already ${proposal.status}`);
    return undefined;
  }

  /** A second commitment by a voter that has one: the same seal is a duplicate, another is equivocation. */
  #commitAgain(
    proposal: ProposalRecord,
    previous: StoredCommitment,
    signed: SignedObject,
    agent: string,
  ): CoordinationResult {
    const excluded = proposal.excluded.get(agent);
    const again = decodeCommitment(signed.bytes);
    if (again.ok && bytesEqual(previous.seal, again.commitment.seal)) {
      if (excluded === undefined) return this.#hooks.result(proposal, true);
      return fail(
        'EQUIVOCATION',
        `${agent}'s commitment on ${proposal.proposalId} does not count (${excluded.reason})`,
      );
    }
    const keys = [this.#signers.keyFrom(agent, previous.keyFrom), this.#signers.keyNow(agent)].filter(
      (k): k is Uint8Array => k !== undefined,
    );
    const evidenceId = this.#evidence.recordOnProposal({
      kind: 'commitment',
      agent,
      proposalId: proposal.proposalId,
      requestId: null,
      first: signedCommitment(proposal, agent, previous),
      second: { bytes: signed.bytes, signature: signed.signature },
      source: 'commit',
      keys,
    });
    if (excluded === undefined && proposal.status === 'open')
      this.#hooks.exclude(proposal, agent, { reason: 'equivocation', evidenceId });
    return fail(
      'EQUIVOCATION',
      `${agent} signed a different commitment for ${proposal.proposalId}; neither counts`,
    );
  }

  /** A reveal by a voter that revealed already: the same ballot is a duplicate, another is ballot equivocation. */
  #revealAgain(
    proposal: ProposalRecord,
    agent: string,
    previous: StoredBallot,
    signed: SignedObject,
  ): CoordinationResult {
    if (bytesEqual(previous.ballotBytes, signed.bytes)) {
      if (!proposal.excluded.has(agent)) return this.#hooks.result(proposal, true);
      return fail(
        'EQUIVOCATION',
        `${agent}'s ballot on ${proposal.proposalId} does not count (equivocation)`,
      );
    }
    const first = { bytes: previous.ballotBytes, signature: previous.signature };
    this.#hooks.equivocate(proposal, agent, first, signed);
    return fail(
      'EQUIVOCATION',
      `${agent} signed a different ballot for ${proposal.proposalId}; neither counts`,
    );
  }

  /** A reveal its commitment does not seal: recorded, and the voter excluded. */
  #mismatch(
    proposal: ProposalRecord,
    agent: string,
    commitment: StoredCommitment,
    revealed: SignedObject,
    salt: Uint8Array,
    keyFrom: number,
  ): ErrorResult {
    const keys = [
      this.#signers.keyFrom(agent, commitment.keyFrom),
      this.#signers.keyFrom(agent, keyFrom),
    ].filter((k): k is Uint8Array => k !== undefined);
    const evidenceId = this.#evidence.recordOnProposal({
      kind: 'reveal_mismatch',
      agent,
      proposalId: proposal.proposalId,
      requestId: null,
      first: signedCommitment(proposal, agent, commitment),
      second: { bytes: revealed.bytes, signature: revealed.signature },
      salt,
      source: 'reveal',
      keys,
    });
    this.#hooks.exclude(proposal, agent, { reason: 'reveal_mismatch', evidenceId });
    return fail(
      'REVEAL_MISMATCH',
      `the ballot and salt do not reproduce ${agent}'s commitment on ${proposal.proposalId}`,
    );
  }
}
