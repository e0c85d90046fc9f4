/**
 * The proposals' part of the snapshot record. Every per-voter map is a list sorted by voter, and
 * names its voter by index into the proposal's (sorted) voter list rather than by id, and a
 * ballot keeps only its signed bytes (its choice is decoded again on restore): what the snapshot
 * bound charges per voter (capacity.ts) is what a voter can really add.
 */
import { decodeBallot } from '../ballot.ts';
import type { LogPosition } from '../evidence.ts';
import type { ExclusionReason } from '../results.ts';
import type { ProposalRecord, StoredBallot, StoredCommitment } from '../tally.ts';
import { invariant, present } from './shared.ts';

type ByVoter<T> = readonly (T & { readonly voter: number })[];

/** A ballot in the snapshot: the signed bytes and where they were cast, without the decoded choice. */
interface SnapshotBallot {
  readonly ballotBytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly castAt: LogPosition;
  readonly keyFrom: number;
  readonly salt: Uint8Array | null;
  readonly committedAt: LogPosition | null;
}

/** One proposal as the snapshot lists it. */
export type ProposalSnapshotRecord = Omit<
  ProposalRecord,
  'ballots' | 'excluded' | 'commitments' | 'unrevealed'
> & {
  readonly ballots: ByVoter<SnapshotBallot>;
  readonly excluded: ByVoter<{ readonly reason: ExclusionReason; readonly evidenceId: number | null }>;
  readonly commitments: ByVoter<StoredCommitment>;
  readonly unrevealed: ByVoter<{ readonly evidenceId: number | null }>;
};

/** The proposals' part of the snapshot record, sorted by id. */
export interface ProposalsSnapshot {
  readonly proposals: readonly ProposalSnapshotRecord[];
}

/** The entries of a per-voter map, in voter order, each tagged with its voter's index. */
function byVoter<V, T>(
  proposal: ProposalRecord,
  map: ReadonlyMap<string, V>,
  shape: (value: V) => T,
): (T & { readonly voter: number })[] {
  const entries: (T & { readonly voter: number })[] = [];
  proposal.voters.forEach(({ agent }, voter) => {
    const value = map.get(agent);
    if (value !== undefined || map.has(agent)) entries.push({ ...shape(value as V), voter });
  });
  invariant(entries.length === map.size, `${proposal.proposalId}: every entry belongs to a voter`);
  return entries;
}

export function proposalToSnapshot(p: ProposalRecord): ProposalSnapshotRecord {
  return {
    ...p,
    ballots: byVoter(p, p.ballots, (b) => ({
      ballotBytes: b.ballotBytes,
      signature: b.signature,
      castAt: b.castAt,
      keyFrom: b.keyFrom,
      salt: b.salt,
      committedAt: b.committedAt,
    })),
    excluded: byVoter(p, p.excluded, (e) => ({ reason: e.reason, evidenceId: e.evidenceId })),
    commitments: byVoter(p, p.commitments, (c) => ({ ...c })),
    unrevealed: byVoter(p, p.unrevealed, (evidenceId) => ({ evidenceId })),
  };
}

export function proposalFromSnapshot(p: ProposalSnapshotRecord): ProposalRecord {
  const agentOf = (voter: number) => present(p.voters[voter], `voter ${voter} of ${p.proposalId}`).agent;
  return {
    ...p,
    ballots: new Map(p.ballots.map(({ voter, ...ballot }) => [agentOf(voter), restoredBallot(ballot)])),
    excluded: new Map(
      p.excluded.map(({ voter, reason, evidenceId }) => [agentOf(voter), { reason, evidenceId }]),
    ),
    commitments: new Map(p.commitments.map(({ voter, ...commitment }) => [agentOf(voter), commitment])),
    unrevealed: new Map(p.unrevealed.map(({ voter, evidenceId }) => [agentOf(voter), evidenceId])),
  };
}

/** A ballot with its choice decoded again from its bytes (validated when it was cast). */
function restoredBallot(ballot: SnapshotBallot): StoredBallot {
  const decoded = decodeBallot(ballot.ballotBytes);
  invariant(decoded.ok, 'a stored ballot decodes');
  return { ...ballot, choice: decoded.ballot.choice, confidencePermille: decoded.ballot.confidencePermille };
}
