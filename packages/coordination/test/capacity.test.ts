/**
 * The snapshot bound (capacity.ts) must be an upper bound in fact, not only on paper: fill one
 * proposal to its largest — every voter with a 64-byte id, every ballot at ballotBytesMax, every
 * salt at its largest — and check its encoded part of the snapshot against what the bound charges.
 */
import { describe, expect, it } from 'vitest';
import { proposalBytesMax } from '../src/capacity.ts';
import {
  type Ballot,
  DEFAULT_COORDINATION_LIMITS,
  encodeBallot,
  ops,
  type Rule,
  SALT_BYTES_MAX,
} from '../src/index.ts';
import { decodeRecord, encodeRecord, type RecordValue } from '../src/record.ts';
import { seal } from './sealed-support.ts';
import { Driver } from './support.ts';

const l = DEFAULT_COORDINATION_LIMITS;
const names = Array.from({ length: l.votersMax }, (_, i) => `${i}`.padStart(64, 'v'));
const proposalId = 'p'.repeat(l.proposalIdBytesMax);
const candidates = Array.from({ length: l.candidatesMax }, (_, i) =>
  `${i}`.padStart(l.candidateBytesMax, 'c'),
);

/** The encoded size of the (only) proposal in the state machine's snapshot. */
function proposalBytes(d: Driver): number {
  const record = decodeRecord(d.sm.snapshot()) as { proposals: RecordValue[] };
  return encodeRecord(record.proposals[0] as RecordValue).byteLength;
}

/** The longest reason that keeps `ballot`'s bytes within ballotBytesMax. */
function fill(ballot: Omit<Ballot, 'reason'>): Ballot {
  let reason = '';
  while (encodeBallot({ ...ballot, reason: `${reason}r` }).byteLength <= l.ballotBytesMax) reason += 'r';
  return { ...ballot, reason };
}

function open(rule: Rule, sealed: boolean): Driver {
  const d = new Driver({ names, limits: { agentsMax: l.votersMax } });
  d.ok(
    'proposal',
    names[0] as string,
    ops.propose({
      proposalId,
      title: 't'.repeat(l.titleBytesMax),
      rule,
      voters: names.map((agent) => ({ agent, weight: l.weightMax })),
      deadline: 1_000,
      candidates: rule.kind === 'score' ? candidates : [],
      sealed: sealed ? { commitDeadline: 500, missingReveal: 'abstain' } : null,
    }),
  );
  return d;
}

// A ballot cannot score 16 candidates of 32 bytes within 256 bytes: the largest ballots are
// yes/no ones with the longest reason (the decoded choice is not part of the snapshot).
const threshold: Rule = { kind: 'threshold', k: l.votersMax };

describe('the snapshot bound holds for a proposal at its largest', () => {
  it('an open proposal with every ballot cast', () => {
    const d = open(threshold, false);
    for (const agent of names) {
      const ballot = fill({ proposalId, agent, choice: 'approve', confidencePermille: 1000 });
      d.ok('vote', agent, d.voteOp(ballot));
    }
    expect(proposalBytes(d)).toBeLessThanOrEqual(proposalBytesMax(l));
  });

  it('a sealed proposal with every voter committed, then every ballot revealed', () => {
    const d = open(threshold, true);
    const salt = new Uint8Array(SALT_BYTES_MAX).fill(9);
    const sealed = names.map((agent) => {
      const { reason } = fill({ proposalId, agent, choice: 'abstain', confidencePermille: 700 });
      return seal(proposalId, agent, 'abstain', { reason, salt });
    });
    for (const [i, s] of sealed.entries()) d.ok('vote', names[i] as string, s.commit);
    const committed = proposalBytes(d);
    expect(committed).toBeLessThanOrEqual(proposalBytesMax(l));
    d.at(500);
    for (const [i, s] of sealed.entries()) d.ok('vote', names[i] as string, s.reveal);
    const revealed = proposalBytes(d);
    expect(revealed).toBeLessThanOrEqual(proposalBytesMax(l));
    // The charge is not slack for nothing: the largest proposal uses most of it.
    expect(revealed).toBeGreaterThan(0.8 * proposalBytesMax(l));
  });
});
