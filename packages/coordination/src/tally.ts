/**
 * Tallies and decisions: pure functions of a proposal's rule, voters and counted ballots.
 * Integer arithmetic only, voters and candidates in sorted order, so every replica computes
 * the same tally bit for bit.
 */
import type { LogPosition } from './evidence.ts';
import type { GovernanceAction } from './governance.ts';
import type { Choice, Rule, ScoreChoice, SealedTerms, Voter } from './operations.ts';
import { compareStrings } from './record.ts';
import type {
  ActionOutcome,
  CandidateTally,
  ChoiceCount,
  CountedBallot,
  ExcludedBallot,
  ExclusionReason,
  ProposalStatus,
  Tally,
  UnrevealedBallot,
} from './results.ts';

/** A ballot as the state keeps it: the signed bytes plus what was decoded from them. */
export interface StoredBallot {
  readonly ballotBytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly choice: Choice;
  readonly confidencePermille: number;
  readonly castAt: LogPosition;
  /**
   * Which key its signature was checked against: the `from` of the voter's key interval in force
   * at `castAt` (see `list_agents` keys). A reference rather than the 32 key bytes, so a ballot
   * weighs no more in the snapshot bound than before key history existed.
   */
  readonly keyFrom: number;
  /** A sealed proposal's ballot: the salt its commitment sealed, so anyone can re-check the reveal. Null on open proposals. */
  readonly salt: Uint8Array | null;
  /**
   * A sealed proposal's ballot: where its commitment was made. The commitment itself is dropped
   * once revealed: the ballot and salt reproduce its seal, and the ballot is signed too.
   */
  readonly committedAt: LogPosition | null;
}

/**
 * A sealed proposal's commitment as the state keeps it until revealed: its seal and signature
 * (the signed bytes are `encodeCommitment` of the proposal, the voter and the seal), where, and
 * under which key.
 */
export interface StoredCommitment {
  readonly seal: Uint8Array;
  readonly signature: Uint8Array;
  readonly committedAt: LogPosition;
  /** The `from` of the voter's key interval its signature was checked against (as `StoredBallot.keyFrom`). */
  readonly keyFrom: number;
}

/** Why a voter's ballot does not count, and the evidence (null when the evidence store was full). */
export interface Exclusion {
  readonly reason: ExclusionReason;
  readonly evidenceId: number | null;
}

/** A proposal as the state keeps it (internal). */
export interface ProposalRecord {
  readonly proposalId: string;
  readonly proposer: string;
  readonly title: string;
  readonly rule: Rule;
  /** Sorted by agent. */
  readonly voters: readonly Voter[];
  readonly deadline: number;
  /** Sorted. */
  readonly candidates: readonly string[];
  readonly createdAt: LogPosition;
  /** Counted ballots: cast on an open proposal, revealed on a sealed one. */
  readonly ballots: Map<string, StoredBallot>;
  /** Voters whose ballot no longer counts, why, and the evidence. */
  readonly excluded: Map<string, Exclusion>;
  /** Null for an open ballot. */
  readonly sealed: SealedTerms | null;
  /** Sealed proposals: each voter's commitment, until it is revealed. */
  readonly commitments: Map<string, StoredCommitment>;
  /** Sealed proposals: set once the commit deadline has passed (the reveal phase has been announced). */
  revealOpened: boolean;
  /** Sealed proposals decided at their deadline: committed voters that never revealed, with their no-reveal evidence id. */
  readonly unrevealed: Map<string, number | null>;
  status: ProposalStatus;
  decidedAt: LogPosition | null;
  /** The governance action it carries; null for an ordinary proposal. */
  readonly action: GovernanceAction | null;
  actionOutcome: ActionOutcome | null;
}

const zero = (): { count: number; weight: number } => ({ count: 0, weight: 0 });

/** Aggregate of sorted integer scores, times 1000, rounded down. */
export function aggregateMilli(
  sortedScores: readonly number[],
  aggregate: 'median' | 'trimmed_mean',
  trimPermille: number,
): number | null {
  const count = sortedScores.length;
  if (count === 0) return null;
  if (aggregate === 'median') {
    const middle = Math.floor(count / 2);
    return count % 2 === 1
      ? (sortedScores[middle] as number) * 1000
      : ((sortedScores[middle - 1] as number) + (sortedScores[middle] as number)) * 500;
  }
  const trim = Math.floor((count * trimPermille) / 1000);
  let sum = 0;
  for (let i = trim; i < count - trim; i++) sum += sortedScores[i] as number;
  // Exact for safe integers: floor of a correctly rounded quotient of integers below 2^53.
  return Math.floor((sum * 1000) / (count - 2 * trim));
}

