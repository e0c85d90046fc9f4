/**
 * Proposals and ballots: `propose`, `vote`, `commit`, `reveal`, `get_proposal`, `list_proposals`,
 * `get_ballot` and `get_commitment`. An open proposal is decided as soon as its tally implies an
 * outcome (see `decide` in tally.ts), or at its deadline; a sealed one after its commit deadline,
 * once every commitment is revealed, or at its deadline (see sealed-ballots.ts). A voter caught
 * signing two different ballots (or commitments) is excluded, with the evidence kept in the
 * evidence store. Decided proposals are pruned `retentionTicks` later.
 */
import { bytesEqual, type CryptoBackend, encodeCanonical } from '@conclave/core';
import type { SignedObject } from '../evidence.ts';
import type { GovernanceAction } from '../governance.ts';
import {
  operationTuple,
  type ReadOperation,
  type Rule,
  type SealedTerms,
  type Voter,
  type WriteOperation,
} from '../operations.ts';
import { compareStrings } from '../record.ts';
import type { CoordinationResult, ErrorResult } from '../results.ts';
import {
  choiceProblem,
  computeTally,
  decide,
  type Exclusion,
  type ProposalRecord,
  type StoredBallot,
  sortVoters,
} from '../tally.ts';
import type { AgentRegistry } from './agents.ts';
import type { CouncilState } from './council.ts';
import type { EvidenceStore } from './evidence-store.ts';
import { type ProposalsSnapshot, proposalFromSnapshot, proposalToSnapshot } from './proposal-snapshot.ts';
import { proposalSummary, proposalView } from './proposal-views.ts';
import { SealedBallots, SignerCheck, signedCommitment } from './sealed-ballots.ts';
import { type DomainContext, fail, pageOf, type QuotaUsage, quota, sortedEntries } from './shared.ts';

type Propose = Extract<WriteOperation, { op: 'propose' }>;
type Vote = Extract<WriteOperation, { op: 'vote' }>;
type ProposeAction = Extract<WriteOperation, { op: 'propose_action' }>;

/** What action proposals need from governance: the council, and checking and executing an action. */
export interface Governance {
  readonly council: () => CouncilState;
  /** Why the action could not execute now (checked when it is proposed), or undefined. */
  readonly check: (action: GovernanceAction) => ErrorResult | undefined;
  /** Checks the action again and executes it; the refusal when it no longer holds. */
  readonly execute: (
    action: GovernanceAction,
    proposalId: string,
    proposer: string,
  ) => ErrorResult | undefined;
}
type ProposalRead = Extract<
  ReadOperation,
  { op: 'get_proposal' | 'list_proposals' | 'get_ballot' | 'get_commitment' }
>;
type Commit = Extract<WriteOperation, { op: 'commit' }>;
type Reveal = Extract<WriteOperation, { op: 'reveal' }>;

export type { ProposalsSnapshot };

/** The proposals, each with its ballots and excluded voters. */
export class ProposalBook {
  readonly #context: DomainContext;
  readonly #agents: AgentRegistry;
  readonly #evidence: EvidenceStore;
  readonly #governance: Governance;
  readonly #signers: SignerCheck;
  readonly #sealed: SealedBallots;
  #proposals = new Map<string, ProposalRecord>();

