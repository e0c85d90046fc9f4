import { describe, expect, it } from 'vitest';
import { ops, type Rule } from '../src/index.ts';
import { Driver } from './support.ts';

const FIVE = ['alice', 'bob', 'carol', 'dave', 'erin'].map((agent) => ({ agent, weight: 1 }));

function propose(
  d: Driver,
  rule: Rule,
  options: {
    id?: string;
    voters?: { agent: string; weight: number }[];
    deadline?: number;
    candidates?: string[];
  } = {},
) {
  return d.ok(
    'proposal',
    'alice',
    ops.propose({
      proposalId: options.id ?? 'p1',
      title: 'ship it?',
      rule,
      voters: options.voters ?? FIVE,
      deadline: options.deadline ?? 100,
      candidates: options.candidates ?? [],
    }),
  ).proposal;
}

const status = (d: Driver, id = 'p1') => d.queryOk('proposal', ops.getProposal({ proposalId: id })).proposal;

describe('threshold rule', () => {
  it('is approved as soon as k voters approve, with the tally', () => {
    const d = new Driver();
    propose(d, { kind: 'threshold', k: 3 });
    d.vote('p1', 'alice', 'approve');
    d.vote('p1', 'bob', 'reject');
    d.vote('p1', 'carol', 'approve');
    expect(status(d).status).toBe('open');
    d.at(5);
    const result = d.vote('p1', 'dave', 'approve');
    expect(result.ok && result.kind === 'vote' && result.proposal.status).toBe('approved');
    const p = status(d);
    expect(p.decidedAt).toEqual({ sequence: d.sequence, timestamp: 5 });
    expect(p.tally.approve).toEqual({ count: 3, weight: 3 });
    expect(p.tally.reject).toEqual({ count: 1, weight: 1 });
    expect(p.tally.abstain).toEqual({ count: 0, weight: 0 });
    expect(p.tally.pending).toEqual({ count: 1, weight: 1 });
    expect(p.tally.counted.map((b) => [b.agent, b.choice])).toEqual([
      ['alice', 'approve'],
      ['bob', 'reject'],
      ['carol', 'approve'],
      ['dave', 'approve'],
    ]);
    expect(p.tally.excluded).toEqual([]);
    // Decided early: further ballots are refused as CLOSED.
    d.error('erin', d.voteOp({ proposalId: 'p1', agent: 'erin', choice: 'approve' }), 'CLOSED');
  });

  it('is rejected as soon as approval can no longer reach k', () => {
    const d = new Driver();
    propose(d, { kind: 'threshold', k: 3 });
    d.vote('p1', 'alice', 'reject');
    d.vote('p1', 'bob', 'abstain');
    expect(status(d).status).toBe('open');
    d.vote('p1', 'carol', 'reject'); // 0 approvals + 2 pending < 3
    const p = status(d);
    expect(p.status).toBe('rejected');
    expect(p.tally.reject.count).toBe(2);
    expect(p.tally.abstain.count).toBe(1);
    expect(p.tally.pending.count).toBe(2);
  });

  it('is no_quorum at the deadline with fewer than k ballots', () => {
    const d = new Driver();
    propose(d, { kind: 'threshold', k: 3 });
    d.vote('p1', 'alice', 'approve');
    d.vote('p1', 'bob', 'abstain');
    d.at(99);
    expect(status(d).status).toBe('open');
    d.at(100);
    const p = status(d);
    expect(p.status).toBe('no_quorum');
    expect(p.decidedAt?.timestamp).toBe(100);
    expect(p.tally.approve.count + p.tally.reject.count + p.tally.abstain.count).toBe(2);
  });

  it('is expired at the deadline with at least k ballots but neither decision', () => {
    const d = new Driver();
    propose(d, { kind: 'threshold', k: 3 });
    d.vote('p1', 'alice', 'approve');
    d.vote('p1', 'bob', 'approve');
    d.vote('p1', 'carol', 'reject');
    d.at(150);
    const p = status(d);
    expect(p.status).toBe('expired');
    expect(p.tally.pending.count).toBe(2);
  });

  it('refuses votes at or after the deadline with EXPIRED, even without a heartbeat first', () => {
    const d = new Driver();
    propose(d, { kind: 'threshold', k: 1 });
    // The vote's own batch is at time 100: apply evaluates the deadline before the vote.
    d.sequence += 1;
    d.time = 100;
    d.error('bob', d.voteOp({ proposalId: 'p1', agent: 'bob', choice: 'approve' }), 'EXPIRED');
    expect(status(d).status).toBe('no_quorum');
  });
});

