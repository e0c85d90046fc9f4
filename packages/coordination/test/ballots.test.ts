import { describe, expect, it } from 'vitest';
import { type Evidence, encodeBallot, ops, type SignedObject, verifyEvidence } from '../src/index.ts';
import { crypto, Driver, keyPairOf } from './support.ts';

const FOUR = ['alice', 'bob', 'carol', 'dave'].map((agent) => ({ agent, weight: 1 }));

function threshold(d: Driver, k: number, id = 'p1') {
  d.ok(
    'proposal',
    'alice',
    ops.propose({ proposalId: id, title: '', rule: { kind: 'threshold', k }, voters: FOUR, deadline: 100 }),
  );
}

const proposal = (d: Driver, id = 'p1') =>
  d.queryOk('proposal', ops.getProposal({ proposalId: id })).proposal;
const evidence = (d: Driver, filter: Parameters<typeof ops.listEvidence>[0] = {}) =>
  d.queryOk('evidence', ops.listEvidence(filter)).evidence;

describe('signed ballots', () => {
  it('the same ballot again is idempotent', () => {
    const d = new Driver();
    threshold(d, 3);
    const vote = d.voteOp({ proposalId: 'p1', agent: 'bob', choice: 'approve', reason: 'tests pass' });
    expect(d.ok('vote', 'bob', vote).duplicate).toBe(false);
    expect(d.ok('vote', 'bob', vote).duplicate).toBe(true);
    expect(proposal(d).tally.approve.count).toBe(1);
    const ballot = d.queryOk('ballot', ops.getBallot({ proposalId: 'p1', agent: 'bob' }));
    expect(ballot.counted).toBe(true);
    expect(crypto.verify(ballot.ballotBytes, ballot.signature, keyPairOf('bob').publicKey)).toBe(true);
  });

  it('a ballot signed by another key is FORGED_BALLOT', () => {
    const d = new Driver();
    threshold(d, 1);
    d.error('bob', d.voteOp({ proposalId: 'p1', agent: 'bob', choice: 'approve' }, 'carol'), 'FORGED_BALLOT');
    expect(proposal(d).status).toBe('open');
  });

  it('a ballot of another agent relayed by the request signer is FORGED_BALLOT, even when genuinely signed', () => {
    const d = new Driver();
    threshold(d, 1);
    const carols = d.voteOp({ proposalId: 'p1', agent: 'carol', choice: 'approve' });
    d.error('bob', carols, 'FORGED_BALLOT');
    expect(proposal(d).tally.counted).toEqual([]);
  });

  it('a ballot with a malformed body is INVALID', () => {
    const d = new Driver();
    threshold(d, 1);
    const notBallot = new Uint8Array([0x93, 1, 2, 3]);
    d.error(
      'bob',
      ops.vote({ ballotBytes: notBallot, signature: crypto.sign(notBallot, keyPairOf('bob').secretKey) }),
      'INVALID',
    );
    d.error(
      'bob',
      d.voteOp({ proposalId: 'p1', agent: 'bob', choice: 'approve', confidencePermille: 1001 }),
      'INVALID',
    );
  });
});