  /** `crypto` verifies ballot signatures against the keys in `agents`. */
  constructor(
    context: DomainContext,
    agents: AgentRegistry,
    evidence: EvidenceStore,
    crypto: CryptoBackend,
    governance: Governance,
  ) {
    this.#context = context;
    this.#agents = agents;
    this.#evidence = evidence;
    this.#governance = governance;
    this.#signers = new SignerCheck(context, agents, crypto);
    this.#sealed = new SealedBallots(context, this.#signers, evidence, crypto, {
      voterRefusal: (proposal, agent) => this.#voterRefusal(proposal, agent),
      exclude: (proposal, agent, exclusion) => this.#exclude(proposal, agent, exclusion),
      evaluate: (proposal) => this.#evaluate(proposal, false),
      equivocate: (proposal, agent, first, second) => {
        const keys = [this.#signers.keyNow(agent)].filter((k): k is Uint8Array => k !== undefined);
        this.recordBallotEquivocation(proposal.proposalId, agent, first, second, 'vote', keys);
      },
      result: (proposal, duplicate) => this.#voteResult(proposal, duplicate),
    });
  }

  /**
   * Opens an action proposal: only a council member may; the voters are the council now, each
   * with its registry weight, and it is approved when the approving weight reaches the council
   * threshold. The action is checked now too, so a bad one never goes to a vote.
   */
  proposeAction(op: ProposeAction, agent: string): CoordinationResult {
    const council = this.#governance.council();
    if (!council.members.includes(agent))
      return fail('NOT_COUNCIL', `${agent} is not on the council; only council members propose actions`);
    const rule: Rule = { kind: 'weighted', approveWeight: council.threshold };
    const refusal = this.#governance.check(op.action) ?? this.#checkTimes(op.deadline, op.sealed, rule);
    if (refusal !== undefined) return refusal;
    const existing = this.#proposals.get(op.proposalId);
    if (existing !== undefined) return this.#proposeActionAgain(existing, op, agent);
    const limited = this.#checkRoomFor(agent);
    if (limited !== undefined) return limited;
    const voters = council.members.map((member) => ({
      agent: member,
      weight: this.#agents.weightOf(member),
    }));
    const { proposalId, title, deadline, sealed } = op;
    const asPropose: Propose = {
      op: 'propose',
      proposalId,
      title,
      deadline,
      rule,
      voters,
      candidates: [],
      sealed,
    };
    return this.#open(asPropose, agent, op.action);
  }

  /** Opens a proposal; proposing the very same one again answers with it (a retry is harmless). */
  propose(op: Propose, agent: string): CoordinationResult {
    const candidates = [...op.candidates].sort(compareStrings);
    const refusal =
      this.#checkVoters(op.voters) ??
      checkRule(op.rule, op.voters, candidates) ??
      this.#checkTimes(op.deadline, op.sealed, op.rule);
    if (refusal !== undefined) return refusal;
    // Voters and candidates in the sorted order the proposal keeps them in.
    const sorted: Propose = { ...op, voters: sortVoters(op.voters), candidates };
    const existing = this.#proposals.get(op.proposalId);
    if (existing !== undefined) return this.#proposeAgain(existing, sorted, agent);
    const limited = this.#checkRoomFor(agent);
    if (limited !== undefined) return limited;
    return this.#open(sorted, agent);
  }

  /** Casts `agent`'s signed ballot; casting the same bytes again is a duplicate, different bytes are equivocation. */
  vote(op: Vote, agent: string): CoordinationResult {
    const verified = this.#signers.verifiedBallot(op, agent);
    if (!verified.ok) return verified;
    const { ballot, keyFrom } = verified;
    const proposal = this.#proposals.get(ballot.proposalId);
    if (proposal === undefined) return fail('NOT_FOUND', `no proposal ${ballot.proposalId}`);
    const refused = this.#voterRefusal(proposal, agent);
    if (refused !== undefined) return refused;
    if (proposal.sealed !== null)
      return fail(
        'SEALED',
        `${proposal.proposalId} is sealed: commit to your ballot before ${proposal.sealed.commitDeadline}, reveal it after`,
      );
    const previous = proposal.ballots.get(agent);
    if (previous !== undefined) return this.#voteAgain(proposal, previous, op, agent);
    if (proposal.excluded.has(agent))
      return fail('EQUIVOCATION', `${agent} equivocated on ${proposal.proposalId}; it may not vote on it`);
    if (this.#context.position().timestamp >= proposal.deadline)
      return fail('EXPIRED', `voting on ${proposal.proposalId} closed at ${proposal.deadline}`);
    if (proposal.status !== 'open')
      return fail('CLOSED', `${proposal.proposalId} is already ${proposal.status}`);
    const invalid = choiceProblem(proposal, ballot.choice);
    if (invalid !== undefined) return fail('INVALID', invalid);
    proposal.ballots.set(agent, {
      ballotBytes: op.ballotBytes,
      signature: op.signature,
      choice: ballot.choice,
      confidencePermille: ballot.confidencePermille,
      castAt: this.#context.position(),
      keyFrom,
      salt: null,
      committedAt: null,
    });
    this.#context.emit({ kind: 'ballot_cast', proposalId: proposal.proposalId, agent }, agent);
    this.#evaluate(proposal, false);
    return this.#voteResult(proposal, false);
  }

  /** Commits `agent` to a sealed ballot (see sealed-ballots.ts). */
  commit(op: Commit, agent: string): CoordinationResult {
    return this.#sealed.commit((id) => this.#proposals.get(id), op, agent);
  }

  /** Reveals `agent`'s sealed ballot (see sealed-ballots.ts). */
  reveal(op: Reveal, agent: string): CoordinationResult {
    return this.#sealed.reveal((id) => this.#proposals.get(id), op, agent);
  }

  /**
   * Two different signed ballots of `agent` for `proposalId`: keeps the evidence, and voids the
   * agent's ballot while the proposal is open and the agent one of its voters.
   */
  recordBallotEquivocation(
    proposalId: string,
    agent: string,
    first: SignedObject,
    second: SignedObject,
    source: 'vote' | 'replicas',
    keys: readonly Uint8Array[],
  ): void {
    const evidenceId = this.#evidence.recordBallot(agent, proposalId, first, second, source, keys);
    const proposal = this.#proposals.get(proposalId);
    if (
      proposal === undefined ||
      proposal.status !== 'open' ||
      proposal.excluded.has(agent) ||
      !proposal.voters.some((v) => v.agent === agent)
    )
      return;
    this.#exclude(proposal, agent, { reason: 'equivocation', evidenceId });
  }

  /** The `get_proposal`, `list_proposals` and `get_ballot` reads. */
  read(op: ProposalRead): CoordinationResult {
    const at = this.#context.position();
    switch (op.op) {
      case 'get_proposal': {
        const proposal = this.#proposals.get(op.proposalId);
        if (proposal === undefined) return fail('NOT_FOUND', `no proposal ${op.proposalId}`);
        return { ok: true, kind: 'proposal', at, proposal: proposalView(proposal, at.timestamp) };
      }
      case 'list_proposals': {
        const matching = sortedEntries(this.#proposals).filter(
          ([, p]) => op.status === 'all' || (op.status === 'open') === (p.status === 'open'),
        );
        const { page, next } = pageOf(matching, op.after, op.limit);
        const proposals = page.map(([, p]) => proposalSummary(p, at.timestamp));
        return { ok: true, kind: 'proposals', at, proposals, next };
      }
      case 'get_ballot': {
        const proposal = this.#proposals.get(op.proposalId);
        const ballot = proposal?.ballots.get(op.agent);
        if (proposal === undefined || ballot === undefined)
          return fail('NOT_FOUND', `no ballot of ${op.agent} on ${op.proposalId}`);
        const { ballotBytes, signature, keyFrom, salt } = ballot;
        const publicKey = this.#agents.keyFrom(op.agent, keyFrom) ?? null;
        const counted = !proposal.excluded.has(op.agent);
        const { proposalId, agent } = op;
        return {
          ok: true,
          kind: 'ballot',
          at,
          proposalId,
          agent,
          ballotBytes,
          signature,
          publicKey,
          keyFrom,
          counted,
          salt,
        };
      }
      case 'get_commitment':
        return this.#readCommitment(op.proposalId, op.agent);
    }
  }

  #readCommitment(proposalId: string, agent: string): CoordinationResult {
    const proposal = this.#proposals.get(proposalId);
    if (proposal !== undefined && proposal.sealed !== null && proposal.ballots.has(agent))
      return fail(
        'NOT_FOUND',
        `${agent} revealed its ballot on ${proposalId}: read it with get_ballot (its salt reproduces the seal)`,
      );
    const commitment = proposal?.commitments.get(agent);
    if (proposal === undefined || commitment === undefined)
      return fail('NOT_FOUND', `no commitment of ${agent} on ${proposalId}`);
    const { bytes: commitmentBytes, signature } = signedCommitment(proposal, agent, commitment);
    const { keyFrom } = commitment;
    return {
      ok: true,
      kind: 'commitment',
      at: this.#context.position(),
      proposalId,
      agent,
      commitmentBytes,
      signature,
      publicKey: this.#agents.keyFrom(agent, keyFrom) ?? null,
      keyFrom,
      revealed: false,
      counted: !proposal.excluded.has(agent),
    };
  }

  /**
   * Timer: opens the reveals of sealed proposals whose commit deadline is at or before `now`,
   * and decides every open proposal whose deadline is; in time order, then by id, a proposal's
   * reveal opening before its deadline.
   */
  closeDue(now: number): void {
    const due: { time: number; step: 0 | 1; proposal: ProposalRecord }[] = [];
    for (const proposal of this.#proposals.values()) {
      if (proposal.status !== 'open') continue;
      const commitDeadline = proposal.sealed?.commitDeadline;
      if (commitDeadline !== undefined && commitDeadline <= now && !proposal.revealOpened)
        due.push({ time: commitDeadline, step: 0, proposal });
      if (proposal.deadline <= now) due.push({ time: proposal.deadline, step: 1, proposal });
    }
    due.sort(
      (a, b) =>
        a.time - b.time || compareStrings(a.proposal.proposalId, b.proposal.proposalId) || a.step - b.step,
    );
    for (const { step, proposal } of due) {
      if (step === 0) this.#sealed.openReveals(proposal);
      this.#evaluate(proposal, step === 1);
    }
  }

  /** Timer: removes proposals decided `retentionTicks` or more before `now`, in id order. */
  prune(now: number): void {
    const retention = this.#context.limits.retentionTicks;
    for (const [proposalId, proposal] of sortedEntries(this.#proposals)) {
      if (proposal.decidedAt === null || proposal.decidedAt.timestamp + retention > now) continue;
      this.#proposals.delete(proposalId);
      this.#context.emit({ kind: 'proposal_pruned', proposalId }, proposal.proposer);
    }
  }

  /** Open and retained (decided, not yet pruned) proposals `agent` made: what its proposal quotas count. */
  usageOf(agent: string): QuotaUsage {
    const { open, retained } = this.#proposedBy(agent);
    return { openProposalsPerAgentMax: open, retainedProposalsPerAgentMax: retained };
  }

  #proposedBy(agent: string): { readonly open: number; readonly retained: number } {
    let open = 0;
    let retained = 0;
    for (const p of this.#proposals.values()) {
      if (p.proposer !== agent) continue;
      if (p.status === 'open') open += 1;
      else retained += 1;
    }
    return { open, retained };
  }

  snapshot(): ProposalsSnapshot {
    return { proposals: sortedEntries(this.#proposals).map(([, p]) => proposalToSnapshot(p)) };
  }

  restore(record: ProposalsSnapshot): void {
    this.#proposals = new Map(record.proposals.map((p) => [p.proposalId, proposalFromSnapshot(p)]));
  }

  /** The action proposal exists: the same proposer proposing the same action again is answered with it. */
  #proposeActionAgain(existing: ProposalRecord, op: ProposeAction, agent: string): CoordinationResult {
    const asProposed = (p: ProposeAction) => encodeCanonical(operationTuple(p));
    const same =
      existing.proposer === agent &&
      existing.action !== null &&
      bytesEqual(asProposed(op), asProposed({ op: 'propose_action', ...existing, action: existing.action }));
    if (!same) return fail('CONFLICT', `proposal ${op.proposalId} exists`);
    return this.#proposalResult(existing);
  }

  /** The proposal exists: the same proposer proposing the same thing again is answered with it. */
  #proposeAgain(existing: ProposalRecord, sorted: Propose, agent: string): CoordinationResult {
    const same =
      existing.proposer === agent &&
      existing.action === null &&
      bytesEqual(
        encodeCanonical(operationTuple(sorted)),
        encodeCanonical(operationTuple({ op: 'propose', ...existing })),
      );
    if (!same) return fail('CONFLICT', `proposal ${sorted.proposalId} exists`);
    return this.#proposalResult(existing);
  }

  #proposalResult(proposal: ProposalRecord): CoordinationResult {
    const at = this.#context.position();
    return { ok: true, kind: 'proposal', at, proposal: proposalView(proposal, at.timestamp) };
  }

  /** Opens the proposal, and evaluates it as after every change: its rule may imply an outcome already. */
  #open(sorted: Propose, agent: string, action: GovernanceAction | null = null): CoordinationResult {
    const proposal: ProposalRecord = {
      proposalId: sorted.proposalId,
      proposer: agent,
      title: sorted.title,
      rule: sorted.rule,
      voters: sorted.voters,
      deadline: sorted.deadline,
      candidates: sorted.candidates,
      createdAt: this.#context.position(),
      ballots: new Map(),
      excluded: new Map(),
      sealed: sorted.sealed,
      commitments: new Map(),
      revealOpened: false,
      unrevealed: new Map(),
      status: 'open',
      decidedAt: null,
      action,
      actionOutcome: null,
    };
    this.#proposals.set(proposal.proposalId, proposal);
    this.#context.emit(
      {
        kind: 'proposal_created',
        proposalId: proposal.proposalId,
        proposer: agent,
        deadline: proposal.deadline,
      },
      agent,
    );
    this.#evaluate(proposal, false);
    return this.#proposalResult(proposal);
  }

  /** Every voter registered and not an observer, none twice. */
  #checkVoters(voters: readonly Voter[]): ErrorResult | undefined {
    const seen = new Set<string>();
    for (const voter of voters) {
      if (!this.#agents.has(voter.agent))
        return fail('INVALID', `voter ${voter.agent} is not a registered agent`);
      if (this.#agents.isObserver(voter.agent))
        return fail('INVALID', `voter ${voter.agent} is an observer, which may not vote`);
      if (seen.has(voter.agent)) return fail('INVALID', `voter ${voter.agent} appears twice`);
      seen.add(voter.agent);
    }
    return undefined;
  }

  /**
   * Room for one more proposal by `agent`, within its quotas of open and of retained (decided,
   * not yet pruned) proposals. Refusing while retained ≥ its quota keeps every agent's kept
   * proposals at most open + retained quota, since deciding only moves one from open to retained.
   */
  #checkRoomFor(agent: string): ErrorResult | undefined {
    const openProposalsPerAgentMax = this.#context.quotaOf(agent, 'openProposalsPerAgentMax');
    const retainedProposalsPerAgentMax = this.#context.quotaOf(agent, 'retainedProposalsPerAgentMax');
    const { open, retained } = this.#proposedBy(agent);
    if (open >= openProposalsPerAgentMax)
      return quota('open-proposals', agent, open, openProposalsPerAgentMax, 'openProposalsPerAgentMax');
    if (retained >= retainedProposalsPerAgentMax)
      return quota(
        'retained-proposals',
        agent,
        retained,
        retainedProposalsPerAgentMax,
        'retainedProposalsPerAgentMax',
      );
    return undefined;
  }

  /** Why `agent` may not vote on `proposal`: only council members vote on actions, only voters on anything. */
  #voterRefusal(proposal: ProposalRecord, agent: string): ErrorResult | undefined {
    if (proposal.action !== null && !this.#governance.council().members.includes(agent))
      return fail('NOT_COUNCIL', `${agent} is not on the council; only members vote on actions`);
    if (!proposal.voters.some((v) => v.agent === agent))
      return fail('FORBIDDEN', `${agent} is not a voter of ${proposal.proposalId}`);
    return undefined;
  }

  /** Voids `agent`'s ballot on the open `proposal`, announces it, and re-evaluates the proposal. */
  #exclude(proposal: ProposalRecord, agent: string, exclusion: Exclusion): void {
    proposal.excluded.set(agent, exclusion);
    const { evidenceId } = exclusion;
    this.#context.emit({ kind: 'ballot_voided', proposalId: proposal.proposalId, agent, evidenceId }, agent);
    this.#evaluate(proposal, false);
  }

  /**
   * The deadline is after now and at most `deadlineTicksMax` ahead; a sealed proposal's commit
   * deadline is after now and before the deadline, and a score rule cannot count a missing reveal as a reject.
   */
  #checkTimes(deadline: number, sealed: SealedTerms | null, rule: Rule): ErrorResult | undefined {
    const now = this.#context.position().timestamp;
    const refused = checkDeadline(deadline, now, this.#context.limits.deadlineTicksMax);
    if (refused !== undefined || sealed === null) return refused;
    if (sealed.commitDeadline <= now)
      return fail('EXPIRED', `commitDeadline ${sealed.commitDeadline} is not after the agreed time ${now}`);
    if (sealed.commitDeadline >= deadline)
      return fail(
        'INVALID',
        `commitDeadline ${sealed.commitDeadline} must be before the deadline ${deadline}, to leave time to reveal`,
      );
    if (rule.kind === 'score' && sealed.missingReveal === 'reject')
      return fail('INVALID', 'a score proposal cannot count a missing reveal as a reject; use abstain');
    return undefined;
  }

  /** A second vote by a voter who has a ballot on the proposal already. */
  #voteAgain(proposal: ProposalRecord, previous: StoredBallot, op: Vote, agent: string): CoordinationResult {
    const { proposalId } = proposal;
    if (!bytesEqual(previous.ballotBytes, op.ballotBytes)) {
      const first = { bytes: previous.ballotBytes, signature: previous.signature };
      const second = { bytes: op.ballotBytes, signature: op.signature };
      // The first ballot's key may have left the bounded history since: then only the second's is named.
      const keys = [this.#signers.keyFrom(agent, previous.keyFrom), this.#signers.keyNow(agent)].filter(
        (k): k is Uint8Array => k !== undefined,
      );
      this.recordBallotEquivocation(proposalId, agent, first, second, 'vote', keys);
      return fail('EQUIVOCATION', `${agent} signed a different ballot for ${proposalId}; neither counts`);
    }
    if (proposal.excluded.has(agent))
      return fail('EQUIVOCATION', `${agent} equivocated on ${proposalId}; its ballot does not count`);
    return this.#voteResult(proposal, true);
  }

  #voteResult(proposal: ProposalRecord, duplicate: boolean): CoordinationResult {
    const at = this.#context.position();
    return { ok: true, kind: 'vote', at, duplicate, proposal: proposalSummary(proposal, at.timestamp) };
  }

  /**
   * Decides the proposal if its tally now implies an outcome. A sealed proposal is never decided
   * while it takes commitments; after that, once every commitment is revealed or at the
   * deadline (when the missing reveals are recorded), with no more ballots to come.
   */
  #evaluate(proposal: ProposalRecord, atDeadline: boolean): void {
    if (proposal.status !== 'open') return;
    let final = atDeadline;
    if (proposal.sealed !== null) {
      if (this.#context.position().timestamp < proposal.sealed.commitDeadline) return;
      if (atDeadline) this.#sealed.recordMissingReveals(proposal);
      else if (!this.#sealed.allRevealed(proposal)) return;
      final = true;
    }
    const tally = computeTally(proposal);
    const status = decide(proposal.rule, tally, final);
    if (status === 'open') return;
    proposal.status = status;
    proposal.decidedAt = this.#context.position();
    this.#context.emit(
      {
        kind: 'proposal_decided',
        proposalId: proposal.proposalId,
        outcome: status,
        winner: status === 'approved' ? tally.winner : null,
      },
      proposal.proposer,
    );
    if (status === 'approved' && proposal.action !== null) this.#executeAction(proposal, proposal.action);
  }

  /** Executes an approved proposal's action in the same step, and records its outcome on the proposal. */
  #executeAction(proposal: ProposalRecord, action: GovernanceAction): void {
    const at = this.#context.position();
    const refused = this.#governance.execute(action, proposal.proposalId, proposal.proposer);
    if (refused === undefined) {
      proposal.actionOutcome = { status: 'executed', at, code: null, message: null };
      return;
    }
    proposal.actionOutcome = { status: 'failed', at, code: refused.code, message: refused.message };
    this.#context.emit(
      { kind: 'action_failed', proposalId: proposal.proposalId, code: refused.code },
      proposal.proposer,
    );
  }
}