describe('weighted rule', () => {
  const voters = [
    { agent: 'alice', weight: 5 },
    { agent: 'bob', weight: 3 },
    { agent: 'carol', weight: 2 },
  ];

  it('is approved when the approving weight reaches approveWeight', () => {
    const d = new Driver();
    propose(d, { kind: 'weighted', approveWeight: 7 }, { voters });
    d.vote('p1', 'alice', 'approve');
    expect(status(d).status).toBe('open');
    d.vote('p1', 'carol', 'approve');
    const p = status(d);
    expect(p.status).toBe('approved');
    expect(p.tally.approve).toEqual({ count: 2, weight: 7 });
    expect(p.tally.pending).toEqual({ count: 1, weight: 3 });
  });

  it('is rejected when the approving weight can no longer reach approveWeight', () => {
    const d = new Driver();
    propose(d, { kind: 'weighted', approveWeight: 6 }, { voters });
    d.vote('p1', 'bob', 'approve');
    d.vote('p1', 'alice', 'reject'); // 3 + 2 pending < 6
    expect(status(d).status).toBe('rejected');
  });

  it('is no_quorum when the weight of ballots cast is below approveWeight at the deadline', () => {
    const d = new Driver();
    propose(d, { kind: 'weighted', approveWeight: 6 }, { voters });
    d.vote('p1', 'bob', 'approve');
    d.vote('p1', 'carol', 'abstain');
    d.at(100);
    const p = status(d);
    expect(p.status).toBe('no_quorum');
    expect(p.tally.approve.weight + p.tally.abstain.weight).toBe(5);
  });

  it('is expired when enough weight voted but approval was neither reached nor ruled out', () => {
    const d = new Driver();
    propose(d, { kind: 'weighted', approveWeight: 5 }, { voters });
    d.vote('p1', 'alice', 'abstain');
    d.vote('p1', 'bob', 'approve');
    d.at(100);
    expect(status(d).status).toBe('expired');
  });
});

describe('score rule', () => {
  const candidates = ['red', 'green', 'blue'];
  const score = (r: number, g: number, b: number): [string, number][] => [
    ['red', r],
    ['green', g],
    ['blue', b],
  ];

  it('median: decided when every voter has voted; the winner has the highest median', () => {
    const d = new Driver();
    propose(d, { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 3 }, { candidates });
    d.vote('p1', 'alice', score(10, 50, 90));
    d.vote('p1', 'bob', score(20, 60, 10));
    d.vote('p1', 'carol', score(30, 70, 20));
    d.vote('p1', 'dave', score(40, 80, 30));
    expect(status(d).status).toBe('open');
    d.vote('p1', 'erin', score(1000, 0, 40));
    const p = status(d);
    expect(p.status).toBe('approved');
    expect(p.tally.candidates).toEqual([
      { candidate: 'blue', ballots: 5, aggregateMilli: 30_000 },
      { candidate: 'green', ballots: 5, aggregateMilli: 60_000 },
      { candidate: 'red', ballots: 5, aggregateMilli: 30_000 },
    ]);
    expect(p.tally.winner).toBe('green');
    expect(p.candidates).toEqual(['blue', 'green', 'red']);
  });

  it('median of an even count averages the middle two; ties go to the smallest name', () => {
    const d = new Driver();
    propose(d, { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 2 }, { candidates });
    d.vote('p1', 'alice', score(1, 2, 4));
    d.vote('p1', 'bob', score(4, 2, 1));
    d.at(100);
    const p = status(d);
    expect(p.status).toBe('approved');
    expect(p.tally.candidates.map((c) => c.aggregateMilli)).toEqual([2500, 2000, 2500]);
    expect(p.tally.winner).toBe('blue');
  });

  it('trimmed mean drops floor(n * trim) ballots at each end', () => {
    const d = new Driver();
    propose(
      d,
      { kind: 'score', aggregate: 'trimmed_mean', trimPermille: 200, minBallots: 5 },
      { candidates },
    );
    d.vote('p1', 'alice', score(0, 10, 10));
    d.vote('p1', 'bob', score(10, 10, 10));
    d.vote('p1', 'carol', score(11, 10, 10));
    d.vote('p1', 'dave', score(13, 10, 10));
    d.vote('p1', 'erin', score(1000, 10, 0));
    const p = status(d);
    expect(p.status).toBe('approved');
    // red: drop 0 and 1000, mean of 10, 11, 13 = 11.333...; blue: drop 0 and one 10 -> 10.
    expect(p.tally.candidates).toEqual([
      { candidate: 'blue', ballots: 5, aggregateMilli: 10_000 },
      { candidate: 'green', ballots: 5, aggregateMilli: 10_000 },
      { candidate: 'red', ballots: 5, aggregateMilli: 11_333 },
    ]);
    expect(p.tally.winner).toBe('red');
  });

  it('is approved at the deadline with at least minBallots, no_quorum with fewer', () => {
    const d = new Driver();
    propose(d, { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 2 }, { candidates });
    propose(
      d,
      { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 3 },
      { id: 'p2', candidates },
    );
    for (const id of ['p1', 'p2']) {
      d.vote(id, 'alice', score(1, 2, 3));
      d.vote(id, 'bob', score(1, 2, 3));
    }
    d.at(100);
    expect(status(d, 'p1').status).toBe('approved');
    expect(status(d, 'p1').tally.winner).toBe('blue');
    expect(status(d, 'p2').status).toBe('no_quorum');
  });

  it('refuses ballots that do not score exactly the candidates, and yes/no ballots', () => {
    const d = new Driver();
    propose(d, { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 2 }, { candidates });
    const bad = [
      [
        ['red', 1],
        ['green', 2],
      ],
      [...score(1, 2, 3), ['pink', 3]],
      'approve',
    ] as const;
    for (const choice of bad)
      d.error('bob', d.voteOp({ proposalId: 'p1', agent: 'bob', choice: choice as never }), 'INVALID');
    d.error(
      'bob',
      d.voteOp({ proposalId: 'p1', agent: 'bob', choice: score(1, 2, d.sm.limits.scoreMax + 1) }),
      'INVALID',
    );
  });
});