describe('ballot equivocation', () => {
  it('two different ballots: both kept as evidence, the ballot voided, the outcome recomputed', () => {
    const d = new Driver();
    threshold(d, 2);
    d.vote('p1', 'alice', 'approve');
    d.vote('p1', 'bob', 'reject');
    d.vote('p1', 'carol', 'reject');
    // 1 approval + 1 pending = 2: still open.
    expect(proposal(d).status).toBe('open');
    const second = d.voteOp({ proposalId: 'p1', agent: 'carol', choice: 'approve' });
    expect(d.error('carol', second, 'EQUIVOCATION')).toMatch(/different ballot/);

    const p = proposal(d);
    expect(p.status).toBe('open');
    expect(p.tally.counted.map((b) => b.agent)).toEqual(['alice', 'bob']);
    expect(p.tally.excluded).toEqual([{ agent: 'carol', weight: 1, reason: 'equivocation', evidenceId: 1 }]);
    expect(d.queryOk('ballot', ops.getBallot({ proposalId: 'p1', agent: 'carol' })).counted).toBe(false);

    const [item] = evidence(d);
    expect(item).toMatchObject({ id: 1, kind: 'ballot', agent: 'carol', proposalId: 'p1', source: 'vote' });
    expect(verifyEvidence(item as Evidence, d.agents, crypto)).toEqual({ ok: true });
    // A third ballot is refused and adds no evidence; the first one is refused too now.
    d.error('carol', d.voteOp({ proposalId: 'p1', agent: 'carol', choice: 'abstain' }), 'EQUIVOCATION');
    d.error('carol', d.voteOp({ proposalId: 'p1', agent: 'carol', choice: 'reject' }), 'EQUIVOCATION');
    expect(evidence(d)).toHaveLength(1);

    // Dave rejecting makes approval unreachable: 1 approval + 0 pending < 2.
    d.vote('p1', 'dave', 'reject');
    expect(proposal(d).status).toBe('rejected');
  });

  it('voiding a ballot can decide the proposal (approval becomes unreachable)', () => {
    const d = new Driver();
    threshold(d, 4);
    for (const agent of ['alice', 'bob', 'carol']) d.vote('p1', agent, 'approve');
    d.vote('p1', 'dave', 'approve', 'first');
    // Already approved with 4: decided, frozen; a conflicting ballot is evidence but changes nothing.
    expect(proposal(d).status).toBe('approved');
    d.error('dave', d.voteOp({ proposalId: 'p1', agent: 'dave', choice: 'reject' }), 'EQUIVOCATION');
    expect(proposal(d).status).toBe('approved');
    expect(proposal(d).tally.excluded).toEqual([]);
    expect(evidence(d, { agent: 'dave' })).toHaveLength(1);

    const e = new Driver();
    threshold(e, 3);
    e.vote('p1', 'alice', 'approve');
    e.vote('p1', 'bob', 'approve');
    e.vote('p1', 'carol', 'reject');
    e.error('bob', e.voteOp({ proposalId: 'p1', agent: 'bob', choice: 'abstain' }), 'EQUIVOCATION');
    // alice approves, bob voided, carol rejects, dave pending: 1 + 1 < 3.
    expect(proposal(e).status).toBe('rejected');
  });

  it('verifyEvidence fails when any byte of the evidence changes', () => {
    const d = new Driver();
    threshold(d, 2);
    d.vote('p1', 'bob', 'approve');
    d.vote('p1', 'bob', 'reject');
    const item = evidence(d)[0] as Evidence;
    expect(verifyEvidence(item, d.agents, crypto).ok).toBe(true);
    for (const field of ['first', 'second'] as const) {
      for (const part of ['bytes', 'signature'] as const) {
        const original = (item[field] as SignedObject)[part];
        for (const index of [0, Math.floor(original.byteLength / 2), original.byteLength - 1]) {
          const changed = original.slice();
          changed[index] = (changed[index] as number) ^ 1;
          const tampered = { ...item, [field]: { ...item[field], [part]: changed } } as Evidence;
          expect(verifyEvidence(tampered, d.agents, crypto).ok, `${field}.${part}[${index}]`).toBe(false);
        }
      }
    }
    expect(verifyEvidence({ ...item, agent: 'carol' } as Evidence, d.agents, crypto).ok).toBe(false);
    expect(verifyEvidence({ ...item, proposalId: 'p2' } as Evidence, d.agents, crypto).ok).toBe(false);
    expect(verifyEvidence({ ...item, second: item.first } as Evidence, d.agents, crypto).ok).toBe(false);
  });

  it('evidence is queryable by agent and by proposal, with paging', () => {
    const d = new Driver();
    threshold(d, 2, 'p1');
    threshold(d, 2, 'p2');
    d.vote('p1', 'bob', 'approve');
    d.vote('p1', 'bob', 'reject');
    d.vote('p2', 'bob', 'approve');
    d.vote('p2', 'bob', 'reject');
    d.vote('p2', 'carol', 'approve');
    d.vote('p2', 'carol', 'reject');
    expect(evidence(d).map((e) => e.id)).toEqual([1, 2, 3]);
    expect(evidence(d, { agent: 'bob' }).map((e) => e.proposalId)).toEqual(['p1', 'p2']);
    expect(evidence(d, { proposalId: 'p2' }).map((e) => e.agent)).toEqual(['bob', 'carol']);
    expect(evidence(d, { agent: 'carol', proposalId: 'p1' })).toEqual([]);
    const page = d.queryOk('evidence', ops.listEvidence({ limit: 2 }));
    expect(page.next).toBe(2);
    expect(d.queryOk('evidence', ops.listEvidence({ after: 2 })).evidence.map((e) => e.id)).toEqual([3]);
  });
});

