import { describe, expect, it } from 'vitest';
import {
  actions,
  CoordinationStateMachine,
  type Evidence,
  encodeCommitment,
  ops,
  verifyEvidence,
} from '../src/index.ts';
import { containsBytes, proposeSealed, seal } from './sealed-support.ts';
import { bytes, crypto, Driver, identities, joinOf } from './support.ts';

const proposal = (d: Driver, id = 'p') => d.queryOk('proposal', ops.getProposal({ proposalId: id })).proposal;
const evidence = (d: Driver) => d.queryOk('evidence', ops.listEvidence({})).evidence;
const eventKinds = (d: Driver) =>
  d.queryOk('events', ops.events({ fromSequence: 0, limit: 100 })).events.map((e) => e.kind);

describe('sealed ballots: commit, then reveal', () => {
  it('counts revealed ballots only, and decides once every committed voter has revealed', () => {
    const d = new Driver();
    proposeSealed(d, { voters: ['alice', 'bob', 'carol', 'dave'] });
    const ballots = {
      alice: seal('p', 'alice', 'approve'),
      bob: seal('p', 'bob', 'approve'),
      carol: seal('p', 'carol', 'reject'),
    };
    for (const [agent, sealed] of Object.entries(ballots)) d.ok('vote', agent, sealed.commit);
    const during = proposal(d);
    expect(during.phase).toBe('commit');
    expect(during.sealed?.committed).toEqual(['alice', 'bob', 'carol']);
    expect(during.tally.committed).toEqual({ count: 3, weight: 3 });
    expect(during.tally.approve.count + during.tally.reject.count).toBe(0);
    expect(during.tally.pending.count).toBe(4);
    // Two approvals would decide an open threshold-2 proposal; a sealed one waits for reveals.
    d.at(10);
    expect(proposal(d).phase).toBe('reveal');
    d.ok('vote', 'alice', ballots.alice.reveal);
    d.ok('vote', 'bob', ballots.bob.reveal);
    expect(proposal(d).status).toBe('open');
    const last = d.ok('vote', 'carol', ballots.carol.reveal);
    expect(last.proposal.status).toBe('approved');
    const decided = proposal(d);
    expect(decided.tally.approve.count).toBe(2);
    expect(decided.tally.reject.count).toBe(1);
    // dave never committed: still pending when the last commitment was revealed.
    expect(decided.tally.pending.count).toBe(1);
    expect(decided.sealed?.revealed).toEqual(['alice', 'bob', 'carol']);
    expect(eventKinds(d)).toEqual([
      'proposal_created',
      'ballot_committed',
      'ballot_committed',
      'ballot_committed',
      'reveal_opened',
      'ballot_revealed',
      'ballot_revealed',
      'ballot_revealed',
      'proposal_decided',
    ]);
  });

  it('shows who committed, never what: no ballot content in the state before the commit deadline', () => {
    const d = new Driver();
    proposeSealed(d);
    const secret = 'SECRET-REASON-7f3a';
    const alice = seal('p', 'alice', 'approve', { reason: secret });
    d.ok('vote', 'alice', alice.commit);
    // A reveal before the commit deadline is refused, and nothing of it is kept.
    d.at(9);
    d.error('alice', alice.reveal, 'REVEAL_TOO_EARLY');
    const snapshot = d.sm.snapshot();
    expect(containsBytes(snapshot, alice.ballotBytes)).toBe(false);
    expect(containsBytes(snapshot, bytes(secret))).toBe(false);
    expect(containsBytes(snapshot, alice.salt)).toBe(false);
    expect(containsBytes(snapshot, alice.seal)).toBe(true);
    // Reads show the commitment (a seal and a signature) and that alice committed.
    const commitment = d.queryOk('commitment', ops.getCommitment({ proposalId: 'p', agent: 'alice' }));
    expect(commitment.commitmentBytes).toEqual(
      encodeCommitment({ proposalId: 'p', agent: 'alice', seal: alice.seal }),
    );
    d.error('bob', ops.getBallot({ proposalId: 'p', agent: 'alice' }), 'NOT_FOUND');
    // After the deadline the same reveal counts, and the ballot (with its salt) is readable.
    d.at(10);
    d.ok('vote', 'alice', alice.reveal);
    expect(containsBytes(d.sm.snapshot(), bytes(secret))).toBe(true);
    const ballot = d.queryOk('ballot', ops.getBallot({ proposalId: 'p', agent: 'alice' }));
    expect(ballot.salt).toEqual(alice.salt);
    // The commitment is dropped once revealed: the ballot and salt reproduce its seal.
    d.error('bob', ops.getCommitment({ proposalId: 'p', agent: 'alice' }), 'NOT_FOUND');
  });

  it('refuses a plain vote on a sealed proposal, and commit/reveal on an open one', () => {
    const d = new Driver();
    proposeSealed(d);
    d.error('alice', d.voteOp({ proposalId: 'p', agent: 'alice', choice: 'approve' }), 'SEALED');
    d.ok(
      'proposal',
      'alice',
      ops.propose({
        proposalId: 'o',
        title: '',
        rule: { kind: 'threshold', k: 1 },
        voters: [{ agent: 'alice', weight: 1 }],
        deadline: 20,
      }),
    );
    d.error('alice', seal('o', 'alice', 'approve').commit, 'NOT_SEALED');
    d.error('alice', seal('o', 'alice', 'approve').reveal, 'NOT_SEALED');
    d.error('dave', seal('p', 'dave', 'approve').commit, 'FORBIDDEN');
  });

  it('closes commitments at the commit deadline and reveals at the deadline', () => {
    const d = new Driver();
    proposeSealed(d);
    const carol = seal('p', 'carol', 'approve');
    d.ok('vote', 'alice', seal('p', 'alice', 'approve').commit);
    d.at(10);
    d.error('carol', carol.commit, 'COMMIT_CLOSED');
    d.error('carol', carol.reveal, 'NO_COMMITMENT');
    d.at(20);
    expect(proposal(d).status).not.toBe('open');
    d.error('alice', seal('p', 'alice', 'approve').reveal, 'EXPIRED');
  });

  it("a commitment copied from another agent cannot be revealed as the copier's own", () => {
    const d = new Driver();
    proposeSealed(d);
    const alice = seal('p', 'alice', 'approve');
    // Alice's signed commitment, sent by bob: it is hers, not his.
    d.error('bob', alice.commit, 'FORGED_BALLOT');
    // Bob signs a commitment carrying alice's seal: accepted (a seal reveals nothing), but useless.
    const copy = seal('p', 'bob', 'approve', { commitSeal: alice.seal, salt: alice.salt });
    d.ok('vote', 'bob', copy.commit);
    d.ok('vote', 'alice', alice.commit);
    d.at(10);
    d.ok('vote', 'alice', alice.reveal);
    // Now bob knows alice's ballot and salt; neither her ballot nor his own copy opens his seal.
    d.error('bob', alice.reveal, 'FORGED_BALLOT');
    d.error('bob', copy.reveal, 'REVEAL_MISMATCH');
    const [item] = evidence(d);
    expect(item?.kind).toBe('reveal_mismatch');
    expect(verifyEvidence(item as Evidence, d.agents, crypto)).toEqual({ ok: true });
    expect(proposal(d).tally.excluded).toEqual([
      { agent: 'bob', weight: 1, reason: 'reveal_mismatch', evidenceId: item?.id },
    ]);
    d.error('bob', seal('p', 'bob', 'reject').reveal, 'REVEAL_MISMATCH');
  });

  it('two different commitments are equivocation: evidence checkable offline, the voter excluded', () => {
    const d = new Driver();
    proposeSealed(d);
    const first = seal('p', 'bob', 'approve');
    d.ok('vote', 'bob', first.commit);
    expect(d.ok('vote', 'bob', first.commit).duplicate).toBe(true);
    d.error('bob', seal('p', 'bob', 'reject').commit, 'EQUIVOCATION');
    const [item] = evidence(d);
    expect(item?.kind).toBe('commitment');
    expect(verifyEvidence(item as Evidence, d.agents, crypto)).toEqual({ ok: true });
    const tampered = { ...(item as Evidence), second: (item as Evidence).first } as Evidence;
    expect(verifyEvidence(tampered, d.agents, crypto).ok).toBe(false);
    d.at(10);
    d.error('bob', first.reveal, 'EQUIVOCATION');
    expect(proposal(d).tally.excluded.map((e) => e.reason)).toEqual(['equivocation']);
  });

  it('a reveal that does not match is refused, recorded and excludes the voter', () => {
    const d = new Driver();
    proposeSealed(d);
    const honest = seal('p', 'carol', 'reject');
    d.ok('vote', 'carol', honest.commit);
    d.at(10);
    // Carol saw nothing, but tries to switch to approve at reveal time.
    d.error('carol', seal('p', 'carol', 'approve').reveal, 'REVEAL_MISMATCH');
    d.error('carol', honest.reveal, 'REVEAL_MISMATCH');
    const [item] = evidence(d);
    expect(item?.kind).toBe('reveal_mismatch');
    expect(verifyEvidence(item as Evidence, d.agents, crypto)).toEqual({ ok: true });
    // The honest pair is no mismatch: evidence built from it fails the offline check.
    if (item?.kind !== 'reveal_mismatch') throw new Error('unreachable');
    const framed = { ...item, second: { bytes: honest.ballotBytes, signature: item.second.signature } };
    expect(verifyEvidence(framed, d.agents, crypto).ok).toBe(false);
  });

  it('a second, different reveal after a valid one is ballot equivocation', () => {
    const d = new Driver();
    proposeSealed(d, { voters: ['alice', 'bob'] });
    const alice = seal('p', 'alice', 'approve');
    d.ok('vote', 'alice', alice.commit);
    d.ok('vote', 'bob', seal('p', 'bob', 'approve').commit);
    d.at(10);
    d.ok('vote', 'alice', alice.reveal);
    expect(d.ok('vote', 'alice', alice.reveal).duplicate).toBe(true);
    d.error('alice', seal('p', 'alice', 'reject').reveal, 'EQUIVOCATION');
    expect(evidence(d).map((e) => e.kind)).toEqual(['ballot']);
    expect(proposal(d).tally.excluded.map((e) => e.agent)).toEqual(['alice']);
  });

  it('records every committed voter that never revealed, and counts it as the proposal says', () => {
    for (const missingReveal of ['abstain', 'reject'] as const) {
      const d = new Driver();
      proposeSealed(d, { missingReveal });
      for (const agent of ['alice', 'bob', 'carol']) d.ok('vote', agent, seal('p', agent, 'approve').commit);
      d.at(10);
      d.ok('vote', 'alice', seal('p', 'alice', 'approve').reveal);
      d.at(20);
      const decided = proposal(d);
      // Nothing is pending once the reveals are over: one approval of the two needed rejects it.
      expect(decided.status).toBe('rejected');
      expect(decided.tally.unrevealed.map((u) => u.agent)).toEqual(['bob', 'carol']);
      expect(decided.tally[missingReveal]).toEqual({ count: 2, weight: 2 });
      expect(decided.tally.pending.count).toBe(0);
      const items = evidence(d);
      expect(items.map((e) => [e.kind, e.agent])).toEqual([
        ['no_reveal', 'bob'],
        ['no_reveal', 'carol'],
      ]);
      for (const item of items) expect(verifyEvidence(item, d.agents, crypto)).toEqual({ ok: true });
      expect(decided.tally.unrevealed.map((u) => u.evidenceId)).toEqual(items.map((e) => e.id));
      expect(eventKinds(d).filter((k) => k === 'reveal_missing')).toHaveLength(2);
    }
  });

  it('decides at the commit deadline when nobody committed', () => {
    const d = new Driver();
    proposeSealed(d);
    d.at(10);
    const decided = proposal(d);
    expect(decided.status).toBe('no_quorum');
    expect(decided.decidedAt?.timestamp).toBe(10);
  });

  it('refuses sealed terms that leave no commit or reveal phase', () => {
    const d = new Driver();
    const base = {
      title: '',
      rule: { kind: 'threshold', k: 1 } as const,
      voters: [{ agent: 'alice', weight: 1 }],
    };
    d.at(5);
    d.error(
      'alice',
      ops.propose({
        ...base,
        proposalId: 'a',
        deadline: 20,
        sealed: { commitDeadline: 5, missingReveal: 'abstain' },
      }),
      'EXPIRED',
    );
    d.error(
      'alice',
      ops.propose({
        ...base,
        proposalId: 'b',
        deadline: 20,
        sealed: { commitDeadline: 20, missingReveal: 'abstain' },
      }),
      'INVALID',
    );
    const score = { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 1 } as const;
    d.error(
      'alice',
      ops.propose({
        ...base,
        rule: score,
        candidates: ['x', 'y'],
        proposalId: 'c',
        deadline: 20,
        sealed: { commitDeadline: 10, missingReveal: 'reject' },
      }),
      'INVALID',
    );
  });

  it('a score proposal: the winner comes from the revealed scores only', () => {
    const d = new Driver();
    const rule = { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 2 } as const;
    proposeSealed(d, { rule, candidates: ['x', 'y'] });
    const scores = {
      alice: [
        ['x', 9],
        ['y', 1],
      ],
      bob: [
        ['x', 8],
        ['y', 2],
      ],
      carol: [
        ['x', 0],
        ['y', 10],
      ],
    } as const;
    for (const [agent, choice] of Object.entries(scores))
      d.ok('vote', agent, seal('p', agent, choice).commit);
    d.at(10);
    d.ok('vote', 'alice', seal('p', 'alice', scores.alice).reveal);
    d.ok('vote', 'bob', seal('p', 'bob', scores.bob).reveal);
    // Carol never reveals: under a score rule that adds no scores.
    d.at(20);
    const decided = proposal(d);
    expect(decided.status).toBe('approved');
    expect(decided.tally.winner).toBe('x');
    expect(decided.tally.candidates.map((c) => c.ballots)).toEqual([2, 2]);
    expect(decided.tally.unrevealed.map((u) => u.agent)).toEqual(['carol']);
  });

  it('a sealed governance action executes when the revealed council ballots approve it', () => {
    const d = new Driver({ council: { members: ['alice', 'bob', 'carol'], threshold: 2 } });
    d.ok(
      'proposal',
      'alice',
      ops.proposeAction({
        proposalId: 'act',
        deadline: 20,
        action: actions.registerAgent({ joinStatement: joinOf('zed') }),
        sealed: { commitDeadline: 10, missingReveal: 'abstain' },
      }),
    );
    for (const agent of ['alice', 'bob']) d.ok('vote', agent, seal('act', agent, 'approve').commit);
    d.error('dave', seal('act', 'dave', 'approve').commit, 'NOT_COUNCIL');
    d.at(10);
    for (const agent of ['alice', 'bob']) d.ok('vote', agent, seal('act', agent, 'approve').reveal);
    const decided = proposal(d, 'act');
    expect(decided.status).toBe('approved');
    expect(decided.actionOutcome?.status).toBe('executed');
  });

  it('restores mid-phase to the same state, and goes on identically', () => {
    const d = new Driver();
    proposeSealed(d);
    d.ok('vote', 'alice', seal('p', 'alice', 'approve').commit);
    d.ok('vote', 'bob', seal('p', 'bob', 'approve').commit);
    d.at(10);
    d.ok('vote', 'alice', seal('p', 'alice', 'approve').reveal);
    const copy = new CoordinationStateMachine({ crypto, agents: identities(), limits: { agentsMax: 16 } });
    copy.restore(d.sm.snapshot());
    expect(copy.digest()).toEqual(d.sm.digest());
    const context = { agent: 'bob', requestId: 99, sequence: d.sequence + 1, timestamp: 11 };
    const reveal = seal('p', 'bob', 'approve').reveal;
    copy.advanceTime(context);
    d.batch(11);
    expect(copy.apply(reveal, context)).toEqual(d.sm.apply(reveal, context));
    expect(copy.digest()).toEqual(d.sm.digest());
  });
});