describe('propose', () => {
  const base = {
    proposalId: 'p1',
    title: 't',
    rule: { kind: 'threshold', k: 1 } as Rule,
    voters: [{ agent: 'bob', weight: 1 }],
    deadline: 10,
  };

  it('validates the definition against the registry and the rule', () => {
    const d = new Driver();
    const cases: [Partial<typeof base> & { candidates?: string[] }, string][] = [
      [{ voters: [{ agent: 'mallory', weight: 1 }] }, 'INVALID'],
      [
        {
          voters: [
            { agent: 'bob', weight: 1 },
            { agent: 'bob', weight: 1 },
          ],
        },
        'INVALID',
      ],
      [{ rule: { kind: 'threshold', k: 2 } }, 'INVALID'],
      [{ rule: { kind: 'weighted', approveWeight: 2 } }, 'INVALID'],
      [
        { rule: { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 1 }, candidates: ['a'] },
        'INVALID',
      ],
      [
        {
          rule: { kind: 'score', aggregate: 'median', trimPermille: 10, minBallots: 1 },
          candidates: ['a', 'b'],
        },
        'INVALID',
      ],
      [{ candidates: ['a', 'b'] }, 'INVALID'],
      [{ voters: [{ agent: 'bob', weight: 0 }] }, 'INVALID'],
      [{ voters: [] }, 'INVALID'],
      [{ deadline: 0 }, 'EXPIRED'],
      [{ deadline: d.sm.limits.deadlineTicksMax + 1 }, 'INVALID'],
      [{ proposalId: '' }, 'INVALID'],
    ];
    for (const [fields, code] of cases) d.error('alice', ops.propose({ ...base, ...fields }), code);
  });

  it('is idempotent for the same definition from the same proposer, CONFLICT otherwise', () => {
    const d = new Driver();
    d.ok('proposal', 'alice', ops.propose(base));
    d.ok('proposal', 'alice', ops.propose(base));
    d.error('alice', ops.propose({ ...base, title: 'other' }), 'CONFLICT');
    d.error('bob', ops.propose(base), 'CONFLICT');
  });

  it('lists open and decided proposals in id order, with paging', () => {
    const d = new Driver({ limits: { openProposalsPerAgentMax: 3 } });
    for (const id of ['c', 'a', 'b']) d.ok('proposal', 'alice', ops.propose({ ...base, proposalId: id }));
    d.vote('b', 'bob', 'approve');
    const open = d.queryOk('proposals', ops.listProposals({ status: 'open' }));
    expect(open.proposals.map((p) => p.proposalId)).toEqual(['a', 'c']);
    const decided = d.queryOk('proposals', ops.listProposals({ status: 'decided' }));
    expect(decided.proposals.map((p) => [p.proposalId, p.status])).toEqual([['b', 'approved']]);
    const first = d.queryOk('proposals', ops.listProposals({ status: 'all', limit: 2 }));
    expect(first.proposals.map((p) => p.proposalId)).toEqual(['a', 'b']);
    expect(first.next).toBe('b');
    const second = d.queryOk('proposals', ops.listProposals({ status: 'all', after: first.next }));
    expect(second.proposals.map((p) => p.proposalId)).toEqual(['c']);
    expect(second.next).toBeNull();
  });

  it('keeps decided proposals for retentionTicks, then prunes them', () => {
    const d = new Driver({ limits: { retentionTicks: 50 } });
    d.ok('proposal', 'alice', ops.propose(base));
    d.at(10); // no_quorum at 10
    expect(status(d).status).toBe('no_quorum');
    d.at(59);
    expect(status(d).status).toBe('no_quorum');
    d.at(60);
    expect(d.query(ops.getProposal({ proposalId: 'p1' }))).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('refuses non-voters and unknown proposals', () => {
    const d = new Driver();
    d.ok('proposal', 'alice', ops.propose(base));
    d.error('carol', d.voteOp({ proposalId: 'p1', agent: 'carol', choice: 'approve' }), 'FORBIDDEN');
    d.error('carol', d.voteOp({ proposalId: 'nope', agent: 'carol', choice: 'approve' }), 'NOT_FOUND');
  });
});