/** Recomputes the tally from the counted ballots. */
export function computeTally(proposal: ProposalRecord): Tally {
  const buckets = { approve: zero(), reject: zero(), abstain: zero() };
  const pending = zero();
  const committed = zero();
  const counted: CountedBallot[] = [];
  const excluded: ExcludedBallot[] = [];
  const unrevealed: UnrevealedBallot[] = [];
  for (const voter of proposal.voters) {
    const exclusion = proposal.excluded.get(voter.agent);
    if (exclusion !== undefined) {
      excluded.push({ agent: voter.agent, weight: voter.weight, ...exclusion });
      continue;
    }
    const sealedBallot = proposal.sealed !== null && proposal.ballots.has(voter.agent);
    if (proposal.commitments.has(voter.agent) || sealedBallot) add(committed, voter.weight);
    const missing = proposal.unrevealed.get(voter.agent);
    if (missing !== undefined || proposal.unrevealed.has(voter.agent)) {
      unrevealed.push({ agent: voter.agent, weight: voter.weight, evidenceId: missing ?? null });
      // A missing reveal counts as the proposal says; under a score rule it adds no scores.
      const missingReveal = proposal.sealed?.missingReveal ?? 'abstain';
      if (proposal.rule.kind !== 'score') add(buckets[missingReveal], voter.weight);
      continue;
    }
    const ballot = proposal.ballots.get(voter.agent);
    if (ballot === undefined) {
      add(pending, voter.weight);
      continue;
    }
    counted.push({
      agent: voter.agent,
      weight: voter.weight,
      choice: ballot.choice,
      confidencePermille: ballot.confidencePermille,
    });
    if (typeof ballot.choice === 'string') add(buckets[ballot.choice], voter.weight);
  }
  const candidates: CandidateTally[] = [];
  let winner: string | null = null;
  if (proposal.rule.kind === 'score') {
    const { aggregate, trimPermille } = proposal.rule;
    let best: number | null = null;
    for (const candidate of proposal.candidates) {
      const scores: number[] = [];
      for (const ballot of counted) {
        const pair = (ballot.choice as ScoreChoice).find(([name]) => name === candidate);
        if (pair !== undefined) scores.push(pair[1]);
      }
      scores.sort((a, b) => a - b);
      const value = aggregateMilli(scores, aggregate, trimPermille);
      candidates.push({ candidate, ballots: scores.length, aggregateMilli: value });
      // Candidates are sorted, so a strict improvement keeps the smallest name among equals.
      if (value !== null && (best === null || value > best)) {
        best = value;
        winner = candidate;
      }
    }
  }
  const count = (c: { count: number; weight: number }): ChoiceCount => ({ count: c.count, weight: c.weight });
  return {
    approve: count(buckets.approve),
    reject: count(buckets.reject),
    abstain: count(buckets.abstain),
    pending: count(pending),
    counted,
    excluded,
    committed: count(committed),
    unrevealed,
    candidates,
    winner,
  };
}

function add(bucket: { count: number; weight: number }, weight: number): void {
  bucket.count += 1;
  bucket.weight += weight;
}

/**
 * The status a proposal's tally implies. `atDeadline`: agreed time has reached the deadline, so
 * pending voters can no longer vote. See the README for the definitions this implements.
 */
export function decide(rule: Rule, tally: Tally, atDeadline: boolean): ProposalStatus {
  switch (rule.kind) {
    case 'threshold': {
      const needed = rule.k;
      if (tally.approve.count >= needed) return 'approved';
      if (tally.approve.count + tally.pending.count < needed) return 'rejected';
      if (!atDeadline) return 'open';
      const ballots = tally.approve.count + tally.reject.count + tally.abstain.count;
      return ballots < needed ? 'no_quorum' : 'expired';
    }
    case 'weighted': {
      const needed = rule.approveWeight;
      if (tally.approve.weight >= needed) return 'approved';
      if (tally.approve.weight + tally.pending.weight < needed) return 'rejected';
      if (!atDeadline) return 'open';
      const ballots = tally.approve.weight + tally.reject.weight + tally.abstain.weight;
      return ballots < needed ? 'no_quorum' : 'expired';
    }
    case 'score': {
      const ballots = tally.counted.length;
      if (ballots + tally.pending.count < rule.minBallots) return 'rejected';
      if (tally.pending.count === 0) return 'approved';
      if (!atDeadline) return 'open';
      return ballots >= rule.minBallots ? 'approved' : 'no_quorum';
    }
  }
}

/** Why the choice does not fit the proposal (yes/no rules take a simple choice, score rules a score per candidate), or undefined. */
export function choiceProblem(proposal: ProposalRecord, choice: StoredBallot['choice']): string | undefined {
  if (proposal.rule.kind !== 'score')
    return typeof choice === 'string' ? undefined : 'this proposal takes approve, reject or abstain';
  if (typeof choice === 'string') return 'this proposal takes a score for every candidate';
  const scored = choice.map(([candidate]) => candidate).sort(compareStrings);
  if (scored.length !== proposal.candidates.length || scored.some((c, i) => c !== proposal.candidates[i]))
    return `a ballot must score exactly the candidates ${proposal.candidates.join(', ')}`;
  return undefined;
}

/** Voters sorted by agent. */
export function sortVoters(voters: readonly Voter[]): Voter[] {
  return [...voters].sort((a, b) => compareStrings(a.agent, b.agent));
}