/** Candidates distinct, and the rule satisfiable by these voters and candidates. */
function checkRule(
  rule: Rule,
  voters: readonly Voter[],
  candidates: readonly string[],
): ErrorResult | undefined {
  if (new Set(candidates).size !== candidates.length) return fail('INVALID', 'candidates must be distinct');
  switch (rule.kind) {
    case 'threshold':
      if (rule.k > voters.length)
        return fail('INVALID', `k (${rule.k}) exceeds the number of voters (${voters.length})`);
      break;
    case 'weighted': {
      const totalWeight = voters.reduce((sum, v) => sum + v.weight, 0);
      if (rule.approveWeight > totalWeight)
        return fail(
          'INVALID',
          `approveWeight (${rule.approveWeight}) exceeds the total weight (${totalWeight})`,
        );
      break;
    }
    case 'score':
      if (candidates.length < 2) return fail('INVALID', 'a score proposal needs at least 2 candidates');
      if (rule.minBallots > voters.length)
        return fail(
          'INVALID',
          `minBallots (${rule.minBallots}) exceeds the number of voters (${voters.length})`,
        );
      break;
  }
  if (rule.kind !== 'score' && candidates.length > 0)
    return fail('INVALID', 'only score proposals have candidates');
  return undefined;
}

/** The deadline is after `now`, and at most `deadlineTicksMax` ahead. */
function checkDeadline(deadline: number, now: number, deadlineTicksMax: number): ErrorResult | undefined {
  if (deadline <= now) return fail('EXPIRED', `deadline ${deadline} is not after the agreed time ${now}`);
  if (deadline - now > deadlineTicksMax)
    return fail('INVALID', `deadline is more than ${deadlineTicksMax} ticks ahead`);
  return undefined;
}