describe('onEquivocation (request-level evidence from the replicas)', () => {
  it('two vote requests on one proposal become ballot evidence and void the ballot', () => {
    const d = new Driver();
    threshold(d, 2);
    const first = d.voteOp({ proposalId: 'p1', agent: 'bob', choice: 'approve' });
    const second = d.voteOp({ proposalId: 'p1', agent: 'bob', choice: 'reject' });
    d.vote('p1', 'alice', 'approve');
    // The replicas executed `first` under requestId 7, then saw `second` with the same id.
    d.sm.apply(first, { agent: 'bob', requestId: 7, sequence: d.sequence, timestamp: d.time });
    expect(proposal(d).status).toBe('approved');

    const e = new Driver();
    threshold(e, 3);
    e.vote('p1', 'alice', 'approve');
    e.sm.apply(first, { agent: 'bob', requestId: 7, sequence: e.sequence, timestamp: e.time });
    e.batch();
    e.sm.onEquivocation(
      {
        agent: 'bob',
        requestId: 7,
        first: e.signedRequest('bob', 7, first),
        second: e.signedRequest('bob', 7, second),
      },
      { sequence: e.sequence, timestamp: e.time },
    );
    const p = proposal(e);
    expect(p.tally.excluded.map((x) => x.agent)).toEqual(['bob']);
    expect(p.tally.approve.count).toBe(1);
    const [item] = evidence(e);
    expect(item).toMatchObject({ kind: 'ballot', agent: 'bob', proposalId: 'p1', source: 'replicas' });
    expect(verifyEvidence(item as Evidence, e.agents, crypto).ok).toBe(true);
    // The ballot-level duplicate (bob now sends `second` itself) adds nothing.
    e.error('bob', second, 'EQUIVOCATION');
    expect(evidence(e)).toHaveLength(1);
  });

  it('other conflicting requests become request evidence, recorded once', () => {
    const d = new Driver();
    const first = d.signedRequest('bob', 3, ops.kvPut({ key: 'k', value: new Uint8Array([1]) }));
    const second = d.signedRequest('bob', 3, ops.kvPut({ key: 'k', value: new Uint8Array([2]) }));
    d.batch();
    d.sm.onEquivocation(
      { agent: 'bob', requestId: 3, first, second },
      { sequence: d.sequence, timestamp: d.time },
    );
    d.sm.onEquivocation(
      { agent: 'bob', requestId: 3, first, second },
      { sequence: d.sequence, timestamp: d.time },
    );
    const items = evidence(d);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: 'request', agent: 'bob', requestId: 3, proposalId: null });
    expect(verifyEvidence(items[0] as Evidence, d.agents, crypto).ok).toBe(true);
    const changed = { ...(items[0] as Evidence), requestId: 4 } as Evidence;
    expect(verifyEvidence(changed, d.agents, crypto).ok).toBe(false);
  });

  it('ignores reports whose signatures or bodies do not check out', () => {
    const d = new Driver();
    const first = d.signedRequest('bob', 3, ops.kvGet({ key: 'a' }));
    const second = d.signedRequest('bob', 3, ops.kvGet({ key: 'b' }));
    const forged = { ...second, signature: crypto.sign(second.bytes, keyPairOf('carol').secretKey) };
    const before = d.sm.digest();
    const context = { sequence: d.sequence, timestamp: d.time };
    d.sm.onEquivocation({ agent: 'bob', requestId: 3, first, second: forged }, context);
    d.sm.onEquivocation({ agent: 'bob', requestId: 4, first, second }, context);
    d.sm.onEquivocation({ agent: 'bob', requestId: 3, first, second: first }, context);
    d.sm.onEquivocation({ agent: 'zed', requestId: 3, first, second }, context);
    expect(d.sm.digest()).toEqual(before);
  });

  it('ballots inside vote requests must verify too; forged inner ballots fall back to request evidence', () => {
    const d = new Driver();
    threshold(d, 2);
    const bytes = encodeBallot({
      proposalId: 'p1',
      agent: 'bob',
      choice: 'reject',
      reason: '',
      confidencePermille: 0,
    });
    const forgedVote = ops.vote({
      ballotBytes: bytes,
      signature: crypto.sign(bytes, keyPairOf('carol').secretKey),
    });
    const genuine = d.voteOp({ proposalId: 'p1', agent: 'bob', choice: 'approve' });
    d.batch();
    d.sm.onEquivocation(
      {
        agent: 'bob',
        requestId: 1,
        first: d.signedRequest('bob', 1, genuine),
        second: d.signedRequest('bob', 1, forgedVote),
      },
      { sequence: d.sequence, timestamp: d.time },
    );
    expect(evidence(d).map((e) => e.kind)).toEqual(['request']);
  });
});
